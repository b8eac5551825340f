"""Performance and energy model: hand-computed time and energy, overrides, a digits model."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from snncompile.config import CompileConfig
from snncompile.data.samples import sample_inputs
from snncompile.diagnostics import ConfigError
from snncompile.frontend.load import load_configured, to_graph
from snncompile.frontend.simulate import time_major_inputs
from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs, project
from snncompile.ir.types import TensorType
from snncompile.report.compliance import check_graph
from snncompile.report.energy import E_AC_PJ, E_MAC_PJ
from snncompile.targets.loihi.arch import LIMITS as LOIHI2
from snncompile.targets.sim.cores import place_cores
from snncompile.targets.sim.perf import DEFAULT_ENERGY, EnergyModel, noc_messages, perf_report
from snncompile.targets.sim.program import NetworkProgram, build_program
from snncompile.targets.sim.stats import SimStats
from tests.targets.sim.test_cores import EXAMPLES, _identity_pops

UNIT = EnergyModel(
    name="unit test",
    e_synop_pj=1.0,
    e_neuron_update_pj=2.0,
    e_spike_pj=4.0,
    t_synop_ns=2.0,
    t_neuron_update_ns=1.0,
    t_spike_ns=10.0,
    t_barrier_ns=100.0,
)


def _stats() -> SimStats:
    """Two samples, two steps: p0 (10000 neurons) from step 0, p1 (100) from step 1."""
    return SimStats(
        samples=2,
        steps=2,
        spikes={"p0": np.array([200.0, 400.0]), "p1": np.array([0.0, 20.0])},
        events={"p0.in0": np.array([2000.0, 0.0]), "p1.in0": np.array([0.0, 50.0])},
        neurons={"p0": 10000, "p1": 100},
        starts={"p0": 0, "p1": 1},
    )


def test_time_and_energy_of_a_hand_built_run() -> None:
    placement = place_cores(_identity_pops(10000, 100))
    # core 0: p0[0, 8192); core 1: p0[8192, 10000) and p1 (first fit)
    assert [[s.population for s in c.slices] for c in placement.cores] == [["p0"], ["p0", "p1"]]
    report = perf_report(placement, _stats(), UNIT)
    # per inference: p0 events [1000, 0], spikes [100, 200]; p1 events [0, 25], spikes [0, 10]
    # roofline per core: max(updates · 1 ns, events · 2 ns, messages · 10 ns); host inputs
    # send no NoC messages
    f1 = 1808 / 10000
    core0 = [max(8192 * 1, 8192 / 10000 * 1000 * 2), max(8192 * 1, 0)]
    core1 = [max(1808, f1 * 1000 * 2), max(1808 + 100, 25 * 2)]
    step_ns = [max(a, b) + 100 for a, b in zip(core0, core1, strict=True)]
    assert step_ns == pytest.approx([8292, 8292])
    assert report.step_us == pytest.approx([t * 1e-3 for t in step_ns])
    assert report.busiest_core == (0, 0)
    assert report.bound == ("neurons", "neurons")
    assert report.latency_steps == 2
    assert report.time_us_per_inference == pytest.approx(16.584)
    assert report.time_us_per_step == pytest.approx(8.292)
    # energy: 1025 events x 1 pJ + (20000 + 100) updates x 2 pJ + 310 spikes x 4 pJ
    assert report.counts == {"synaptic_events": 1025, "neuron_updates": 20100, "spikes": 310}
    assert report.by_op == pytest.approx(
        {"synaptic_events": 1025e-6, "neuron_updates": 40200e-6, "spikes": 1240e-6}
    )
    assert report.energy_uj_per_inference == pytest.approx(0.042465)
    assert report.by_population["p1"]["energy_uj"] == pytest.approx((25 + 200 + 40) * 1e-6)
    out = json.loads(json.dumps(report.to_dict()))
    assert out["constants"]["e_synop_pj"] == 1.0
    assert out["paper_convention"]["e_mac_pj"] == E_MAC_PJ
    assert out["paper_convention"]["e_ac_pj"] == E_AC_PJ


def _chain(n: int) -> Graph:
    """Host -> p0 (n neurons) -> p1 (n neurons, one unit synapse each from p0)."""
    b = GraphBuilder("chain", "network")
    x = b.input("x", TensorType((n,), "f64"))
    p0 = b.add_node("projection", [x], ProjectionAttrs(kind="sum", graded=True), name="p0.in0")
    a = b.add_node("population", [p0], PopulationAttrs(kind="lif", vth=1), name="p0")
    p1 = b.add_node("projection", [a], ProjectionAttrs(kind="sum"), name="p1.in0")
    out = b.add_node("population", [p1], PopulationAttrs(kind="lif", vth=1), name="p1")
    return b.finish([out])


def test_noc_messages_by_hand() -> None:
    # p0: core 0 [0, 8192), core 1 [8192, 10000); p1: core 2 [0, 8192), core 1 (first fit)
    placement = place_cores(_chain(10000), dataclasses.replace(LOIHI2, cores_per_chip=2))
    assert placement.cores_of() == {"p0": [0, 1], "p1": [1, 2]}
    assert placement.pre == {"p0.in0": None, "p1.in0": "p0"}
    stats = SimStats(
        samples=2,
        steps=2,
        spikes={"p0": np.array([100.0, 40.0]), "p1": np.array([0.0, 10.0])},
        events={"p1.in0": np.array([100.0, 40.0])},
        neurons={"p0": 10000, "p1": 10000},
        starts={"p0": 0, "p1": 1},
    )
    traffic = noc_messages(placement, stats)
    s = np.array([50.0, 20.0])  # p0's spikes per inference; p1 feeds no projection
    f0, f1 = 0.8192, 0.1808
    np.testing.assert_allclose(traffic.out[0], f0 * 2 * s)  # to cores 1 and 2
    np.testing.assert_allclose(traffic.out[1], f1 * 1 * s)  # to core 2 (core 1 is local)
    np.testing.assert_allclose(traffic.out[2], 0 * s)
    np.testing.assert_allclose(traffic.into[2], s)
    np.testing.assert_allclose(traffic.into[1], (1 - f1) * s)
    np.testing.assert_allclose(traffic.total, (2 * f0 + f1) * s)
    # chips of two cores: core 2 is on chip 1, the sources on chip 0
    np.testing.assert_allclose(traffic.between_chips, (f0 + f1) * s)
    report = perf_report(placement, stats, UNIT)
    # core 0: 8192 updates (1 ns) vs (2·f0·50) messages (10 ns) in step 0
    assert report.noc["total"] == pytest.approx(list((2 * f0 + f1) * s))
    assert report.step_us[0] == pytest.approx((8192 + 100) * 1e-3)


def test_overriding_a_constant_scales_its_share(tmp_path: Path) -> None:
    placement = place_cores(_identity_pops(10000, 100))
    base = perf_report(placement, _stats(), UNIT)
    path = tmp_path / "loihi2_guess.json"
    path.write_text(json.dumps({"e_synop_pj": 3.0, "name": "a Loihi 2 GUESS"}))
    model = EnergyModel.load(path, base=UNIT)
    assert model.name == "a Loihi 2 GUESS" and "user override" in model.sources["e_synop_pj"]
    tripled = perf_report(placement, _stats(), model)
    assert tripled.by_op["synaptic_events"] == pytest.approx(3 * base.by_op["synaptic_events"])
    assert tripled.by_op["neuron_updates"] == base.by_op["neuron_updates"]
    assert tripled.energy_uj_per_inference - base.energy_uj_per_inference == pytest.approx(
        2 * 1025e-6
    )
    assert tripled.step_us == base.step_us
    # times scale the same way (TOML works too); no events in step 1 of core 0
    toml = tmp_path / "slow.toml"
    toml.write_text("t_neuron_update_ns = 2.0\n")
    slow = perf_report(placement, _stats(), EnergyModel.load(toml, base=UNIT))
    assert slow.step_us[1] - base.step_us[1] == pytest.approx(8192e-3)
    assert dataclasses.replace(DEFAULT_ENERGY, e_spike_pj=0.0).e_spike_pj == 0.0


def test_unknown_override_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"e_synapse": 1}')
    with pytest.raises(ConfigError, match="e_synapse"):
        EnergyModel.load(path)


def _events(attrs: ProjectionAttrs, source: np.ndarray) -> float:
    """Σ over source elements of (non-zero) x fan-out: the projection with every non-zero
    weight 1 (no bias, exponent or gain) applied to the source's non-zero pattern."""
    ones = None if attrs.weight is None else (attrs.weight != 0).astype(np.float64)
    unit = dataclasses.replace(
        attrs, weight=ones, bias=None, weight_exp=0, gain=1, graded=True, delay=0
    )
    return float(project(unit, (source != 0).astype(np.float64)).sum())


