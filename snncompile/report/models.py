"""Energy models of one inference, each labelled with its source, and the three conventions.

The counts come from :class:`~snncompile.report.energy.EnergyReport` (per synaptic op, in the
``paper`` and ``events`` conventions) and its neuron activity (neurons and spikes per layer). All
energies are µJ per inference.

**45 nm compute** (Horowitz 2014, the spiking-transformer papers)::

    E_compute = 4.6 pJ · MACs + 0.9 pJ · ACs

with the counts of the ``paper`` convention (what the papers report) and of ``events``.

**Memory traffic** (in the spirit of Lemaire et al. 2022, "An analytical estimation of spiking
neural networks energy efficiency": every operation reads and writes its operands in SRAM, no
reuse)::

    bytes = E_syn · (b_w + 2 b_s) + U · 2 b_s + S · b_spike
    E_memory = e_byte · bytes

with ``E_syn`` the synaptic events and MACs of the ``events`` convention (each reads its weight,
``b_w`` bytes, and reads and writes the target's accumulator, ``b_s`` bytes), ``U`` the neuron
updates (each reads and writes its state), ``S`` the spikes (each written once) and ``e_byte``
the SRAM energy per byte (:class:`MemoryModel`, a parameter; default from Horowitz 2014's 45 nm
32 KB SRAM, 20 pJ per 64-bit access).

**Chip model** (:class:`~snncompile.targets.sim.perf.EnergyModel`, the Loihi 1 reference)::

    E_chip = e_synop · E_syn(chip) + e_neuron · U(chip) + e_spike · S(chip)

from the bit-accurate run of the compiled network when ``check --count chip`` made one
(:mod:`snncompile.report.chip`: the simulator's activity counters, pipelined, ``T + depth``
steps, and NoC messages between cores); otherwise estimated on the chip partition's activity of
this (layerwise, float) run, every chip neuron updating every step, and labelled so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snncompile.report.energy import EnergyReport

__all__ = ["HOROWITZ_45NM", "MEMORY_45NM", "MemoryModel", "conventions", "energy_models"]

HOROWITZ_45NM = (
    "Horowitz 2014 (ISSCC), 45 nm: 32-bit float multiply 3.7 pJ + add 0.9 pJ = 4.6 pJ per MAC, "
    "0.9 pJ per AC"
)


@dataclass(frozen=True)
class MemoryModel:
    """SRAM traffic parameters (module docstring); override with :func:`dataclasses.replace`."""

    e_pj_per_byte: float = 2.5
    weight_bytes: float = 4.0
    state_bytes: float = 4.0
    spike_bytes: float = 0.125
    source: str = (
        "Lemaire et al. 2022 (no-reuse SRAM traffic per operation); 2.5 pJ/byte from Horowitz "
        "2014, 45 nm 32 KB SRAM, 20 pJ per 64-bit access; fp32 weights and states"
    )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: The default memory model.
MEMORY_45NM = MemoryModel()


def _activity(report: EnergyReport, partition: str | None = None) -> dict[str, float]:
    """Synaptic events (events convention), neuron updates and spikes per inference."""
    layers = [c for c in report.layers if partition is None or c.partition == partition]
    neurons = [n for n in report.neuron_layers if partition is None or n.partition == partition]
    return {
        "synaptic_events": sum(c.event_acs + c.event_macs for c in layers),
        "neuron_updates": float(sum(n.neurons for n in neurons) * report.time_steps),
        "spikes": sum(n.spikes for n in neurons),
    }


def conventions(report: EnergyReport) -> dict[str, dict[str, Any]]:
    """The totals of the ``paper``, ``events`` and ``chip`` counting conventions."""
    from snncompile.report.energy import E_AC_PJ, E_MAC_PJ

    chip = _activity(report, "chip")
    return {
        "paper": {
            "mac_ops": report.mac_ops,
            "ac_ops": report.ac_ops,
            "energy_uj": report.energy_uj,
            "model": "45 nm compute",
            "description": "rate x T x FLOPs per synaptic op (padding taps included), as the "
            "spiking-transformer papers count; ops computed once per inference charged once",
        },
        "events": {
            "mac_ops": report.event_mac_ops,
            "ac_ops": report.event_ac_ops,
            "energy_uj": (E_MAC_PJ * report.event_mac_ops + E_AC_PJ * report.event_ac_ops) * 1e-6,
            "model": "45 nm compute",
            "description": "synaptic events of the measured run: non-zero inputs times their "
            "fan-out (padding excluded), non-zero products",
        },
        "chip": _chip_convention(report, chip),
    }


def _chip_convention(report: EnergyReport, chip: dict[str, float]) -> dict[str, Any]:
    """The bit-accurate run's ``chip`` convention, else the layerwise estimate, labelled."""
    from snncompile.targets.sim.perf import DEFAULT_ENERGY

    run = report.chip_run
    if run is not None and "energy_uj" in run:
        return run
    m = DEFAULT_ENERGY
    estimate = {
        **chip,
        "energy_uj": 1e-6
        * (
            m.e_synop_pj * chip["synaptic_events"]
            + m.e_neuron_update_pj * chip["neuron_updates"]
            + m.e_spike_pj * chip["spikes"]
        ),
        "model": "chip model",
        "source": "estimate from the layerwise float run (`check --count chip` runs the "
        "compiled network bit-accurately)",
        "description": "the chip partition's synaptic events, neuron updates (every chip "
        "neuron, every step) and spikes of this layerwise run at the chip model's constants",
    }
    if run is not None:
        estimate["source"] = (
            "estimate from the layerwise float run: the compiled network could not be run "
            f"({run.get('unavailable')})"
        )
    return estimate


