"""Operation counts that respect where an op sits in time, and the ``events`` convention.

A classifier head on the mean over T (Spikformer, Spikingformer) runs once per inference. Counts
are checked against hand computation on a small traced model, in both conventions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from snncompile.frontend.torch import trace
from snncompile.ir.graph import GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.tensor import Conv2dAttrs, LifAttrs, LinearAttrs
from snncompile.ir.types import TensorType
from snncompile.models.neuron import MultiStepLIFNode
from snncompile.passes.analyze_spike_domain import analyze
from snncompile.report.energy import count_operations

T, B = 4, 3


class _HeadAfterMean(nn.Module):
    """static image -> pre (once) -> repeat over T -> fc -> LIF -> mean over T -> head."""

    def __init__(self, per_step_head: bool) -> None:
        super().__init__()
        self.pre = nn.Linear(6, 6, bias=False)
        self.fc = nn.Linear(6, 5, bias=False)
        self.lif = MultiStepLIFNode(tau=2.0)
        self.head = nn.Linear(5, 2, bias=False)
        self.per_step_head = per_step_head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pre(x)
        x = x.unsqueeze(0).repeat(T, 1, 1)  # [T, B, 6]
        s = self.lif(self.fc(x))  # [T, B, 5]
        if self.per_step_head:  # SDT: the head runs on the spikes of every step
            return self.head(s).mean(0)
        return self.head(s.mean(0))  # Spikformer: the head runs once on the mean


def _report(per_step_head: bool):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    model = _HeadAfterMean(per_step_head)
    with torch.no_grad():  # neurons that fire on some steps, not all (rates 0 to 1)
        model.pre.weight.fill_(0.2)
        model.fc.weight.copy_(torch.tensor([0.05, 0.2, 0.3, 0.5, 1.0])[:, None].repeat(1, 6))
    graph = trace(model, torch.rand(B, 6), time_steps=T)
    rng = np.random.default_rng(0)
    image = rng.uniform(0.5, 1.0, size=(B, 6)).astype(np.float32)
    inputs = np.broadcast_to(image, (T, B, 6)).copy()
    values = run_layerwise(graph, [inputs], record=True)
    flows = analyze(graph)
    report = count_operations(graph, values, flows, {n.name: "chip" for n in graph.nodes})
    return graph, values, {layer.module: layer for layer in report.layers}


def test_head_after_mean_runs_once() -> None:
    graph, values, layers = _report(per_step_head=False)
    once = {graph.node(n).loc for n in graph.once_per_inference}
    assert {loc.module for loc in once if loc is not None} == {"head"}
    # hand count: pre 6x6 = 36 MACs per step (the IR repeats the static image: 4 x 36), fc
    # 5x6 = 30 MACs per step on the real input (4 x 30 = 120), head 2x5 = 10 MACs once on the
    # time-averaged spikes (not 40)
    assert (layers["pre"].steps_charged, layers["pre"].macs) == (T, 144.0)
    assert (layers["fc"].steps_charged, layers["fc"].macs) == (T, 120.0)
    head = layers["head"]
    assert (head.steps_charged, head.macs, head.acs, head.input_domain) == (1, 10.0, 0.0, "real")
    # events: the head reads the non-zeros of the spike sum over T, once, 2 weights each
    spikes = values[graph.node(layers["fc"].node).output.name]  # fc feeds the LIF
    lif = next(n for n in graph.nodes if n.op == "lif")
    s = values[lif.output.name]  # [T, B, 5]
    assert spikes.shape == (T, B, 5)
    assert layers["head"].event_macs == np.count_nonzero(s.sum(axis=0)) * 2 / B
    assert 0 < layers["head"].event_macs < 10


def test_head_on_every_step_is_charged_every_step() -> None:
    graph, values, layers = _report(per_step_head=True)
    lif = next(n for n in graph.nodes if n.op == "lif")
    s = values[lif.output.name]
    rate = float(s.mean())
    assert 0 < rate < 1
    assert layers["head"].steps_charged == T
    # binary input: rate x T x FLOPs ACs; events: every spike sends 2 events
    assert np.isclose(layers["head"].acs, rate * T * 10)
    assert layers["head"].event_acs == np.count_nonzero(s) * 2 / B


def test_conv_events_exclude_padding_taps() -> None:
    """A 3x3 conv with padding 1 on an all-ones 4x4 input: events = taps inside the image."""
    b = GraphBuilder("g")
    x = b.input("x", TensorType((2, 4, 4), "f64"))
    s = b.add_node("lif", [x], LifAttrs(v_threshold=0.5, tau=1.0), name="s")
    weight = np.ones((3, 2, 3, 3))
    conv = b.add_node("conv2d", [s], Conv2dAttrs(weight=weight, bias=None, padding=(1, 1)))
    graph = b.finish([conv])
    inputs = np.ones((1, 1, 2, 4, 4))
    values = run_layerwise(graph, [inputs], record=True)
    assert values["s"].min() == 1.0
    (layer,) = count_operations(
        graph, values, analyze(graph), {n.name: "chip" for n in graph.nodes}
    ).layers
    # taps inside a 4x4 image for each output position: corners 4, edges 6, centre 9
    inside = 4 * 4 + 8 * 6 + 4 * 9
    assert layer.event_acs == 3 * 2 * inside  # C_out x C_in x taps
    assert layer.acs == 3 * 2 * 9 * 16  # the paper convention charges every tap
    # linear check of the same idea: a linear's events are nnz(x) x out_features
    b2 = GraphBuilder("h")
    x2 = b2.input("x", TensorType((5,), "f64"))
    s2 = b2.add_node("lif", [x2], LifAttrs(), name="s")
    fc = b2.add_node("linear", [s2], LinearAttrs(weight=np.ones((7, 5)), bias=None))
    g2 = b2.finish([fc])
    v2 = run_layerwise(g2, [np.full((2, 1, 5), 3.0)], record=True)
    (lin,) = count_operations(g2, v2, analyze(g2), {n.name: "chip" for n in g2.nodes}).layers
    assert lin.event_acs == np.count_nonzero(v2["s"]) * 7


def test_memory_and_chip_models_by_hand() -> None:
    """Memory traffic and chip energy of a tiny network, recomputed from its recorded values."""
    from snncompile.report.energy import OperationCounter
    from snncompile.report.models import MEMORY_45NM, conventions, energy_models
    from snncompile.targets.sim.perf import DEFAULT_ENERGY

    b = GraphBuilder("g")
    x = b.input("x", TensorType((5,), "f64"))
    s = b.add_node("lif", [x], LifAttrs(), name="s")
    fc = b.add_node("linear", [s], LinearAttrs(weight=np.ones((7, 5)), bias=None), name="fc")
    out = b.add_node("lif", [fc], LifAttrs(), name="out")
    graph = b.finish([out])
    rng = np.random.default_rng(3)
    inputs = rng.uniform(0.0, 3.0, size=(T, 2, 5))
    values = run_layerwise(graph, [inputs], record=True)
    counter = OperationCounter(graph, analyze(graph), {n.name: "chip" for n in graph.nodes})
    counter.watch(["s", "out"])
    counter.start_batch(2)
    for t in range(T):
        counter.observe(t, {k: v[t] for k, v in values.items()})
    report = counter.report()
    events = np.count_nonzero(values["s"]) * 7 / 2
    updates = (5 + 7) * T
    spikes = (values["s"].sum() + values["out"].sum()) / 2
    assert 0 < events < 7 * 5 * T
    m = MEMORY_45NM
    bytes_moved = (
        events * (m.weight_bytes + 2 * m.state_bytes)
        + updates * 2 * m.state_bytes
        + spikes * m.spike_bytes
    )
    models = energy_models(report)
    assert models["memory"]["energy_uj"] == pytest.approx(bytes_moved * 2.5e-6)
    chip = conventions(report)["chip"]
    assert (chip["synaptic_events"], chip["neuron_updates"]) == (events, updates)
    assert chip["spikes"] == pytest.approx(spikes)
    e = DEFAULT_ENERGY
    assert models["chip"]["energy_uj"] == pytest.approx(
        1e-6 * (23.6 * events + 52.0 * updates + 1.7 * spikes)
    )
    assert (e.e_synop_pj, e.e_neuron_update_pj, e.e_spike_pj) == (23.6, 52.0, 1.7)
    assert models["compute_45nm"]["energy_uj"] == pytest.approx(0.9e-6 * report.ac_ops)
