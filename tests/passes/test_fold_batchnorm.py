"""fold-batchnorm: golden IR and numeric equivalence (float stage: 1e-12 relative in f64)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snncompile.ir.graph import Graph
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.printer import print_graph
from snncompile.passes.fold_batchnorm import FoldBatchNorm
from snncompile.passes.manager import PassContext, PassManager
from tests.golden import Goldens
from tests.passes.graphs import ms_block, sew_block

GOLDEN = Path(__file__).parent / "golden"


def _fold(graph: Graph) -> tuple[Graph, PassContext]:
    ctx = PassContext()
    return PassManager([FoldBatchNorm()]).run(graph, ctx).graph, ctx


@pytest.mark.parametrize("build", [sew_block, ms_block])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_folded_graph_computes_the_same(build: object, seed: int) -> None:
    graph = build(seed)  # type: ignore[operator]
    folded, ctx = _fold(graph)
    assert "batchnorm" not in folded.op_counts()
    assert ctx.reports["fold-batchnorm"]["remaining"] == 0
    x = np.random.default_rng(seed).normal(0.5, 1.0, size=(6, 3, *graph.inputs[0].type.shape))
    before = run_layerwise(graph, [x], record=True)
    after = run_layerwise(folded, [x], record=True)
    out = graph.outputs[0].name
    np.testing.assert_allclose(after[out], before[out], rtol=1e-12, atol=1e-12)
    for node in graph.nodes:
        if node.op == "lif":  # spikes identical
            np.testing.assert_array_equal(after[node.name], before[node.name])


def test_golden_ir_after_folding(golden: Goldens) -> None:
    folded, _ = _fold(sew_block())
    text = print_graph(folded, elide_arrays=True)
    golden.check(GOLDEN / "sew_block_folded.snnir", text)


def test_shared_conv_output_is_not_folded() -> None:
    graph = ms_block()
    # make the stem conv's output feed a second reader: folding would change what it sees
    conv = graph.node("stem_conv")
    graph.outputs.append(conv.output)
    folded, ctx = _fold(graph)
    assert ctx.reports["fold-batchnorm"]["remaining"] == 1
    assert folded.node("stem_bn").op == "batchnorm"


def test_conv1d_as_height_one_conv2d_folds_through_the_reshape() -> None:
    from snncompile.ir.graph import GraphBuilder
    from snncompile.ir.ops.tensor import BatchNormAttrs, Conv2dAttrs, ReshapeAttrs
    from snncompile.ir.types import TensorType

    rng = np.random.default_rng(1)
    b = GraphBuilder("conv1d")
    x = b.input("x", TensorType((3, 1, 5), "f64"))
    conv = b.add_node(
        "conv2d", [x], Conv2dAttrs(weight=rng.normal(size=(4, 3, 1, 1)), bias=None), name="conv"
    )
    flat = b.add_node("reshape", [conv], ReshapeAttrs(shape=(4, 5)), name="flat")
    bn = BatchNormAttrs(
        weight=rng.uniform(0.5, 1.5, 4),
        bias=rng.normal(size=4),
        running_mean=rng.normal(size=4),
        running_var=rng.uniform(0.5, 2, 4),
    )
    out = b.add_node("batchnorm", [flat], bn, name="bn")
    graph = b.finish([out])
    folded, _ = _fold(graph)
    assert [n.op for n in folded.nodes] == ["conv2d", "reshape"]
    inputs = rng.normal(size=(2, 3, 3, 1, 5))
    np.testing.assert_allclose(
        run_layerwise(folded, [inputs])[folded.outputs[0].name],
        run_layerwise(graph, [inputs])["bn"],
        rtol=1e-12,
        atol=1e-12,
    )
