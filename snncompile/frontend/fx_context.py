"""Shared state and helpers for translating torch.fx nodes to IR ops.

:class:`Context` holds the IR builder, the concrete values of the example run and the node being
translated; it builds the diagnostics (op, module path, source line) and emits IR nodes. The
helpers normalise PyTorch argument forms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.fx as fx
from torch import nn

from snncompile.diagnostics import SnnCompileError, error
from snncompile.frontend.layout import Act, Layout
from snncompile.ir.attrs import OpAttrs
from snncompile.ir.graph import GraphBuilder, SourceLoc, Value
from snncompile.ir.ops.tensor import ReshapeAttrs

__all__ = [
    "Context",
    "Handler",
    "bind_args",
    "const_for",
    "describe_op",
    "is_scalar",
    "merge_layouts",
    "one_lead",
    "pair",
    "to_array",
]

_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def _source_line(node: fx.Node) -> str | None:
    """``file.py:123`` of the innermost user frame of the node's recorded stack trace."""
    trace = node.stack_trace
    if not trace:
        return None
    frames = [
        (path, line)
        for path, line in _FRAME.findall(trace)
        if "/torch/" not in path and "/snncompile/frontend/" not in path
    ]
    if not frames:
        return None
    path, line = frames[-1]
    return f"{path.rsplit('/', 1)[-1]}:{line}"


def _module_path(node: fx.Node) -> str | None:
    """The module path of a node: its target for a module call, else the innermost module on its
    ``nn_module_stack``.
    """
    if node.op == "call_module":
        return str(node.target)
    stack = node.meta.get("nn_module_stack")
    if stack:
        key = next(reversed(stack))
        value = stack[key]
        return str(value[0] if isinstance(value, tuple) else key)
    return None


def describe_op(node: fx.Node, modules: dict[str, nn.Module]) -> str:
    """A readable name of the PyTorch op a node calls (for diagnostics)."""
    if node.op == "call_module":
        return f"module {type(modules[str(node.target)]).__name__}"
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    if node.op == "call_function":
        target: Any = node.target
        owner = getattr(target, "__module__", None) or ""
        name = getattr(target, "__name__", str(target))
        if owner.startswith("torch") or owner == "_operator":
            owner = {"_operator": "operator", "torch._C._nn": "torch.nn.functional"}.get(
                owner, owner
            )
        return f"{owner}.{name}" if owner else name
    return f"{node.op} {node.target}"


@dataclass
class Context:
    """State of one translation: the IR builder and what the example run computed."""

    builder: GraphBuilder
    modules: dict[str, nn.Module]
    concrete: dict[fx.Node, Any]
    time_steps: int
    batch: int
    root_name: str
    node: fx.Node | None = None
    notes: list[str] = field(default_factory=list)
    #: Nodes emitted on values the model has averaged over T: they run once per inference.
    once_per_inference: set[str] = field(default_factory=set)

    # --- diagnostics ---------------------------------------------------------------------
    def loc(self, node: fx.Node | None = None) -> SourceLoc:
        """SourceLoc of ``node`` (default: the node being translated): module path and line."""
        node = node if node is not None else self.node
        assert node is not None
        return SourceLoc(_module_path(node) or f"<{self.root_name}>", _source_line(node))

    def _where(self) -> tuple[str, str | None, str]:
        """Op description, module path and source line of the current node."""
        assert self.node is not None
        loc = self.loc()
        return describe_op(self.node, self.modules), loc.module, loc.line or "unknown line"

    def unsupported(self, why: str) -> SnnCompileError:
        """UnsupportedOpError IR102 naming the op, module path and source line."""
        op, module, line = self._where()
        return error(
            "FE701",
            f"{op} is not supported by the torch frontend: {why} (source {line})",
            node=f"fx node {self.node.name if self.node else '?'}",
            source=module,
            fix="Rewrite the model with supported ops (docs/ir.md lists the IR ops; the torch "
            "frontend docstring lists the PyTorch ops it maps), or extend snncompile/frontend.",
        )

    def mixes_time(self, why: str) -> SnnCompileError:
        """The error for an op that mixes time steps (or samples) other than the final mean."""
        op, module, line = self._where()
        return error(
            "FE702",
            f"{op} mixes time steps or samples: {why} (source {line}); only flatten(0, 1), "
            f"reshape(T, B, ...), the input repeat over T and the final mean over T may touch "
            f"the time and batch axes",
            node=f"fx node {self.node.name if self.node else '?'}",
            source=module,
            fix="Keep the time and batch axes leading and untouched by per-sample ops; move "
            "any readout over time after the model's mean over T.",
        )

    # --- building ------------------------------------------------------------------------
    def out_shape(self, index: int | None = None) -> tuple[int, ...]:
        """The full concrete shape of the current node's result (or of one of its results)."""
        assert self.node is not None
        value = self.concrete[self.node]
        if index is not None:
            value = value[index]
        if not isinstance(value, torch.Tensor):
            raise self.unsupported(f"expected a tensor result, got {type(value).__name__}")
        return tuple(value.shape)

    def emit(self, op: str, inputs: Sequence[Value], attrs: OpAttrs) -> Value:
        """Append an IR node for the current fx node (named after its module path)."""
        assert self.node is not None
        module = _module_path(self.node)
        if self.node.op == "call_module":
            hint = module or op
        else:  # a function or method called inside module ``module``: ``module.add_1``
            hint = f"{module}.{self.node.name}" if module else self.node.name
        return self.builder.add_node(op, inputs, attrs, name=hint, loc=self.loc())

    def act(self, op: str, inputs: Sequence[Act], attrs: OpAttrs, layout: Layout) -> Act:
        """Emit an op on activations; its result keeps ``layout``."""
        value = self.emit(op, [a.value for a in inputs], attrs)
        if any(a.layout.averaged for a in inputs):
            assert value.producer is not None
            self.once_per_inference.add(value.producer.name)
        return Act(value, layout)

    def reshape(self, x: Act, shape: Sequence[int], layout: Layout | None = None) -> Act:
        """``x`` reshaped to per-sample ``shape`` (no node when the shape is unchanged)."""
        layout = layout if layout is not None else x.layout
        if tuple(shape) == x.sample_shape:
            return Act(x.value, layout)
        return self.act("reshape", [x], ReshapeAttrs(shape=tuple(shape)), layout)

    def sample_dim(self, x: Act, dim: int) -> int:
        """The per-sample axis of full-tensor axis ``dim``; error for a time/batch axis."""
        full = x.layout.rank + len(x.sample_shape)
        d = dim + full if dim < 0 else dim
        if not 0 <= d < full:
            raise self.unsupported(f"axis {dim} out of range for a rank-{full} tensor")
        if d < x.layout.rank:
            raise self.mixes_time(f"it works along axis {dim}, a time/batch axis")
        return d - x.layout.rank

    def per_step(self, x: Act, what: str) -> None:
        """Refuse ops that do not commute with the mean over T on a time-averaged value."""
        if x.layout.averaged:
            raise self.mixes_time(
                f"{what} after the mean over T does not commute with it (the IR keeps "
                f"per-step values and averages the graph output)"
            )


