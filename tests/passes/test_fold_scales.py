"""fold-scales: golden IR, numeric equivalence, and integer attention on the zoo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from snncompile.data.samples import sample_inputs
from snncompile.frontend.load import load_model, to_graph
from snncompile.frontend.simulate import time_major_inputs
from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.tensor import ConstAttrs, LifAttrs, LinearAttrs, ReshapeAttrs, ScaleAttrs
from snncompile.ir.printer import print_graph
from snncompile.ir.types import TensorType
from snncompile.passes.analyze_spike_domain import analyze
from snncompile.passes.fold_batchnorm import FoldBatchNorm
from snncompile.passes.fold_scales import FoldScales
from snncompile.passes.manager import PassContext, PassManager
from tests.golden import Goldens
from tests.passes.graphs import attention

GOLDEN = Path(__file__).parent / "golden"


def _fold(graph: Graph) -> tuple[Graph, PassContext]:
    ctx = PassContext()
    return PassManager([FoldScales()]).run(graph, ctx).graph, ctx


def _same_spikes(before: Graph, after: Graph, x: np.ndarray) -> None:
    a, b = run_layerwise(before, [x], record=True), run_layerwise(after, [x], record=True)
    for node in before.nodes:
        if node.op == "lif":
            np.testing.assert_array_equal(a[node.name], b[node.name], err_msg=node.name)
    np.testing.assert_allclose(
        b[after.outputs[0].name], a[before.outputs[0].name], rtol=1e-12, atol=1e-12
    )


def test_attention_scale_moves_into_the_threshold(golden: Goldens) -> None:
    graph = attention()
    folded, ctx = _fold(graph)
    assert "scale" not in folded.op_counts()
    assert folded.node("attn_lif").attrs.v_threshold == 0.5 / 0.125
    flows = analyze(folded)
    assert str(flows["attn_lif"].domain) == "binary"
    assert str(flows[folded.node("attn_lif").inputs[0].name].domain) == "count(24)"
    assert ctx.reports["fold-scales"]["scales_remaining"] == 0
    x = np.random.default_rng(0).normal(0.8, 1.0, size=(5, 3, 6, 4))
    _same_spikes(graph, folded, x)
    text = print_graph(folded, elide_arrays=True)
    golden.check(GOLDEN / "attention_scales_folded.snnir", text)


def test_scale_after_weights_folds_into_them_and_chains_merge() -> None:
    rng = np.random.default_rng(3)
    b = GraphBuilder("g")
    x = b.input("x", TensorType((4,), "f64"))
    fc = b.add_node("linear", [x], LinearAttrs(weight=rng.normal(size=(3, 4)), bias=np.ones(3)))
    s1 = b.add_node("scale", [fc], ScaleAttrs(factor=0.5))
    s2 = b.add_node("mul_const", [s1], ConstAttrs(value=np.full((3,), 4.0)))
    out = b.add_node("lif", [s2], LifAttrs(), name="out")
    graph = b.finish([out])
    folded, _ = _fold(graph)
    assert [n.op for n in folded.nodes] == ["linear", "lif"]
    # the factor 0.5 * 4 = 2 ends in the weights or in the threshold: bias / threshold == 2
    ratio = folded.nodes[0].attrs.bias / folded.nodes[1].attrs.v_threshold
    np.testing.assert_allclose(ratio, 2.0 * np.ones(3))
    _same_spikes(graph, folded, rng.normal(size=(6, 2, 4)))


def test_negative_factor_is_not_folded_into_a_threshold() -> None:
    b = GraphBuilder("g")
    x = b.input("x", TensorType((4,), "f64"))
    s = b.add_node("scale", [x], ScaleAttrs(factor=-2.0))
    out = b.add_node("lif", [s], LifAttrs(), name="out")
    folded, ctx = _fold(b.finish([out]))
    assert ctx.reports["fold-scales"]["scales_remaining"] == 1


def test_per_element_gains_become_per_neuron_thresholds() -> None:
    b = GraphBuilder("g")
    x = b.input("x", TensorType((2, 3), "f64"))
    s = b.add_node("mul_const", [x], ConstAttrs(value=np.array([[0.5], [2.0]])))
    flat = b.add_node("reshape", [s], ReshapeAttrs(shape=(6,)))
    out = b.add_node("lif", [flat], LifAttrs(), name="out")
    graph = b.finish([out])
    folded, ctx = _fold(graph)
    assert ctx.reports["fold-scales"]["mul_const_remaining"] == 0
    thresholds = folded.node("out").attrs.v_threshold_map
    np.testing.assert_array_equal(thresholds, [2.0, 2.0, 2.0, 0.5, 0.5, 0.5])
    _same_spikes(graph, folded, np.random.default_rng(4).normal(1, 1, size=(6, 3, 2, 3)))


def test_negative_gains_stay_and_are_reported() -> None:
    b = GraphBuilder("g")
    x = b.input("x", TensorType((2, 3), "f64"))
    s = b.add_node("mul_const", [x], ConstAttrs(value=np.array([[-1.0], [2.0]])))
    out = b.add_node("lif", [s], LifAttrs(), name="out")
    _, ctx = _fold(b.finish([out]))
    assert ctx.reports["fold-scales"]["mul_const_remaining"] == 1


def test_trained_spikingresformer_c1_c2_fold_into_thresholds() -> None:
    loaded = load_model(Path(__file__).resolve().parents[2] / "examples/digits/spikingresformer.pt")
    graph = PassManager([FoldBatchNorm()]).run(to_graph(loaded, torch.float64)).graph
    folded, ctx = _fold(graph)
    assert ctx.reports["fold-scales"]["mul_const_remaining"] == 0
    assert any(n.op == "lif" and n.attrs.v_threshold_map is not None for n in folded.nodes)
    x = sample_inputs(graph.inputs[0].type.shape, samples=4, dataset="digits").astype("f8")
    _same_spikes(graph, folded, time_major_inputs(graph, x, loaded.time_steps))


@pytest.mark.parametrize("family", ["spikformer", "spikingformer", "sdt", "spikingresformer"])
def test_zoo_digits_models_keep_their_spikes(family: str) -> None:
    loaded = load_model(f"zoo:{family}_digits", seed=1)
    for name, buffer in loaded.module.named_buffers():  # type: ignore[union-attr]
        if "firing_rate" in name:  # SpikingResformer's c1/c2 come from these (0 when untrained)
            buffer.fill_(0.2)
    graph = to_graph(loaded, torch.float64)
    folded = PassManager([FoldBatchNorm(), FoldScales()]).run(graph).graph
    assert "scale" not in folded.op_counts()
    x = sample_inputs(graph.inputs[0].type.shape, samples=4, dataset="digits").astype("f8")
    _same_spikes(graph, folded, time_major_inputs(graph, x, loaded.time_steps))
