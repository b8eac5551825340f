"""A test chip with numbers unlike Loihi 2's, to prove no shared layer assumes Loihi.

``test4``: 4-bit weights (mixed signs keep their LSB), an 8-bit decay scale (``D = 256``, no
du offset), input and threshold shifted by 3, 16-bit ``u`` and ``v`` that both saturate,
1,024 neurons per core, 16 cores per chip, 15-step delays, binary spikes only (so graded
``gated``/``relay`` populations cannot be hosted) and made-up energy figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from snncompile.chip import (
    ChipModel,
    CoreLimits,
    EnergyModel,
    NeuronArithmetic,
    WeightFormat,
    register_chip,
)

TEST_CHIP = ChipModel(
    name="test4",
    description="a test chip (tests/chip_models.py)",
    limits=CoreLimits(
        name="test4",
        cores_per_chip=16,
        neurons_per_core=1024,
        synapse_bytes_per_core=16 * 1024,
        weight_bytes=0.5,
        index_bytes=2.0,
        max_synaptic_delay=15,
    ),
    weights=WeightFormat(bits=4, mixed_sign_drops_lsb=False),
    neuron=NeuronArithmetic(
        decay_bits=8,
        current_decay_offset=0,
        input_shift=3,
        threshold_shift=3,
        current_bits=16,
        voltage_bits=16,
        current_overflow="saturate",
        voltage_overflow="saturate",
        bias_mant_bits=8,
        threshold_bits=12,
    ),
    graded_spike_bits=0,
    hosts=frozenset({"and", "or"}),
    energy=EnergyModel(
        name="test4 (made up)",
        e_synop_pj=1.0,
        e_neuron_update_pj=2.0,
        e_spike_pj=3.0,
        t_synop_ns=1.0,
        t_neuron_update_ns=1.0,
        t_spike_ns=1.0,
        t_barrier_ns=10.0,
        sources={"all": "made up for tests"},
    ),
    sources={"all": "made up for tests"},
)


@contextmanager
def registered(model: ChipModel = TEST_CHIP) -> Iterator[ChipModel]:
    """``model`` in the chip registry for the duration."""
    unregister = register_chip(model)
    try:
        yield model
    finally:
        unregister()
