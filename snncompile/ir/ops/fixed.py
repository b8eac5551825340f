"""Quantized tensor ops: the chip's integer neuron and the shift of a projection's sum.

After ``quantize-fixed-point`` the tensor IR carries integer values (stored in float64 arrays,
exact below 2^53) and these ops, whose kernels are the chip model's integer arithmetic
(:class:`snncompile.chip.NeuronArithmetic`; the chip is named by the op's ``chip`` attribute).
This quantized tensor IR is the integer reference that the reference simulator and the target
(Lava for Loihi 2) must equal bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from snncompile.chip import DEFAULT_CHIP, LifNeuron, get_chip, shift
from snncompile.ir import counts, domains
from snncompile.ir.attrs import Array, NoAttrs, OpAttrs
from snncompile.ir.ops.base import OpDef, ShapeError, State, Trait
from snncompile.ir.types import TensorType

__all__ = ["OPS", "DelayAttrs", "LifFixedAttrs", "ShiftAttrs"]

TENSOR = frozenset({"tensor"})


@dataclass(frozen=True, eq=False)
class LifFixedAttrs(OpAttrs):
    """The chip's integer LIF in its register units (``chip``, default the default chip):
    decays ``du``, ``dv`` (fractions of the chip's decay scale ``D``), threshold mantissa
    ``vth`` (spike iff ``v > vth << h``), bias ``bias_mant << bias_exp`` (per neuron or none),
    ``reset`` (:data:`snncompile.chip.RESETS`, one the chip runs; default ``zero``).

    ``vth_map`` gives per-neuron thresholds (one Lava LIF process has one ``vth``: the lowering
    splits a population by threshold). ``start`` gates the population in a pipeline: before step
    ``start`` (when its first input arrives) it holds ``u = v = 0`` and does not spike, so its
    bias cannot drift it before its data is there."""

    du: int
    dv: int
    vth: int
    bias_mant: Array | None = None
    bias_exp: int = 0
    vth_map: Array | None = None
    start: int = 0
    chip: str = field(default=DEFAULT_CHIP, metadata={"elide_default": True})
    reset: str = field(default="zero", metadata={"elide_default": True})

    def neuron(self) -> LifNeuron:
        bias = 0 if self.bias_mant is None else self.bias_mant.astype(np.int64)
        return get_chip(self.chip).lif(
            self.du, self.dv, self.thresholds(), bias, self.bias_exp, self.reset
        )

    def thresholds(self) -> np.ndarray:
        """Per-neuron threshold mantissas (``vth_map``, else ``vth`` everywhere)."""
        if self.vth_map is None:
            return np.asarray(self.vth, dtype=np.int64)
        return self.vth_map.astype(np.int64)


def _infer_lif_fixed(types: Sequence[TensorType], a: LifFixedAttrs) -> tuple[TensorType, ...]:
    (x,) = types
    chip = get_chip(a.chip)
    problem = chip.neuron.check_decays(a.du, a.dv)
    if problem is not None:
        raise ShapeError(f"lif_fixed {problem}")
    if not chip.current_decay and a.du != chip.neuron.no_current_memory:
        raise ShapeError(f"lif_fixed du={a.du}: chip {chip.name} keeps no current between steps")
    if not chip.can_reset(a.reset):
        raise ShapeError(
            f"lif_fixed reset {a.reset!r}: chip {chip.name} runs {', '.join(sorted(chip.resets))}"
        )
    if a.bias_mant is not None and a.bias_mant.shape not in ((), x.shape):
        raise ShapeError(f"lif_fixed bias shape {a.bias_mant.shape} != neuron shape {x.shape}")
    return (TensorType(x.shape, x.dtype),)


def _lif_fixed_state(a: LifFixedAttrs, types: Sequence[TensorType], batch: int) -> State:
    shape = (batch, *types[0].shape)
    return {
        "u": np.zeros(shape, np.int64),
        "v": np.zeros(shape, np.int64),
        "step": np.zeros((), np.int64),
    }


def _lif_fixed(
    a: LifFixedAttrs, xs: Sequence[np.ndarray], state: State | None
) -> tuple[np.ndarray]:
    """The chip's integer LIF step (:class:`snncompile.chip.NeuronArithmetic`; Loihi 2:
    Lava's ``PyLifModelBitAcc``)::

    u = limit_u(trunc(u · (D - (du + o)) / D) + (a << i))
    v = limit_v(trunc(v · (D - dv) / D) + u + (bias_mant << bias_exp))
    s = v > vth << h;  then the reset (``reset``: zero, subtract, subtract-next or none; see
    snncompile.chip)
    """
    assert state is not None
    x = xs[0]
    step = int(state["step"])
    state["step"] = np.asarray(step + 1)
    if step < a.start:  # gated: the population's data has not arrived yet
        return (np.zeros_like(x),)
    spikes = a.neuron().step(state["u"], state["v"], np.rint(x).astype(np.int64))
    return (spikes.astype(x.dtype),)


@dataclass(frozen=True, eq=False)
class ShiftAttrs(OpAttrs):
    """Shift of an integer sum by ``exponent`` (a projection's ``weight_exp``)."""

    exponent: int


def _infer_shift(types: Sequence[TensorType], a: OpAttrs) -> tuple[TensorType, ...]:
    return (TensorType(types[0].shape, types[0].dtype),)


def _shift(a: ShiftAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y = x << e`` for ``e >= 0``, ``y = x >> -e`` (floor) for ``e < 0``, on integers."""
    x = xs[0]
    return (shift(np.rint(x).astype(np.int64), a.exponent).astype(x.dtype),)


@dataclass(frozen=True, eq=False)
class DelayAttrs(OpAttrs):
    """A delay of ``steps`` time steps (synaptic delays, one step per projection hop)."""

    steps: int


def _infer_delay(types: Sequence[TensorType], a: DelayAttrs) -> tuple[TensorType, ...]:
    if a.steps < 0:
        raise ShapeError(f"delay steps must be >= 0, got {a.steps}")
    return (TensorType(types[0].shape, types[0].dtype),)


def _delay_state(a: DelayAttrs, types: Sequence[TensorType], batch: int) -> State:
    return {"buffer": np.zeros((a.steps, batch, *types[0].shape))}


def _delay(a: DelayAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y[t] = x[t - steps]`` (zero for ``t < steps``)."""
    assert state is not None
    x = xs[0]
    if a.steps == 0:
        return (x,)
    buffer = state["buffer"]
    out = buffer[0].astype(x.dtype)
    state["buffer"] = np.concatenate([buffer[1:], x[None].astype(buffer.dtype)])
    return (out,)


def _round(a: NoAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y = rint(x)``: a graded value becomes an integer (half to even), e.g. where the host
    sends a current to the chip."""
    return (np.rint(xs[0]),)


_NONE = counts.no_synaptic_ops

OPS: list[OpDef] = [
    OpDef(
        "delay",
        DelayAttrs,
        _infer_delay,
        _delay,
        TENSOR,
        init_state=_delay_state,
        doc=(_delay.__doc__ or "").strip(),
        traits=frozenset({Trait.LINEAR}),
        domain=domains.same,
        count=_NONE,
    ),
    OpDef(
        "round",
        NoAttrs,
        _infer_shift,
        _round,
        TENSOR,
        doc=(_round.__doc__ or "").strip(),
        domain=domains.shift,
        count=_NONE,
    ),
    OpDef(
        "lif_fixed",
        LifFixedAttrs,
        _infer_lif_fixed,
        _lif_fixed,
        TENSOR,
        init_state=_lif_fixed_state,
        doc=(_lif_fixed.__doc__ or "").strip(),
        traits=frozenset({Trait.NEURON}),
        domain=domains.neuron,
        count=_NONE,
    ),
    OpDef(
        "shift",
        ShiftAttrs,
        _infer_shift,
        _shift,
        TENSOR,
        doc=(_shift.__doc__ or "").strip(),
        domain=domains.shift,
        count=_NONE,
    ),
]
