"""Lava runs (stock and fused forms) equal the reference ``run_layerwise`` bit for bit.

Unit cases build one small pipelined network each (a failure names the construct); the
acceptance test runs the shipped digits model of every family. Lava is slow: one or two
samples, T = the model's time steps + the pipeline depth.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("lava.magma", reason="needs the loihi extra")

from snncompile.ir.graph import Graph, GraphBuilder, Value
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.fixed import NoAttrs
from snncompile.ir.ops.network import (
    CurrentSumAttrs,
    PopulationAttrs,
    ProjectionAttrs,
)
from snncompile.ir.ops.tensor import ConstAttrs, Pool2dAttrs
from snncompile.ir.types import TensorType
from snncompile.targets.loihi._lava import require_lava
from snncompile.targets.loihi.errors import EMIT_CODE, RUN_CODE
from snncompile.targets.loihi.plan import exact_synapses
from snncompile.targets.loihi.run import run_lava

require_lava()
pytestmark = pytest.mark.lava
FORMS = ("stock", "fused")


class Net:
    """A tiny network-stage graph: ``x`` enters through a graded identity projection."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.b = GraphBuilder("t", "network")
        self.x = self.b.input("x", TensorType(shape, "f64"))

    def proj(self, src: Value, **kw: object) -> Value:
        shape = kw.pop("out_shape", None)
        types = None if shape is None else [TensorType(shape, "f64")]  # type: ignore[arg-type]
        return self.b.add_node("projection", [src], ProjectionAttrs(**kw), types=types)  # type: ignore[arg-type]

    def pop(self, inputs: list[Value], name: str, **kw: object) -> Value:
        return self.b.add_node("population", inputs, PopulationAttrs(**kw), name=name)  # type: ignore[arg-type]

    def graph(self, *outputs: Value) -> Graph:
        return self.b.finish(list(outputs))


def _check(graph: Graph, x: np.ndarray, form: str) -> None:
    ref = run_layerwise(graph, [x], record=True)
    got = run_lava(graph, [x], form=form)
    for name, spikes in got.spikes.items():
        assert np.array_equal(spikes, ref[name]), f"population {name} differs ({form})"
    for name, value in got.outputs.items():
        assert np.array_equal(value, ref[name]), f"output {name} differs ({form})"
    assert got.process_count == sum(got.processes.values())


def _inputs(shape: tuple[int, ...], steps: int = 8, low: int = -2, high: int = 6) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(low, high, size=(steps, 1, *shape)).astype(np.float64)


def _lif(**kw: object) -> dict[str, object]:
    return {"kind": "lif", "du": 2048, "dv": 1024, "vth": 2, **kw}


def _dense_net(weights: np.ndarray, weight_exp: int) -> Graph:
    n = Net((6,))
    a = n.pop([n.proj(n.x, kind="sum", graded=True, delay=1)], "a", **_lif(start=1))
    w = weights.astype(np.float64)
    b = n.pop(
        [n.proj(a, kind="dense", weight=w, weight_exp=weight_exp, delay=1)],
        "b",
        **_lif(start=2, vth=1),
    )
    return n.graph(b)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("form", FORMS)
def test_dense_negative_exponent_mixed_signs(form: str) -> None:
    w = np.array(
        [[3, -5, 7, 0, 1, -1], [9, 9, -3, 2, 5, 4], [-7, 1, 1, 1, 1, 1], [120, -128, 3, 5, 7, 9]]
    )
    _check(_dense_net(w, -1), _inputs((6,)), form)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("form", FORMS)
def test_dense_wide_weights_split(form: str) -> None:
    w = np.array(
        [[300, -200, 7, 0, 1, -1], [9, 9, -3, 2, 5, 4], [-7, 1, 1, 1, 1, 1], [1, 1, 3, 5, 7, 9]]
    )
    _check(_dense_net(w, 1), _inputs((6,)), form)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("form", FORMS)
def test_conv(form: str) -> None:
    n = Net((2, 5, 5))
    a = n.pop([n.proj(n.x, kind="sum", graded=True, delay=1)], "a", **_lif(start=1, vth=1))
    w = np.random.default_rng(1).integers(-4, 5, size=(3, 2, 3, 3)).astype(np.float64) * 2
    c = n.proj(a, kind="conv", weight=w, padding=(1, 1), delay=1)
    b = n.pop([c], "b", **_lif(start=2, vth=3))
    _check(n.graph(b), _inputs((2, 5, 5)), form)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("form", FORMS)
def test_sum_with_expand_views(form: str) -> None:
    n = Net((4,))
    a = n.pop([n.proj(n.x, kind="sum", graded=True, delay=1)], "a", **_lif(start=1, vth=1))
    s = n.proj(
        a,
        kind="sum",
        gain=2,
        axes=(1,),
        pre="reshape(1,4) expand(3,4)",
        post="reshape(3,1) expand(3,2)",
        delay=1,
    )
    b = n.pop([s], "b", **_lif(start=2, vth=4))
    _check(n.graph(b), _inputs((4,)), form)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("form", FORMS)
