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
from snncompile.targets.sim.arrays import NumpyBackend
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


def _plain_backend(**settings: Any) -> NumpyBackend:
    backend = NumpyBackend()
    for name, value in settings.items():
        setattr(backend, name, value)
    return backend


@pytest.mark.parametrize(
    ("low", "high", "scale"),
    [(0, 255, 1), (-255, 0, 1), (-256, 254, 2), (-128, 127, 4), (-100, 155, 8), (-3, 3, 1)],
)
@pytest.mark.parametrize(("exponent", "bias"), [(0, False), (-2, True), (-7, False), (3, True)])
def test_int8_dense_products_equal_the_float_path(
    low: int, high: int, scale: int, exponent: int, bias: bool
) -> None:
    """``W = g · (W8 + c)`` in int32 gives the float path's ``shift(rint(W s + b), e)`` bits
    for every weight sign mode (excitatory needs the offset c, mixed Loihi mantissas g = 2)."""
    rng = np.random.default_rng(low + 1000 * scale - exponent)
    weight = rng.integers(low // scale, high // scale + 1, (37, 300)) * scale
    weight[0, :2] = (low // scale) * scale, (high // scale) * scale  # both ends present
    b = GraphBuilder("g", stage="network")
    x = b.input("x", TensorType((5, 300), "f64"))
    attrs = ProjectionAttrs(
        kind="dense",
        weight=weight.astype(np.float64),
        bias=rng.integers(-500, 500, (5, 37)).astype(np.float64) if bias else None,
        weight_exp=exponent,
    )
    p = b.add_node("projection", [x], attrs, name="p")
    graph = b.finish([p])
    spikes = (rng.random((3, 4, 5, 300)) < 0.3) * rng.choice([1.0, -2.0], (3, 4, 5, 300))
    fast = Simulator(graph)
    assert fast.plan[0][1].int8 is not None
    plain = Simulator(graph, backend=_plain_backend(int8_products=False))
    assert plain.plan[0][1].int8 is None
    want = plain.run([spikes]).outputs["p"]
    np.testing.assert_array_equal(fast.run([spikes]).outputs["p"], want)
    np.testing.assert_array_equal(run_layerwise(graph, [spikes])["p"], want)


def test_dense_weights_beyond_int8_stay_on_the_float_path() -> None:
    b = GraphBuilder("g", stage="network")
    x = b.input("x", TensorType((4,), "f64"))
    weight = np.array([[-200.0, 1, 0, 200]])  # spans 400 > 255: no int8 offset fits
    p = b.add_node("projection", [x], ProjectionAttrs(kind="dense", weight=weight), name="p")
    assert Simulator(b.finish([p])).plan[0][1].int8 is None


@pytest.mark.parametrize("family", FAMILIES)
def test_row_blocks_and_int8_products_change_no_bit(family: str) -> None:
    """The LIF in blocks of one batch row, and without int8 products or blocks at all, gives
    the same outputs, spikes and statistics."""
    _, _, program = digits_model(family)
    xp = digits_inputs(family, 3, drain=program.depth)
    name = program.pipelined.outputs[0].name
    runs = [
        Simulator(program.pipelined, backend=_plain_backend(**settings)).run([xp], record=True)
        for settings in (
            {},
            {"block_elements": 1},
            {"block_elements": None, "int8_products": False},
        )
    ]
    assert any(
        ex.int8 is not None for n, ex in Simulator(program.pipelined).plan if n.op == "projection"
    )
    for result in runs[1:]:
        np.testing.assert_array_equal(result.outputs[name], runs[0].outputs[name])
        assert result.spikes.keys() == runs[0].spikes.keys()
        for pop, spikes in result.spikes.items():
            np.testing.assert_array_equal(spikes, runs[0].spikes[pop], err_msg=pop)
        assert result.stats is not None and runs[0].stats is not None
        for pop, counts in result.stats.events.items():
            np.testing.assert_array_equal(counts, runs[0].stats.events[pop], err_msg=pop)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation", "low", "high"),
    [
        (1, 1, 0, 1, -127, 127),
        (3, 1, 1, 1, 0, 255),
        (3, 2, 1, 1, -128, 127),
        (3, 1, 2, 2, -255, 0),
        (2, 2, 0, 1, -60, 60),
    ],
)
def test_int8_conv_products_equal_the_float_path(
    kernel: int, stride: int, padding: int, dilation: int, low: int, high: int
) -> None:
    """Convolutions through the int8 im2col columns give the float path's bits (one product
    per sample on maps of 256 positions or more, one over the batch below)."""
    size = 20 if kernel == 1 else 9
    rng = np.random.default_rng(kernel * 100 + stride * 10 + padding)
    weight = rng.integers(low, high + 1, (6, 5, kernel, kernel)).astype(np.float64)
    weight[0, 0, 0, 0], weight[1, 0, 0, 0] = low, high
    b = GraphBuilder("g", stage="network")
    x = b.input("x", TensorType((5, size, size), "f64"))
    attrs = ProjectionAttrs(
        kind="conv",
        weight=weight,
        bias=rng.integers(-99, 99, 6).astype(np.float64),
        weight_exp=-1,
        stride=(stride, stride),
        padding=(padding, padding),
        dilation=(dilation, dilation),
    )
    p = b.add_node("projection", [x], attrs, name="p")
    graph = b.finish([p])
    spikes = (rng.random((2, 3, 5, size, size)) < 0.4).astype(np.float64)
    fast = Simulator(graph)
    assert fast.plan[0][1].int8 is not None
    want = Simulator(graph, backend=_plain_backend(int8_products=False)).run([spikes])
    np.testing.assert_array_equal(fast.run([spikes]).outputs["p"], want.outputs["p"])
    np.testing.assert_array_equal(run_layerwise(graph, [spikes])["p"], want.outputs["p"])


def test_host_delay_and_idle_host_ops_outside_the_window() -> None:
    """The host delay (a reference line) equals its reference kernel, and a stateless host op
    fed the idle zeros outside the window still outputs ``f(0)`` (its constant) every step."""
    from snncompile.ir.ops.fixed import DelayAttrs
    from snncompile.ir.ops.tensor import ConstAttrs

    b = GraphBuilder("g", stage="network")
    x = b.input("x", TensorType((2,), "f64"))
    cur = b.add_node("projection", [x], ProjectionAttrs(kind="sum", graded=True), name="p")
    pop = _population(b, [cur], "pop", kind="lif", du=4095, dv=4096, vth=1)
    late = b.add_node("delay", [pop], DelayAttrs(steps=2), name="late")
    out = b.add_node("add_const", [late], ConstAttrs(value=np.array([5.0, -3.0])), name="out")
    graph = b.finish([out])
    currents = np.array([[[2.0, 0.0]], [[0.0, 2.0]], [[2.0, 2.0]], [[0.0, 0.0]], [[2.0, 0.0]]])
    want = run_layerwise(graph, [currents])["out"]
    np.testing.assert_array_equal(Simulator(graph).run([currents]).outputs["out"], want)
    windowed = Simulator(graph).run([currents], window=1).outputs["out"]
    np.testing.assert_array_equal(windowed[2], want[2])  # the one step in the window, delayed
    for t in (0, 1, 3, 4):
        np.testing.assert_array_equal(windowed[t], [[5.0, -3.0]])
