"""analyze-spike-domain and partition-host: golden IR and unchanged numerics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snncompile.ir.graph import Graph
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.parser import parse_graph
from snncompile.ir.printer import print_graph
from snncompile.passes.analyze_spike_domain import AnalyzeSpikeDomain
from snncompile.passes.manager import PassContext, PassManager
from snncompile.passes.partition_host import PartitionHost
from tests.golden import Goldens
from tests.passes.graphs import attention, ms_block, sew_block

GOLDEN = Path(__file__).parent / "golden"


def test_domains_golden(golden: Goldens) -> None:
    ctx = PassContext()
    result = PassManager([AnalyzeSpikeDomain()]).run(sew_block(), ctx).graph
    text = print_graph(result, elide_arrays=True)
    golden.check(GOLDEN / "sew_block_domains.snnir", text)
    assert "tensor<16x4xf64, count(2)>" in text  # the SEW residual
    # domains survive the text form
    parsed = parse_graph(print_graph(result))
    assert str(parsed.value("residual").type.domain) == "count(2)"


def test_partition_report_golden() -> None:
    ctx = PassContext()
    PassManager([PartitionHost()]).run(ms_block(), ctx)
    parts = ctx.reports["partition-host"]
    assert parts == {
        "host_encoder": ["stem_conv", "stem_bn"],
        "chip": ["block0_lif", "block0_conv", "block0_bn", "block0_add", "block1_lif"],
        "host_readout": ["block1_conv", "block1_bn", "block1_add", "gap", "head"],
    }


@pytest.mark.parametrize("build", [sew_block, ms_block, attention])
def test_analysis_passes_do_not_change_values(build: object) -> None:
    graph: Graph = build()  # type: ignore[operator]
    result = PassManager([AnalyzeSpikeDomain(), PartitionHost()]).run(graph).graph
    x = np.random.default_rng(0).normal(size=(4, 2, *graph.inputs[0].type.shape))
    before, after = run_layerwise(graph, [x], record=True), run_layerwise(result, [x], record=True)
    assert before.keys() == after.keys()
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])
