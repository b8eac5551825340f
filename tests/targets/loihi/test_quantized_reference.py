"""The quantized tensor IR (lif_fixed, shift) is Lava's arithmetic: layerwise equals Lava shifted
by one step per projection, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.fixed import LifFixedAttrs, ShiftAttrs
from snncompile.ir.ops.tensor import LinearAttrs
from snncompile.ir.types import TensorType
from snncompile.targets.loihi import _lava
from snncompile.targets.loihi.arch import effective_weights

pytestmark = [pytest.mark.lava, pytest.mark.timeout(180)]


def _chain(weights: np.ndarray, exponent: int, du: int, dv: int, vth: int) -> Graph:
    b = GraphBuilder("chain")
    current = b.input("a", TensorType((weights.shape[1],), "f64"))
    s0 = b.add_node("lif_fixed", [current], LifFixedAttrs(du=du, dv=dv, vth=vth), name="pop0")
    w = effective_weights(weights).astype(np.float64)
    synapses = b.add_node("linear", [s0], LinearAttrs(weight=w, bias=None), name="proj")
    shifted = b.add_node("shift", [synapses], ShiftAttrs(exponent=exponent), name="shifted")
    s1 = b.add_node("lif_fixed", [shifted], LifFixedAttrs(du=du, dv=dv, vth=vth), name="pop1")
    return b.finish([s1])


@pytest.mark.parametrize(("exponent", "du", "dv"), [(0, 4095, 2048), (-1, 2048, 1024)])
def test_layerwise_quantized_ir_equals_lava_shifted_by_the_pipeline(
    exponent: int, du: int, dv: int
) -> None:
    rng = np.random.default_rng(5)
    steps = 10
    current = rng.integers(-1, 14, size=(6, steps))
    weights = rng.integers(-60, 120, size=(4, 6))
    lava = _lava.run_lif_chain(current, [weights], du=du, dv=dv, vth=5, weight_exp=exponent)
    graph = _chain(weights, exponent, du, dv, 5)
    values = run_layerwise(graph, [current.T[:, None, :].astype(np.float64)], record=True)
    pop0, pop1 = values["pop0"][:, 0, :].T, values["pop1"][:, 0, :].T
    np.testing.assert_array_equal(pop0, lava[0])  # a source wired to a LIF adds no latency
    np.testing.assert_array_equal(pop1[:, :-1], lava[1][:, 1:])  # one step per projection
    assert pop1.sum() > 0


def test_shift_floors_negative_sums() -> None:
    b = GraphBuilder("g")
    x = b.input("x", TensorType((4,), "f64"))
    y = b.add_node("shift", [x], ShiftAttrs(exponent=-2))
    out = run_layerwise(b.finish([y]), [np.array([[[7.0, -7.0, 8.0, -1.0]]])])[y.name]
    assert out.ravel().tolist() == [1.0, -2.0, 2.0, -1.0]
