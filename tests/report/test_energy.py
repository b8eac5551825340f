"""Operation counts: FLOPs in the papers' convention and product events from real values."""

from __future__ import annotations

import numpy as np

from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.tensor import Conv2dAttrs, LifAttrs, LinearAttrs, PermuteAttrs
from snncompile.ir.types import TensorType
from snncompile.passes.analyze_spike_domain import analyze
from snncompile.report.energy import E_AC_PJ, E_MAC_PJ, count_operations, flops_of


def test_conv_flops_follow_syops() -> None:
    b = GraphBuilder("g")
    x = b.input("x", TensorType((3, 8, 8)))
    conv = b.add_node(
        "conv2d", [x], Conv2dAttrs(weight=np.zeros((96, 3, 3, 3)), bias=None, padding=(1, 1))
    )
    b.finish([conv])
    # out elements x C_in x kH x kW; Spikingformer-8-768's first conv at 224x224 and T=4 is
    # 96 * 224 * 224 * 27 * 4 = 520.2 M MACs, the number the paper reports.
    assert flops_of(conv.producer) == 96 * 8 * 8 * 27  # type: ignore[arg-type]
    assert 96 * 224 * 224 * 27 * 4 == 520_224_768


def test_binary_input_is_ac_at_the_measured_rate_and_real_is_mac() -> None:
    rng = np.random.default_rng(0)
    b = GraphBuilder("g")
    x = b.input("x", TensorType((4,), "f64"))
    host = b.add_node("linear", [x], LinearAttrs(weight=rng.normal(size=(6, 4)), bias=None))
    s = b.add_node("lif", [host], LifAttrs(), name="s")
    fc = b.add_node("linear", [s], LinearAttrs(weight=rng.normal(size=(5, 6)), bias=None))
    out = b.add_node("lif", [fc], LifAttrs(), name="out")
    graph = b.finish([out])
    inputs = rng.normal(1.0, 1.0, size=(4, 3, 4))
    values = run_layerwise(graph, [inputs], record=True)
    report = count_operations(graph, values, analyze(graph), {n.name: "chip" for n in graph.nodes})
    first, second = report.layers
    assert (first.macs, first.acs) == (4 * 24, 0.0)  # T x FLOPs, a MAC layer
    rate = float(values["s"].mean())
    assert second.firing_rate == rate
    assert np.isclose(second.acs, rate * 4 * 30)
    assert np.isclose(report.energy_mj, (E_MAC_PJ * 96 + E_AC_PJ * rate * 120) * 1e-9)


def test_coincidence_events_equal_brute_force() -> None:
    rng = np.random.default_rng(1)
    b = GraphBuilder("g")
    x = b.input("x", TensorType((5, 3), "f64"))
    q = b.add_node("lif", [x], LifAttrs(), name="q")
    kt = b.add_node("permute", [q], PermuteAttrs(perm=(1, 0)))
    qk = b.add_node("matmul", [q, kt], NoAttrs(), name="qk")
    graph = b.finish([qk])
    inputs = rng.normal(1.5, 1.0, size=(3, 2, 5, 3))
    values = run_layerwise(graph, [inputs], record=True)
    report = count_operations(graph, values, analyze(graph), {n.name: "chip" for n in graph.nodes})
    a, bt = values["q"], values[kt.name]
    brute = sum(
        a[t, s, n, k] * bt[t, s, k, m]
        for t in range(3)
        for s in range(2)
        for n in range(5)
        for k in range(3)
        for m in range(5)
    )
    (layer,) = report.layers
    assert layer.acs == brute / 2 and layer.macs == 0  # per sample


def test_head_after_the_mean_over_time_is_charged_once() -> None:
    """Issue 22 item 1: a head applied to the mean over T runs once per inference."""
    rng = np.random.default_rng(3)
    b = GraphBuilder("g")
    x = b.input("x", TensorType((4,), "f64"))
    s = b.add_node("lif", [x], LifAttrs(), name="s")
    fc = b.add_node("linear", [s], LinearAttrs(weight=rng.normal(size=(6, 4)), bias=None))
    h = b.add_node("lif", [fc], LifAttrs(), name="h")
    head = b.add_node("linear", [h], LinearAttrs(weight=rng.normal(size=(3, 6)), bias=None))
    graph = b.finish([head])
    inputs = rng.normal(1.5, 1.0, size=(5, 2, 4))  # T = 5
    values = run_layerwise(graph, [inputs], record=True)
    where = {n.name: "chip" for n in graph.nodes}
    per_step = count_operations(graph, values, analyze(graph), where).layers[1]
    assert per_step.macs == 0 and np.isclose(per_step.acs, float(values["h"].mean()) * 5 * 18)
    graph.once_per_inference = frozenset({head.name})
    once = count_operations(graph, values, analyze(graph), where).layers[1]
    # by hand: 3 outputs x 6 inputs = 18 MACs, once (not 5 x 18, not rate x 5 x 18 ACs)
    assert (once.macs, once.acs, once.flops, once.steps_charged) == (18.0, 0.0, 18, 1)
    assert once.input_domain == "real" and once.to_dict()["steps_charged"] == 1
    assert per_step.steps_charged == 5
