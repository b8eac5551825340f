"""The reference simulator equals the reference kernels bit for bit, fused or not."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snncompile.ir.graph import Graph, GraphBuilder, Value
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.network import CurrentSumAttrs, PopulationAttrs, ProjectionAttrs
from snncompile.ir.types import TensorType
from snncompile.passes.manager import PassContext, PassManager
from snncompile.targets.fixed import quantize_passes
from snncompile.targets.sim.engine import Simulator
from tests.targets.sim.programs import CONFIG, FAMILIES, digits_inputs, digits_model


def _population(b: GraphBuilder, inputs: list[Value], name: str, **kw: Any) -> Value:
    return b.add_node("population", inputs, PopulationAttrs(**kw), name=name)


def test_lif_population_golden_trace() -> None:
    """Hand-computed Lava LIF arithmetic: du=0 (u decays by 1/4096), dv=1024, vth=2, bias -3."""
    b = GraphBuilder("g", stage="network")
    x = b.input("x", TensorType((1,), "f64"))
    cur = b.add_node("projection", [x], ProjectionAttrs(kind="sum", graded=True), name="p")
    pop = _population(b, [cur], "pop", kind="lif", du=0, dv=1024, vth=2, bias_mant=np.array(-3.0))
    graph = b.finish([pop])
    currents = np.array([2, 2, -1, 5, 0, 0], dtype=np.float64).reshape(6, 1, 1)
    # u = trunc(u·4095/4096) + 64a:   128, 255 (127.97 -> 127, +128), 190, 509, 508, 507
    # v = trunc(v·3072/4096) + u - 3:  125, 345 -> spike (> 128): 0, 187 -> spike: 0,
    #                                  506 -> spike: 0, 505 -> spike: 0, 504 -> spike: 0
    expected = np.array([0, 1, 1, 1, 1, 1], dtype=np.float64).reshape(6, 1, 1)
    got = Simulator(graph).run([currents]).outputs["pop"]
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(run_layerwise(graph, [currents])["pop"], expected)


def test_lif_threshold_equality_does_not_spike_and_negative_decay_truncates() -> None:
    """``v == vth << 6`` does not spike (strict >); trunc(-v·dv) rounds toward zero."""
    b = GraphBuilder("g", stage="network")
    x = b.input("x", TensorType((2,), "f64"))
    cur = b.add_node("projection", [x], ProjectionAttrs(kind="sum", graded=True), name="p")
    pop = _population(b, [cur], "pop", kind="lif", du=4095, dv=2048, vth=1)
    graph = b.finish([pop])
    currents = np.array([[[1.0, -3.0]], [[0.0, 0.0]], [[1.0, 0.0]]])
    sim = Simulator(graph)
    got = sim.run([currents], stats=False).outputs["pop"]
    # neuron 0: v = 64 (== 64: no spike), then 32, then 32 + 64 = 96 > 64: spike
    np.testing.assert_array_equal(got[:, 0, 0], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(got[:, 0, 1], [0.0, 0.0, 0.0])


def test_voltage_saturates_at_24_bits() -> None:
    b = GraphBuilder("g", stage="network")
    x = b.input("x", TensorType((1,), "f64"))
    cur = b.add_node("projection", [x], ProjectionAttrs(kind="sum", graded=True), name="p")
    pop = _population(b, [cur], "pop", kind="lif", du=4095, dv=0, vth=2**17)
    graph = b.finish([pop])
    currents = np.full((3, 1, 1), 2.0**16)  # u = 2^22 per step; v would reach 3·2^22 > 2^23
    sim = Simulator(graph)
    got = sim.run([currents], stats=False).outputs["pop"]
    population = next(e for n, e in sim.plan if n.op == "population")
    assert population.v.max() == 2**23 - 1  # saturated: never above vth << 6 = 2^23
    np.testing.assert_array_equal(got, np.zeros((3, 1, 1)))
    np.testing.assert_array_equal(run_layerwise(graph, [currents])["pop"], got)


def _attention_graph(h: int, n: int, m: int, d: int, k: int) -> Graph:
    """``((A Bᵀ) C)`` for binary A [h,n,d], B [h,m,d], C [h,m,k] as coincidence and gated
    populations, read by a LIF with threshold 0 (so its input current is observable)."""
    b = GraphBuilder("attn", stage="network")
    qa = b.input("a", TensorType((h, n, d), "f64"))
    kb = b.input("b", TensorType((h, m, d), "f64"))
    vc = b.input("c", TensorType((h, m, k), "f64"))

    def proj(src: Value, pre: str, name: str) -> Value:
        return b.add_node("projection", [src], ProjectionAttrs(kind="sum", pre=pre), name=name)

    pa = proj(qa, f"reshape({h},{n},1,{d}) expand({h},{n},{m},{d})", "pa")
    pb = proj(kb, f"reshape({h},1,{m},{d}) expand({h},{n},{m},{d})", "pb")
    coincidence = _population(b, [pa, pb], "and", kind="and", du=4095, dv=4096, vth=1)
    counts = b.add_node(
        "projection",
        [coincidence],
        ProjectionAttrs(
            kind="sum", axes=(3,), post=f"reshape({h},{n},{m},1) expand({h},{n},{m},{k})"
        ),
        name="counts",
    )
    gate = proj(vc, f"reshape({h},1,{m},{k}) expand({h},{n},{m},{k})", "gate")
    gated = _population(b, [counts, gate], "gated", kind="gated")
    out = b.add_node(
        "projection", [gated], ProjectionAttrs(kind="sum", axes=(2,), graded=True), name="out"
    )
    probe = b.add_node("current_sum", [out], CurrentSumAttrs(), name="probe")
    return b.finish([probe])


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 2),
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(0, 2**31 - 1),
)
def test_attention_products_are_exact_fused_and_unfused(
    h: int, n: int, m: int, d: int, k: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    steps, batch = 2, 2
    a = (rng.random((steps, batch, h, n, d)) < 0.5).astype(np.float64)
    bb = (rng.random((steps, batch, h, m, d)) < 0.5).astype(np.float64)
    c = (rng.random((steps, batch, h, m, k)) < 0.5).astype(np.float64)
    graph = _attention_graph(h, n, m, d, k)
    expected = np.einsum("tbhnd,tbhmd->tbhnm", a, bb)
    expected = np.einsum("tbhnm,tbhmk->tbhnk", expected, c)
    fused = Simulator(graph)
    assert set(fused.fused) == {"and", "gated"}
    for sim in (fused, Simulator(graph, fuse_products=False)):
        result = sim.run([a, bb, c])
        np.testing.assert_array_equal(result.outputs["probe"], expected)
        assert result.stats is not None
        assert result.stats.spikes["and"].sum() == np.einsum("tbhnd,tbhmd->", a, bb)
    np.testing.assert_array_equal(run_layerwise(graph, [a, bb, c])["probe"], expected)


@pytest.mark.parametrize("family", FAMILIES)
def test_layerwise_network_equals_quantized_tensor_ir(family: str) -> None:
    _, graph, program = digits_model(family)

    reference = PassManager(quantize_passes()).run(graph, PassContext(config=CONFIG)).graph
    x = digits_inputs(family, 6)
    want = run_layerwise(reference, [x])[reference.outputs[0].name]
    got = Simulator(program.layerwise).run([x]).outputs[program.layerwise.outputs[0].name]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("family", FAMILIES)
def test_pipelined_output_at_t_plus_depth_equals_layerwise(family: str) -> None:
    _, _, program = digits_model(family)
    x = digits_inputs(family, 4)
    xp = digits_inputs(family, 4, drain=program.depth)
    name = program.layerwise.outputs[0].name
    layerwise = Simulator(program.layerwise).run([x]).outputs[name]
    pipelined = Simulator(program.pipelined).run([xp]).outputs[name]
    np.testing.assert_array_equal(pipelined[program.depth :], layerwise)


@pytest.mark.parametrize("family", ["spikformer", "sdt"])
def test_windowed_pipelined_run_keeps_the_counted_outputs(family: str) -> None:
    loaded, _, program = digits_model(family)
    xp = digits_inputs(family, 3, drain=program.depth)
    name = program.pipelined.outputs[0].name
    sim = Simulator(program.pipelined)
    full = sim.run([xp])
    windowed = sim.run([xp], window=loaded.time_steps)
    counted = slice(program.depth, program.depth + loaded.time_steps)
    np.testing.assert_array_equal(windowed.outputs[name][counted], full.outputs[name][counted])
    assert windowed.stats is not None and full.stats is not None
    for pop, first in windowed.stats.starts.items():  # T updates per sample, from the start
        neurons = windowed.stats.neurons[pop]
        assert windowed.stats.neuron_updates(pop) == neurons * loaded.time_steps * 3
        assert full.stats.neuron_updates(pop) == neurons * (xp.shape[0] - first) * 3
    for pop, first in windowed.stats.starts.items():  # the window counts the T steps of data
        np.testing.assert_array_equal(
            windowed.stats.spikes[pop][first : first + loaded.time_steps],
            full.stats.spikes[pop][first : first + loaded.time_steps],
        )


@pytest.mark.parametrize("family", ["spikingformer", "spikingresformer"])
def test_simulator_equals_reference_kernels_on_every_population(family: str) -> None:
    _, _, program = digits_model(family)
    xp = digits_inputs(family, 2, drain=program.depth)
    ref = run_layerwise(program.pipelined, [xp], record=True)
    sim = Simulator(program.pipelined)
    assert sim.fused  # attention is fused, so the counts below check the einsums
    result = sim.run([xp], record=True)
    assert result.stats is not None
    counted = sim.run([xp]).stats  # fused: counts from the einsums
    assert counted is not None
    for node in program.populations():
        np.testing.assert_array_equal(result.spikes[node.name], ref[node.name], err_msg=node.name)
        assert counted.spikes[node.name].sum() == np.count_nonzero(ref[node.name]), node.name


def test_events_count_fanout_of_conv_with_padding() -> None:
    """A 3x3 same conv: a corner spike reaches 4 outputs per output channel, a centre one 9."""
    b = GraphBuilder("g", stage="network")
    x = b.input("x", TensorType((1, 4, 4), "f64"))
    w = np.ones((2, 1, 3, 3))
    p = b.add_node(
        "projection", [x], ProjectionAttrs(kind="conv", weight=w, padding=(1, 1)), name="conv"
    )
    pop = _population(b, [p], "pop", kind="lif", vth=100)
    graph = b.finish([pop])
    spikes = np.zeros((1, 1, 1, 4, 4))
    spikes[0, 0, 0, 0, 0] = 1  # corner
    spikes[0, 0, 0, 1, 1] = 1  # centre
    stats = Simulator(graph).run([spikes]).stats
    assert stats is not None
    assert stats.events["conv"].sum() == 2 * 4 + 2 * 9


def test_simulator_refuses_a_tensor_graph(conv_lif_graph: Graph) -> None:
    with pytest.raises(Exception, match="CF203"):
        Simulator(conv_lif_graph)
