"""Loihi 2 as a :class:`~snncompile.chip.ChipModel`: every Loihi number of the compiler, once.

The arithmetic is Lava's bit-accurate fixed-point process models (``PyLifModelBitAcc``,
``PyDenseModelBitAcc``; ``shared/reference/lava.md`` sections 1.2 and 2.1), which
``tests/targets/loihi`` checks bit for bit::

    u  = trunc(u · (4096 - (du + 1)) / 4096) + (a << 6)     wrapped to (-2^23, 2^23]
    v  = trunc(v · (4096 - dv) / 4096) + u + b              clipped to ±(2^23 - 1)
    s  = v > (vth << 6)                                      strict;  v = 0 where s

Weights: 8-bit magnitudes; a matrix of mixed signs spans [-256, 255] and loses its least
significant bit (even mantissas). Limits, graded spikes and energy come from the public sources
of ``lava.md`` section 6, each recorded in :data:`SOURCES` (assumptions labelled so). Loihi 1 is
not modelled (nothing needs it); its per-operation energies are the only published ones, so the
energy table below *is* Loihi 1's reference, labelled so.
"""

from __future__ import annotations

import numpy as np

from snncompile.chip import (
    ChipModel,
    CoreLimits,
    EnergyModel,
    NeuronArithmetic,
    WeightFormat,
)
from snncompile.diagnostics import error

__all__ = [
    "ENERGY",
    "ENERGY_SOURCES",
    "LIMIT_SOURCES",
    "LOIHI2",
    "MAX_SYNAPTIC_DELAY",
    "NEURON",
    "SOURCES",
    "WEIGHTS",
    "effective_weights",
    "quantize_weights",
    "require_loihi2",
]

#: Loihi 2 synaptic delays (netx clamps to 62; Lava's DelayDense checks <= 63).
MAX_SYNAPTIC_DELAY = 62

LIMITS = CoreLimits(
    name="loihi2",
    #: 128 neuro cores (+6 Lakemont x86 cores) [Intel Loihi 2 brief 2021; lava.md section 6].
    cores_per_chip=128,
    #: up to 8,192 neurons per core (1,048,576 per chip) [Intel brief; WikiChip]; the maximum,
    #: for the smallest neuron state.
    neurons_per_core=8192,
    #: 128 KB: Loihi 1's figure; for Loihi 2 an ASSUMPTION (see LIMIT_SOURCES).
    synapse_bytes_per_core=128 * 1024,
    weight_bytes=1.0,
    index_bytes=2.0,
    max_synaptic_delay=MAX_SYNAPTIC_DELAY,
)

#: Where each :class:`~snncompile.chip.CoreLimits` number comes from (reports, docs/resources.md).
LIMIT_SOURCES: dict[str, str] = {
    "cores_per_chip": "Intel Loihi 2 technology brief (2021): 128 neuro cores per chip",
    "neurons_per_core": (
        "Intel Loihi 2 brief (2021): up to 1M neurons per chip; WikiChip: 8,192 per core"
    ),
    "synapse_bytes_per_core": (
        "ASSUMPTION for Loihi 2: Loihi 1 has 128 KB synaptic memory per core (16 MB/chip, IEEE "
        "CAS Magazine Q2-2022); Loihi 2 memory is flexibly partitioned, split not published. "
        "Intel's brief gives up to 120 M synapses per Loihi 2 chip (open-neuromorphic.org: "
        "'120 million max'), i.e. ~0.94 M per core: about 1 bit per synapse of 128 KB, the "
        "densest (1-bit, compressed) encoding, not 8-bit weights"
    ),
    "weight_bytes": "8-bit weights (Loihi 2: 1-8 bits, Intel brief; Lava models use 8 bits)",
    "index_bytes": (
        "ASSUMPTION: 16-bit index per unit synapse (not published; conservative: Intel's "
        "120 M synapses per chip imply ~1 bit per synapse in its densest encoding)"
    ),
    "max_synaptic_delay": "6-bit delays: netx clamps to 62, Lava's DelayDense checks <= 63",
    "max_chips": "user setting (None: unbounded)",
    "max_fan_in": (
        "None (not published for Loihi 2): Loihi 1 has 4,096 input axons per core (Davies et "
        "al. 2018, IEEE Micro); set it in a ChipModel to enforce it"
    ),
    "max_fan_out": (
        "None (not published for Loihi 2): Loihi 1 has 4,096 output axons per core (Davies et "
        "al. 2018); set it in a ChipModel to enforce it"
    ),
}

#: Lava's LIF: 12-bit decays (0..4096), ``du`` offset by one, input and threshold MSB-aligned by
#: 6 bits, 24-bit u (wraps) and v (saturates), 13-bit signed bias mantissa, 17-bit threshold
#: [lava.md 1.1-1.2].
NEURON = NeuronArithmetic(
    decay_bits=12,
    current_decay_offset=1,
    input_shift=6,
    threshold_shift=6,
    current_bits=24,
    voltage_bits=24,
    current_overflow="wrap",
    voltage_overflow="saturate",
    bias_mant_bits=13,
    threshold_bits=17,
)

