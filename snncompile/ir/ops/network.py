"""Network-level ops: the chip's words. Populations of neurons and projections of synapses.

After ``lower-to-network`` the chip partition is only these ops; host ops (the encoder before
the first population, the readout after the last, and anything ``--allow-host-ops`` left on
the host) stay tensor ops in the same graph, and every tensor op in a network graph is a host
op by definition. Values are integers (stored in float64 arrays, exact below 2^53):

- a **population** (``population``) is a group of neurons with one model; its inputs are the
  currents of the projections into it, summed by its dendrite (fan-in), and its output is its
  spikes (binary) or graded payloads (``gated``);
- a **projection** (``projection``) is static synapses from one source (a population, or a host
  value sent to the chip as graded payloads) to one population: it reads the source through its
  ``pre`` view, applies its core (``conv``, ``dense`` or ``sum``: unit synapses that accumulate
  over ``axes``), adds its integer ``bias``, shifts by ``weight_exp`` and writes through its
  ``post`` view, ``delay`` steps later;
- a **current probe** (``current_sum``) sums projection currents for the host to read (the
  readout of a membrane-shortcut stream).

Time: in the *layerwise* network every delay is 0 and every population's ``start`` is 0 (what
PyTorch computes). ``pipeline-delays`` makes it the *pipelined* network the chip runs: every
projection costs one step (``delay >= 1``) and populations are gated until their data arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch
import torch.nn.functional as F

from snncompile.chip import DEFAULT_CHIP, ChipModel, LifNeuron, get_chip, shift
from snncompile.diagnostics import error
from snncompile.ir import counts, domains
from snncompile.ir.attrs import Array, OpAttrs
from snncompile.ir.graph import Graph
from snncompile.ir.ops.base import OpDef, ShapeError, State, Trait
from snncompile.ir.types import TensorType
from snncompile.ir.views import View, ViewError, parse_view

__all__ = [
    "NEURON_KINDS",
    "OPS",
    "PROJECTION_KINDS",
    "CurrentSumAttrs",
    "PopulationAttrs",
    "ProjectionAttrs",
    "check_kind",
    "graph_chip",
]

NETWORK = frozenset({"network"})

#: ``lif``: Lava's LIF; ``and``: coincidence (spikes iff both of two unit inputs spike);
#: ``or``: spikes iff any input spikes (a max-pool of spikes); ``gated``: a product neuron,
#: ``value · gate`` sent as a graded payload (count × spike in attention); ``relay``: sends its
#: summed input current as a graded payload (a membrane-shortcut stream passed on once).
NEURON_KINDS = ("lif", "and", "or", "gated", "relay")
PROJECTION_KINDS = ("conv", "dense", "sum")


@dataclass(frozen=True, eq=False)
class PopulationAttrs(OpAttrs):
    """A population: ``kind`` (:data:`NEURON_KINDS`) on ``chip`` (default the default chip).

    Integer LIF parameters (``lif``, ``and``, ``or``) in the chip's register units
    (:class:`snncompile.chip.NeuronArithmetic` maps them to its step): decays ``du``, ``dv``
    (``none``: no memory, the chip's own value for that), threshold mantissa ``vth`` (spike iff
    ``v > vth << h``; ``vth_map`` per neuron), bias ``bias_mant << bias_exp`` (scalar, per
    neuron, or any shape that broadcasts to the neurons' shape, e.g. ``[C, 1, 1]`` per
    channel), and ``start``: the step the population's data first arrives in a pipeline (before
    it the population holds ``u = v = 0`` and does not spike). ``gated`` and ``relay``
    populations are graded, not LIF: ``bias_mant`` is added to their value and the LIF
    parameters must keep their defaults (:func:`check_kind`). ``reset``: the LIF's reset
    (:data:`snncompile.chip.RESETS`, one the chip runs; ``zero`` for every other kind).
    """

    kind: str
    du: int | None = None
    dv: int | None = None
    vth: int = 0
    bias_mant: Array | None = None
    bias_exp: int = 0
    vth_map: Array | None = None
    start: int = 0
    chip: str = field(default=DEFAULT_CHIP, metadata={"elide_default": True})
    reset: str = field(default="zero", metadata={"elide_default": True})

    @property
    def chip_model(self) -> ChipModel:
        return get_chip(self.chip)

    def thresholds(self) -> np.ndarray:
        """Per-neuron threshold mantissas (``vth_map``, else ``vth``)."""
        if self.vth_map is None:
            return np.asarray(self.vth, dtype=np.int64)
        return self.vth_map.astype(np.int64)

    def neuron(self) -> LifNeuron:
        bias = 0 if self.bias_mant is None else self.bias_mant.astype(np.int64)
        return self.chip_model.lif(
            self.du, self.dv, self.thresholds(), bias, self.bias_exp, self.reset
        )


def check_kind(a: PopulationAttrs, n_inputs: int) -> str | None:
    """Kind-specific validation of a population, in one place: why ``a`` is invalid, or None.

    - every kind: the chip hosts it and runs its ``reset`` (``zero`` unless ``lif``), ``kind``
      is known;
    - ``lif``: decays within the chip's registers, current memory only where the chip has it;
    - ``and`` / ``or``: memoryless (no ``u``/``v`` kept), no bias, ``vth`` 1 / 0;
    - ``gated``: at least a value and a gate input; ``gated``/``relay``: no LIF parameters.
    """
    if a.kind not in NEURON_KINDS:
        return f"population kind {a.kind!r} is not one of {', '.join(NEURON_KINDS)}"
    chip = a.chip_model
    if not chip.can_host(a.kind):
        return f"chip {chip.name} cannot host {a.kind} populations"
    arithmetic = chip.neuron
    if a.kind in ("lif", "and", "or"):
        problem = arithmetic.check_decays(a.du, a.dv)
        if problem is not None:
            return f"population {problem}"
    if not chip.current_decay and a.du not in (None, arithmetic.no_current_memory):
        return f"chip {chip.name} keeps no current between steps (du={a.du})"
    if not chip.can_reset(a.reset):
        return f"chip {chip.name} runs the resets {', '.join(sorted(chip.resets))}, not {a.reset!r}"
    if a.kind != "lif" and a.reset != "zero":
        return f"an {a.kind} population has no reset of its own (reset={a.reset!r})"
    if a.kind in ("and", "or"):
        if not arithmetic.memoryless(a.du, a.dv) or a.vth_map is not None:
            return f"an {a.kind} population keeps no state and has one threshold"
        if a.vth != (1 if a.kind == "and" else 0) or a.bias_mant is not None:
            return f"an {a.kind} population has vth={1 if a.kind == 'and' else 0} and no bias"
    if a.kind in ("gated", "relay"):
        if a.du is not None or a.dv is not None or a.vth or a.vth_map is not None:
            return f"a {a.kind} population is graded: it takes no LIF parameters"
        if a.kind == "gated" and n_inputs < 2:
            return f"a gated population takes a value and a gate, got {n_inputs} inputs"
    return None


def graph_chip(graph: Graph) -> str:
    """The chip a network graph's populations run on (the default chip if it has none).

    Raises:
        SnnCompileError: NW903 when populations name different chips.
    """
    chips = {n.attrs.chip for n in graph.nodes if n.op == "population"}
    if len(chips) > 1:
        raise error(
            "NW903",
            f"@{graph.name} mixes populations of chips {', '.join(sorted(chips))}",
            node=f"@{graph.name}",
        )
    return chips.pop() if chips else DEFAULT_CHIP


def _infer_population(types: Sequence[TensorType], a: PopulationAttrs) -> tuple[TensorType, ...]:
    problem = check_kind(a, len(types))
    if problem is not None:
        raise ShapeError(problem)
    shape = types[0].shape
    for t in types[1:]:
        if t.shape != shape:
            raise ShapeError(f"population inputs differ in shape: {shape} vs {t.shape}")
    for name, array in (("bias_mant", a.bias_mant), ("vth_map", a.vth_map)):
        if array is not None and not _broadcasts_to(array.shape, shape):
            raise ShapeError(
                f"population {name} shape {array.shape} does not broadcast to the neuron shape "
                f"{shape}"
            )
    return (TensorType(shape, types[0].dtype),)


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Whether an array of ``shape`` broadcasts to ``target`` (numpy rules) without growing it."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _population_state(a: PopulationAttrs, types: Sequence[TensorType], batch: int) -> State:
    shape = (batch, *types[0].shape)
    return {"u": np.zeros(shape, np.int64), "v": np.zeros(shape, np.int64), "step": np.zeros(())}


def _population(
    a: PopulationAttrs, xs: Sequence[np.ndarray], state: State | None
) -> tuple[np.ndarray]:
    """One step of the population on its summed input ``a = Σ_p I_p`` (integers)::

    lif, and, or:  the chip's integer LIF (``snncompile.chip.NeuronArithmetic``) on ``a``
                   u = limit_u(trunc(u·(D-(du+o))/D) + (a << i))
                   v = limit_v(trunc(v·(D-dv)/D) + u + (bias_mant << bias_exp))
                   s = v > vth << h;  then ``reset`` (zero: v = 0 where s; subtract,
                   subtract-next, none: snncompile.chip)
                   (and: no memory, vth=1: s = [a >= 2]; or: vth=0: s = [a >= 1])
    gated:         y = (Σ_value I_p + bias_mant) · I_gate    (the gate is the last input; a
                   graded payload, zero when the gate is silent)
    relay:         y = Σ_p I_p + bias_mant                   (a graded payload)

    Before step ``start`` the output is 0 and the state stays 0.
    """
    assert state is not None
    step = int(state["step"])
    state["step"] = np.asarray(step + 1)
    x = xs[0]
    if step < a.start:
        return (np.zeros_like(x),)
    if a.kind in ("gated", "relay"):
        summed = xs if a.kind == "relay" else xs[:-1]
        value = np.sum(summed, axis=0) if len(summed) > 1 else summed[0]
        if a.bias_mant is not None:
            value = value + a.bias_mant.astype(value.dtype)
        return (value if a.kind == "relay" else value * xs[-1],)
    current = np.sum(xs, axis=0) if len(xs) > 1 else x
    spikes = a.neuron().step(state["u"], state["v"], np.rint(current).astype(np.int64))
    return (spikes.astype(x.dtype),)


@dataclass(frozen=True, eq=False)
class ProjectionAttrs(OpAttrs):
    """Static synapses from one source to one population's input.

    ``kind``: ``conv`` (``weight`` [C_out, C_in/groups, kH, kW] with ``stride``, ``padding``,
    ``dilation``, ``groups``), ``dense`` (``weight`` [out, in] over the last axis) or ``sum``
    (unit synapses of weight ``gain`` accumulating over ``axes``; no axes: identity). Weights
    are integer mantissas; ``bias`` is an integer current at the core's output (per output
    channel for conv/dense); ``weight_exp`` shifts the sum; ``pre``/``post`` are view programs
    (:mod:`snncompile.ir.views`); ``delay`` is the latency in steps (0 in the layerwise network,
    one per hop and more where paths are balanced in the pipelined one); ``graded``: the source
    sends integer payloads (gated neurons, host currents) instead of binary spikes; ``start``:
    the step its source's data first arrives (set once by ``pipeline-delays``, read by the
    simulator; 0 in the layerwise network).
    """

    kind: str
    weight: Array | None = None
    bias: Array | None = None
    gain: int = 1
    axes: tuple[int, ...] = ()
    weight_exp: int = 0
    delay: int = 0
    pre: str = ""
    post: str = ""
    stride: tuple[int, ...] = (1, 1)
    padding: tuple[int, ...] = (0, 0)
    dilation: tuple[int, ...] = (1, 1)
    groups: int = 1
    graded: bool = False
    start: int = field(default=0, metadata={"elide_default": True})

    @cached_property
    def pre_view(self) -> View:
        return parse_view(self.pre)

    @cached_property
    def post_view(self) -> View:
        return parse_view(self.post)

    def core_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The core's output shape for a core input of ``shape``."""
        if self.kind == "sum":
            return tuple(n for d, n in enumerate(shape) if d not in self.axes)
        assert self.weight is not None
        if self.kind == "dense":
            if not shape or self.weight.ndim != 2 or shape[-1] != self.weight.shape[1]:
                raise ShapeError(f"dense weight {self.weight.shape} does not take {shape}")
            return (*shape[:-1], self.weight.shape[0])
        if len(shape) != 3 or self.weight.ndim != 4:
            raise ShapeError(f"conv expects [C, H, W] and a rank-4 weight, got {shape}")
        c_out, c_in_g, kh, kw = self.weight.shape
        if shape[0] != c_in_g * self.groups:
            raise ShapeError(f"conv weight {self.weight.shape} does not take {shape}")
        out = [c_out]
        for size, k, s, p, d in zip(
            shape[1:], (kh, kw), self.stride, self.padding, self.dilation, strict=True
        ):
            out.append((size + 2 * p - d * (k - 1) - 1) // s + 1)
        return tuple(out)

    def synapses(self, source_shape: tuple[int, ...]) -> int:
        """Number of synapses (connections with a weight), for memory reports."""
        core_in = self.pre_view.shape_after(source_shape)
        if self.kind == "sum":
            return int(np.prod(core_in))
        assert self.weight is not None
        if self.kind == "dense":
            return int(np.prod(core_in[:-1])) * int(self.weight.size)
        return int(np.prod(self.core_shape(core_in))) * int(self.weight[0].size)


def _infer_projection(types: Sequence[TensorType], a: ProjectionAttrs) -> tuple[TensorType, ...]:
    (x,) = types
    if a.kind not in PROJECTION_KINDS:
        raise ShapeError(f"projection kind {a.kind!r} is not one of {', '.join(PROJECTION_KINDS)}")
    if (a.weight is None) != (a.kind == "sum"):
        raise ShapeError(f"a {a.kind} projection {'needs' if a.kind != 'sum' else 'has no'} weight")
    if a.delay < 0:
        raise ShapeError(f"projection delay must be >= 0, got {a.delay}")
    try:
        core_in = a.pre_view.shape_after(x.shape)
        if any(not 0 <= d < len(core_in) for d in a.axes):
            raise ShapeError(f"sum axes {a.axes} outside {core_in}")
        core_out = a.core_shape(core_in)
        if a.bias is not None and a.bias.shape not in ((), (core_out[0],), core_out):
            raise ShapeError(f"projection bias {a.bias.shape} does not fit {core_out}")
        return (TensorType(a.post_view.shape_after(core_out), x.dtype),)
    except ViewError as exc:
        raise ShapeError(str(exc)) from exc


def _projection_state(a: ProjectionAttrs, types: Sequence[TensorType], batch: int) -> State:
    out = _infer_projection(types, a)[0]
    return {"buffer": np.zeros((a.delay, batch, *out.shape)), "head": np.zeros((), np.int64)}


def _bias_array(a: ProjectionAttrs, core_out: tuple[int, ...]) -> np.ndarray:
    assert a.bias is not None
    if a.bias.ndim == 1 and a.kind == "conv":
        return a.bias.reshape(-1, 1, 1)
    return a.bias


def project(a: ProjectionAttrs, x: np.ndarray) -> np.ndarray:
    """The projection's current for source values ``x`` [B, *shape], before its delay::

    conv:   I = post(shift(Σ_c Σ_ij W[o,c,i,j] · pre(x)[c, s·h+d·i-p, s·w+d·j-p] + b, e))
    dense:  I = post(shift(pre(x) · Wᵀ + b, e))
    sum:    I = post(shift(gain · Σ_{axes} pre(x) + b, e))

    (binary sources count as 0/1; ``e`` = ``weight_exp``, floor for negative exponents).
    """
    s = a.pre_view.apply(x if a.graded else (x != 0).astype(x.dtype))
    if a.kind == "sum":
        y = s.sum(axis=tuple(d + 1 for d in a.axes)) * a.gain if a.axes else s * a.gain
    elif a.kind == "dense":
        assert a.weight is not None
        y = s @ a.weight.astype(x.dtype).T
    else:
        assert a.weight is not None
        y = F.conv2d(
            torch.from_numpy(np.ascontiguousarray(s)),
            torch.from_numpy(a.weight.astype(x.dtype)),
            stride=a.stride,
            padding=a.padding,
            dilation=a.dilation,
            groups=a.groups,
        ).numpy()
    if a.bias is not None:
        y = y + _bias_array(a, y.shape[1:]).astype(x.dtype)
    if a.weight_exp:
        y = shift(np.rint(y).astype(np.int64), a.weight_exp).astype(x.dtype)
    return np.ascontiguousarray(a.post_view.apply(y))


def _projection(
    a: ProjectionAttrs, xs: Sequence[np.ndarray], state: State | None
) -> tuple[np.ndarray]:
    """``I[t] = P(x[t - delay])`` with ``P`` the synapses of :func:`project`."""
    assert state is not None
    current = project(a, xs[0])
    if a.delay == 0:
        return (current,)
    buffer, head = state["buffer"], int(state["head"])
    out = buffer[head].copy()
    buffer[head] = current
    state["head"] = np.asarray((head + 1) % a.delay)
    return (out,)


@dataclass(frozen=True, eq=False)
class CurrentSumAttrs(OpAttrs):
    """A current probe: the host reads the sum of the projections into it (no neuron)."""


def _current_sum(
    a: CurrentSumAttrs, xs: Sequence[np.ndarray], state: State | None
) -> tuple[np.ndarray]:
    """``y = Σ_p I_p``: the summed currents, as a population's dendrite would see them."""
    return (np.sum(xs, axis=0) if len(xs) > 1 else xs[0],)


def _infer_current_sum(types: Sequence[TensorType], a: CurrentSumAttrs) -> tuple[TensorType, ...]:
    shape = types[0].shape
    if any(t.shape != shape for t in types):
        raise ShapeError(f"current_sum inputs differ in shape: {[t.shape for t in types]}")
    return (TensorType(shape, types[0].dtype),)


OPS: list[OpDef] = [
    OpDef(
        "population",
        PopulationAttrs,
        _infer_population,
        _population,
        NETWORK,
        arity=None,
        init_state=_population_state,
        doc=(_population.__doc__ or "").strip(),
        traits=frozenset({Trait.NEURON}),
        domain=domains.population,
        count=counts.no_synaptic_ops,
    ),
    OpDef(
        "projection",
        ProjectionAttrs,
        _infer_projection,
        _projection,
        NETWORK,
        init_state=_projection_state,
        doc=((project.__doc__ or "") + "\n" + (_projection.__doc__ or "")).strip(),
        traits=frozenset({Trait.WEIGHTED}),
        domain=domains.integer_currents,
        count=counts.projection_count,
    ),
    OpDef(
        "current_sum",
        CurrentSumAttrs,
        _infer_current_sum,
        _current_sum,
        NETWORK,
        arity=None,
        doc=(_current_sum.__doc__ or "").strip(),
        domain=domains.integer_currents,
        count=counts.no_synaptic_ops,
    ),
]
