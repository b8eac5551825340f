"""The ``chip`` convention from the bit-accurate run (issue 22): its counts are the reference
simulator's activity counters of the compiled network, and the NoC spike messages between cores
follow the placement (hand-computed)."""

from __future__ import annotations

import numpy as np
import pytest

from snncompile.chip import DEFAULT_CHIP, get_chip
from snncompile.report.chip import chip_run, noc_summary
from snncompile.targets.sim.cores import Core, Placement, Slice
from snncompile.targets.sim.stats import SimStats


def test_noc_messages_by_hand() -> None:
    """A (6 neurons: 4 on core 0, 2 on core 1) -> B (on cores 1 and 2); the input feeds A.

    Step 0: A spikes 3 times (2 samples: 6 in total), step 1: none.
    Per inference, A's 3 spikes at step 0 are spread 4/6 on core 0 and 2/6 on core 1:
    core 0's 2 spikes go to cores 1 and 2 (2 messages each), core 1's 1 spike only to core 2
    (B's slice on core 1 is local): M(0) = 2·2 + 1·1 = 5."""
    cores = (
        Core(0, 0, [Slice("A", 0, 4, 0)]),
        Core(1, 0, [Slice("A", 4, 6, 0), Slice("B", 0, 3, 0)]),
        Core(2, 0, [Slice("B", 3, 5, 0)]),
    )
    placement = Placement(
        get_chip(DEFAULT_CHIP).limits,
        cores,
        {"A": 6, "B": 5},
        {"A": "lif", "B": "lif"},
        {"A.in0": "A", "B.in0": "B"},
        pre={"A.in0": None, "B.in0": "A"},
    )
    stats = SimStats(2, 2, spikes={"A": np.array([6.0, 0.0]), "B": np.zeros(2)})
    noc = noc_summary(placement, stats)
    assert noc["per_step"] == pytest.approx([5.0, 0.0])
    assert noc["per_inference"] == pytest.approx(5.0)
    assert noc["between_chips"] == 0.0
    assert noc["host_projections"] == ["A.in0"]


def test_chip_convention_is_the_simulator_run_of_the_compiled_network() -> None:
    """``check --count chip``'s counts equal the activity counters of ``run --backend sim`` on
    the same samples (the compiled network, pipelined), and its energy the chip model's."""
    from snncompile.api import compile as compile_model
    from snncompile.targets.sim.perf import DEFAULT_ENERGY

    compiled = compile_model("zoo:spikformer_digits", expand_sew=True)
    x = np.random.default_rng(0).random((3, *compiled.graph.inputs[0].type.shape)) * 4
    run = chip_run(compiled, x)
    stats = compiled.run(x, backend="sim", mode="pipelined").stats
    assert stats is not None
    counts = stats.per_sample()
    assert run["synaptic_events"] == counts["total_synaptic_events"]
    assert run["neuron_updates"] == counts["total_neuron_updates"]
    assert run["spikes"] == counts["total_spikes"]
    m = DEFAULT_ENERGY
    assert run["energy_uj"] == pytest.approx(
        1e-6
        * (
            m.e_synop_pj * run["synaptic_events"]
            + m.e_neuron_update_pj * run["neuron_updates"]
            + m.e_spike_pj * run["spikes"]
        )
    )
    assert run["latency_steps"] == compiled.time_steps + compiled.depth
    assert len(run["noc"]["per_step"]) == stats.steps
