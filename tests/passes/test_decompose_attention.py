"""decompose-attention: exact on random spikes (property test), cost-chosen order, golden IR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snncompile.data.samples import sample_inputs
from snncompile.frontend.load import load_model, to_graph
from snncompile.frontend.simulate import time_major_inputs
from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.tensor import LifAttrs, PermuteAttrs, ReshapeAttrs, SliceAttrs
from snncompile.ir.printer import print_graph
from snncompile.ir.types import TensorType
from snncompile.passes.decompose_attention import DecomposeAttention, chain_costs
from snncompile.passes.fold_batchnorm import FoldBatchNorm
from snncompile.passes.fold_scales import FoldScales
from snncompile.passes.manager import PassContext, PassManager
from tests.golden import Goldens
from tests.passes.graphs import attention

GOLDEN = Path(__file__).parent / "golden"


def _decompose(graph: Graph, reassociate: bool = True) -> tuple[Graph, PassContext]:
    ctx = PassContext()
    manager = PassManager([FoldScales(), DecomposeAttention(reassociate=reassociate)])
    return manager.run(graph, ctx).graph, ctx


def _chain(heads: int, n: int, d: int, graded_first: bool) -> Graph:
    """q, k, v spikes [heads, n, d]; out = (q @ kᵀ) @ v, optionally with a graded q."""
    b = GraphBuilder("chain")
    x = b.input("x", TensorType((3, heads, n, d), "f64"))
    spikes = b.add_node("lif", [x], LifAttrs(tau=1.0, v_threshold=0.5), name="s")
    parts = [
        b.add_node(
            "reshape",
            [b.add_node("slice", [spikes], SliceAttrs(axis=0, start=i, stop=i + 1))],
            ReshapeAttrs(shape=(heads, n, d)),
            name=name,
        )
        for i, name in enumerate("qkv")
    ]
    q, k, v = parts
    if graded_first:
        q = b.add_node("add", [q, q], NoAttrs(), name="q2")  # count(2): a graded operand
    kt = b.add_node("permute", [k], PermuteAttrs(perm=(0, 2, 1)), name="kt")
    qk = b.add_node("matmul", [q, kt], NoAttrs(), name="qk")
    out = b.add_node("matmul", [qk, v], NoAttrs(), name="qkv")
    return b.finish([out])


@settings(max_examples=40, deadline=None)
@given(
    heads=st.integers(1, 2),
    n=st.integers(1, 6),
    d=st.integers(1, 5),
    graded_first=st.booleans(),
    reassociate=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_decomposition_is_bit_exact(
    heads: int, n: int, d: int, graded_first: bool, reassociate: bool, seed: int
) -> None:
    graph = _chain(heads, n, d, graded_first)
    decomposed, _ = _decompose(graph, reassociate)
    assert "matmul" not in decomposed.op_counts()
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=(2, 3, 3, heads, n, d)).astype(np.float64)  # spikes as given
    want = run_layerwise(graph, [x])[graph.outputs[0].name]
    got = run_layerwise(decomposed, [x])[decomposed.outputs[0].name]
    np.testing.assert_array_equal(got, want)


def test_chain_order_is_chosen_by_cost() -> None:
    assert chain_costs((8, 2), (2, 8), (8, 2)) == {"(AB)C": 256, "A(BC)": 64}
    _, ctx = _decompose(_chain(1, 8, 2, graded_first=False))
    (chain,) = ctx.reports["decompose-attention"]["chains"]
    assert chain["chosen"] == "A(BC)" and chain["(AB)C"] == 256 and chain["A(BC)"] == 64
    _, ctx = _decompose(_chain(1, 2, 8, graded_first=False))
    assert ctx.reports["decompose-attention"]["chains"][0]["chosen"] == "(AB)C"


def test_report_counts_neurons_and_kinds(golden: Goldens) -> None:
    decomposed, ctx = _decompose(attention(), reassociate=False)
    report = ctx.reports["decompose-attention"]
    kinds = {p["node"]: (p["kind"], p["neurons"]) for p in report["products"]}
    assert kinds == {"qk": ("coincidence", 6 * 4 * 6), "qkv": ("gated", 6 * 6 * 4)}
    assert report["neurons"] == 288 and report["synapses"] == 3 * 288
    text = print_graph(decomposed, elide_arrays=True)
    golden.check(GOLDEN / "attention_decomposed.snnir", text)


@pytest.mark.parametrize("family", ["spikformer", "spikingformer", "sdt", "spikingresformer"])
def test_zoo_digits_attention_decomposes_exactly(family: str) -> None:
    loaded = load_model(f"zoo:{family}_digits", seed=2)
    for name, buffer in loaded.module.named_buffers():  # type: ignore[union-attr]
        if "firing_rate" in name:
            buffer.fill_(0.2)
    graph = PassManager([FoldBatchNorm(), FoldScales()]).run(to_graph(loaded, torch.float64)).graph
    decomposed = (
        PassManager([DecomposeAttention()], initial_properties=["scales-folded"]).run(graph).graph
    )
    x = sample_inputs(graph.inputs[0].type.shape, samples=3, dataset="digits").astype("f8")
    x = time_major_inputs(graph, x, loaded.time_steps)
    a, b = run_layerwise(graph, [x], record=True), run_layerwise(decomposed, [x], record=True)
    for node in graph.nodes:
        if node.op == "lif":
            np.testing.assert_array_equal(a[node.name], b[node.name], err_msg=node.name)
