"""Tensor-level ops: PyTorch's words for one time step of one sample.

Shapes below are per sample (no time or batch axis); kernels receive a leading batch axis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from snncompile.ir import counts, domains
from snncompile.ir.attrs import Array, NoAttrs, OpAttrs
from snncompile.ir.ops.base import OpDef, ShapeError, State, Trait
from snncompile.ir.types import TensorType

TENSOR = frozenset({"tensor"})


def _same(t: TensorType, shape: Sequence[int] | None = None) -> TensorType:
    """A result type with ``t``'s dtype, no domain yet, and ``shape`` (default ``t``'s)."""
    return TensorType(tuple(t.shape if shape is None else shape), t.dtype)


def _torch(array: np.ndarray, dtype: np.dtype) -> torch.Tensor:
    return torch.from_numpy(np.array(array, dtype=dtype, copy=True))


# --- conv2d -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Conv2dAttrs(OpAttrs):
    """``weight``: [C_out, C_in / groups, kH, kW]; ``bias``: [C_out] or none."""

    weight: Array
    bias: Array | None
    stride: tuple[int, ...] = (1, 1)
    padding: tuple[int, ...] = (0, 0)
    dilation: tuple[int, ...] = (1, 1)
    groups: int = 1


def _conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _infer_conv2d(types: Sequence[TensorType], a: Conv2dAttrs) -> tuple[TensorType, ...]:
    (x,) = types
    if x.rank != 3 or a.weight.ndim != 4:
        raise ShapeError(f"conv2d expects input [C, H, W] and weight of rank 4, got {x.shape}")
    c_out, c_in_g, kh, kw = a.weight.shape
    if x.shape[0] != c_in_g * a.groups or c_out % a.groups:
        raise ShapeError(
            f"conv2d input has {x.shape[0]} channels; weight {a.weight.shape} with "
            f"groups={a.groups} expects {c_in_g * a.groups}"
        )
    if a.bias is not None and a.bias.shape != (c_out,):
        raise ShapeError(f"conv2d bias shape {a.bias.shape} != ({c_out},)")
    h = _conv_out(x.shape[1], kh, a.stride[0], a.padding[0], a.dilation[0])
    w = _conv_out(x.shape[2], kw, a.stride[1], a.padding[1], a.dilation[1])
    if h <= 0 or w <= 0:
        raise ShapeError(f"conv2d output would be empty ({h}x{w}) for input {x.shape}")
    return (_same(x, (c_out, h, w)),)


def _conv2d(a: Conv2dAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y[o] = b[o] + Σ_c Σ_ij W[o, c, i, j] · x[c, s·h + d·i - p, s·w + d·j - p]``."""
    x = xs[0]
    bias = None if a.bias is None else _torch(a.bias, x.dtype)
    y = F.conv2d(
        torch.from_numpy(x),
        _torch(a.weight, x.dtype),
        bias,
        stride=a.stride,
        padding=a.padding,
        dilation=a.dilation,
        groups=a.groups,
    )
    return (y.numpy(),)


# --- linear -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LinearAttrs(OpAttrs):
    """``weight``: [out, in]; ``bias``: [out] or none. Applied over the last axis."""

    weight: Array
    bias: Array | None


def _infer_linear(types: Sequence[TensorType], a: LinearAttrs) -> tuple[TensorType, ...]:
    (x,) = types
    if x.rank < 1 or a.weight.ndim != 2 or x.shape[-1] != a.weight.shape[1]:
        raise ShapeError(f"linear weight {a.weight.shape} does not take input {x.shape}")
    if a.bias is not None and a.bias.shape != (a.weight.shape[0],):
        raise ShapeError(f"linear bias shape {a.bias.shape} != ({a.weight.shape[0]},)")
    return (_same(x, (*x.shape[:-1], a.weight.shape[0])),)


