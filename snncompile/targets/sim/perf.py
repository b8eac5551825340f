"""Performance and energy model: time per step from the busiest core, energy per inference.

Inputs are a :class:`~snncompile.targets.sim.cores.Placement` and the activity of a simulated
run (:class:`~snncompile.targets.sim.stats.SimStats`, counts summed over ``samples``); all
counts below are per inference (divided by ``samples``).

Time: the max-affine ("roofline") lower bound of Timcheck, Pierro and Shrestha 2026 (arXiv
2601.10035): in step ``t`` every core is bound by the slowest of its neuron updates, its
synaptic operations and its NoC messages, and all cores then meet at a barrier::

    U_c(t) = Σ_{slices s on c} n_s · [t >= start(pop(s))]                 neuron updates
    E_c(t) = Σ_{slices s on c} (n_s / N_pop(s)) · Σ_{p -> pop(s)} E_p(t)   synaptic events
    M_c(t) = out_c(t) + in_c(t)                                          NoC messages (below)
    τ(t)   = max_c max( U_c(t)·t_neuron, E_c(t)·t_synop, M_c(t)·t_spike ) + t_barrier

NoC messages (:func:`noc_messages`): a spike of population ``A`` read by projection ``p`` into
population ``B`` is one message from its core to every *other* core holding ``B`` (multicast
as one message per destination core; local delivery is free)::

    out_c(t) += S_A(t) · f_{A,c} · (|cores(B)| - [c ∈ cores(B)])
    in_d(t)  += S_A(t) · (1 - f_{A,d})          for d ∈ cores(B)

with ``f_{A,c}`` the fraction of ``A``'s neurons on core ``c`` (events and spikes of a
population are spread over its slices in proportion to their neurons: a uniform-activity
assumption; every spike is assumed to reach every core of ``B``, exact for dense projections
and an upper bound for local ones). A core is compute-bound in a step when one of its compute
terms is its maximum, NoC-bound otherwise (``bound``). ``time_us_per_inference = Σ_t τ(t)``
over the run's ``latency_steps`` steps (``T + depth`` for a pipelined run),
``time_us_per_step`` its mean. The constants are the Loihi 1 figures (assumptions for Loihi
2, whose per-operation times are not published); host I/O and the Lakemont cores are not
modelled, nor congestion beyond the per-core message count.

Energy (dynamic only; no static/leakage power)::

    E = e_synop · Σ_p E_p + e_neuron · Σ_pop U_pop + e_spike · Σ_pop S_pop

The per-operation constants are one table, :class:`~snncompile.chip.EnergyModel`, part of the
chip model (``ChipModel.energy``; the default is the placed chip's). Intel has published them
only for Loihi 1 (Davies et al. 2018, IEEE Micro); for Loihi 2 none are public, so Loihi 2's
table (:mod:`snncompile.targets.loihi.arch`) *is* the Loihi 1 reference, labelled so. Override
it with :meth:`EnergyModel.load` (a JSON or TOML file of field values) or
:func:`dataclasses.replace`.
The report carries, next to it, the spiking-transformer papers' 45 nm convention
(:mod:`snncompile.report.energy`) when given its :class:`~snncompile.report.energy.EnergyReport`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snncompile.chip import CHIPS, DEFAULT_CHIP, EnergyModel, get_chip
from snncompile.report.energy import E_AC_PJ, E_MAC_PJ, EnergyReport
from snncompile.targets.sim.cores import Placement
from snncompile.targets.sim.stats import SimStats

__all__ = [
    "DEFAULT_ENERGY",
    "EnergyModel",
    "NocTraffic",
    "PerfReport",
    "noc_messages",
    "perf_report",
]

#: The default chip's energy table (Loihi 2: the Loihi 1 reference figures, labelled so).
DEFAULT_ENERGY: EnergyModel = get_chip(DEFAULT_CHIP).energy


@dataclass(frozen=True)
class PerfReport:
    """Time and energy of one inference under an :class:`EnergyModel` (see module docstring).

    Attributes:
        model: the constants used (with their sources).
        cores, chips: the placement's size.
        latency_steps: steps of the run (``T + depth`` in pipelined mode).
        step_us: ``τ(t)`` for every step, microseconds.
        busiest_core: per step, the core that set ``τ(t)``.
        bound: per step, what bound the busiest core: ``neurons``, ``synops`` or ``noc``.
        noc: per step, NoC messages per inference in total and between chips.
        counts: per inference: ``synaptic_events``, ``neuron_updates``, ``spikes``.
        by_op: energy per inference in µJ per operation type.
        by_population: per population: neurons, events into it, updates, spikes, µJ.
        paper: the papers' 45 nm figure (``None`` without an EnergyReport) and its constants.
        unplaced: projections with events but no placed target (energy counted, time not).
    """

    model: EnergyModel
    cores: int
    chips: int
    latency_steps: int
    step_us: tuple[float, ...]
    busiest_core: tuple[int, ...]
    counts: dict[str, float]
    by_op: dict[str, float]
    by_population: dict[str, dict[str, float]]
    paper: dict[str, Any]
    unplaced: tuple[str, ...] = ()
    bound: tuple[str, ...] = ()
    noc: dict[str, list[float]] = field(default_factory=dict)

    @property
    def time_us_per_inference(self) -> float:
        return float(sum(self.step_us))

    @property
    def time_us_per_step(self) -> float:
        return self.time_us_per_inference / max(self.latency_steps, 1)

    @property
    def energy_uj_per_inference(self) -> float:
        return float(sum(self.by_op.values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_us_per_step": self.time_us_per_step,
            "latency_steps": self.latency_steps,
            "time_us_per_inference": self.time_us_per_inference,
            "energy_uj_per_inference": self.energy_uj_per_inference,
            "cores": self.cores,
            "chips": self.chips,
            "step_us": list(self.step_us),
            "busiest_core": list(self.busiest_core),
            "bound": list(self.bound),
            "noc_messages": {k: list(v) for k, v in self.noc.items()},
            "counts_per_inference": dict(self.counts),
            "energy_uj_by_op": dict(self.by_op),
            "by_population": {k: dict(v) for k, v in self.by_population.items()},
            "constants": self.model.to_dict(),
            "paper_convention": dict(self.paper),
            "unplaced_projections": list(self.unplaced),
            "notes": (
                "dynamic energy only; time: max-affine roofline per core (neuron updates, "
                "synaptic ops, NoC messages) plus a barrier per step (Timcheck et al. 2026), "
                "Loihi 1 constants; events and spikes spread over a population's cores in "
                "proportion to its neurons; host I/O not modelled"
            ),
        }


@dataclass(frozen=True)
class NocTraffic:
    """NoC messages per inference of a run on a placement (:func:`noc_messages`).

    Attributes:
        out: ``[cores, steps]`` messages each core sends to other cores.
        into: ``[cores, steps]`` messages each core receives from other cores.
        between_chips: ``[steps]`` messages whose two cores are on different chips.
    """

    out: np.ndarray
    into: np.ndarray
    between_chips: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """``[steps]`` messages between cores (each counted once)."""
        return np.asarray(self.out.sum(axis=0))


def _fractions(placement: Placement) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Population -> (its cores, the fraction of its neurons on each)."""
    cores: dict[str, list[int]] = {p: [] for p in placement.populations}
    sizes: dict[str, list[int]] = {p: [] for p in placement.populations}
    for core in placement.cores:
        for s in core.slices:
            cores[s.population].append(core.index)
            sizes[s.population].append(s.neurons)
    out = {}
    for pop, total in placement.populations.items():
        idx = np.asarray(cores[pop], np.int64)
        frac = np.asarray(sizes[pop], np.float64) / max(total, 1)
        out[pop] = (idx, frac)
    return out