Handler = Callable[..., Any]


# --- helpers ------------------------------------------------------------------------------------


def pair(value: Any, n: int = 2) -> tuple[int, ...]:
    """An int or a sequence of ints as an ``n``-tuple (PyTorch's ``_pair``)."""
    if isinstance(value, int):
        return (value,) * n
    return tuple(int(v) for v in value)


def to_array(value: Any) -> np.ndarray:
    """A tensor or array-like as a fresh numpy array (detached, on the CPU)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    return np.asarray(value)


def one_lead(ctx: Context, x: Act, what: str, rank: int) -> None:
    """Require ``[N, *sample]`` with N the batch or T·B axis and a per-sample rank of ``rank``."""
    if x.layout.rank != 1:
        raise ctx.mixes_time(
            f"{what} needs [N, ...] with N the (flattened) batch, got {x.layout.describe()}"
        )
    if len(x.sample_shape) != rank:
        raise ctx.unsupported(f"{what} on per-sample shape {list(x.sample_shape)}")


def bind_args(
    names: Sequence[str], defaults: dict[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Positional and keyword arguments bound to ``names`` over ``defaults``."""
    bound = dict(defaults)
    bound.update(zip(names, args, strict=False))
    bound.update(kwargs)
    return bound


def merge_layouts(ctx: Context, a: Layout, b: Layout, rank_a: int, rank_b: int) -> Layout:
    """The layout of an elementwise result of two activations (broadcast over time allowed)."""
    if a.averaged != b.averaged:
        raise ctx.mixes_time("it combines a mean over T with per-step values")
    if rank_a != rank_b:
        raise ctx.unsupported(
            f"operands with per-sample ranks {rank_a} and {rank_b} (broadcast across the "
            f"time/batch axes)"
        )
    if a.lead == b.lead:
        sizes = tuple(max(x, y) for x, y in zip(a.sizes, b.sizes, strict=True))
        return Layout(a.lead, sizes, a.averaged)
    raise ctx.mixes_time(f"it combines {a.describe()} with {b.describe()}")


def const_for(ctx: Context, x: Act, value: Any) -> np.ndarray:
    """A constant operand as a per-sample array (its time/batch axes must have size 1)."""
    array = to_array(value)
    rank = len(x.sample_shape)
    if array.ndim > rank:
        extra = array.shape[: array.ndim - rank]
        if any(d != 1 for d in extra) or array.ndim > rank + x.layout.rank:
            raise ctx.mixes_time(f"a constant of shape {list(array.shape)} varies along T or B")
        array = array.reshape(array.shape[array.ndim - rank :])
    return array


def is_scalar(value: Any) -> bool:
    """Whether ``value`` is a Python number or a 0-d tensor (a ``scale`` factor)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    return isinstance(value, torch.Tensor) and value.numel() == 1 and value.ndim == 0
