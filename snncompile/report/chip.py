"""The ``chip`` counting convention from the bit-accurate run of the compiled network.

``check --count chip`` compiles the traced graph to the network program (the network
pipeline, as ``run`` does), runs the same sample inputs through the reference simulator
(pipelined, bit-exact with Lava) and counts, per inference, from the simulator's activity
counters (:class:`~snncompile.targets.sim.stats.SimStats`):

- ``U``: neuron updates (every neuron of a population, every step of its window),
- ``E_syn``: synaptic events (a non-zero source element times its synapses),
- ``S``: spikes (non-zero population outputs),
- ``M``: NoC spike messages between cores (:func:`noc_summary`),

priced with the chip model's constants (:class:`~snncompile.chip.EnergyModel`, via
:func:`~snncompile.targets.sim.perf.perf_report`)::

    E_chip = e_synop · E_syn + e_neuron · U + e_spike · S

The NoC messages are counted, not priced: the chip model has no per-message energy (Davies et
al. 2018 publish none), so they are reported beside the energy.

**NoC traffic** is the placement's traffic model
(:func:`snncompile.targets.sim.perf.noc_messages`, the one the latency model uses): a spike of a
source neuron on core ``c`` is one message to every *other* core that holds a slice of a
population it projects to, a population's spikes spread over its slices in proportion to their
neurons::

    M(t) = Σ_{projections p: A -> B} Σ_{slices s of A on core c}
           S_A(t) · n_s / N_A · |cores(B) \\ {c}|

Projections from the host input (not a population) are host messages, listed apart.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from snncompile.targets.sim.cores import Placement
from snncompile.targets.sim.stats import SimStats

__all__ = ["chip_run", "noc_summary", "with_chip_run"]


def noc_summary(placement: Placement, stats: SimStats) -> dict[str, Any]:
    """Spike messages between cores per step and per inference, and between chips, of the run
    ``stats`` on ``placement`` (module docstring)."""
    from snncompile.targets.sim.perf import noc_messages

    traffic = noc_messages(placement, stats)
    per_step = traffic.total
    return {
        "per_step": per_step.tolist(),
        "per_inference": float(per_step.sum()),
        "between_chips": float(traffic.between_chips.sum()),
        "host_projections": sorted(p for p in placement.targets if placement.pre.get(p) is None),
    }


def chip_run(compiled: Any, x: np.ndarray) -> dict[str, Any]:
    """The ``chip`` convention of the bit-accurate run of ``compiled`` (an
    :class:`~snncompile.api.Compiled`) on the samples ``x`` (module docstring)."""
    from snncompile.targets.sim.cores import place_cores
    from snncompile.targets.sim.perf import perf_report

    out = compiled.run(x, backend="sim", mode="pipelined")
    stats: SimStats = out.stats
    placement = place_cores(compiled.program)
    perf = perf_report(placement, stats)
    noc = noc_summary(placement, stats)
    counts = perf.counts
    return {
        "synaptic_events": float(counts["synaptic_events"]),
        "neuron_updates": float(counts["neuron_updates"]),
        "spikes": float(counts["spikes"]),
        "noc_messages": noc["per_inference"],
        "energy_uj": perf.energy_uj_per_inference,
        "model": "chip model",
        "source": "bit-accurate run of the compiled network (reference simulator, pipelined)",
        "latency_steps": perf.latency_steps,
        "cores": perf.cores,
        "noc": noc,
        "constants_pj": {
            "synaptic_event": perf.model.e_synop_pj,
            "neuron_update": perf.model.e_neuron_update_pj,
            "spike": perf.model.e_spike_pj,
        },
        "description": "the compiled network's synaptic events, neuron updates (every neuron, "
        "every step of its window) and spikes from the simulator's activity counters, at the "
        "chip model's constants; NoC spike messages between cores counted, not priced",
    }


def with_chip_run(report: Any, compiled: Any, x: np.ndarray) -> Any:
    """``report`` (a :class:`~snncompile.report.compliance.ComplianceReport`) with its energy's
    ``chip`` convention taken from the bit-accurate run (:func:`chip_run`)."""
    from snncompile.diagnostics import SnnCompileError

    try:
        run = chip_run(compiled, x)
    except SnnCompileError as exc:  # not compilable as it stands: the estimate, labelled
        run = {"unavailable": f"{exc.code}: {exc.message.splitlines()[0]}"}
    energy = dataclasses.replace(report.energy, chip_run=run)
    return dataclasses.replace(report, energy=energy)
