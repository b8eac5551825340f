"""balance-delays: the pipelined quantized network equals the layerwise one, D steps later."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from snncompile.config import CompileConfig
from snncompile.data.digits import load_digits_split
from snncompile.frontend.load import load_model, to_graph
from snncompile.frontend.simulate import time_major_inputs
from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.fixed import DelayAttrs, LifFixedAttrs
from snncompile.ir.ops.tensor import LinearAttrs
from snncompile.ir.printer import print_graph
from snncompile.ir.types import TensorType
from snncompile.passes.balance_delays import BalanceDelays
from snncompile.passes.manager import PassContext, PassManager
from snncompile.runner import quantized_graph
from tests.golden import Goldens

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "digits"
GOLDEN = Path(__file__).parent / "golden"


def _pipeline(graph: Graph) -> tuple[Graph, int]:
    ctx = PassContext()
    result = PassManager([BalanceDelays()], initial_properties=["quantized"]).run(graph, ctx)
    return result.graph, ctx.reports["balance-delays"]["depth"]


def residual_graph() -> Graph:
    """a -> pop0 -> W1 -> pop1 -> W2 -> pop2, plus a skip pop0 -> W3 -> pop2 (MS-style)."""
    rng = np.random.default_rng(0)
    b = GraphBuilder("residual")
    a = b.input("a", TensorType((4,), "f64"))
    lif = LifFixedAttrs(du=4095, dv=2048, vth=8, bias_mant=np.asarray(3.0))
    p0 = b.add_node("lif_fixed", [a], lif, name="pop0")
    w1 = b.add_node(
        "linear", [p0], LinearAttrs(weight=rng.integers(-9, 20, (4, 4)) * 1.0, bias=None)
    )
    p1 = b.add_node("lif_fixed", [w1], lif, name="pop1")
    w2 = b.add_node(
        "linear", [p1], LinearAttrs(weight=rng.integers(-9, 20, (4, 4)) * 1.0, bias=None)
    )
    w3 = b.add_node(
        "linear", [p0], LinearAttrs(weight=rng.integers(-9, 20, (4, 4)) * 1.0, bias=None)
    )
    both = b.add_node("add", [w2, w3], NoAttrs(), name="fan_in")
    p2 = b.add_node("lif_fixed", [both], lif, name="pop2")
    return b.finish([p2])


def test_residual_gets_a_synaptic_delay_and_gated_populations(golden: Goldens) -> None:
    graph = residual_graph()
    pipelined, depth = _pipeline(graph)
    assert depth == 2
    starts = {n.name: n.attrs.start for n in pipelined.nodes if n.op == "lif_fixed"}
    assert starts == {"pop0": 0, "pop1": 1, "pop2": 2}
    delays = sorted(n.attrs.steps for n in pipelined.nodes if n.op == "delay")
    assert delays == [1, 1, 1]  # two hops after pop0/pop1, one balancing delay on the skip
    text = print_graph(pipelined, elide_arrays=True)
    golden.check(GOLDEN / "residual_pipelined.snnir", text)
    rng = np.random.default_rng(1)
    x = rng.integers(0, 12, size=(8, 3, 4)).astype(np.float64)
    layerwise = run_layerwise(graph, [x])["pop2"]
    padded = np.concatenate([x, np.zeros((depth, 3, 4))])
    shifted = run_layerwise(pipelined, [padded])["pop2"]
    np.testing.assert_array_equal(shifted[depth:], layerwise)


def test_delay_op() -> None:
    b = GraphBuilder("g")
    x = b.input("x", TensorType((1,), "f64"))
    y = b.add_node("delay", [x], DelayAttrs(steps=2))
    out = run_layerwise(b.finish([y]), [np.arange(1.0, 6.0).reshape(5, 1, 1)])[y.name]
    assert out.ravel().tolist() == [0.0, 0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("family", ["spikformer", "spikingformer", "sdt", "spikingresformer"])
def test_pipelined_digits_models_equal_layerwise_shifted(family: str) -> None:
    loaded = load_model(EXAMPLES / f"{family}.pt")
    config = CompileConfig(expand_sew=True, allow_host_ops=True)
    quantized, _ = quantized_graph(to_graph(loaded, torch.float64), config)
    pipelined, depth = _pipeline(quantized)
    steps = loaded.time_steps
    x = load_digits_split(image_size=loaded.input_shape[1]).x_test[:8].astype(np.float64)  # type: ignore[index]
    layerwise = run_layerwise(quantized, [time_major_inputs(quantized, x, steps)])
    shifted = run_layerwise(pipelined, [time_major_inputs(pipelined, x, steps + depth)])
    out, piped = quantized.outputs[0].name, pipelined.outputs[0].name
    np.testing.assert_array_equal(shifted[piped][depth : depth + steps], layerwise[out])