def energy_models(report: EnergyReport, memory: MemoryModel = MEMORY_45NM) -> dict[str, Any]:
    """Every energy model's figure (µJ per inference) with its source, and why they differ."""
    from snncompile.targets.sim.perf import DEFAULT_ENERGY

    conv = conventions(report)
    total = _activity(report)
    per_event = memory.weight_bytes + 2 * memory.state_bytes
    traffic = {
        "weights_and_accumulators": total["synaptic_events"] * per_event,
        "neuron_state": total["neuron_updates"] * 2 * memory.state_bytes,
        "spikes": total["spikes"] * memory.spike_bytes,
    }
    memory_uj = sum(traffic.values()) * memory.e_pj_per_byte * 1e-6
    compute, chip = conv["paper"]["energy_uj"], conv["chip"]["energy_uj"]
    ratio = chip / compute if compute else float("inf")
    explanation = (
        f"The 45 nm compute figure ({compute:.3g} µJ) prices only the arithmetic of the "
        f"synaptic ops (4.6 pJ per MAC, 0.9 pJ per AC); the chip model ({chip:.3g} µJ, "
        f"{ratio:.3g}x) prices every synaptic event at {DEFAULT_ENERGY.e_synop_pj} pJ and every "
        f"neuron update, silent ones included, at {DEFAULT_ENERGY.e_neuron_update_pj} pJ on the "
        f"chip partition only; the memory model ({memory_uj:.3g} µJ) adds the SRAM traffic the "
        "compute figure leaves out."
    )
    return {
        "unit": "µJ per inference",
        "compute_45nm": {
            "energy_uj": compute,
            "energy_uj_events": conv["events"]["energy_uj"],
            "source": HOROWITZ_45NM,
        },
        "memory": {
            "energy_uj": memory_uj,
            "bytes": traffic,
            "parameters": memory.to_dict(),
            "source": memory.source,
        },
        "chip": {
            "energy_uj": chip,
            "source": DEFAULT_ENERGY.name,
            "constants_pj": {
                "synaptic_event": DEFAULT_ENERGY.e_synop_pj,
                "neuron_update": DEFAULT_ENERGY.e_neuron_update_pj,
                "spike": DEFAULT_ENERGY.e_spike_pj,
            },
        },
        "explanation": explanation,
    }
