"""Reference kernels executed layerwise equal hand-written equations and PyTorch."""

from __future__ import annotations

import numpy as np
import torch

from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.ir.ops.tensor import LifAttrs
from snncompile.ir.types import TensorType


def _lif_reference(x: np.ndarray, tau: float, vth: float, decay_input: bool) -> np.ndarray:
    v = np.zeros(x.shape[1:])
    out = []
    for xt in x:
        h = v + (xt - v) / tau if decay_input else v - v / tau + xt
        s = (h >= vth).astype(float)
        v = h * (1 - s)
        out.append(s)
    return np.stack(out)


def test_lif_kernel_matches_the_spikingjelly_equations() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(1.0, 1.0, size=(8, 3, 5))
    for decay_input in (True, False):
        b = GraphBuilder("lif")
        inp = b.input("x", TensorType((5,), "f64"))
        out = b.add_node("lif", [inp], LifAttrs(tau=2.0, v_threshold=1.0, decay_input=decay_input))
        got = run_layerwise(b.finish([out]), [x])[out.name]
        np.testing.assert_array_equal(got, _lif_reference(x, 2.0, 1.0, decay_input))


def test_lif_fires_at_exact_threshold() -> None:
    b = GraphBuilder("lif")
    inp = b.input("x", TensorType((1,), "f64"))
    out = b.add_node("lif", [inp], LifAttrs(tau=2.0, v_threshold=1.0))
    x = np.array([2.0]).reshape(1, 1, 1)  # H = 0 + (2 - 0) / 2 = 1.0 == threshold
    assert run_layerwise(b.finish([out]), [x])[out.name].item() == 1.0


def test_conv_lif_graph_matches_torch(conv_lif_graph: Graph) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 2, 1, 6, 6))
    got = run_layerwise(conv_lif_graph, [x], record=True)
    conv = conv_lif_graph.node("conv").attrs
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(x.reshape(6, 1, 6, 6)),
        torch.from_numpy(np.array(conv.weight)),
        torch.from_numpy(np.array(conv.bias)),
        padding=1,
    ).numpy()
    np.testing.assert_allclose(got["conv"], expected.reshape(3, 2, 4, 6, 6), rtol=1e-12)
    spikes = _lif_reference(got["conv"], 2.0, 1.0, True)
    np.testing.assert_array_equal(got["lif"], spikes)
    np.testing.assert_array_equal(got["out"], spikes * 0.5)


def test_population_sums_its_projections() -> None:
    b = GraphBuilder("net", stage="network")
    x = b.input("x", TensorType((2,), "f64"))
    a = b.add_node("projection", [x], ProjectionAttrs(kind="dense", weight=np.array([[2.0, 0.0]])))
    c = b.add_node(
        "projection",
        [x],
        ProjectionAttrs(kind="dense", weight=np.array([[0.0, 3.0]]), weight_exp=-1),
    )
    # no memory (du=4095, dv=4096): v = 64·(2·x0 + floor(3·x1 / 2)) + 16; spike iff v > 64·2
    attrs = PopulationAttrs(kind="lif", vth=2, bias_mant=np.array([16.0]))
    pop = b.add_node("population", [a, c], attrs)
    x_in = np.array([[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, 1.0]], [[0.0, 0.0]]])
    got = run_layerwise(b.finish([pop]), [x_in])[pop.name]
    # currents 2, 1, 3, 0 -> v = 144, 80, 208, 16
    np.testing.assert_array_equal(got.ravel(), [1.0, 0.0, 1.0, 0.0])
