"""The chip model: what a neuromorphic chip can hold and how it computes, as data.

Every layer that must know the chip (quantization, lowering, placement, performance/energy, the
reference simulator) takes a :class:`ChipModel` and reads its numbers from it; none names a
chip's constants. A chip is registered once in :data:`CHIPS` (by name, resolved lazily from the
module that defines it: Loihi 2 in :mod:`snncompile.targets.loihi.arch`) and chosen by
``CompileConfig.chip`` (default :data:`DEFAULT_CHIP`); the pass manager resolves it once into
``PassContext.chip``.

A chip model is four parts and its sources:

- :class:`CoreLimits`: cores per chip, neurons per core, synapse memory per core, fan-in and
  fan-out per core, the largest synaptic delay;
- :class:`WeightFormat`: the representable weight mantissas (``b`` magnitude bits; a matrix of
  mixed signs spans ``[-2^b, 2^b - 1]`` and, where ``mixed_sign_drops_lsb``, loses its least
  significant bit);
- :class:`NeuronArithmetic`: the integer current-based LIF step it implements (below), with the
  state widths and what happens at their limits;
- the neuron kinds it can host (``hosts``: coincidence ``and``, ``or``, graded products
  ``gated`` and ``relay``), graded-spike payload bits (0: binary spikes only) and the
  time/energy constants (:class:`EnergyModel`), each with its source.

The neuron step (one for every chip that implements a current-based integer LIF; ``D = 2^d``
the decay scale, ``o`` the current-decay offset, ``i``/``h`` the input/threshold shifts)::

    b = bias_mant << bias_exp               (floor shift when bias_exp < 0)
    u = trunc(u · (D - (du + o)) / D) + (a << i)      u: wrap or saturate at its width
    v = trunc(v · (D - dv) / D) + u + b               v: wrap or saturate at its width
    s = v > (vth << h)                                strict; then the reset (u is not reset)

The reset (``reset``, one of :data:`RESETS`; a chip declares those it runs in
``ChipModel.resets``), with ``θ = vth << h`` and ``r = [v > θ]`` on the potential stored by the
previous step (its spike, for the resets applied at the next step)::

    zero           v = 0 where s                               (Lava's LIF, Loihi 2's default)
    subtract       v = v - θ where s                           (Loihi 2 soft reset)
    subtract-next  v = trunc(v·(D-dv)/D) + u + b - r·θ, no reset after s     (snntorch's
                   subtract with reset_delay: the threshold leaves after the decay)
    none           no reset

It is written once (:meth:`NeuronArithmetic.step`) over a tiny array namespace
(:class:`ArrayOps`: numpy or torch), and every interpreter and simulator engine runs it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import tomllib

from snncompile.diagnostics import error

__all__ = [
    "BOARDS",
    "CHIPS",
    "DEFAULT_CHIP",
    "NUMPY",
    "RESETS",
    "ArrayOps",
    "Board",
    "ChipModel",
    "CoreLimits",
    "EnergyModel",
    "LifNeuron",
    "NeuronArithmetic",
    "WeightFormat",
    "chip_names",
    "dense_current",
    "get_board",
    "get_chip",
    "register_chip",
    "shift",
]

#: The chip a compile targets unless ``CompileConfig.chip`` says otherwise.
DEFAULT_CHIP = "loihi2"


def shift(x: Any, exponent: int) -> Any:
    """``x << e`` for ``e >= 0``, ``x >> -e`` (arithmetic: floor) otherwise (numpy or torch)."""
    return x << exponent if exponent >= 0 else x >> -exponent


#: The neuron resets :meth:`NeuronArithmetic.step` implements (module docstring).
RESETS = ("zero", "subtract", "subtract-next", "none")


# --- array namespace ---------------------------------------------------------------------------
class ArrayOps(Protocol):
    """The few array operations the neuron step needs that numpy and torch spell differently.
    Both mutate their first argument in place and return it."""

    def wrap_(self, x: Any, limit: int) -> Any:
        """Two's-complement wrap into ``(-limit, limit]``: above ``limit`` subtract ``2·limit``,
        at or below ``-limit`` add ``2·limit`` (one wrap: the step's inputs are bounded)."""
        ...

    def clip_(self, x: Any, limit: int) -> Any:
        """Saturate into ``[-limit, limit]``."""
        ...


class _NumpyOps:
    def wrap_(self, x: np.ndarray, limit: int) -> np.ndarray:
        x[x > limit] -= 2 * limit
        x[x <= -limit] += 2 * limit
        return x

    def clip_(self, x: np.ndarray, limit: int) -> np.ndarray:
        return np.clip(x, -limit, limit, out=x)


#: :class:`ArrayOps` on numpy arrays (the torch one lives with the torch engine).
NUMPY: ArrayOps = _NumpyOps()


# --- the parts of a chip model -----------------------------------------------------------------
@dataclass(frozen=True)
class CoreLimits:
    """Per-core and per-system resource limits (and the memory model's word sizes).

    ``max_fan_in``/``max_fan_out``: distinct input axons / output routes per core (``None``:
    not modelled); ``max_synaptic_delay``: the largest delay one synapse can hold (steps);
    ``max_chips``: most chips the system has (``None``: unbounded).
    """

    name: str
    cores_per_chip: int
    neurons_per_core: int
    synapse_bytes_per_core: int
    weight_bytes: float
    index_bytes: float
    max_synaptic_delay: int
    max_fan_in: int | None = None
    max_fan_out: int | None = None
    max_chips: int | None = None


@dataclass(frozen=True)
class WeightFormat:
    """Representable synaptic weights: ``bits`` magnitude bits per mantissa.

    Sign mode from the matrix: excitatory (all ``>= 0``) spans ``[0, 2^b - 1]``, inhibitory
    ``[-(2^b - 1), 0]``, mixed ``[-2^b, 2^b - 1]``; with ``p`` bits of precision (``p <= b``,
    ``CompileConfig.weight_bits``) the ``k = b - p`` low bits are dropped, one more for a mixed
    matrix where ``mixed_sign_drops_lsb`` (Loihi: mixed mantissas are even)::

        W' = (clip(W) >> k) << k           (on |W| when inhibitory)
    """

    bits: int
    mixed_sign_drops_lsb: bool
    exponent_range: tuple[int, int] = (-8, 7)

    def _modes(self, w: np.ndarray) -> tuple[bool, bool]:
        mixed = bool(w.size > 0 and w.min() < 0 < w.max())
        inhibitory = bool(w.size > 0 and not mixed and w.max() <= 0 and w.min() < 0)
        return mixed, inhibitory

    def _drop(self, precision: int | None, mixed: bool) -> int:
        precision = self.bits if precision is None else precision
        return self.bits - precision + (1 if mixed and self.mixed_sign_drops_lsb else 0)

    def largest(self, mixed: bool, precision: int | None = None) -> int:
        """The largest representable positive mantissa (mixed or single-signed matrix)."""
        k = self._drop(precision, mixed)
        return ((2**self.bits - 1) >> k) << k

    def effective(self, weights: np.ndarray, precision: int | None = None) -> np.ndarray:
        """The weights the synapses actually hold (clip, then truncate by sign mode)."""
        w = np.asarray(weights, dtype=np.int64)
        mixed, inhibitory = self._modes(w)
        k = self._drop(precision, mixed)
        top = 2**self.bits
        if mixed:
            return (np.clip(w, -top, top - 1) >> k) << k
        if inhibitory:
            return -((np.clip(-w, 0, top - 1) >> k) << k)
        return (np.clip(w, 0, top - 1) >> k) << k

    def quantize(
        self, weights: np.ndarray, precision: int | None = None, *, exponent: int | None = None
    ) -> tuple[np.ndarray, int]:
        """Integer mantissas and an exponent with ``mantissa · 2^exponent ≈ weights``.

        The mantissas are exactly representable (``effective(m) == m``). The exponent is the
        smallest that keeps the largest magnitude representable, unless given (Conv has no
        exponent: pass ``exponent=0``; values beyond the range are clipped). Rounding is to
        nearest.
        """
        w = np.asarray(weights, dtype=np.float64)
        mixed, inhibitory = self._modes(w)
        step = 2 ** self._drop(precision, mixed)
        top = 2**self.bits
        limit = (top if mixed else top - 1) // step * step  # largest representable magnitude
        largest = float(np.abs(w).max()) if w.size else 0.0
        if exponent is None:
            exponent = 0 if largest == 0 else int(np.ceil(np.log2(largest / limit)))
            while largest / 2.0**exponent > limit:  # guard against log rounding
                exponent += 1
        mantissa = np.round(w / 2.0**exponent / step) * step
        if mixed:
            low, high = -top, self.largest(True, precision)
        elif inhibitory:
            low, high = -limit, 0
        else:
            low, high = 0, limit
        return np.clip(mantissa, low, high).astype(np.int64), exponent


@dataclass(frozen=True)
class NeuronArithmetic:
    """The integer current-based LIF a chip implements (the module docstring's step).

    Attributes:
        decay_bits: ``d``; decays are fractions of ``D = 2^d``.
        current_decay_offset: ``o`` (Lava: 1, ``du = D - 1`` is no current memory).
        input_shift: ``i``, the input current's left shift into ``u``.
        threshold_shift: ``h``, the threshold mantissa's left shift.
        current_bits, voltage_bits: widths of ``u`` and ``v`` (two's complement).
        current_overflow, voltage_overflow: ``wrap`` or ``saturate`` at the width.
        bias_mant_bits: signed bias mantissa bits; ``threshold_bits``: threshold mantissa bits.
    """

    decay_bits: int
    current_decay_offset: int
    input_shift: int
    threshold_shift: int
    current_bits: int
    voltage_bits: int
    current_overflow: str
    voltage_overflow: str
    bias_mant_bits: int
    threshold_bits: int

    @property
    def scale(self) -> int:
        """``D``, the decay scale."""
        return 1 << self.decay_bits

    @property
    def no_current_memory(self) -> int:
        """The ``du`` that forgets ``u`` every step (``u = a << i``)."""
        return self.scale - self.current_decay_offset

    @property
    def no_voltage_memory(self) -> int:
        """The ``dv`` that forgets ``v`` every step."""
        return self.scale

    @property
    def current_limit(self) -> int:
        """``u`` wraps into ``(-L, L]`` (or saturates at ``±(L - 1)``), ``L = 2^(bits-1)``."""
        return 1 << (self.current_bits - 1)

    @property
    def voltage_limit(self) -> int:
        """``v`` saturates at ``±(2^(bits-1) - 1)`` (or wraps into ``(-L, L]``)."""
        return (1 << (self.voltage_bits - 1)) - 1

    @property
    def input_scale(self) -> int:
        """``2^i``: ``u`` per unit of input current."""
        return 1 << self.input_shift

    def decays(self, du: int | None, dv: int | None) -> tuple[int, int]:
        """Register values of a population's decays (``None``: no memory)."""
        return (
            self.no_current_memory if du is None else du,
            self.no_voltage_memory if dv is None else dv,
        )

    def retained(self, du: int | None, dv: int | None) -> tuple[int, int]:
        """The decay multipliers ``(D - (du + o), D - dv)`` (0: no memory)."""
        du, dv = self.decays(du, dv)
        return self.scale - (du + self.current_decay_offset), self.scale - dv

    def check_decays(self, du: int | None, dv: int | None) -> str | None:
        """Why ``du``/``dv`` are out of range for this chip, or None."""
        du, dv = self.decays(du, dv)
        if not 0 <= du <= self.no_current_memory or not 0 <= dv <= self.no_voltage_memory:
            return (
                f"decays must be du in 0..{self.no_current_memory}, dv in "
                f"0..{self.no_voltage_memory}: {du}, {dv}"
            )
        return None

    def memoryless(self, du: int | None, dv: int | None) -> bool:
        """Whether the population keeps neither ``u`` nor ``v`` between steps."""
        return self.retained(du, dv) == (0, 0)

    def threshold(self, vth: Any) -> Any:
        """``vth << h``, the value ``v`` must exceed."""
        return vth << self.threshold_shift

    def trunc_div(self, x: Any) -> Any:
        """``sign(x) · (|x| >> d)``: division by ``D`` rounding toward zero, on int64 numpy
        arrays or torch tensors, computed as ``(x + (D - 1 if x < 0 else 0)) >> d`` (in place
        of one temporary)."""
        result = x >> 63  # -1 where negative, else 0
        result &= self.scale - 1
        result += x
        result >>= self.decay_bits
        return result

    def _limit(self, ops: ArrayOps, x: Any, mode: str, limit: int) -> Any:
        if mode == "wrap":
            return ops.wrap_(x, limit)
        return ops.clip_(x, limit)

    def step(
        self,
        ops: ArrayOps,
        u: Any,
        v: Any,
        a_in: Any,
        retained: tuple[int, int],
        bias: Any,
        threshold: Any,
        reset: str = "zero",
    ) -> tuple[Any, Any, Any]:
        """One step of the LIF (module docstring) on int64 arrays; returns ``(u, v, spikes)``.

        ``a_in`` (the summed integer input) is consumed: the new ``u`` is built in it.
        ``retained`` is :meth:`retained`, ``threshold`` is :meth:`threshold` of the mantissa,
        ``bias`` the integer ``bias_mant << bias_exp``, ``reset`` one of :data:`RESETS`.
        A recurrent projection adds its current to ``a_in`` like any other projection.
        """
        decay_u, decay_v = retained
        previous = v > threshold if reset == "subtract-next" else None
        a_in <<= self.input_shift
        if decay_u:
            a_in += self.trunc_div(u * decay_u)
        if self.current_overflow == "wrap":
            u = ops.wrap_(a_in, self.current_limit)
        else:
            u = ops.clip_(a_in, self.current_limit - 1)
        v_new = u + bias
        if decay_v:
            v_new += self.trunc_div(v * decay_v)
        if previous is not None:
            v_new -= previous * threshold
        if self.voltage_overflow == "wrap":
            ops.wrap_(v_new, self.voltage_limit + 1)
        else:
            ops.clip_(v_new, self.voltage_limit)
        spikes = v_new > threshold
        if reset == "zero":
            v_new[spikes] = 0
        elif reset == "subtract":
            v_new -= spikes * threshold
        return u, v_new, spikes


@dataclass(frozen=True)
class EnergyModel:
    """Per-operation energies (pJ) and times (ns): the table the performance model uses.

    A chip model carries its own (with ``sources``); override it with :meth:`load` (a JSON or
    TOML file of field values) or :func:`dataclasses.replace`.
    """

    name: str
    e_synop_pj: float
    e_neuron_update_pj: float
    e_spike_pj: float
    t_synop_ns: float
    t_neuron_update_ns: float
    t_spike_ns: float
    t_barrier_ns: float
    sources: dict[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def load(cls, path: str | Path, base: EnergyModel | None = None) -> EnergyModel:
        """``base`` (default: the default chip's) with the values of a JSON or TOML file.

        The file holds field names (``e_synop_pj = 12.0``, ...), optionally ``name`` and a
        ``sources`` table; a value without a source is labelled as coming from the file.
        """
        path = Path(path)
        base = base or get_chip(DEFAULT_CHIP).energy
        try:
            text = path.read_text()
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (OSError, ValueError) as exc:
            raise error("CF201", f"cannot read energy model {path}: {exc}", node=str(path)) from exc
        numbers = {f.name for f in fields(cls)} - {"name", "sources"}
        unknown = sorted(set(data) - numbers - {"name", "sources"})
        if unknown:
            raise error(
                "CF201",
                f"energy model {path} sets unknown field(s) {', '.join(unknown)}; known: "
                f"{', '.join(sorted(numbers))}",
                node=str(path),
            )
        sources = dict(base.sources)
        for key in numbers & set(data):
            sources[key] = f"{path.name} (user override)"
        sources.update(data.get("sources", {}))
        values = {k: float(v) for k, v in data.items() if k in numbers}
        name = str(data.get("name", f"{base.name} + overrides from {path.name}"))
        return dataclasses.replace(base, name=name, sources=sources, **values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: Neuron kinds a chip may host besides ``lif`` (see ``snncompile.ir.ops.network``).
PRODUCT_KINDS = ("and", "or", "gated", "relay")
#: Kinds whose output is a graded payload (need ``graded_spike_bits > 0``).
GRADED_KINDS = ("gated", "relay")


@dataclass(frozen=True)
class ChipModel:
    """One chip, as data (module docstring). ``sources`` says where each number comes from."""

    name: str
    description: str
    limits: CoreLimits
    weights: WeightFormat
    neuron: NeuronArithmetic
    graded_spike_bits: int
    hosts: frozenset[str]
    energy: EnergyModel
    sources: dict[str, str] = field(default_factory=dict, hash=False)
    #: The neuron resets (:data:`RESETS`) the chip's neurons can run.
    resets: frozenset[str] = frozenset({"zero"})
    #: Whether ``u`` may keep memory between steps (``du`` other than no current memory: a
    #: current-based synapse); populations with current memory are refused where it is False.
    current_decay: bool = True

    def can_reset(self, reset: str) -> bool:
        """Whether this chip's neurons run the ``reset`` (:data:`RESETS`)."""
        return reset in self.resets

    def can_host(self, kind: str) -> bool:
        """Whether populations of neuron ``kind`` can run on this chip."""
        if kind == "lif":
            return True
        if kind in GRADED_KINDS and self.graded_spike_bits <= 0:
            return False
        return kind in self.hosts

    def lif(
        self,
        du: int | None,
        dv: int | None,
        vth: Any,
        bias_mant: Any = 0,
        bias_exp: int = 0,
        reset: str = "zero",
    ) -> LifNeuron:
        """A population's integer LIF on this chip (``None`` decays: no memory)."""
        return LifNeuron(self.neuron, du, dv, vth, bias_mant, bias_exp, reset)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description (for artifacts and reports)."""
        return {
            "name": self.name,
            "description": self.description,
            "limits": dataclasses.asdict(self.limits),
            "weights": dataclasses.asdict(self.weights),
            "neuron": dataclasses.asdict(self.neuron),
            "graded_spike_bits": self.graded_spike_bits,
            "hosts": sorted(self.hosts),
            "resets": sorted(self.resets),
            "current_decay": self.current_decay,
        }


@dataclass(frozen=True)
class LifNeuron:
    """A population's integer LIF parameters on a chip (register units, ``None`` decays: no
    memory), with the numpy step for the IR's reference kernels."""

    arithmetic: NeuronArithmetic
    du: int | None
    dv: int | None
    vth: np.ndarray | int
    bias_mant: np.ndarray | int = 0
    bias_exp: int = 0
    reset: str = "zero"

    def bias(self) -> np.ndarray:
        return shift(np.asarray(self.bias_mant, dtype=np.int64), self.bias_exp)

    def step(self, u: np.ndarray, v: np.ndarray, a_in: np.ndarray) -> np.ndarray:
        """Advance ``u`` and ``v`` in place by one step with input ``a_in``; return spikes."""
        ar = self.arithmetic
        threshold = ar.threshold(np.asarray(self.vth, dtype=np.int64))
        new_u, new_v, spikes = ar.step(
            NUMPY,
            u,
            v,
            np.array(a_in, dtype=np.int64),
            ar.retained(self.du, self.dv),
            self.bias(),
            threshold,
            self.reset,
        )
        u[...] = new_u
        v[...] = new_v
        return spikes.astype(np.int64)


# --- the registry --------------------------------------------------------------------------------
#: Chip name -> ``module:attribute`` of its :class:`ChipModel` (imported on first use) or the
#: model itself (chips registered at run time, e.g. by tests).
CHIPS: dict[str, str | ChipModel] = {
    "loihi2": "snncompile.targets.loihi.arch:LOIHI2",
}


def chip_names() -> tuple[str, ...]:
    """The registered chips."""
    return tuple(CHIPS)


def get_chip(name: str | ChipModel) -> ChipModel:
    """The registered chip ``name`` (a model is returned as it is); CF201 if unknown."""
    if isinstance(name, ChipModel):
        return name
    entry = CHIPS.get(name)
    if entry is None:
        raise error(
            "CF201",
            f"unknown chip {name!r}; registered chips: {', '.join(CHIPS)}",
            node="chip",
        )
    if isinstance(entry, str):
        module, attribute = entry.split(":")
        entry = getattr(importlib.import_module(module), attribute)
        assert isinstance(entry, ChipModel)
        CHIPS[name] = entry
    return entry


def register_chip(model: ChipModel) -> Callable[[], None]:
    """Register ``model`` under its name; returns a function that removes it again."""
    previous = CHIPS.get(model.name)
    CHIPS[model.name] = model

    def unregister() -> None:
        if previous is None:
            CHIPS.pop(model.name, None)
        else:
            CHIPS[model.name] = previous

    return unregister


# --- boards --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Board:
    """A system of ``chips`` chips of one chip model (``--board``), with its source."""

    name: str
    chip: str
    chips: int
    source: str

    @property
    def cores(self) -> int:
        return self.chips * get_chip(self.chip).limits.cores_per_chip


#: The boards ``--board`` names (``chips:N`` is any N chips of the compiled-for chip).
BOARDS: dict[str, Board] = {
    "kapoho-point": Board(
        "kapoho-point",
        "loihi2",
        8,
        "Intel Kapoho Point: 8 Loihi 2 chips on one stackable board (Intel, 2022)",
    ),
    "hala-point": Board(
        "hala-point",
        "loihi2",
        1152,
        "Intel Hala Point: 1,152 Loihi 2 chips, 1.15 B neurons (Intel, April 2024)",
    ),
}


def get_board(spec: str, chip: str = DEFAULT_CHIP) -> Board:
    """The board ``spec`` names: a key of :data:`BOARDS` or ``chips:N`` (N >= 1 chips of
    ``chip``); CF201 otherwise."""
    if spec in BOARDS:
        return BOARDS[spec]
    prefix, _, count = spec.partition(":")
    if prefix == "chips" and count.isdigit() and int(count) >= 1:
        return Board(spec, chip, int(count), "user setting")
    raise error(
        "CF201",
        f"unknown board {spec!r}; known: {', '.join(BOARDS)} or chips:N",
        node="board",
    )


def dense_current(weights: np.ndarray, spikes: np.ndarray, weight_exp: int = 0) -> np.ndarray:
    """``(W @ s) shifted by weight_exp`` for a batch of binary spikes ``[B, n_in]`` (weights
    already representable: :meth:`WeightFormat.effective`). Any non-zero spike counts as 1."""
    binary = (spikes != 0).astype(np.int64)
    return shift(binary @ weights.T, weight_exp)
