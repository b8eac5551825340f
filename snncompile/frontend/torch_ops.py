"""Translation of traced torch.fx nodes to tensor-level IR ops: elementwise, reductions, layout,
and the tables mapping every supported PyTorch op to its handler.

Each handler receives the :class:`Context`, the fx node and its arguments with every traced
tensor replaced by an :class:`~snncompile.frontend.layout.Act` (an IR value plus its time/batch
layout) and everything else by its concrete value from the example run (parameters, buffers,
shape arithmetic). Handlers return an ``Act``, a tuple of them (``split``/``chunk``) or a
concrete value (``x.shape``). The tables at the end map modules, functions and tensor methods to
handlers explicitly; anything missing from them is an :class:`UnsupportedOpError` (IR102) naming
the op, its module path and its source line.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from snncompile.frontend import torch_layers as layers
from snncompile.frontend.fx_context import (
    Context,
    Handler,
    const_for,
    is_scalar,
    merge_layouts,
    to_array,
)
from snncompile.frontend.layout import Act, Layout, LayoutError, permute_layout, reshape_layout
from snncompile.ir.attrs import NoAttrs
from snncompile.ir.ops.tensor import (
    ConstAttrs,
    PermuteAttrs,
    ReduceAttrs,
    ScaleAttrs,
    SliceAttrs,
)

__all__ = ["FUNCTION_HANDLERS", "METHOD_HANDLERS", "MODULE_HANDLERS", "Context", "neuron"]

neuron = layers.neuron


def _identity(ctx: Context, x: Any, *args: Any, **kwargs: Any) -> Any:
    """``contiguous``, ``clone``, ``detach``, ``to``: no change to values (the IR dtype is the
    dtype of the traced example)."""
    return x


# --- elementwise ------------------------------------------------------------------------------


def _scale(ctx: Context, x: Act, factor: float) -> Act:
    """``factor · x`` -> ``scale``."""
    return ctx.act("scale", [x], ScaleAttrs(factor=float(factor)), x.layout)


def _with_const(ctx: Context, op: str, x: Act, c: Any) -> Act:
    """An activation combined with a constant: ``scale``, ``add_const`` or ``mul_const``."""
    if is_scalar(c) and op == "mul":
        return _scale(ctx, x, float(c))
    array = const_for(ctx, x, c)
    return ctx.act(f"{op}_const", [x], ConstAttrs(value=array), x.layout)


def _binary(ctx: Context, op: str, left: Any, right: Any) -> Act:
    """``+ - * /`` of activations and constants (see the module docstring of torch.py)."""
    la, ra = isinstance(left, Act), isinstance(right, Act)
    if la and ra:
        layout = merge_layouts(
            ctx, left.layout, right.layout, len(left.sample_shape), len(right.sample_shape)
        )
        if op == "add":
            return ctx.act("add", [left, right], NoAttrs(), layout)
        if op == "sub":
            return ctx.act("add", [left, _scale(ctx, right, -1.0)], NoAttrs(), layout)
        if op == "mul":
            ctx.per_step(left, "a product of two activations")
            return ctx.act("mul", [left, right], NoAttrs(), layout)
        raise ctx.unsupported("division of two activations")
    x, c = (left, right) if la else (right, left)
    assert isinstance(x, Act)
    if op == "add":
        return _with_const(ctx, "add", x, c)
    if op == "mul":
        return _with_const(ctx, "mul", x, c)
    if op == "sub":
        if la:
            return _with_const(ctx, "add", x, -to_array(c) if not is_scalar(c) else -float(c))
        return _with_const(ctx, "add", _scale(ctx, x, -1.0), c)
    if op == "div" and la:
        if is_scalar(c):
            return _scale(ctx, x, 1.0 / float(c))
        return _with_const(ctx, "mul", x, 1.0 / to_array(c))
    raise ctx.unsupported("a constant divided by an activation")


def _f_add(ctx: Context, a: Any, b: Any, *, alpha: Any = 1) -> Act:
    """``a + b``."""
    if alpha != 1:
        raise ctx.unsupported("add with alpha")
    return _binary(ctx, "add", a, b)


def _f_sub(ctx: Context, a: Any, b: Any, *, alpha: Any = 1) -> Act:
    """``a - b`` (as ``a + (-1)·b``, exact)."""
    if alpha != 1:
        raise ctx.unsupported("sub with alpha")
    return _binary(ctx, "sub", a, b)


def _f_mul(ctx: Context, a: Any, b: Any) -> Act:
    """``a * b``."""
    return _binary(ctx, "mul", a, b)


def _f_div(ctx: Context, a: Any, b: Any, *, rounding_mode: Any = None) -> Act:
    """``x / c`` by a constant (as ``x · (1/c)``)."""
    if rounding_mode is not None:
        raise ctx.unsupported("rounded division")
    return _binary(ctx, "div", a, b)


def _f_rsub(ctx: Context, a: Any, b: Any) -> Act:
    """``c - x``."""
    return _binary(ctx, "sub", b, a)


def _f_matmul(ctx: Context, a: Any, b: Any) -> Act:
    """``a @ b`` of two activations over their per-sample axes -> ``matmul``."""
    if not (isinstance(a, Act) and isinstance(b, Act)):
        raise ctx.unsupported("a matmul with a constant operand (use nn.Linear)")
    if len(a.sample_shape) < 2 or len(b.sample_shape) < 2:
        raise ctx.mixes_time("a matmul whose contraction reaches a time/batch axis")
    ctx.per_step(a, "a product of two activations")
    layout = merge_layouts(ctx, a.layout, b.layout, len(a.sample_shape), len(b.sample_shape))
    return ctx.act("matmul", [a, b], NoAttrs(), layout)


# --- reductions ---------------------------------------------------------------------------------


def _dims(dim: Any) -> tuple[int, ...] | None:
    """``dim`` as a tuple (None for all axes)."""
    if dim is None:
        return None
    if isinstance(dim, int):
        return (dim,)
    return tuple(int(d) for d in dim)


def _reduce(
    ctx: Context, op: str, x: Any, dim: Any = None, keepdim: bool = False, **kw: Any
) -> Any:
    """``sum``/``mean`` over per-sample axes; ``mean(0)`` over T marks the value averaged."""
    if not isinstance(x, Act):
        raise ctx.unsupported("a reduction of a non-tensor")
    if kw.get("dtype") is not None:
        raise ctx.unsupported("a reduction with a dtype")
    full = x.layout.rank + len(x.sample_shape)
    dims = _dims(kw.get("axis", dim))
    if dims is None:
        raise ctx.mixes_time(f"{op} over all axes includes the time/batch axes")
    norm = tuple(sorted(d + full if d < 0 else d for d in dims))
    if op == "mean" and x.layout.lead == ("T", "B") and norm == (0,) and not keepdim:
        if x.layout.averaged or x.layout.sizes[0] != ctx.time_steps:
            raise ctx.mixes_time("a second mean over T")
        return Act(x.value, Layout(("B",), (x.layout.sizes[1],), averaged=True))
    axes = tuple(ctx.sample_dim(x, d) for d in norm)
    return ctx.act(op, [x], ReduceAttrs(axes=axes, keepdim=bool(keepdim)), x.layout)


def _sum(ctx: Context, x: Any, *args: Any, **kwargs: Any) -> Any:
    """``x.sum(dim, keepdim)``."""
    return _reduce(ctx, "sum", x, *args, **kwargs)


def _mean(ctx: Context, x: Any, *args: Any, **kwargs: Any) -> Any:
    """``x.mean(dim, keepdim)``."""
    return _reduce(ctx, "mean", x, *args, **kwargs)


# --- layout -------------------------------------------------------------------------------------


def _reshape_like(ctx: Context, x: Any, *args: Any, **kwargs: Any) -> Act:
    """reshape / view / flatten / unflatten / squeeze / unsqueeze: from the concrete shapes."""
    if not isinstance(x, Act):
        raise ctx.unsupported("a reshape of a non-tensor")
    try:
        layout, shape = reshape_layout(
            x.layout, x.sample_shape, ctx.out_shape(), time_steps=ctx.time_steps, batch=ctx.batch
        )
    except LayoutError as exc:
        raise ctx.mixes_time(str(exc)) from None
    return ctx.reshape(x, shape, layout)


def _m_flatten(ctx: Context, m: nn.Module, x: Act) -> Act:
    """``nn.Flatten``."""
    return _reshape_like(ctx, x)


def _permute_full(ctx: Context, x: Act, perm: Sequence[int]) -> Act:
    """A permutation of the full tensor -> ``permute`` of the per-sample axes."""
    full = x.layout.rank + len(x.sample_shape)
    norm = tuple(p + full if p < 0 else p for p in perm)
    if sorted(norm) != list(range(full)):
        raise ctx.unsupported(f"permutation {list(perm)} of a rank-{full} tensor")
    try:
        layout, sample_perm = permute_layout(x.layout, norm)
    except LayoutError as exc:
        raise ctx.mixes_time(str(exc)) from None
    if sample_perm == tuple(range(len(sample_perm))):
        return Act(x.value, layout)
    return ctx.act("permute", [x], PermuteAttrs(perm=sample_perm), layout)


def _permute(ctx: Context, x: Any, *dims: Any, **kwargs: Any) -> Act:
    """``x.permute(*dims)``."""
    assert isinstance(x, Act)
    if "dims" in kwargs:
        dims = (kwargs["dims"],)
    perm = dims[0] if len(dims) == 1 and not isinstance(dims[0], int) else dims
    return _permute_full(ctx, x, [int(p) for p in perm])


def _transpose(ctx: Context, x: Any, dim0: int, dim1: int) -> Act:
    """``x.transpose(d0, d1)``."""
    assert isinstance(x, Act)
    full = x.layout.rank + len(x.sample_shape)
    perm = list(range(full))
    d0, d1 = dim0 % full, dim1 % full
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return _permute_full(ctx, x, perm)


def _repeat(ctx: Context, x: Any, *sizes: Any) -> Act:
    """``x.unsqueeze(0).repeat(T, 1, ...)``: the direct encoding of a static image."""
    assert isinstance(x, Act)
    reps = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else sizes
    reps = tuple(int(r) for r in reps)
    full = x.layout.rank + len(x.sample_shape)
    if len(reps) != full:
        raise ctx.unsupported(f"repeat{reps} that changes the rank of a rank-{full} tensor")
    if all(r == 1 for r in reps):
        return x
    lay = x.layout
    if (
        lay.lead == ("T", "B")
        and lay.sizes[0] == 1
        and reps[0] == ctx.time_steps
        and all(r == 1 for r in reps[1:])
    ):
        return Act(x.value, Layout(lay.lead, (ctx.time_steps, lay.sizes[1])))
    raise ctx.unsupported(f"repeat{reps} (only the repeat of a static input over T is mapped)")


def _slice(ctx: Context, x: Act, axis: int, start: int, stop: int, step: int = 1) -> Act:
    """``x[start:stop:step]`` along per-sample ``axis`` -> ``slice`` (none when whole)."""
    if (start, stop, step) == (0, x.sample_shape[axis], 1):
        return x
    if stop <= start:
        raise ctx.unsupported(f"an empty slice [{start}:{stop}] along axis {axis}")
    attrs = SliceAttrs(axis=axis, start=start, stop=stop, step=step)
    return ctx.act("slice", [x], attrs, x.layout)


def _getitem(ctx: Context, x: Any, index: Any) -> Any:
    """Indexing with ints and slices on per-sample axes, or an item of a split."""
    if isinstance(x, (tuple, list)):
        return x[index]
    if not isinstance(x, Act):
        raise ctx.unsupported("indexing of a non-tensor")
    items = list(index) if isinstance(index, tuple) else [index]
    full = x.layout.rank + len(x.sample_shape)
    if any(i is Ellipsis for i in items):
        pos = next(k for k, i in enumerate(items) if i is Ellipsis)
        fill = [slice(None)] * (full - len(items) + 1)
        items = items[:pos] + fill + items[pos + 1 :]
    items += [slice(None)] * (full - len(items))
    if len(items) != full:
        raise ctx.unsupported(f"index {index!r}")
    for k in range(x.layout.rank):
        if items[k] != slice(None):
            raise ctx.mixes_time(f"index {items[k]!r} selects along a time/batch axis")
    y, dropped = x, []
    for axis, item in enumerate(items[x.layout.rank :]):
        size = x.sample_shape[axis]
        if isinstance(item, slice):
            start, stop, step = item.indices(size)
            if step < 1:
                raise ctx.unsupported("a slice with a negative step")
            y = _slice(ctx, y, axis, start, stop, step)
        elif isinstance(item, int):
            i = item % size
            y = _slice(ctx, y, axis, i, i + 1)
            dropped.append(axis)
        else:
            raise ctx.unsupported(f"index {item!r} (only ints and slices are mapped)")
    if dropped:
        shape = [d for a, d in enumerate(y.sample_shape) if a not in dropped]
        y = ctx.reshape(y, shape)
    return y


def _pieces(ctx: Context, x: Any, dim: int) -> tuple[Act, ...]:
    """The ``slice`` nodes of ``split``/``chunk`` (piece sizes from the trace)."""
    assert isinstance(x, Act) and ctx.node is not None
    axis = ctx.sample_dim(x, dim)
    results = ctx.concrete[ctx.node]
    out, start = [], 0
    for piece in results:
        size = int(piece.shape[dim])
        out.append(_slice(ctx, x, axis, start, start + size))
        start += size
    return tuple(out)


def _split(ctx: Context, x: Any, split_size: Any, dim: int = 0) -> tuple[Act, ...]:
    """``x.split(size_or_sizes, dim)``."""
    return _pieces(ctx, x, dim)


def _chunk(ctx: Context, x: Any, chunks: int, dim: int = 0) -> tuple[Act, ...]:
    """``x.chunk(n, dim)``."""
    return _pieces(ctx, x, dim)


def _getattr(ctx: Context, x: Any, name: str) -> Any:
    """``x.shape``, ``x.ndim``, ... (concrete values)."""
    if name in ("shape", "ndim", "dtype", "device", "is_cuda"):
        assert ctx.node is not None
        return ctx.concrete[ctx.node]
    if name == "T":
        raise ctx.mixes_time("Tensor.T reverses every axis")
    raise ctx.unsupported(f"attribute {name!r} of a traced tensor")


def _concrete(ctx: Context, x: Any, *args: Any, **kwargs: Any) -> Any:
    """``x.size()``, ``x.dim()``, ``x.numel()`` (concrete values)."""
    assert ctx.node is not None
    return ctx.concrete[ctx.node]


# --- tables -------------------------------------------------------------------------------------

#: Leaf module types (exact type) -> handler(ctx, module, input).
MODULE_HANDLERS: dict[type[nn.Module], Handler] = {
    **layers.MODULE_HANDLERS,
    nn.Flatten: _m_flatten,
}


#: Functions (the fx target object) -> handler(ctx, *args, **kwargs).
FUNCTION_HANDLERS: dict[Any, Handler] = {
    **layers.FUNCTION_HANDLERS,
    operator.add: _f_add,
    torch.add: _f_add,
    operator.sub: _f_sub,
    torch.sub: _f_sub,
    torch.rsub: _f_rsub,
    operator.mul: _f_mul,
    torch.mul: _f_mul,
    operator.truediv: _f_div,
    torch.div: _f_div,
    operator.matmul: _f_matmul,
    torch.matmul: _f_matmul,
    torch.bmm: _f_matmul,
    torch.sum: _sum,
    torch.mean: _mean,
    torch.flatten: _reshape_like,
    torch.reshape: _reshape_like,
    torch.squeeze: _reshape_like,
    torch.unsqueeze: _reshape_like,
    torch.permute: _permute,
    torch.transpose: _transpose,
    torch.split: _split,
    torch.chunk: _chunk,
    operator.getitem: _getitem,
    getattr: _getattr,
}

#: Tensor methods (by name) -> handler(ctx, self, *args, **kwargs).
METHOD_HANDLERS: dict[str, Handler] = {
    "add": _f_add,
    "__add__": _f_add,
    "sub": _f_sub,
    "mul": _f_mul,
    "div": _f_div,
    "matmul": _f_matmul,
    "sum": _sum,
    "mean": _mean,
    "reshape": _reshape_like,
    "view": _reshape_like,
    "flatten": _reshape_like,
    "unflatten": _reshape_like,
    "squeeze": _reshape_like,
    "unsqueeze": _reshape_like,
    "permute": _permute,
    "transpose": _transpose,
    "repeat": _repeat,
    "split": _split,
    "chunk": _chunk,
    "contiguous": _identity,
    "clone": _identity,
    "detach": _identity,
    "float": _identity,
    "double": _identity,
    "to": _identity,
    "type_as": _identity,
    "size": _concrete,
    "dim": _concrete,
    "numel": _concrete,
}
