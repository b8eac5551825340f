"""Handlers for the layers of a spiking model: neurons, convolutions, linear, batch norm,
pooling, and the identities of evaluation mode (dropout, ``nn.Identity``).

Each handler takes the :class:`~snncompile.frontend.fx_context.Context` and the node's
arguments (traced tensors as :class:`~snncompile.frontend.layout.Act`) and returns an ``Act``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from snncompile.diagnostics import error
from snncompile.frontend.fx_context import (
    Context,
    Handler,
    bind_args,
    one_lead,
    pair,
    to_array,
)
from snncompile.frontend.layout import Act
from snncompile.frontend.neurons import recognize
from snncompile.ir.ops.tensor import (
    AdaptivePool2dAttrs,
    BatchNormAttrs,
    Conv2dAttrs,
    LinearAttrs,
    Pool2dAttrs,
)

__all__ = ["FUNCTION_HANDLERS", "MODULE_HANDLERS", "neuron"]

# --- neurons ------------------------------------------------------------------------------------


def neuron(ctx: Context, module: nn.Module, x: Act) -> Act:
    """A recognised multi-step neuron on ``[T, B, ...]`` -> ``lif``."""
    info = recognize(module)
    assert info is not None
    if not info.multi_step:
        raise error(
            "FE705",
            f"{type(module).__name__} ({info.kind}) option step_mode='s' (module "
            f"{ctx.node.target if ctx.node is not None else '?'}): a single-step neuron sees one "
            f"time step per call, and the traced graph runs every neuron over [T, B, ...]",
            fix="Set step_mode='m' (spikingjelly: functional.set_step_mode(net, 'm')) or wrap "
            "the neuron in layer.MultiStepContainer; the spikes are the same.",
        )
    ctx.per_step(x, "a spiking neuron")
    if x.layout.lead != ("T", "B") or x.layout.sizes[0] != ctx.time_steps:
        raise ctx.mixes_time(
            f"a multi-step neuron must receive [T={ctx.time_steps}, B, ...], got "
            f"{x.layout.describe()} (its loop would run over the wrong axis)"
        )
    return ctx.act("lif", [x], info.attrs, x.layout)


# --- stateless layers ---------------------------------------------------------------------------


def _conv_padding(
    ctx: Context, padding: Any, kernel: tuple[int, ...], dilation: tuple[int, ...]
) -> tuple[int, ...]:
    """Explicit padding from an int, tuple, ``'valid'`` or ``'same'``."""
    if padding == "valid":
        return (0,) * len(kernel)
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        if any(t % 2 for t in total):
            raise ctx.unsupported("padding='same' with an even kernel (asymmetric padding)")
        return tuple(t // 2 for t in total)
    return pair(padding, len(kernel))


_CONV_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_CONV_DEFAULTS = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}


def _conv(ctx: Context, a: dict[str, Any], spatial: int) -> Act:
    """``conv1d``/``conv2d`` on ``[N, C, (H,) W]`` -> ``conv2d`` (conv1d as height 1)."""
    x = a["input"]
    if not isinstance(x, Act) or isinstance(a["weight"], Act):
        raise ctx.unsupported("a convolution whose weight is an activation")
    one_lead(ctx, x, f"conv{spatial}d", spatial + 1)
    weight = to_array(a["weight"])
    bias = None if a["bias"] is None else to_array(a["bias"])
    stride, dilation = pair(a["stride"], spatial), pair(a["dilation"], spatial)
    padding = _conv_padding(ctx, a["padding"], tuple(weight.shape[2:]), dilation)
    if spatial == 2:
        attrs = Conv2dAttrs(weight, bias, stride, padding, dilation, int(a["groups"]))
        return ctx.act("conv2d", [x], attrs, x.layout)
    # conv1d: the same convolution on [C, 1, L] with a [O, I, 1, k] kernel.
    channels, length = x.sample_shape
    x2 = ctx.reshape(x, (channels, 1, length))
    attrs = Conv2dAttrs(
        weight[:, :, None, :],
        bias,
        (1, stride[0]),
        (0, padding[0]),
        (1, dilation[0]),
        int(a["groups"]),
    )
    y = ctx.act("conv2d", [x2], attrs, x.layout)
    return ctx.reshape(y, (y.sample_shape[0], y.sample_shape[2]))


def _f_conv2d(ctx: Context, *args: Any, **kwargs: Any) -> Act:
    """``torch.conv2d`` / ``F.conv2d``."""
    return _conv(ctx, bind_args(_CONV_ARGS, _CONV_DEFAULTS, args, kwargs), 2)


def _f_conv1d(ctx: Context, *args: Any, **kwargs: Any) -> Act:
    """``torch.conv1d`` / ``F.conv1d``."""
    return _conv(ctx, bind_args(_CONV_ARGS, _CONV_DEFAULTS, args, kwargs), 1)


def _m_conv(ctx: Context, m: nn.Module, x: Act) -> Act:
    """``nn.Conv1d`` / ``nn.Conv2d`` (zero padding only)."""
    assert isinstance(m, (nn.Conv1d, nn.Conv2d))
    if m.padding_mode != "zeros":
        raise ctx.unsupported(f"padding_mode={m.padding_mode!r}")
    a = {
        "input": x,
        "weight": m.weight,
        "bias": m.bias,
        "stride": m.stride,
        "padding": m.padding,
        "dilation": m.dilation,
        "groups": m.groups,
    }
    return _conv(ctx, a, 2 if isinstance(m, nn.Conv2d) else 1)


def _linear(ctx: Context, x: Any, weight: Any, bias: Any = None) -> Act:
    """``F.linear`` over the last axis (any leading axes) -> ``linear``."""
    if not isinstance(x, Act) or isinstance(weight, Act) or isinstance(bias, Act):
        raise ctx.unsupported("a linear layer whose weight is an activation")
    if not x.sample_shape:
        raise ctx.mixes_time("a linear layer over a time/batch axis")
    attrs = LinearAttrs(to_array(weight), None if bias is None else to_array(bias))
    return ctx.act("linear", [x], attrs, x.layout)


def _m_linear(ctx: Context, m: nn.Module, x: Act) -> Act:
    """``nn.Linear``."""
    assert isinstance(m, nn.Linear)
    return _linear(ctx, x, m.weight, m.bias)


_BN_ARGS = ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps")
_BN_DEFAULTS = {"weight": None, "bias": None, "training": False, "momentum": 0.1, "eps": 1e-5}


def _batchnorm(ctx: Context, a: dict[str, Any]) -> Act:
    """Eval-mode batch norm over channel axis 1 of ``[N, C, ...]`` -> ``batchnorm``."""
    x = a["input"]
    if not isinstance(x, Act):
        raise ctx.unsupported("batch norm with activation statistics")
    if a["training"] or a["running_mean"] is None or a["running_var"] is None:
        raise ctx.mixes_time("batch norm with batch statistics (training mode) mixes samples")
    one_lead(ctx, x, "batch norm", len(x.sample_shape))
    if len(x.sample_shape) not in (1, 2, 3):
        raise ctx.unsupported(f"batch norm on per-sample shape {list(x.sample_shape)}")
    channels = x.sample_shape[0]
    mean, var = to_array(a["running_mean"]), to_array(a["running_var"])
    weight = np.ones(channels, mean.dtype) if a["weight"] is None else to_array(a["weight"])
    bias = np.zeros(channels, mean.dtype) if a["bias"] is None else to_array(a["bias"])
    attrs = BatchNormAttrs(weight, bias, mean, var, float(a["eps"]), 0)
    return ctx.act("batchnorm", [x], attrs, x.layout)


def _f_batch_norm(ctx: Context, *args: Any, **kwargs: Any) -> Act:
    """``F.batch_norm``."""
    return _batchnorm(ctx, bind_args(_BN_ARGS, _BN_DEFAULTS, args, kwargs))


def _m_batchnorm(ctx: Context, m: nn.Module, x: Act) -> Act:
    """``nn.BatchNorm1d`` / ``nn.BatchNorm2d``."""
    assert isinstance(m, nn.modules.batchnorm._BatchNorm)
    a = {
        "input": x,
        "running_mean": m.running_mean,
        "running_var": m.running_var,
        "weight": m.weight,
        "bias": m.bias,
        "training": m.training,
        "eps": m.eps,
    }
    return _batchnorm(ctx, a)


_POOL_ARGS = (
    "input",
    "kernel_size",
    "stride",
    "padding",
    "dilation",
    "ceil_mode",
    "return_indices",
)
_POOL_DEFAULTS = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}
_AVG_ARGS = (
    "input",
    "kernel_size",
    "stride",
    "padding",
    "ceil_mode",
    "count_include_pad",
    "divisor_override",
)
_AVG_DEFAULTS = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True}


def _pool_attrs(ctx: Context, a: dict[str, Any], n: int = 2) -> Pool2dAttrs:
    """Pool attributes; ceil mode, dilation and indices are unsupported."""
    kernel = pair(a["kernel_size"], n)
    stride = kernel if a["stride"] in (None, [], ()) else pair(a["stride"], n)
    padding = pair(a["padding"], n)
    if a.get("ceil_mode"):
        raise ctx.unsupported("ceil_mode=True")
    if pair(a.get("dilation", 1), n) != (1,) * n:
        raise ctx.unsupported("a dilated pooling window")
    if a.get("return_indices"):
        raise ctx.unsupported("return_indices=True")
    return Pool2dAttrs(kernel[-2:], stride[-2:], padding[-2:])


def _maxpool(ctx: Context, a: dict[str, Any]) -> Act:
    """2-d max pool on ``[N, C, H, W]`` -> ``maxpool2d`` (not after the mean over T)."""
    x = a["input"]
    assert isinstance(x, Act)
    ctx.per_step(x, "a max pool")
    one_lead(ctx, x, "max pool 2d", 3)
    return ctx.act("maxpool2d", [x], _pool_attrs(ctx, a), x.layout)


def _maxpool3d(ctx: Context, a: dict[str, Any]) -> Act:
    """``MaxPool3d`` with a window of 1 along the leading spatial axis on ``[T, B, C, H, W]``:
    a 2-d max pool of every time step and sample (SDT's ``Erode``)."""
    x = a["input"]
    assert isinstance(x, Act)
    ctx.per_step(x, "a max pool")
    attrs = _pool_attrs(ctx, a, 3)
    kernel, stride, padding = (
        pair(a["kernel_size"], 3),
        pair(a["stride"] or a["kernel_size"], 3),
        pair(a["padding"], 3),
    )
    if x.layout.lead != ("T", "B") or len(x.sample_shape) != 3:
        raise ctx.mixes_time(f"max_pool3d over {x.layout.describe()} pools across T or B")
    if (kernel[0], stride[0], padding[0]) != (1, 1, 0):
        raise ctx.mixes_time("max_pool3d with a window wider than 1 along the channel axis")
    return ctx.act("maxpool2d", [x], attrs, x.layout)


def _avgpool(ctx: Context, a: dict[str, Any]) -> Act:
    """2-d average pool (padding counted) -> ``avgpool2d``."""
    x = a["input"]
    assert isinstance(x, Act)
    one_lead(ctx, x, "avg pool 2d", 3)
    if a.get("divisor_override") is not None:
        raise ctx.unsupported("divisor_override")
    if not a.get("count_include_pad", True) and pair(a["padding"]) != (0, 0):
        raise ctx.unsupported("count_include_pad=False with padding")
    return ctx.act("avgpool2d", [x], _pool_attrs(ctx, a), x.layout)


def _adaptive_avgpool(ctx: Context, x: Any, output_size: Any = None) -> Act:
    """Adaptive average pool -> ``adaptive_avgpool2d`` (output size from the trace)."""
    assert isinstance(x, Act)
    one_lead(ctx, x, "adaptive avg pool 2d", 3)
    out = ctx.out_shape()[-2:]
    return ctx.act("adaptive_avgpool2d", [x], AdaptivePool2dAttrs(output_size=out), x.layout)


def _f_max_pool2d(ctx: Context, *args: Any, **kwargs: Any) -> Act:
    """``F.max_pool2d``."""
    return _maxpool(ctx, bind_args(_POOL_ARGS, _POOL_DEFAULTS, args, kwargs))


def _f_max_pool3d(ctx: Context, *args: Any, **kwargs: Any) -> Act:
    """``F.max_pool3d``."""
    return _maxpool3d(ctx, bind_args(_POOL_ARGS, _POOL_DEFAULTS, args, kwargs))


def _f_avg_pool2d(ctx: Context, *args: Any, **kwargs: Any) -> Act:
    """``F.avg_pool2d``."""
    return _avgpool(ctx, bind_args(_AVG_ARGS, _AVG_DEFAULTS, args, kwargs))


def _m_maxpool(ctx: Context, m: nn.Module, x: Act) -> Act:
    """``nn.MaxPool2d`` / ``nn.MaxPool3d``."""
    assert isinstance(m, (nn.MaxPool2d, nn.MaxPool3d))
    a = {
        "input": x,
        "kernel_size": m.kernel_size,
        "stride": m.stride,
        "padding": m.padding,
        "dilation": m.dilation,
        "ceil_mode": m.ceil_mode,
        "return_indices": m.return_indices,
    }
    return _maxpool(ctx, a) if isinstance(m, nn.MaxPool2d) else _maxpool3d(ctx, a)


def _m_avgpool(ctx: Context, m: nn.Module, x: Act) -> Act:
    """``nn.AvgPool2d``."""
    assert isinstance(m, nn.AvgPool2d)
    a = {
        "input": x,
        "kernel_size": m.kernel_size,
        "stride": m.stride,
        "padding": m.padding,
        "ceil_mode": m.ceil_mode,
        "count_include_pad": m.count_include_pad,
        "divisor_override": m.divisor_override,
    }
    return _avgpool(ctx, a)


def _m_adaptive_avgpool(ctx: Context, m: nn.Module, x: Act) -> Act:
    """``nn.AdaptiveAvgPool2d``."""
    return _adaptive_avgpool(ctx, x)


def _m_identity(ctx: Context, m: nn.Module, x: Act) -> Act:
    """``nn.Identity`` and ``nn.Dropout`` (eval): no node."""
    return x


def _f_dropout(ctx: Context, x: Any, p: float = 0.5, training: bool = True, **kw: Any) -> Any:
    """``F.dropout``: the identity in evaluation (``training=False``)."""
    if training:
        raise ctx.unsupported("dropout in training mode")
    return x


#: Leaf module types (exact type) -> handler(ctx, module, input).
MODULE_HANDLERS: dict[type[nn.Module], Handler] = {
    nn.Conv1d: _m_conv,
    nn.Conv2d: _m_conv,
    nn.Linear: _m_linear,
    nn.BatchNorm1d: _m_batchnorm,
    nn.BatchNorm2d: _m_batchnorm,
    nn.MaxPool2d: _m_maxpool,
    nn.MaxPool3d: _m_maxpool,
    nn.AvgPool2d: _m_avgpool,
    nn.AdaptiveAvgPool2d: _m_adaptive_avgpool,
    nn.Identity: _m_identity,
    nn.Dropout: _m_identity,
}

#: Functional forms (the fx target object) -> handler(ctx, *args, **kwargs).
FUNCTION_HANDLERS: dict[Any, Handler] = {
    torch.conv2d: _f_conv2d,
    torch.conv1d: _f_conv1d,
    F.linear: _linear,
    F.batch_norm: _f_batch_norm,
    F.max_pool2d: _f_max_pool2d,
    torch.max_pool2d: _f_max_pool2d,
    F.max_pool3d: _f_max_pool3d,
    torch.max_pool3d: _f_max_pool3d,
    F.avg_pool2d: _f_avg_pool2d,
    F.adaptive_avg_pool2d: _adaptive_avgpool,
    F.dropout: _f_dropout,
}
