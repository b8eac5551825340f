"""analyze-spike-domain, partition-host and the spike-driven rule on family-shaped graphs."""

from __future__ import annotations

import numpy as np
import pytest

from snncompile.diagnostics import CODES, SnnCompileError
from snncompile.ir.ops import OPS
from snncompile.passes.analyze_spike_domain import DOMAIN_RULES, AnalyzeSpikeDomain
from snncompile.passes.compliance import findings
from snncompile.passes.manager import PassContext, PassManager
from snncompile.passes.partition_host import PartitionHost, partition
from tests.passes.graphs import attention, ms_block, raise_violations, sew_block


def _domains(graph):  # type: ignore[no-untyped-def]
    ctx = PassContext()
    result = PassManager([AnalyzeSpikeDomain()]).run(graph, ctx).graph
    return {v.name: str(v.type.domain) for v in result.values()}, ctx


def test_every_op_has_a_domain_rule() -> None:
    assert set(OPS) <= set(DOMAIN_RULES)


def test_sew_residual_is_a_count_with_its_sources() -> None:
    domains, ctx = _domains(sew_block())
    assert domains["x"] == "real"
    assert domains["stem_lif"] == "binary"
    assert domains["nc"] == "binary"  # layout keeps the domain
    assert domains["fc1"] == "real"
    assert domains["residual"] == "count(2)"
    assert ctx.reports["analyze-spike-domain"]["residual"] == ["fc1_lif", "stem_lif"]


def test_attention_counts() -> None:
    domains, _ = _domains(attention())
    assert domains["qk"] == "count(4)"  # binary @ binary over an inner dim of 4
    assert domains["qkv"] == "count(24)"  # count(4) @ binary over 6 tokens
    assert domains["scaled"] == "real"
    assert domains["gated"] == "real"


def test_domains_hold_on_simulated_values() -> None:
    from snncompile.ir.interpret import run_layerwise

    graph = sew_block()
    domains, _ = _domains(graph)
    values = run_layerwise(
        graph, [np.random.default_rng(0).normal(size=(5, 4, 1, 4, 4))], record=True
    )
    for name, domain in domains.items():
        data = values[name]
        if domain == "binary":
            assert set(np.unique(data)) <= {0.0, 1.0}, name
        elif domain.startswith("count("):
            bound = int(domain[6:-1])
            assert np.all(data == np.round(data)) and data.min() >= 0 and data.max() <= bound


def test_partition_of_ms_block() -> None:
    parts = partition(ms_block())
    assert parts.host_encoder == ("stem_conv", "stem_bn")
    # everything after the last neuron, including the last block's conv on spikes
    assert parts.host_readout == ("block1_conv", "block1_bn", "block1_add", "gap", "head")
    assert "block0_add" in parts.chip and "block0_lif" in parts.chip


def test_partition_pass_refuses_a_graph_without_neurons() -> None:
    graph = ms_block()
    graph.nodes = [n for n in graph.nodes if n.op != "lif"]
    graph.outputs = [graph.node("stem_bn").output]
    graph.nodes = graph.nodes[:2]
    with pytest.raises(SnnCompileError) as info:
        PassManager([PartitionHost()]).run(graph)
    assert info.value.code == "SD101"


def test_sew_block_is_not_spike_driven() -> None:
    found = findings(sew_block())
    assert [(f.code, f.node, f.module) for f in found] == [("SD201", "q", "block.1.attn.q_linear")]
    assert "count(2)" in found[0].message and "%stem_lif" in found[0].message
    assert "2x the synapse memory (16 -> 32 weights)" in found[0].message
    with pytest.raises(SnnCompileError) as info:
        raise_violations(sew_block())
    assert info.value.code == "SD201"


def test_ms_block_is_spike_driven() -> None:
    assert findings(ms_block()) == []
    raise_violations(ms_block())


def test_maxpool_on_currents_on_chip_is_flagged() -> None:
    found = findings(ms_block(maxpool_on_current=True))
    assert [(f.code, f.module) for f in found] == [("SD203", "block0.pool")]


def test_products_are_classified() -> None:
    found = {f.node: f for f in findings(attention())}
    assert "qk" not in found  # coincidence: binary x binary
    assert found["qkv"].code == "SD301" and found["qkv"].severity == "note"
    assert found["gated"].code == "SD301"
    assert found["real_real"].code == "SD204" and found["real_real"].severity == "violation"
    assert found["real_real"].fix == CODES["SD204"].fix


def test_check_analyses_its_graph_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """analyze-spike-domain, the findings and the operation counter share one analysis."""
    from snncompile.passes import analyze_spike_domain
    from snncompile.report.compliance import check_graph

    monkeypatch.setattr(analyze_spike_domain, "_CACHE", type(analyze_spike_domain._CACHE)())
    monkeypatch.setitem(analyze_spike_domain.STATS, "computed", 0)
    graph = ms_block()
    inputs = np.random.default_rng(0).normal(size=(2, 1, *graph.inputs[0].type.shape))
    report = check_graph(graph, inputs)
    assert report.spike_driven
    assert analyze_spike_domain.STATS["computed"] == 1