def noc_messages(placement: Placement, stats: SimStats) -> NocTraffic:
    """Per step, the NoC messages between cores of the run ``stats`` on ``placement`` (per
    inference: counts divided by ``stats.samples``; module docstring for the model).

    Projections from the host (no source population) and from populations the run did not
    record send nothing here (host I/O is not modelled).
    """
    samples = max(stats.samples, 1)
    steps = stats.steps
    n_cores = max(len(placement.cores), 1)
    out = np.zeros((n_cores, steps))
    into = np.zeros((n_cores, steps))
    between = np.zeros(steps)
    chip_of = np.asarray([c.chip for c in placement.cores] or [0], np.int64)
    where = _fractions(placement)
    for proj, target in placement.targets.items():
        source = placement.pre.get(proj)
        if source is None or source not in stats.spikes or source not in where:
            continue
        spikes = np.asarray(stats.spikes[source], np.float64) / samples
        src_idx, src_frac = where[source]
        dst_idx, _ = where[target]
        if not src_idx.size or not dst_idx.size:
            continue
        dst = np.zeros(n_cores, bool)
        dst[dst_idx] = True
        # out: to every core of the target but one's own
        fan = dst_idx.size - dst[src_idx].astype(np.float64)
        np.add.at(out, src_idx, np.outer(src_frac * fan, spikes))
        # in: every destination core gets the spikes not already on it
        local = np.zeros(n_cores)
        np.add.at(local, src_idx, src_frac)
        np.add.at(into, dst_idx, np.outer(1.0 - local[dst_idx], spikes))
        # between chips: per source slice, the destination cores on another chip
        dst_chips = np.bincount(chip_of[dst_idx], minlength=int(chip_of.max()) + 1)
        other = dst_idx.size - dst_chips[chip_of[src_idx]]
        between += float(np.dot(src_frac, other)) * spikes
    return NocTraffic(out, into, between)


