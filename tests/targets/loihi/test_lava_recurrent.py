"""Lava (stock and fused) runs a recurrent network bit-exact with the reference kernels and the
simulator: recurrent projections are synapses from a population's own spikes, one step longer
(onto itself a ``Sparse``, the recurrent Dense of a recurrent layer)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

pytest.importorskip("lava.magma", reason="needs the loihi extra")

from snncompile.config import CompileConfig
from snncompile.frontend.netx import read_netx
from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.ir.ops.recurrent import RecurrentAttrs
from snncompile.ir.types import TensorType
from snncompile.passes.manager import PassContext
from snncompile.passes.pipeline_delays import PipelineDelays
from snncompile.targets.loihi._lava import require_lava
from snncompile.targets.loihi.netx import export_netx, run_netx
from snncompile.targets.loihi.run import run_lava
from snncompile.targets.sim.engine import Simulator
from snncompile.targets.sim.program import build_program
from tests.targets.sim.recurrent_graphs import inputs, recurrent_mlp

require_lava()
pytestmark = pytest.mark.lava


@pytest.mark.timeout(300)
@pytest.mark.parametrize("form", ["stock", "fused"])
def test_lava_equals_simulator_on_a_recurrent_network(form: str) -> None:
    program = build_program(recurrent_mlp(skip=True), CompileConfig())
    x = inputs(14, 1, seed=4)
    x = np.concatenate([x, np.zeros((program.depth, *x.shape[1:]), x.dtype)])
    ref = run_layerwise(program.pipelined, [x], record=True)
    sim = Simulator(program.pipelined).run([x], record=True)
    got = run_lava(program, [x], form=form)
    assert set(got.spikes) == {"s1", "s2"}
    for name, spikes in got.spikes.items():
        np.testing.assert_array_equal(spikes, ref[name], err_msg=f"{name} ({form})")
        np.testing.assert_array_equal(spikes, sim.spikes[name], err_msg=f"{name} ({form})")
        assert 3 < spikes.sum() < spikes.size - 3, name  # neither silent nor saturated
    for name, value in got.outputs.items():
        np.testing.assert_array_equal(value, ref[name])
    flat = build_program(recurrent_mlp(skip=True, rec_gain=0.0), CompileConfig())
    without = Simulator(flat.pipelined).run([x], record=True).spikes
    assert any(not np.array_equal(without[k], got.spikes[k]) for k in got.spikes)


def _recurrent_spike_chain(rec_scale: float = 1.0) -> Graph:
    """x (spikes, 10) -> dense -> lif h (+ a recurrent dense from h) -> dense -> lif o, as the
    network IR directly (a chain netx can hold: h is a ``dense_rec`` layer)."""
    rng = np.random.default_rng(5)
    b = GraphBuilder("rec_spikes", "network")
    x = b.input("x", TensorType((10,), "f64"))
    w1 = (rng.integers(-30, 60, (12, 10)) * 2).astype(np.float64)
    p1 = b.add_node("projection", [x], ProjectionAttrs("dense", weight=w1), name="h.in0")
    prev = b.add_node(
        "recurrent", [], RecurrentAttrs(source="h", shape=(12,), dtype="f64"), name="h.prev"
    )
    wr = np.round(rng.integers(-60, 40, (12, 12)) * rec_scale).astype(np.float64)
    p2 = b.add_node("projection", [prev], ProjectionAttrs("dense", weight=wr), name="h.in1")
    h = b.add_node(
        "population",
        [p1, p2],
        PopulationAttrs("lif", du=1000, dv=300, vth=150, bias_mant=np.full((12,), 3.0), bias_exp=6),
        name="h",
    )
    w3 = rng.integers(-40, 90, (6, 12)).astype(np.float64)
    p3 = b.add_node("projection", [h], ProjectionAttrs("dense", weight=w3), name="o.in0")
    o = b.add_node("population", [p3], PopulationAttrs("lif", du=4095, dv=0, vth=100), name="o")
    return PipelineDelays().run(b.finish([o]), PassContext())


@pytest.mark.timeout(300)
def test_netx_export_writes_dense_rec_and_netx_runs_it_bit_exact(tmp_path: Path) -> None:
    """Our recurrent chain as a netx ``dense_rec`` layer: netx in Lava equals the reference at
    every population from its start, and the file imports back to the same spikes."""
    graph = _recurrent_spike_chain()
    path = export_netx(graph, tmp_path / "rec.net")
    with h5py.File(path, "r") as handle:
        assert handle["layer"]["1"]["type"][()][0] == b"dense_rec"
    x = (np.random.default_rng(2).random((20, 1, 10)) < 0.4).astype(np.float64)
    record = run_layerwise(graph, [x], record=True)
    outputs = run_netx(path, x[:, 0])
    populations = [n for n in graph.nodes if n.op == "population"]
    for node, got in zip(populations, outputs, strict=True):
        want = record[node.output.name][:, 0]
        start = node.attrs.start
        np.testing.assert_array_equal(got[start:], want[start:], err_msg=node.name)
        assert want[start:].sum() > 3, node.name
    back = PipelineDelays().run(read_netx(path), PassContext())
    again = run_layerwise(back, [x], record=True)
    theirs_all = [n for n in back.nodes if n.op == "population"]
    for ours, theirs in zip(populations, theirs_all, strict=True):
        np.testing.assert_array_equal(again[theirs.output.name], record[ours.output.name])
    flat = _recurrent_spike_chain(rec_scale=0.0)
    other = run_layerwise(flat, [x], record=True)
    assert not np.array_equal(other["h"], record["h"])
