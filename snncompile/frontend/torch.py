"""The torch frontend: a PyTorch spiking model -> tensor-level IR of one time step.

:func:`trace` runs in four steps:

1. **Trace** the model with ``torch.fx``, keeping every recognised spiking neuron
   (:mod:`snncompile.frontend.neurons`) and every standard ``torch.nn`` layer as one leaf node.
   Where symbolic tracing cannot follow Python control flow on traced values (``if x.dim() ==
   4``, loops over ``x.shape``), it falls back to **concrete tracing**: the same tracer, but
   every traced value also carries its value on the example input, so that control flow and
   shape arithmetic are resolved with the example's concrete shapes (control flow on tensor
   *data* is refused: the graph would only be valid for the example). :class:`TraceInfo` says
   which method was used (and logs it).
2. **Run** the traced graph once on the example input with a probe batch size (``B`` chosen
   different from ``T``), recording every intermediate value: shapes, shape arithmetic and
   constant sub-expressions (parameters, buffers, scales computed from buffers) become concrete.
3. **Follow the time and batch axes** of every tensor (:mod:`snncompile.frontend.layout`):
   ``flatten(0, 1)``, ``reshape(T, B, ...)``, ``x.unsqueeze(0).repeat(T, 1, ...)``, transposes
   that keep T and B leading and the final ``mean(0)`` over T are recognised and removed; every
   other op works on per-sample shapes. An op that touches the time or batch axes otherwise is
   an error (IR102) naming it, its module path and its source line.
4. **Emit** one IR op per PyTorch op (:mod:`snncompile.frontend.torch_ops`); an op without a
   mapping is an :class:`~snncompile.diagnostics.UnsupportedOpError` (IR102), never dropped.

Mapped PyTorch ops: ``Conv1d``/``Conv2d`` (groups, stride, padding, dilation; conv1d becomes a
conv2d of height 1), ``Linear``, ``BatchNorm1d``/``2d`` (eval), ``MaxPool2d``, ``AvgPool2d``,
``AdaptiveAvgPool2d``, ``MaxPool3d`` with a window of 1 on the leading axis (SDT's DVS
``Erode``), ``+``/``-`` (of activations or constants), ``*`` by a constant (``scale`` or
``mul_const``) or of two activations (Hadamard ``mul``), ``/`` by a constant, ``@``/``matmul``
of two activations, ``sum``/``mean`` over per-sample axes, ``reshape``/``view``/``flatten``/
``squeeze``/``unsqueeze``/``transpose``/``permute``/``split``/``chunk``/indexing with ints and
slices, ``Dropout``/``Identity``/``contiguous``/``clone``/``detach``/``to`` (identities), and
recognised neurons -> ``lif``.

Models with snntorch neurons are written per time step and take another path
(:func:`_trace_snntorch`, :mod:`snncompile.frontend.snntorch`): a step model (``init_hidden=True``)
is traced on one step of the example, a loop model's unrolled trace is checked to repeat one step
T times and that step is kept.

The graph's output is the per-step output (logits): the mean over T that the model applies is
applied by :func:`snncompile.simulate`. Ops after that mean must commute with it (linear,
batch norm, scaling, sums, layout); a neuron, max pool or product after it is an error.
"""

from __future__ import annotations

import functools
import inspect
import logging
import operator
import re
import sys
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from snncompile.diagnostics import SnnCompileError, error
from snncompile.frontend import snntorch as snn
from snncompile.frontend import torch_ops
from snncompile.frontend.layout import Act, Layout
from snncompile.frontend.neurons import is_neuron
from snncompile.ir.attrs import AttrTypeError
from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.ops import ShapeError
from snncompile.ir.types import TensorType
from snncompile.ir.verify import verify

__all__ = ["TraceInfo", "trace", "trace_with_info"]

log = logging.getLogger(__name__)

_DTYPES = {torch.float32: "f32", torch.float64: "f64"}
INPUT_LAYOUTS = ("static", "TB", "BT")