def _paper(paper: EnergyReport | None) -> dict[str, Any]:
    out: dict[str, Any] = {"e_mac_pj": E_MAC_PJ, "e_ac_pj": E_AC_PJ}
    if paper is None:
        out["energy_uj_per_inference"] = None
        out["note"] = "pass the EnergyReport of `snncompile check` for the paper figure"
        return out
    summary = paper.to_dict()
    out.update(
        convention=summary["convention"],
        mac_ops=summary["mac_ops"],
        ac_ops=summary["ac_ops"],
        energy_uj_per_inference=summary["energy_mj"] * 1e3,
        time_steps=summary["time_steps"],
    )
    return out


def perf_report(
    placement: Placement,
    stats: SimStats,
    model: EnergyModel | None = None,
    *,
    paper: EnergyReport | None = None,
) -> PerfReport:
    """Time and energy per inference of the run ``stats`` on ``placement`` (module docstring).

    ``stats.spikes``/``stats.neurons`` are keyed by population, ``stats.events`` by projection
    (the names of the placed graph); populations missing from ``stats`` count as silent.
    """
    if model is None:
        name = placement.limits.name
        model = get_chip(name).energy if name in CHIPS else DEFAULT_ENERGY
    samples = max(stats.samples, 1)
    steps = stats.steps
    n_cores = len(placement.cores)
    into: dict[str, np.ndarray] = {name: np.zeros(steps) for name in placement.populations}
    unplaced = []
    for proj, events in stats.events.items():
        target = placement.targets.get(proj)
        if target is None:
            unplaced.append(proj)
        else:
            into[target] += np.asarray(events, np.float64) / samples
    slices: dict[str, tuple[list[int], list[int]]] = {p: ([], []) for p in placement.populations}
    for core in placement.cores:
        for s in core.slices:
            slices[s.population][0].append(core.index)
            slices[s.population][1].append(s.neurons)
    t = np.arange(steps)
    neurons_ns = np.zeros((max(n_cores, 1), steps))
    synops_ns = np.zeros((max(n_cores, 1), steps))
    by_population: dict[str, dict[str, float]] = {}
    for pop, total in placement.populations.items():
        spikes = np.asarray(stats.spikes.get(pop, np.zeros(steps)), np.float64) / samples
        updating = pop in stats.neurons
        active = stats.active(pop) if updating else t * 0.0
        idx, sizes = slices[pop]
        n = np.asarray(sizes, np.float64)
        cores_of = np.asarray(idx, np.int64)
        np.add.at(synops_ns, cores_of, np.outer(n / max(total, 1), into[pop] * model.t_synop_ns))
        np.add.at(neurons_ns, cores_of, np.outer(n, active * model.t_neuron_update_ns))
        updates = stats.neuron_updates(pop) / samples if updating else 0.0
        events_in, spike_total = float(into[pop].sum()), float(spikes.sum())
        by_population[pop] = {
            "neurons": float(total),
            "synaptic_events_in": events_in,
            "neuron_updates": updates,
            "spikes": spike_total,
            "energy_uj": 1e-6
            * (
                events_in * model.e_synop_pj
                + updates * model.e_neuron_update_pj
                + spike_total * model.e_spike_pj
            ),
        }
    events_total = float(sum(np.sum(v) for v in stats.events.values())) / samples
    updates_total = float(sum(stats.neuron_updates(p) for p in stats.neurons)) / samples
    spikes_total = float(sum(np.sum(v) for v in stats.spikes.values())) / samples
    traffic = noc_messages(placement, stats)
    noc_ns = (traffic.out + traffic.into) * model.t_spike_ns
    terms = np.stack([neurons_ns, synops_ns, noc_ns])  # [3, cores, steps]
    load = terms.max(axis=0)
    busiest = load.argmax(axis=0)
    which = terms[:, busiest, np.arange(steps)].argmax(axis=0)
    step_ns = load.max(axis=0) + model.t_barrier_ns
    return PerfReport(
        model=model,
        cores=n_cores,
        chips=placement.chips,
        latency_steps=steps,
        step_us=tuple(float(x) * 1e-3 for x in step_ns),
        busiest_core=tuple(int(i) for i in busiest),
        counts={
            "synaptic_events": events_total,
            "neuron_updates": updates_total,
            "spikes": spikes_total,
        },
        by_op={
            "synaptic_events": events_total * model.e_synop_pj * 1e-6,
            "neuron_updates": updates_total * model.e_neuron_update_pj * 1e-6,
            "spikes": spikes_total * model.e_spike_pj * 1e-6,
        },
        by_population=by_population,
        paper=_paper(paper),
        unplaced=tuple(unplaced),
        bound=tuple(("neurons", "synops", "noc")[int(k)] for k in which),
        noc={
            "total": [float(x) for x in traffic.total],
            "between_chips": [float(x) for x in traffic.between_chips],
        },
    )