def test_delays_longer_than_one(form: str) -> None:
    n = Net((5,))
    a = n.pop([n.proj(n.x, kind="sum", graded=True, delay=3)], "a", **_lif(start=3, vth=1))
    late = n.proj(a, kind="sum", delay=4)
    direct = n.proj(n.x, kind="sum", graded=True, delay=7)
    b = n.pop([late, direct], "b", **_lif(start=7, vth=2))
    _check(n.graph(b), _inputs((5,), steps=14), form)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("form", FORMS)
def test_gated_with_bias(form: str) -> None:
    n = Net((4,))
    a = n.pop([n.proj(n.x, kind="sum", graded=True, delay=1)], "a", **_lif(start=1, vth=0))
    g = n.pop([n.proj(n.x, kind="sum", graded=True, delay=1)], "g", **_lif(start=1, vth=2))
    value = n.proj(a, kind="sum", gain=3, delay=1)
    gate = n.proj(g, kind="sum", delay=1)
    bias = np.array([1.0, -2.0, 0.0, 5.0])
    y = n.pop([value, gate], "y", kind="gated", bias_mant=bias, start=2)
    out = n.pop(
        [n.proj(y, kind="dense", weight=np.eye(4) * 3, graded=True, delay=1)],
        "z",
        **_lif(start=3, vth=4),
    )
    _check(n.graph(out), _inputs((4,)), form)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("form", FORMS)
def test_relay_sums_once_with_bias_after_start(form: str) -> None:
    """A relay (``--objective cores`` for broadcast sums, ``--ms-relay``): ``Σ value + bias``
    as a graded payload from ``start`` on, broadcast to a gated population behind it."""
    n = Net((4,))
    a = n.pop([n.proj(n.x, kind="sum", graded=True, delay=1)], "a", **_lif(start=1, vth=0))
    g = n.pop([n.proj(n.x, kind="sum", graded=True, delay=1)], "g", **_lif(start=1, vth=2))
    bias = np.array([1.0, -2.0])
    total = n.proj(a, kind="sum", pre="reshape(2,2)", axes=(1,), delay=1)
    first = n.proj(a, kind="sum", pre="slice(0,0,2,1)", delay=1)
    relay = n.pop([total, first], "r", kind="relay", bias_mant=bias, start=2)
    value = n.proj(
        relay, kind="sum", graded=True, post="reshape(2,1) expand(2,2) reshape(4)", delay=1
    )
    gate = n.proj(g, kind="sum", delay=2)
    y = n.pop([value, gate], "y", kind="gated", start=3)
    _check(n.graph(y), _inputs((4,)), form)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("form", FORMS)
def test_and_or(form: str) -> None:
    n = Net((6,))
    a = n.pop([n.proj(n.x, kind="sum", graded=True, delay=1)], "a", **_lif(start=1, vth=1))
    c = n.pop([n.proj(n.x, kind="sum", graded=True, delay=1)], "c", **_lif(start=1, vth=3))
    both = n.pop(
        [n.proj(a, kind="sum", delay=1), n.proj(c, kind="sum", delay=1)],
        "both",
        kind="and",
        du=4095,
        dv=4096,
        vth=1,
        start=2,
    )
    either = n.pop(
        [n.proj(a, kind="sum", delay=1), n.proj(c, kind="sum", delay=1)],
        "either",
        kind="or",
        du=4095,
        dv=4096,
        vth=0,
        start=2,
    )
    _check(n.graph(both, either), _inputs((6,)), form)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("form", FORMS)
def test_per_neuron_bias_and_start_gating(form: str) -> None:
    n = Net((5,))
    bias = np.array([40.0, -30.0, 100.0, 0.0, 7.0])
    a = n.pop(
        [n.proj(n.x, kind="sum", graded=True, delay=4)],
        "a",
        **_lif(start=4, vth=3, bias_mant=bias, bias_exp=2),
    )
    b = n.pop(
        [n.proj(a, kind="sum", delay=1)], "b", **_lif(start=5, vth=0, bias_mant=np.array(9.0))
    )
    _check(n.graph(b), _inputs((5,), steps=12), form)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("form", FORMS)
def test_per_neuron_thresholds(form: str) -> None:
    n = Net((6,))
    vth = np.array([1.0, 3.0, 1.0, 5.0, 3.0, 0.0])
    a = n.pop([n.proj(n.x, kind="sum", graded=True, delay=1)], "a", **_lif(start=1, vth_map=vth))
    w = np.arange(18, dtype=np.float64).reshape(3, 6) - 6
    b = n.pop([n.proj(a, kind="dense", weight=w, delay=2)], "b", **_lif(start=3, vth=2))
    _check(n.graph(b), _inputs((6,)), form)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("form", FORMS)