def stats_from_run(program: NetworkProgram, x: np.ndarray, time_steps: int) -> SimStats:
    """SimStats of the pipelined program on static inputs ``x`` [B, *shape] (T + depth steps)."""
    graph = program.pipelined
    steps = time_steps + program.depth
    values = run_layerwise(graph, [time_major_inputs(graph, x, steps)], record=True)
    stats = SimStats(samples=x.shape[0], steps=steps)
    for node in program.populations():
        out = values[node.output.name]
        stats.spikes[node.name] = np.count_nonzero(out.reshape(steps, -1), axis=1).astype(float)
        stats.neurons[node.name] = node.output.type.numel
        stats.starts[node.name] = node.attrs.start
    for node in program.projections():
        source = values[node.inputs[0].name]
        stats.events[node.name] = np.array([_events(node.attrs, source[t]) for t in range(steps)])
    return stats


def test_digits_model_time_and_energy_next_to_the_paper_convention() -> None:
    cfg = CompileConfig(expand_sew=True, allow_host_ops=True)
    loaded = load_configured(str(EXAMPLES / "spikingformer.pt"), cfg)
    assert loaded.input_shape is not None
    program = build_program(to_graph(loaded, torch.float64), cfg)
    x = sample_inputs(loaded.input_shape, samples=2, dataset="digits").astype(np.float64)
    stats = stats_from_run(program, x, loaded.time_steps)
    paper = check_graph(to_graph(loaded), np.repeat(x[None], loaded.time_steps, 0)).energy
    placement = place_cores(program)
    report = perf_report(placement, stats, paper=paper)
    out = report.to_dict()
    print(
        "spikingformer digits:",
        {k: out[k] for k in ("time_us_per_step", "latency_steps", "time_us_per_inference")},
        f"energy {report.energy_uj_per_inference:.3f} uJ (Loihi 1 reference),",
        f"paper convention {out['paper_convention']['energy_uj_per_inference']:.3f} uJ",
        report.counts,
    )
    assert report.latency_steps == loaded.time_steps + program.depth
    assert report.unplaced == ()
    assert report.counts["synaptic_events"] > 0 and report.counts["spikes"] > 0
    assert out["paper_convention"]["energy_uj_per_inference"] == pytest.approx(
        paper.energy_mj * 1e3
    )
    expected = (
        report.counts["synaptic_events"] * 23.6
        + report.counts["neuron_updates"] * 52.0
        + report.counts["spikes"] * 1.7
    ) * 1e-6
    assert report.energy_uj_per_inference == pytest.approx(expected)
    assert report.time_us_per_step >= 0.465
    json.dumps(out)