#: Lava Dense/Sparse/Conv: 8-bit magnitudes, mixed-sign matrices lose the LSB [lava.md 2.1].
WEIGHTS = WeightFormat(bits=8, mixed_sign_drops_lsb=True)

_DAVIES = "Davies et al. 2018, IEEE Micro 38(1), Loihi 1 energy/performance table"

#: Where each :data:`ENERGY` value comes from (Loihi 1 figures; lava.md section 6).
ENERGY_SOURCES: dict[str, str] = {
    "e_synop_pj": f"23.6 pJ per synaptic spike op (minimum), {_DAVIES}",
    "e_neuron_update_pj": (
        f"52 pJ per neuron update (inactive; 81 pJ active), {_DAVIES}: every neuron updates "
        "every step, most with no input"
    ),
    "e_spike_pj": f"1.7 pJ per within-tile spike, {_DAVIES} (NoC hops, 3.5/4.3 pJ, not modelled)",
    "t_synop_ns": f"3.5 ns per synaptic spike op, {_DAVIES}",
    "t_neuron_update_ns": (
        f"5.3 ns per neuron update (inactive; 8.4 ns active), {_DAVIES} [recalled, not in "
        "lava.md section 6: verify]"
    ),
    "t_spike_ns": f"2.1 ns per within-tile spike, {_DAVIES}",
    "t_barrier_ns": (
        f"465 ns barrier synchronisation per step (113-465 ns for 1-32 tiles), {_DAVIES} "
        "[recalled, not in lava.md section 6: verify]"
    ),
}

#: The Loihi 1 reference figures: Intel publishes no per-operation figures for Loihi 2.
ENERGY = EnergyModel(
    name="loihi1-reference (Davies et al. 2018); no per-op figures published for Loihi 2",
    e_synop_pj=23.6,
    e_neuron_update_pj=52.0,
    e_spike_pj=1.7,
    t_synop_ns=3.5,
    t_neuron_update_ns=5.3,
    t_spike_ns=2.1,
    t_barrier_ns=465.0,
    sources=dict(ENERGY_SOURCES),
)

#: Sources of the chip model's other parts.
SOURCES: dict[str, str] = {
    **LIMIT_SOURCES,
    "neuron": "Lava PyLifModelBitAcc (lava.md 1.2), checked bit for bit in tests/targets/loihi",
    "weights": "Lava PyDenseModelBitAcc clip/truncate rule (lava.md 2.1), checked in tests",
    "graded_spike_bits": (
        "graded spikes with integer payloads up to 32 bits [Intel brief; Davies et al.]; Lava "
        "models use 24 bits"
    ),
    "hosts": "coincidence, or, gated-product and relay populations as snncompile emits them",
    "resets": (
        "Loihi 2's programmable neurons run any integer reset (Intel Loihi 2 brief: neuron "
        "models are microcode); Lava's stock LIF process resets to zero only (lava.md 1.2), the "
        "fused form (targets/loihi/fused) runs every reset here"
    ),
}

LOIHI2 = ChipModel(
    name="loihi2",
    description="Intel Loihi 2 as Lava's bit-accurate process models compute it",
    limits=LIMITS,
    weights=WEIGHTS,
    neuron=NEURON,
    graded_spike_bits=24,
    hosts=frozenset({"and", "or", "gated", "relay"}),
    energy=ENERGY,
    sources=SOURCES,
    resets=frozenset({"zero", "subtract", "subtract-next", "none"}),
)


def require_loihi2(chip: str, target: str) -> None:
    """NW905 unless ``chip`` is Loihi 2: the Lava processes ``target`` writes compute Loihi 2's
    arithmetic, not another chip model's."""
    if chip != LOIHI2.name:
        raise error(
            "NW905",
            f"--target {target} writes Lava processes that compute Loihi 2's arithmetic; the "
            f"model was compiled for chip {chip}",
            node="chip",
        )


def effective_weights(weights: np.ndarray, num_weight_bits: int = WEIGHTS.bits) -> np.ndarray:
    """The weights Lava's Dense/Sparse actually use (:meth:`WeightFormat.effective`): mixed
    signs clip to [-256, 255] and drop one more bit; ``num_weight_bits < 8`` drops the rest."""
    return WEIGHTS.effective(weights, num_weight_bits)


def quantize_weights(
    weights: np.ndarray, num_weight_bits: int = WEIGHTS.bits, *, exponent: int | None = None
) -> tuple[np.ndarray, int]:
    """Mantissas Lava's Dense/Sparse represent exactly, and an exponent
    (:meth:`WeightFormat.quantize`)."""
    return WEIGHTS.quantize(weights, num_weight_bits, exponent=exponent)