def test_current_probe_and_host_ops_in_the_middle(form: str) -> None:
    n = Net((1, 4, 4))
    a = n.pop([n.proj(n.x, kind="sum", graded=True, delay=1)], "a", **_lif(start=1, vth=1))
    w = np.full((2, 1, 1, 1), 3.0)
    probe = n.b.add_node(
        "current_sum", [n.proj(a, kind="conv", weight=w, delay=1)], CurrentSumAttrs(), name="probe"
    )
    biased = n.b.add_node("add_const", [probe], ConstAttrs(np.array(-1.0)), name="biased")
    pooled = n.b.add_node("maxpool2d", [biased], Pool2dAttrs((2, 2), (2, 2)), name="pooled")
    b = n.pop([n.proj(pooled, kind="sum", graded=True, delay=1)], "b", **_lif(start=3, vth=2))
    readout = n.b.add_node(
        "round",
        [n.b.add_node("add_const", [b], ConstAttrs(np.array(0.5)))],
        NoAttrs(),
        name="readout",
    )
    _check(n.graph(readout, probe), _inputs((1, 4, 4)), form)


def test_exact_synapses_sums_to_the_matrix() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, size=(10, 7))
    for w, e in [(rng.integers(-600, 600, (5, 7)), 2), (rng.integers(-100, 100, (5, 7)), -3)]:
        want = (x @ w.T) << e if e >= 0 else (x @ w.T) >> -e
        got = sum(((x @ m.T) << k if k >= 0 else (x @ m.T) >> -k) for m, k in exact_synapses(w, e))
        assert np.array_equal(got, want)


@pytest.mark.timeout(120)
def test_failure_inside_lava_reaches_the_caller() -> None:
    """A model that raises in a Lava child process: the message arrives, processes stop."""
    import multiprocessing

    graph = _dense_net(np.ones((4, 6)), 0)
    before = {p.pid for p in multiprocessing.active_children()}
    with pytest.raises(Exception) as info:
        run_lava(graph, [_inputs((6,))], form="fused", _fail_at_step=3)
    assert getattr(info.value, "code", None) == RUN_CODE
    assert "deliberate failure at step 3" in str(info.value)
    left = {p.pid for p in multiprocessing.active_children()} - before
    assert not left, f"Lava child processes left running: {left}"
    # The next run works: nothing is left in a bad state.
    _check(graph, _inputs((6,)), "fused")


def test_projection_bias_has_no_stock_form() -> None:
    n = Net((3,))
    p = n.proj(n.x, kind="sum", graded=True, delay=1, bias=np.array([1.0, 2.0, 3.0]))
    graph = n.graph(n.pop([p], "a", **_lif(start=1)))
    with pytest.raises(Exception) as info:
        run_lava(graph, [_inputs((3,))], form="stock")
    assert getattr(info.value, "code", None) == EMIT_CODE


FAMILIES = ("spikformer", "spikingformer", "sdt", "spikingresformer")
#: ``--objective``: the lowering's mapping choices (relay populations for broadcast sums under
#: ``cores``, fan-in under ``latency``).
OBJECTIVES = ("cores", "latency")


@pytest.fixture(scope="module")
def digits_programs() -> dict[tuple[str, str], tuple[object, np.ndarray]]:
    import torch

    from snncompile.config import CompileConfig
    from snncompile.data.digits import load_digits_split
    from snncompile.frontend.load import load_configured, to_graph
    from snncompile.frontend.simulate import time_major_inputs
    from snncompile.targets.sim.program import build_program

    programs = {}
    for family in FAMILIES:
        for objective in OBJECTIVES:
            cfg = CompileConfig(expand_sew=True, allow_host_ops=True, objective=objective)
            loaded = load_configured(f"examples/digits/{family}.pt", cfg)
            program = build_program(to_graph(loaded, torch.float64), cfg)
            split = load_digits_split(image_size=loaded.input_shape[1])
            x = time_major_inputs(
                program.pipelined, split.x_test[:1].astype(np.float64), loaded.time_steps
            )
            x = np.concatenate([x, np.zeros((program.depth, *x.shape[1:]))])
            programs[family, objective] = (program, x)
    return programs


@pytest.mark.timeout(600)
@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("family", FAMILIES)
def test_digits_model_equals_reference(
    family: str,
    form: str,
    objective: str,
    digits_programs: dict[tuple[str, str], tuple[object, np.ndarray]],
) -> None:
    program, x = digits_programs[family, objective]
    cores_program = digits_programs[family, "cores"][0]
    if objective == "latency" and not any(
        p["lowered_as"] == "relay"
        for p in cores_program.reports["lower-to-network"]["products"]  # type: ignore[attr-defined]
    ):
        pytest.skip(f"{family}: both objectives give the same network (no relay chosen)")
    ref = run_layerwise(program.pipelined, [x], record=True)  # type: ignore[attr-defined]
    got = run_lava(program, [x], form=form)
    assert got.spikes, "no populations"
    for name, spikes in got.spikes.items():
        assert np.array_equal(spikes, ref[name]), f"{family}/{form}: population {name} differs"
    for name, value in got.outputs.items():
        assert np.array_equal(value, ref[name]), f"{family}/{form}: output {name} differs"
    for name, current in got.currents.items():
        assert np.array_equal(current, ref[name]), f"{family}/{form}: current {name} differs"
    if form == "fused":
        assert got.process_count == 2
