"""lower-residuals: count-driven synapses distributed over their sources, or SD201."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from snncompile.data.samples import sample_inputs
from snncompile.diagnostics import ComplianceError
from snncompile.frontend.load import load_model, to_graph
from snncompile.frontend.simulate import time_major_inputs
from snncompile.ir.graph import Graph
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.printer import print_graph
from snncompile.passes.compliance import findings
from snncompile.passes.fold_batchnorm import FoldBatchNorm
from snncompile.passes.fold_scales import FoldScales
from snncompile.passes.lower_residuals import LowerResiduals
from snncompile.passes.manager import PassContext, PassManager
from tests.golden import Goldens
from tests.passes.graphs import ms_block, sew_block

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "digits"


def _lower(graph: Graph, expand: bool) -> tuple[Graph, PassContext]:
    ctx = PassContext()
    passes = [FoldBatchNorm(), FoldScales(), LowerResiduals(expand_sew=expand)]
    return PassManager(passes).run(graph, ctx).graph, ctx


def _same(before: Graph, after: Graph, x: np.ndarray) -> None:
    a, b = run_layerwise(before, [x], record=True), run_layerwise(after, [x], record=True)
    for node in before.nodes:
        if node.op == "lif":
            np.testing.assert_array_equal(a[node.name], b[node.name], err_msg=node.name)


def test_sew_input_stops_the_compile_by_default() -> None:
    with pytest.raises(ComplianceError) as info:
        _lower(sew_block(), expand=False)
    assert info.value.code == "SD201" and info.value.source == "block.1.attn.q_linear"
    assert "--expand-sew" in info.value.fix


def test_sew_input_is_distributed_over_its_sources(golden: Goldens) -> None:
    graph = sew_block()
    lowered, ctx = _lower(graph, expand=True)
    assert not [f for f in findings(lowered) if f.code == "SD201"]
    (entry,) = ctx.reports["lower-residuals"]["expanded"]
    assert entry == {"node": "q", "module": "block.1.attn.q_linear", "sources": 2, "weights": 32}
    x = np.random.default_rng(0).normal(0.5, 1.0, size=(6, 3, 1, 4, 4))
    folded = PassManager([FoldBatchNorm(), FoldScales()]).run(graph).graph
    _same(folded, lowered, x)
    text = print_graph(lowered, elide_arrays=True)
    golden.check(GOLDEN / "sew_block_lowered.snnir", text)


def test_ms_residuals_need_no_rewrite() -> None:
    graph = ms_block()
    lowered, ctx = _lower(graph, expand=True)
    assert ctx.reports["lower-residuals"]["expanded"] == []
    assert len(lowered.nodes) == len(PassManager([FoldBatchNorm()]).run(graph).graph.nodes)


def test_trained_spikformer_keeps_its_spikes() -> None:
    loaded = load_model(EXAMPLES / "spikformer.pt")
    graph = PassManager([FoldBatchNorm(), FoldScales()]).run(to_graph(loaded, torch.float64)).graph
    lowered, ctx = _lower(graph, expand=True)
    assert len(ctx.reports["lower-residuals"]["expanded"]) == 8  # q, k, v, fc1 of two blocks
    x = sample_inputs(graph.inputs[0].type.shape, samples=8, dataset="digits").astype("f8")
    _same(graph, lowered, time_major_inputs(graph, x, loaded.time_steps))