@dataclass(frozen=True)
class TraceInfo:
    """The traced graph and how it was obtained.

    Attributes:
        graph: the tensor-level IR of one time step.
        method: ``symbolic`` (torch.fx symbolic tracing) or ``concrete`` (the fallback that
            resolves Python control flow with the example's concrete shapes).
        symbolic_error: why symbolic tracing failed, when the fallback was used.
        input_layout: ``static`` (``[B, ...]`` images repeated over T by the model), ``TB``
            (``[T, B, ...]``) or ``BT`` (``[B, T, ...]`` event frames).
        output_averaged: the model averages its output over T (the usual case); otherwise it
            returns per-step outputs and :func:`~snncompile.simulate` still averages them.
        time_steps: T used for tracing.
    """

    graph: Graph
    method: str
    symbolic_error: str | None
    input_layout: str
    output_averaged: bool
    time_steps: int


def _user_stack(skip: int = 2) -> str:
    """The Python stack from the outermost ``forward`` frame inward, formatted as a traceback
    (``File "PATH", line N, in NAME`` per frame, innermost last; no source text)."""
    frames: list[types.FrameType] = []
    frame: types.FrameType | None = sys._getframe(skip)
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    frames.reverse()
    first = next((i for i, f in enumerate(frames) if f.f_code.co_name == "forward"), None)
    if first is None:
        return ""
    return "".join(
        f'  File "{f.f_code.co_filename}", line {f.f_lineno}, in {f.f_code.co_name}\n'
        for f in frames[first:]
    )