def _linear(a: LinearAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y = x · Wᵀ + b`` over the last axis."""
    x = xs[0]
    y = x @ a.weight.astype(x.dtype).T
    if a.bias is not None:
        y = y + a.bias.astype(x.dtype)
    return (y,)


# --- batchnorm ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BatchNormAttrs(OpAttrs):
    """Eval-mode batch norm over channel ``axis`` (of the per-sample shape)."""

    weight: Array
    bias: Array
    running_mean: Array
    running_var: Array
    eps: float = 1e-5
    axis: int = 0


def _infer_batchnorm(types: Sequence[TensorType], a: BatchNormAttrs) -> tuple[TensorType, ...]:
    (x,) = types
    if not 0 <= a.axis < x.rank:
        raise ShapeError(f"batchnorm axis {a.axis} outside input of shape {x.shape}")
    channels = x.shape[a.axis]
    for field in ("weight", "bias", "running_mean", "running_var"):
        if getattr(a, field).shape != (channels,):
            raise ShapeError(f"batchnorm {field} shape {getattr(a, field).shape} != ({channels},)")
    return (_same(x),)


def _batchnorm(
    a: BatchNormAttrs, xs: Sequence[np.ndarray], state: State | None
) -> tuple[np.ndarray]:
    """``y = (x - μ) / sqrt(σ² + ε) · γ + β`` per channel."""
    x = xs[0]
    shape = [1] * x.ndim
    shape[a.axis + 1] = -1
    inv = (a.weight / np.sqrt(a.running_var + a.eps)).astype(x.dtype).reshape(shape)
    shift = (a.bias - a.running_mean * a.weight / np.sqrt(a.running_var + a.eps)).astype(x.dtype)
    return (x * inv + shift.reshape(shape),)


# --- lif ------------------------------------------------------------------------------------


#: ``LifAttrs.dynamics`` values: the neuron equations a ``lif`` node follows.
LIF_DYNAMICS = ("spikingjelly", "snntorch")
#: ``LifAttrs.reset_mechanism`` values (``dynamics='snntorch'`` only).
SNNTORCH_RESETS = ("subtract", "zero", "none")

#: Field metadata: the printer leaves the attribute out while it has its default value (new
#: attributes keep the text of existing graphs unchanged; the parser fills the default back in).
_ELIDED = {"elide_default": True}


@dataclass(frozen=True, eq=False)
class LifAttrs(OpAttrs):
    """Leaky integrate-and-fire neuron; ``dynamics`` picks the equations (see the kernel).

    ``dynamics='spikingjelly'`` (default): spikingjelly's LIF. ``v_reset`` none = soft reset.
    ``decay`` none: the charge divides by ``tau`` (spikingjelly's LIF). ``decay`` set: the charge
    multiplies by ``decay`` instead (spikingjelly's ParametricLIF, ``decay = sigmoid(w)``, exact);
    ``tau`` is then ``1 / decay``, for information. ``v_threshold_map`` (broadcast over the
    neurons) replaces ``v_threshold`` per neuron: ``fold-scales`` puts per-neuron input gains
    there (``lif(c ⊙ X)`` spikes like ``lif(X)`` with thresholds ``v_threshold / c``).

    ``dynamics='snntorch'``: ``snntorch.Leaky``. ``decay`` is its ``beta`` (in [0, 1], required;
    ``decay_map``, broadcast over the neurons, replaces it per neuron), ``reset_mechanism`` its
    ``subtract`` / ``zero`` / ``none`` and ``reset_delay`` its flag of that name; ``v_reset``
    must be 0 and ``decay_input`` false (the input is not decayed), and ``tau`` (``1 / (1 -
    beta)``) is for information only. ``reset_mechanism``, ``reset_delay`` and ``decay_map``
    must stay none with spikingjelly dynamics.
    """

    tau: float = 2.0
    v_threshold: float = 1.0
    v_reset: float | None = 0.0
    decay_input: bool = True
    decay: float | None = None
    v_threshold_map: Array | None = None
    dynamics: str = dataclasses.field(default="spikingjelly", metadata=_ELIDED)
    reset_mechanism: str | None = dataclasses.field(default=None, metadata=_ELIDED)
    reset_delay: bool | None = dataclasses.field(default=None, metadata=_ELIDED)
    decay_map: Array | None = dataclasses.field(default=None, metadata=_ELIDED)

    def thresholds(self, dtype: np.dtype) -> np.ndarray | np.floating:
        """The threshold of every neuron (a scalar when there is no map)."""
        if self.v_threshold_map is None:
            return dtype.type(self.v_threshold)
        return self.v_threshold_map.astype(dtype)

    def decays(self, dtype: np.dtype) -> np.ndarray | np.floating:
        """The decay of every neuron (``decay_map``, else ``decay``; snntorch dynamics)."""
        if self.decay_map is not None:
            return self.decay_map.astype(dtype)
        assert self.decay is not None
        return dtype.type(self.decay)


def _check_map(name: str, array: Array | None, shape: tuple[int, ...]) -> None:
    """A per-neuron map must broadcast to the neuron shape without growing it."""
    if array is None:
        return
    try:
        grown = np.broadcast_shapes(shape, array.shape) != shape
    except ValueError:
        grown = True
    if grown:
        raise ShapeError(f"lif {name} {array.shape} does not broadcast to {shape}")


def _check_snntorch(a: LifAttrs) -> None:
    """The attribute combinations ``dynamics='snntorch'`` allows."""
    if a.reset_mechanism not in SNNTORCH_RESETS:
        raise ShapeError(
            f"lif with snntorch dynamics needs reset_mechanism in {', '.join(SNNTORCH_RESETS)}, "
            f"got {a.reset_mechanism!r}"
        )
    if a.reset_delay is None:
        raise ShapeError("lif with snntorch dynamics needs reset_delay (true or false)")
    if a.decay is None or not 0.0 <= a.decay <= 1.0:
        raise ShapeError(f"lif with snntorch dynamics needs decay (beta) in [0, 1], got {a.decay}")
    if a.decay_map is not None and not (np.all(a.decay_map >= 0.0) and np.all(a.decay_map <= 1.0)):
        raise ShapeError("lif decay_map (beta) values must be in [0, 1]")
    if a.v_reset != 0.0 or a.decay_input:
        raise ShapeError(
            f"lif with snntorch dynamics needs v_reset=0.0 and decay_input=false, got "
            f"v_reset={a.v_reset}, decay_input={a.decay_input}"
        )


def _infer_lif(types: Sequence[TensorType], a: LifAttrs) -> tuple[TensorType, ...]:
    (x,) = types
    if a.tau < 1.0:
        raise ShapeError(f"lif tau must be >= 1, got {a.tau}")
    if a.dynamics == "snntorch":
        _check_snntorch(a)
    elif a.dynamics != "spikingjelly":
        raise ShapeError(
            f"lif dynamics must be one of {', '.join(LIF_DYNAMICS)}, got {a.dynamics!r}"
        )
    else:
        if a.decay is not None and not 0.0 < a.decay <= 1.0:
            raise ShapeError(f"lif decay must be in (0, 1], got {a.decay}")
        extra = [
            name
            for name in ("reset_mechanism", "reset_delay", "decay_map")
            if getattr(a, name) is not None
        ]
        if extra:
            raise ShapeError(f"lif {', '.join(extra)} need dynamics='snntorch'")
    _check_map("v_threshold_map", a.v_threshold_map, x.shape)
    _check_map("decay_map", a.decay_map, x.shape)
    return (_same(x),)


def _lif_state(a: LifAttrs, types: Sequence[TensorType], batch: int) -> State:
    v0 = 0.0 if a.v_reset is None else a.v_reset
    return {"v": np.full((batch, *types[0].shape), v0)}


def _lif(a: LifAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """One step of spikingjelly's LIF (SEMANTICS.md section 2), ``dynamics='spikingjelly'``::

        charge  H = V + (X - (V - v_reset)) / tau        (decay_input)
                H = V - (V - v_reset) / tau + X          (not decay_input)
                (with ``decay`` set, ``· decay`` replaces ``/ tau``: ParametricLIF)
        fire    S = 1 if H >= v_threshold else 0         (per neuron with v_threshold_map)
        reset   V = H · (1 - S) + v_reset · S            (hard)
                V = H - S · v_threshold                  (soft, v_reset none)

    with v_reset taken as 0 in the charge equation for a soft reset.

    ``dynamics='snntorch'``: one step of ``snntorch.Leaky`` (state ``V`` starts at 0 and holds
    the potential *before* its reset, which snntorch applies at the next step), with
    ``β = decay`` (``decay_map`` per neuron) and ``θ = v_threshold`` (``v_threshold_map``)::

        R = 1 if V - θ > 0 else 0                        (the previous step's spike)
        H = β · V + X - R · θ                            (reset_mechanism subtract)
        H = β · ((1 - R) · V) + X                        (zero)
        H = β · V + X                                    (none)
        S = 1 if H - θ > 0 else 0                        (strict: no spike at H = θ)
        V = H                                            (reset_delay true)
        V = H - (S - R) · θ   or   H - (S - R) · H       (reset_delay false; subtract / zero)
    """
    assert state is not None
    x = xs[0]
    v = state["v"].astype(x.dtype, copy=False)
    if a.dynamics == "snntorch":
        state["v"], spike = _leaky(a, x, v)
        return (spike,)
    reset = 0.0 if a.v_reset is None else a.v_reset
    if a.decay is None:
        h = v + (x - (v - reset)) / a.tau if a.decay_input else v - (v - reset) / a.tau + x
    else:
        k = x.dtype.type(a.decay)
        h = v + (x - (v - reset)) * k if a.decay_input else v - (v - reset) * k + x
    threshold = a.thresholds(x.dtype)
    spike = (h >= threshold).astype(x.dtype)
    if a.v_reset is None:
        state["v"] = h - spike * threshold
    else:
        state["v"] = h * (1.0 - spike) + a.v_reset * spike
    return (spike,)


def _leaky(a: LifAttrs, x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """snntorch ``Leaky.forward`` on numpy, in its order of operations: (new state, spikes)."""
    one = x.dtype.type(1.0)
    beta = a.decays(x.dtype)
    threshold = a.thresholds(x.dtype)
    r = (v - threshold > 0).astype(x.dtype)
    if a.reset_mechanism == "subtract":
        h = beta * v + x - r * threshold
    elif a.reset_mechanism == "zero":
        h = beta * ((one - r) * v) + x
    else:
        h = beta * v + x
    spike = (h - threshold > 0).astype(x.dtype)
    if not a.reset_delay:
        if a.reset_mechanism == "subtract":
            h = h - (spike - r) * threshold
        elif a.reset_mechanism == "zero":
            h = h - (spike - r) * h
    return h, spike


# --- elementwise ----------------------------------------------------------------------------


def _infer_broadcast(types: Sequence[TensorType], a: NoAttrs) -> tuple[TensorType, ...]:
    left, right = types
    try:
        shape = np.broadcast_shapes(left.shape, right.shape)
    except ValueError as exc:
        raise ShapeError(f"shapes {left.shape} and {right.shape} do not broadcast") from exc
    return (_same(left, shape),)


def _add(a: NoAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y = a + b`` (numpy broadcasting over the per-sample shapes)."""
    return (xs[0] + xs[1],)


def _mul(a: NoAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y = a ⊙ b``: the Hadamard product of two activations."""
    return (xs[0] * xs[1],)


@dataclass(frozen=True, eq=False)
class ScaleAttrs(OpAttrs):
    """Multiplication by a constant ``factor``."""

    factor: float


def _infer_unary(types: Sequence[TensorType], a: OpAttrs) -> tuple[TensorType, ...]:
    return (_same(types[0]),)


def _scale(a: ScaleAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y = factor · x``."""
    return (xs[0] * xs[0].dtype.type(a.factor),)


# --- matmul ---------------------------------------------------------------------------------


def _infer_matmul(types: Sequence[TensorType], a: NoAttrs) -> tuple[TensorType, ...]:
    left, right = types
    if left.rank < 2 or right.rank < 2 or left.shape[-1] != right.shape[-2]:
        raise ShapeError(f"matmul of {left.shape} and {right.shape}: inner dimensions differ")
    try:
        batch = np.broadcast_shapes(left.shape[:-2], right.shape[:-2])
    except ValueError as exc:
        raise ShapeError(f"matmul batch dims {left.shape} / {right.shape} differ") from exc
    return (_same(left, (*batch, left.shape[-2], right.shape[-1])),)


def _matmul(a: NoAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``Y[..., n, m] = Σ_k A[..., n, k] · B[..., k, m]``: a product of two activations."""
    return (np.matmul(xs[0], xs[1]),)


# --- layout ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReshapeAttrs(OpAttrs):
    """New per-sample shape (same number of elements)."""

    shape: tuple[int, ...]


def _infer_reshape(types: Sequence[TensorType], a: ReshapeAttrs) -> tuple[TensorType, ...]:
    (x,) = types
    if any(d < 0 for d in a.shape) or int(np.prod(a.shape)) != x.numel:
        raise ShapeError(f"cannot reshape {x.shape} ({x.numel} elements) to {a.shape}")
    return (_same(x, a.shape),)


def _reshape(a: ReshapeAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """Row-major reshape of each sample."""
    x = xs[0]
    return (x.reshape((x.shape[0], *a.shape)),)


@dataclass(frozen=True, eq=False)
class PermuteAttrs(OpAttrs):
    """Axis permutation of the per-sample shape: result axis i is input axis ``perm[i]``."""

    perm: tuple[int, ...]


def _infer_permute(types: Sequence[TensorType], a: PermuteAttrs) -> tuple[TensorType, ...]:
    (x,) = types
    if sorted(a.perm) != list(range(x.rank)):
        raise ShapeError(f"permute {a.perm} is not a permutation of {x.rank} axes")
    return (_same(x, tuple(x.shape[p] for p in a.perm)),)


def _permute(a: PermuteAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y[i_perm[0], ...] = x[i_0, ...]``: axes reordered, the batch axis kept first."""
    return (np.transpose(xs[0], (0, *(p + 1 for p in a.perm))),)


# --- pooling --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Pool2dAttrs(OpAttrs):
    """2-d pooling window over [C, H, W] (floor mode; average pools count the padding)."""

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] = (0, 0)


def _infer_pool2d(types: Sequence[TensorType], a: Pool2dAttrs) -> tuple[TensorType, ...]:
    (x,) = types
    if x.rank != 3:
        raise ShapeError(f"pool2d expects input [C, H, W], got {x.shape}")
    h = _conv_out(x.shape[1], a.kernel_size[0], a.stride[0], a.padding[0], 1)
    w = _conv_out(x.shape[2], a.kernel_size[1], a.stride[1], a.padding[1], 1)
    if h <= 0 or w <= 0:
        raise ShapeError(f"pool2d output would be empty ({h}x{w}) for input {x.shape}")
    return (_same(x, (x.shape[0], h, w)),)


def _maxpool2d(a: Pool2dAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y[c, h, w] = max_{i,j} x[c, s·h + i - p, s·w + j - p]`` (padding never wins)."""
    y = F.max_pool2d(torch.from_numpy(xs[0]), a.kernel_size, a.stride, a.padding)
    return (y.numpy(),)


def _avgpool2d(a: Pool2dAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y[c, h, w] = 1/(kH·kW) · Σ_{i,j} x[c, s·h + i - p, s·w + j - p]`` (zero padding)."""
    y = F.avg_pool2d(torch.from_numpy(xs[0]), a.kernel_size, a.stride, a.padding)
    return (y.numpy(),)


@dataclass(frozen=True, eq=False)
class AdaptivePool2dAttrs(OpAttrs):
    """Output size ``[oH, oW]`` of an adaptive pool over [C, H, W]."""

    output_size: tuple[int, ...]


def _infer_adaptive_pool2d(
    types: Sequence[TensorType], a: AdaptivePool2dAttrs
) -> tuple[TensorType, ...]:
    (x,) = types
    if x.rank != 3 or len(a.output_size) != 2 or min(a.output_size, default=0) < 1:
        raise ShapeError(
            f"adaptive_avgpool2d expects input [C, H, W] and output_size [oH, oW] >= 1, "
            f"got {x.shape} and {a.output_size}"
        )
    return (_same(x, (x.shape[0], *a.output_size)),)


def _adaptive_avgpool2d(
    a: AdaptivePool2dAttrs, xs: Sequence[np.ndarray], state: State | None
) -> tuple[np.ndarray]:
    """``y[c, i, j] = mean x[c, h0(i):h1(i), w0(j):w1(j)]`` with ``h0(i) = floor(i·H/oH)``,
    ``h1(i) = ceil((i+1)·H/oH)`` (likewise for w): PyTorch's adaptive average pool."""
    out_h, out_w = a.output_size
    y = F.adaptive_avg_pool2d(torch.from_numpy(xs[0]), (out_h, out_w))
    return (y.numpy(),)


# --- constants ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ConstAttrs(OpAttrs):
    """A constant array broadcast against the per-sample shape (numpy rules)."""

    value: Array


def _infer_const(types: Sequence[TensorType], a: ConstAttrs) -> tuple[TensorType, ...]:
    (x,) = types
    try:
        shape = np.broadcast_shapes(x.shape, a.value.shape)
    except ValueError as exc:
        raise ShapeError(f"constant {a.value.shape} does not broadcast with {x.shape}") from exc
    if shape != x.shape:
        raise ShapeError(f"constant {a.value.shape} would grow the input {x.shape} to {shape}")
    return (_same(x),)


def _add_const(a: ConstAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y = x + c``: a constant (bias, position embedding) broadcast over the sample."""
    return (xs[0] + a.value.astype(xs[0].dtype),)


def _mul_const(a: ConstAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y = x ⊙ c``: a constant (per-head or per-channel scale) broadcast over the sample."""
    return (xs[0] * a.value.astype(xs[0].dtype),)


# --- reductions and slices ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReduceAttrs(OpAttrs):
    """Axes of the per-sample shape to reduce; ``keepdim`` keeps them with size 1."""

    axes: tuple[int, ...]
    keepdim: bool = False


def _infer_reduce(types: Sequence[TensorType], a: ReduceAttrs) -> tuple[TensorType, ...]:
    (x,) = types
    if not a.axes or len(set(a.axes)) != len(a.axes) or any(not 0 <= d < x.rank for d in a.axes):
        raise ShapeError(f"reduce axes {a.axes} invalid for input of shape {x.shape}")
    if a.keepdim:
        shape = tuple(1 if d in a.axes else n for d, n in enumerate(x.shape))
    else:
        shape = tuple(n for d, n in enumerate(x.shape) if d not in a.axes)
    return (_same(x, shape),)


def _reduce_args(a: ReduceAttrs) -> tuple[tuple[int, ...], bool]:
    return tuple(d + 1 for d in a.axes), a.keepdim


def _sum(a: ReduceAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y = Σ_{i ∈ axes} x[..., i, ...]`` (a count when ``x`` is binary)."""
    axes, keep = _reduce_args(a)
    return (torch.from_numpy(xs[0]).sum(dim=axes, keepdim=keep).numpy(),)


def _mean(a: ReduceAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y = 1/n · Σ_{i ∈ axes} x[..., i, ...]`` with ``n`` the number of reduced elements."""
    axes, keep = _reduce_args(a)
    return (torch.from_numpy(xs[0]).mean(dim=axes, keepdim=keep).numpy(),)


@dataclass(frozen=True, eq=False)
class SliceAttrs(OpAttrs):
    """``x[..., start:stop:step, ...]`` along per-sample ``axis`` (0 <= start < stop)."""

    axis: int
    start: int
    stop: int
    step: int = 1


def _infer_slice(types: Sequence[TensorType], a: SliceAttrs) -> tuple[TensorType, ...]:
    (x,) = types
    if not 0 <= a.axis < x.rank:
        raise ShapeError(f"slice axis {a.axis} outside input of shape {x.shape}")
    if a.step < 1 or not 0 <= a.start < a.stop <= x.shape[a.axis]:
        raise ShapeError(
            f"slice [{a.start}:{a.stop}:{a.step}] invalid for axis {a.axis} of size "
            f"{x.shape[a.axis]}"
        )
    shape = list(x.shape)
    shape[a.axis] = len(range(a.start, a.stop, a.step))
    return (_same(x, shape),)


def _slice(a: SliceAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``y = x[..., start:stop:step, ...]`` along ``axis`` (split, chunk and slicing)."""
    x = xs[0]
    index = [slice(None)] * x.ndim
    index[a.axis + 1] = slice(a.start, a.stop, a.step)
    return (np.ascontiguousarray(x[tuple(index)]),)


def _doc(fn: object) -> str:
    return (getattr(fn, "__doc__", None) or "").strip()


_NONE = counts.no_synaptic_ops

OPS: list[OpDef] = [
    OpDef(
        "conv2d",
        Conv2dAttrs,
        _infer_conv2d,
        _conv2d,
        TENSOR,
        doc=_doc(_conv2d),
        traits=frozenset({Trait.WEIGHTED}),
        domain=domains.weighted,
        count=counts.conv2d_count,
    ),
    OpDef(
        "linear",
        LinearAttrs,
        _infer_linear,
        _linear,
        TENSOR,
        doc=_doc(_linear),
        traits=frozenset({Trait.WEIGHTED}),
        domain=domains.weighted,
        count=counts.linear_count,
    ),
    OpDef(
        "batchnorm",
        BatchNormAttrs,
        _infer_batchnorm,
        _batchnorm,
        TENSOR,
        doc=_doc(_batchnorm),
        domain=domains.real,
        count=_NONE,
    ),
    OpDef(
        "lif",
        LifAttrs,
        _infer_lif,
        _lif,
        TENSOR,
        init_state=_lif_state,
        doc=_doc(_lif),
        traits=frozenset({Trait.NEURON}),
        domain=domains.neuron,
        count=_NONE,
    ),
    OpDef(
        "add",
        NoAttrs,
        _infer_broadcast,
        _add,
        TENSOR,
        arity=2,
        doc=_doc(_add),
        domain=domains.add_rule,
        count=_NONE,
    ),
    OpDef(
        "mul",
        NoAttrs,
        _infer_broadcast,
        _mul,
        TENSOR,
        arity=2,
        doc=_doc(_mul),
        traits=frozenset({Trait.PRODUCT, Trait.LINEAR}),
        domain=domains.mul_rule,
        count=counts.elementwise_product_count,
    ),
    OpDef(
        "scale",
        ScaleAttrs,
        _infer_unary,
        _scale,
        TENSOR,
        doc=_doc(_scale),
        domain=domains.scale,
        count=_NONE,
    ),
    OpDef(
        "matmul",
        NoAttrs,
        _infer_matmul,
        _matmul,
        TENSOR,
        arity=2,
        doc=_doc(_matmul),
        traits=frozenset({Trait.PRODUCT, Trait.LINEAR}),
        domain=domains.matmul,
        count=counts.matmul_count,
    ),
    OpDef(
        "reshape",
        ReshapeAttrs,
        _infer_reshape,
        _reshape,
        TENSOR,
        doc=_doc(_reshape),
        traits=frozenset({Trait.LAYOUT, Trait.LINEAR}),
        domain=domains.same,
        count=_NONE,
    ),
    OpDef(
        "permute",
        PermuteAttrs,
        _infer_permute,
        _permute,
        TENSOR,
        doc=_doc(_permute),
        traits=frozenset({Trait.LAYOUT, Trait.LINEAR}),
        domain=domains.same,
        count=_NONE,
    ),
    OpDef(
        "maxpool2d",
        Pool2dAttrs,
        _infer_pool2d,
        _maxpool2d,
        TENSOR,
        doc=_doc(_maxpool2d),
        traits=frozenset({Trait.MAXIMUM, Trait.MONOTONE}),
        domain=domains.same,
        count=_NONE,
    ),
    OpDef(
        "avgpool2d",
        Pool2dAttrs,
        _infer_pool2d,
        _avgpool2d,
        TENSOR,
        doc=_doc(_avgpool2d),
        traits=frozenset({Trait.LINEAR}),
        domain=domains.real,
        count=_NONE,
    ),
    OpDef(
        "adaptive_avgpool2d",
        AdaptivePool2dAttrs,
        _infer_adaptive_pool2d,
        _adaptive_avgpool2d,
        TENSOR,
        doc=_doc(_adaptive_avgpool2d),
        traits=frozenset({Trait.LINEAR}),
        domain=domains.real,
        count=_NONE,
    ),
    OpDef(
        "add_const",
        ConstAttrs,
        _infer_const,
        _add_const,
        TENSOR,
        doc=_doc(_add_const),
        domain=domains.const,
        count=_NONE,
    ),
    OpDef(
        "mul_const",
        ConstAttrs,
        _infer_const,
        _mul_const,
        TENSOR,
        doc=_doc(_mul_const),
        domain=domains.const,
        count=_NONE,
    ),
    OpDef(
        "sum",
        ReduceAttrs,
        _infer_reduce,
        _sum,
        TENSOR,
        doc=_doc(_sum),
        traits=frozenset({Trait.LINEAR}),
        domain=domains.sum_rule,
        count=_NONE,
    ),
    OpDef(
        "mean",
        ReduceAttrs,
        _infer_reduce,
        _mean,
        TENSOR,
        doc=_doc(_mean),
        traits=frozenset({Trait.LINEAR}),
        domain=domains.real,
        count=_NONE,
    ),
    OpDef(
        "slice",
        SliceAttrs,
        _infer_slice,
        _slice,
        TENSOR,
        doc=_doc(_slice),
        traits=frozenset({Trait.LAYOUT, Trait.LINEAR}),
        domain=domains.same,
        count=_NONE,
    ),
]

__all__ = [
    "LIF_DYNAMICS",
    "OPS",
    "SNNTORCH_RESETS",
    "AdaptivePool2dAttrs",
    "BatchNormAttrs",
    "ConstAttrs",
    "Conv2dAttrs",
    "LifAttrs",
    "LinearAttrs",
    "PermuteAttrs",
    "Pool2dAttrs",
    "ReduceAttrs",
    "ReshapeAttrs",
    "ScaleAttrs",
    "SliceAttrs",
]