class _LeafTracer(fx.Tracer):
    """fx tracer keeping recognised neurons (and standard torch.nn layers) as leaves.

    Each node records the Python stack it was created from (its source line in diagnostics).
    fx's own ``record_stack_traces`` symbolises a captured C++ traceback and imports
    ``torch._dynamo`` and inductor on first use (about 1.5 s per process); the frames are read
    here with :func:`sys._getframe` instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self.record_stack_traces = False

    def create_node(
        self,
        kind: str,
        target: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        name: str | None = None,
        type_expr: Any | None = None,
    ) -> fx.Node:
        """fx's node, with the user's stack recorded (see the class docstring)."""
        node = super().create_node(kind, target, args, kwargs, name, type_expr)
        if not node.stack_trace:
            node.stack_trace = _user_stack()
        return node

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        """Neurons and standard ``torch.nn`` layers are leaves."""
        return is_neuron(m) or super().is_leaf_module(m, module_qualified_name)


class _ConcreteProxy(fx.Proxy):
    """A proxy that also carries its value on the example input (concrete tracing)."""

    def __init__(self, node: fx.Node, tracer: _ConcreteTracer, value: Any) -> None:
        super().__init__(node, tracer)
        self.value = value

    def _shape_value(self, use: str) -> Any:
        """The concrete value, refused when it depends on tensor data rather than shapes."""
        if isinstance(self.value, torch.Tensor):
            raise error(
                "FE703",
                f"{use} of a tensor value in Python control flow (fx node {self.node.name}): "
                f"the traced graph would be specialised to the example's data",
                fix="Make the control flow depend on shapes only, or move it out of the model.",
            )
        return self.value

    def __bool__(self) -> bool:
        return bool(self._shape_value("bool()"))

    def __index__(self) -> int:
        return int(self._shape_value("int()"))

    def __int__(self) -> int:
        return int(self._shape_value("int()"))

    def __len__(self) -> int:
        return len(self.value)

    def __iter__(self) -> Any:
        return iter(self._items())

    def _items(self) -> list[Any]:
        """The proxies of the items of a concrete sequence (``x.shape``)."""
        this: Any = self
        return [this[i] for i in range(len(self.value))]


class _ConcreteTracer(_LeafTracer):
    """Symbolic tracing where each proxy also holds its concrete value.

    Control flow (``if``, ``for``, ``len``, ``int``) uses the concrete values; every tensor op
    is still recorded in the graph, so the graph is valid for inputs of the example's shapes.
    """

    def __init__(self, root: nn.Module) -> None:
        super().__init__()
        self.root_module = root
        self.evaluating = False  # running real modules: fx's patches must step aside
        self.seen_input = False

    def call_module(
        self, m: nn.Module, forward: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """While evaluating, run modules for real instead of recording them."""
        if self.evaluating:
            return forward(*args, **kwargs)
        return super().call_module(m, forward, args, kwargs)

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Any]) -> Any:
        """While evaluating, parameters are plain tensors, not proxies."""
        if self.evaluating:
            return attr_val
        return super().getattr(attr, attr_val, parameter_proxy_cache)

    def create_proxy(
        self,
        kind: str,
        target: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        name: str | None = None,
        type_expr: Any | None = None,
        proxy_factory_fn: Any = None,
    ) -> fx.Proxy:
        """Record the node and compute its concrete value."""
        value = self._evaluate(kind, target, args, kwargs)
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr)
        return _ConcreteProxy(proxy.node, self, value)

    def _evaluate(self, kind: str, target: Any, args: Any, kwargs: Any) -> Any:
        """The concrete value of a node about to be created."""

        def real(a: Any) -> Any:
            """Replace proxies by their concrete values."""
            if isinstance(a, _ConcreteProxy):
                return a.value
            if isinstance(a, fx.proxy.Attribute):  # x.shape before its node exists
                return getattr(real(a.root), a.attr)
            if isinstance(a, (list, tuple)):
                items = [real(x) for x in a]
                return type(a)(items) if type(a) in (list, tuple, torch.Size) else tuple(items)
            if isinstance(a, dict):
                return {k: real(v) for k, v in a.items()}
            return a

        if kind == "placeholder":  # the input, then options fixed to their defaults
            first, self.seen_input = not self.seen_input, True
            return self.example if first else (args[0] if args else None)
        rargs, rkwargs = real(args), real(kwargs)
        self.evaluating = True
        try:
            return self._run(kind, target, rargs, rkwargs)
        finally:
            self.evaluating = False

    def _run(self, kind: str, target: Any, rargs: Any, rkwargs: Any) -> Any:
        """Execute one node on concrete values."""
        if kind == "get_attr":
            obj: Any = self.root_module
            for part in str(target).split("."):
                obj = getattr(obj, part)
            return obj
        if kind == "call_function":
            return target(*rargs, **rkwargs)
        if kind == "call_method":
            return getattr(rargs[0], target)(*rargs[1:], **rkwargs)
        if kind == "call_module":
            return self.root_module.get_submodule(str(target))(*rargs, **rkwargs)
        return None

    example: Any = None


def _record(module: fx.GraphModule, example: torch.Tensor) -> dict[fx.Node, Any]:
    """Run a traced module on ``example``; return every node's result.

    Results that carry the input's data (tensors computed from the example) are replaced by
    shape-only ``meta`` tensors as soon as their last reader has run: the translation needs
    their shapes, not their values, and keeping every activation of an ImageNet-size probe
    forward costs gigabytes. Results that do not depend on the input (parameters, buffers,
    constants computed from them, shapes) keep their values.

    (A plain loop rather than ``fx.Interpreter``, whose progress bar creates a multiprocessing
    lock and so fixes the process's start method, which Lava later needs to set.)
    """
    values: dict[fx.Node, Any] = {}
    nodes = list(module.graph.nodes)
    last_reader: dict[fx.Node, fx.Node] = {}
    for node in nodes:
        for arg in node.all_input_nodes:
            last_reader[arg] = node
    released: dict[fx.Node, list[fx.Node]] = {}
    for arg, reader in last_reader.items():
        released.setdefault(reader, []).append(arg)
    carries_input: set[fx.Node] = set()
    for node in nodes:
        args = fx.node.map_arg(node.args, values.__getitem__)
        kwargs = fx.node.map_arg(node.kwargs, values.__getitem__)
        if node.op == "placeholder":  # the input, then options fixed to their defaults
            if not values:
                carries_input.add(node)
            values[node] = example if not values else (node.args[0] if node.args else None)
        elif node.op == "get_attr":
            obj: Any = module
            for part in str(node.target).split("."):
                obj = getattr(obj, part)
            values[node] = obj
        elif node.op == "call_function":
            values[node] = node.target(*args, **kwargs)
        elif node.op == "call_method":
            values[node] = getattr(args[0], str(node.target))(*args[1:], **kwargs)
        elif node.op == "call_module":
            values[node] = module.get_submodule(str(node.target))(*args, **kwargs)
        if any(a in carries_input and _holds_tensor(values[a]) for a in node.all_input_nodes):
            carries_input.add(node)  # data flows from the input (not shapes: ``x.shape``)
        for arg in released.get(node, ()):
            if arg in carries_input:
                values[arg] = _shape_only(values[arg])
    return values


def _holds_tensor(value: Any) -> bool:
    """Whether ``value`` is a tensor or a tuple/list of them (``split``'s result)."""
    if isinstance(value, torch.Tensor):
        return True
    return isinstance(value, (tuple, list)) and any(_holds_tensor(v) for v in value)


def _shape_only(value: Any) -> Any:
    """``value`` with every tensor replaced by an empty ``meta`` tensor of its shape and dtype."""
    if isinstance(value, torch.Tensor):
        return torch.empty(value.shape, dtype=value.dtype, device="meta")
    if isinstance(value, (tuple, list)) and not isinstance(value, torch.Size):
        items = [_shape_only(v) for v in value]
        return type(value)(items) if type(value) in (tuple, list) else value
    return value


def _reset_state(model: nn.Module) -> None:
    """Reset every stateful submodule (neuron potentials) like spikingjelly's ``reset_net``
    (and snntorch's ``reset_mem``)."""
    for module in model.modules():
        reset: Any = getattr(module, "reset", None)
        if callable(reset):
            reset()
    snn.reset_neurons(model)


def _input_layout(example: torch.Tensor, time_steps: int, layout: str | None) -> str:
    """The input layout: the explicit one, or guessed from the rank and where T is."""
    if layout is not None:
        if layout not in INPUT_LAYOUTS:
            raise error(
                "CF201",
                f"input_layout must be one of {', '.join(INPUT_LAYOUTS)}, got {layout!r}",
            )
        return layout
    if example.ndim < 5:
        return "static"
    first, second = example.shape[0] == time_steps, example.shape[1] == time_steps
    if first and second:
        raise error(
            "CF201",
            f"cannot tell the time axis of a {list(example.shape)} example input with "
            f"T={time_steps}: pass input_layout='TB' or 'BT' (or a batch size other than T)",
        )
    if first:
        return "TB"
    if second:
        return "BT"
    return "static"


def _probe_input(
    example: torch.Tensor, layout: str, batch: int
) -> tuple[torch.Tensor, Layout, tuple[int, ...]]:
    """The example with its batch axis resized to ``batch`` (repeating the first sample)."""
    axis = {"static": 0, "TB": 1, "BT": 0}[layout]
    first = example.narrow(axis, 0, 1)
    reps = [1] * example.ndim
    reps[axis] = batch
    probe = first.repeat(*reps)
    if layout == "static":
        lead = Layout(("B",), (batch,))
    elif layout == "TB":
        lead = Layout(("T", "B"), (probe.shape[0], batch))
    else:
        lead = Layout(("B", "T"), (batch, probe.shape[1]))
    return probe, lead, tuple(probe.shape[lead.rank :])


def _graph_name(model: nn.Module) -> str:
    """The model's class name as an IR identifier."""
    return re.sub(r"\W", "_", type(model).__name__) or "model"


def _defaults(model: nn.Module) -> dict[str, Any] | None:
    """``forward``'s parameters after the input that have defaults: traced with those values."""
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return None
    fixed = {
        p.name: p.default
        for p in params[1:]
        if p.default is not inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    return fixed or None


def _symbolic(model: nn.Module) -> fx.GraphModule:
    """Symbolic torch.fx tracing with neurons as leaves."""
    tracer = _LeafTracer()
    graph = tracer.trace(model, concrete_args=_defaults(model))
    return fx.GraphModule(tracer.root, graph)


def _concrete(model: nn.Module, probe: torch.Tensor) -> fx.GraphModule:
    """Concrete tracing (control flow resolved on the probe input's shapes)."""
    tracer = _ConcreteTracer(model)
    tracer.example = probe
    _reset_state(model)
    with torch.no_grad():
        graph = tracer.trace(model, concrete_args=_defaults(model))
    _reset_state(model)
    return fx.GraphModule(tracer.root, graph)


def _fx_trace(model: nn.Module, probe: torch.Tensor) -> tuple[fx.GraphModule, str, str | None]:
    """Symbolic tracing, or concrete tracing on ``probe`` when symbolic tracing fails: the fx
    module, the method used and the symbolic error."""
    try:
        return _symbolic(model), "symbolic", None
    except SnnCompileError:
        raise
    except Exception as exc:  # fx raises TraceError, TypeError, ... on control flow
        symbolic_error = f"{type(exc).__name__}: {exc}"
        log.info("symbolic tracing failed (%s); tracing with concrete shapes", exc)
    try:
        gm = _concrete(model, probe)
    except SnnCompileError:
        raise
    except Exception as concrete_exc:
        raise error(
            "FE701",
            f"{type(model).__name__} cannot be traced: symbolic tracing failed with "
            f"{symbolic_error}; concrete tracing failed with "
            f"{type(concrete_exc).__name__}: {concrete_exc}",
        ) from concrete_exc
    return gm, "concrete", symbolic_error


def trace_with_info(
    model: nn.Module,
    example_input: torch.Tensor,
    *,
    time_steps: int,
    input_layout: str | None = None,
    name: str | None = None,
) -> TraceInfo:
    """Trace ``model`` to the tensor-level IR; see :func:`trace` and :class:`TraceInfo`.

    Args:
        model: a PyTorch spiking model (put in eval mode for the trace, restored after).
        example_input: an input the model accepts (its dtype sets the IR dtype).
        time_steps: T, the number of time steps the model runs.
        input_layout: ``static``, ``TB`` or ``BT``; by default ``TB``/``BT`` for a 5-D input
            with T on axis 0/1, else ``static`` (snntorch models: see
            :mod:`snncompile.frontend.snntorch`).
        name: the graph name (default: the model's class name).
    """
    if time_steps < 1:
        raise error("CF201", f"time_steps must be >= 1, got {time_steps}")
    if example_input.dtype not in _DTYPES:
        raise error("CF201", f"example input dtype {example_input.dtype} is not f32 or f64")
    if snn.snntorch_neurons(model):
        return _trace_snntorch(
            model, example_input, time_steps=time_steps, input_layout=input_layout, name=name
        )
    layout_name = _input_layout(example_input, time_steps, input_layout)
    batch = 2 if time_steps != 2 else 3  # a probe batch size distinct from T (and > 1)
    probe, lead, sample = _probe_input(example_input, layout_name, batch)
    was_training = model.training
    model.eval()
    try:
        gm, method, symbolic_error = _fx_trace(model, probe)
        log.info("traced %s with %s tracing", type(model).__name__, method)
        graph, averaged = _run_and_translate(
            model, gm, probe, time_steps, batch, lead, sample, name
        )
    finally:
        model.train(was_training)
    return TraceInfo(graph, method, symbolic_error, layout_name, averaged, time_steps)


def _run_and_translate(
    model: nn.Module,
    gm: fx.GraphModule,
    probe: torch.Tensor,
    time_steps: int,
    batch: int,
    lead: Layout,
    sample: tuple[int, ...],
    name: str | None,
) -> tuple[Graph, bool]:
    """Run the traced ``gm`` once on ``probe`` from reset state (steps 2-3 of :func:`trace`)
    and translate it; return the graph and whether its output is averaged over T."""
    _reset_state(model)
    with torch.no_grad():
        values = _record(gm, probe)
    _reset_state(model)
    return _translate(
        gm,
        values,
        time_steps=time_steps,
        batch=batch,
        lead=lead,
        sample=sample,
        dtype=_DTYPES[probe.dtype],
        name=name or _graph_name(model),
    )


def _trace_snntorch(
    model: nn.Module,
    example: torch.Tensor,
    *,
    time_steps: int,
    input_layout: str | None,
    name: str | None,
) -> TraceInfo:
    """Trace a model with snntorch neurons (:mod:`snncompile.frontend.snntorch`): a step model
    (``init_hidden=True``) on one step of the example, a loop model by extracting one step of
    its unrolled trace. The graph's output is the per-step output (``output_averaged`` False).
    """
    neurons = snn.snntorch_neurons(model)
    hidden = {bool(getattr(m, "init_hidden", False)) for _, m in neurons}
    if len(hidden) > 1:
        mixed = ", ".join(f"{n}={bool(getattr(m, 'init_hidden', False))}" for n, m in neurons)
        raise error(
            "FE701",
            f"{type(model).__name__} mixes snntorch neurons with and without init_hidden "
            f"({mixed}); the frontend traces a model whose forward is one step (all "
            f"init_hidden=True) or loops over the steps (none)",
            node=type(model).__name__,
        )
    batch = 2 if time_steps != 2 else 3  # a probe batch size distinct from T (and > 1)
    was_training = model.training
    model.eval()
    try:
        if hidden == {True}:  # forward is one time step
            layout_name = snn.step_layout(example, time_steps, input_layout)
            step_example = example[0] if layout_name == "TB" else example
            probe, lead, sample = _probe_input(step_example, "static", batch)
            _reset_state(model)
            gm, method, symbolic_error = _fx_trace(model, probe)
            snn.check_called_once(gm)
            snn.first_output(gm)
        else:  # forward loops over the T steps: trace it unrolled, keep one step
            _reset_state(model)
            full, method, symbolic_error = _fx_trace(model, example)
            _reset_state(model)
            with torch.no_grad():
                full_values = _record(full, example)
            step = snn.extract_step(
                full, full_values, time_steps=time_steps, input_layout=input_layout
            )
            gm, layout_name = step.module, step.layout
            step_example = example[0] if layout_name == "TB" else example
            probe, lead, sample = _probe_input(step_example, "static", batch)
        log.info(
            "traced %s (snntorch, %s input) with %s tracing",
            type(model).__name__,
            layout_name,
            method,
        )
        graph, _ = _run_and_translate(model, gm, probe, time_steps, batch, lead, sample, name)
    finally:
        model.train(was_training)
    return TraceInfo(graph, method, symbolic_error, layout_name, False, time_steps)


def trace(
    model: nn.Module,
    example_input: torch.Tensor,
    *,
    time_steps: int,
    input_layout: str | None = None,
    name: str | None = None,
) -> Graph:
    """Trace a PyTorch spiking model to the tensor-level IR of one time step.

    The time and batch axes are removed (see the module docstring); the graph takes one sample
    of one time step and returns the per-step output. Raises :class:`UnsupportedOpError`
    (IR102) for an op without a mapping or one that mixes time steps. Use
    :func:`trace_with_info` to learn whether symbolic or concrete tracing was used.
    """
    info = trace_with_info(
        model, example_input, time_steps=time_steps, input_layout=input_layout, name=name
    )
    return info.graph


def _has_act(obj: Any) -> bool:
    """Whether a (nested) argument holds a traced activation."""
    if isinstance(obj, Act):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_has_act(o) for o in obj)
    if isinstance(obj, dict):
        return any(_has_act(o) for o in obj.values())
    return False


def _translate(
    gm: fx.GraphModule,
    concrete: dict[fx.Node, Any],
    *,
    time_steps: int,
    batch: int,
    lead: Layout,
    sample: tuple[int, ...],
    dtype: str,
    name: str,
) -> tuple[Graph, bool]:
    """Translate the traced graph node by node; return the IR graph and whether the output is
    averaged over T.
    """
    builder = GraphBuilder(name)
    modules = dict(gm.named_modules())
    ctx = torch_ops.Context(builder, modules, concrete, time_steps, batch, name)
    env: dict[fx.Node, Any] = {}
    placeholders = 0
    outputs: Iterable[Any] = ()
    for node in gm.graph.nodes:
        ctx.node = node
        if node.op == "placeholder":
            placeholders += 1
            if placeholders > 1 and node.args:  # an option traced with its default value
                env[node] = concrete[node]
                continue
            if placeholders > 1:
                raise ctx.unsupported("a model with more than one input")
            env[node] = Act(builder.input(node.name, TensorType(sample, dtype)), lead)
            continue
        if node.op == "output":
            outputs = node.args[0] if isinstance(node.args[0], (list, tuple)) else [node.args[0]]
            break
        args = fx.node.map_arg(node.args, lambda n: env[n])
        kwargs = fx.node.map_arg(node.kwargs, lambda n: env[n])
        if snn.has_membrane((args, kwargs)) and not (
            node.target is operator.getitem and isinstance(args[0], tuple)
        ):
            raise ctx.unsupported(
                "a computation with the membrane potential an snntorch neuron returns (the lif "
                "op outputs spikes; the membrane may only carry the state to the next step)"
            )
        if node.op == "get_attr" or not (_has_act(args) or _has_act(kwargs)):
            if node.op == "call_module" and is_neuron(modules[node.target]):
                raise ctx.unsupported("a neuron on a constant input")
            env[node] = concrete[node]
            continue
        env[node] = _dispatch(ctx, node, args, kwargs)
        _check_shape(ctx, env[node])
    results = [env[n] if isinstance(n, fx.Node) else n for n in outputs]
    if len(results) == 1 and isinstance(results[0], tuple) and snn.has_membrane(results[0]):
        results = [results[0][0]]  # an snntorch neuron's (spk, mem) returned: the spikes
    if any(isinstance(r, snn.Membrane) for r in results):
        raise error(
            "FE701",
            "the model returns the membrane potential of an snntorch neuron; the lif op "
            "outputs spikes only (return the spikes, or the stack of per-step spikes first)",
        )
    if len(results) != 1 or not isinstance(results[0], Act):
        raise error(
            "FE701",
            f"the model returns {len(results)} value(s); the torch frontend maps models that "
            f"return one tensor of logits",
        )
    out = results[0]
    if out.layout.lead not in (("B",), ("T", "B")):
        raise error(
            "FE701",
            f"the model output has layout {out.layout.describe()}; expected [B, ...] after the "
            f"mean over T, or per-step [T, B, ...]",
        )
    graph = builder.finish([out.value])
    graph.once_per_inference = frozenset(ctx.once_per_inference)
    verify(graph)  # a frontend bug must not escape as a malformed graph
    return graph, out.layout.averaged


def _dispatch(ctx: torch_ops.Context, node: fx.Node, args: Any, kwargs: Any) -> Any:
    """Translate one node with its handler; argument or IR type problems become IR102."""
    try:
        return _handler(ctx, node, args)(*args, **kwargs)
    except (ShapeError, AttrTypeError) as exc:  # the IR op refuses what the mapping built
        raise ctx.unsupported(f"the IR op rejects this configuration: {exc}") from None
    except TypeError as exc:  # argument forms the handler does not know
        raise ctx.unsupported(f"unexpected arguments ({exc})") from None


def _handler(ctx: torch_ops.Context, node: fx.Node, args: Any) -> Any:
    """The handler of ``node``, with its leading arguments bound."""
    if node.op == "call_module":
        module = ctx.modules[str(node.target)]
        if len(args) != 1 or not isinstance(args[0], Act):
            raise ctx.unsupported("a module call with other than one tensor argument")
        if snn.is_snntorch_neuron(module):
            return functools.partial(snn.neuron, ctx, module)
        if is_neuron(module):
            return functools.partial(torch_ops.neuron, ctx, module)
        found = torch_ops.MODULE_HANDLERS.get(type(module))
        if found is None:
            raise ctx.unsupported("no mapping for this module type")
        return functools.partial(found, ctx, module)
    if node.op == "call_function":
        found = torch_ops.FUNCTION_HANDLERS.get(node.target)
    elif node.op == "call_method":
        found = torch_ops.METHOD_HANDLERS.get(str(node.target))
    else:
        found = None
    if found is None:
        raise ctx.unsupported("no mapping for this op")
    return functools.partial(found, ctx)


def _check_shape(ctx: torch_ops.Context, result: Any) -> None:
    """Internal check: the IR per-sample shape equals the traced shape minus T/B axes."""
    if not isinstance(result, Act):
        return
    assert ctx.node is not None
    value = ctx.concrete[ctx.node]
    if isinstance(value, torch.Tensor):
        expected = tuple(value.shape[result.layout.rank :])
        if expected != result.sample_shape:
            raise ctx.unsupported(
                f"internal shape mismatch: traced per-sample shape {list(expected)}, IR "
                f"{list(result.sample_shape)}"
            )
