r"""snntorch ``Leaky`` neurons in the torch frontend (snntorch itself is never imported here).

snntorch models are written per time step. Two forms are traced (:func:`snncompile.trace`
picks the form from the neurons' ``init_hidden`` flag):

- **step models** (every ``Leaky`` has ``init_hidden=True``): ``forward(x_t)`` is one time step
  and the user calls the model once per step (``snntorch.utils.reset(net)``, then
  ``for t: out = net(x[t])``). The model is traced once on a one-step input; each neuron must be
  called once per ``forward``.
- **loop models** (no ``Leaky`` has ``init_hidden=True``): ``forward(x)`` loops over the T steps
  itself, ``spk, mem = self.lif(cur, mem)`` (or ``spk, mem = self.lif(cur)``), and returns
  ``torch.stack(per_step_outputs)`` (``[T, B, ...]``; with a tuple of returned values the first
  one). The unrolled trace is checked to repeat one step T times (:func:`extract_step`) and that
  step becomes the graph.

An ``RLeaky`` (step models) is a ``Leaky`` whose input also gets its ``recurrent`` module
(``nn.Linear`` all-to-all, or ``V ⊙ S`` one-to-one) applied to its own spikes of the previous
step: a ``recurrent`` node (:func:`_recurrent_input`).

A ``Leaky`` becomes the IR ``lif`` op with ``dynamics='snntorch'`` (exact, see
:func:`snncompile.ir.ops.tensor._lif`): with ``β = clamp(beta, 0, 1)``, ``θ = threshold`` and
``R[t] = Θ(U[t-1] - θ)`` the reset of the previous step's spike,

.. math::

    U[t] = β U[t-1] + I[t] - R[t]\,θ \quad (\text{subtract}),\qquad
    U[t] = β (1 - R[t]) U[t-1] + I[t] \quad (\text{zero}),\qquad
    U[t] = β U[t-1] + I[t] \quad (\text{none})

    S[t] = Θ(U[t] - θ), \qquad Θ(x) = 1 \text{ if } x > 0 \text{ else } 0

(``reset_delay=False`` also applies the reset of ``S[t]`` in step t, as snntorch does).
``beta`` and ``threshold`` may be tensors that broadcast over one sample's neurons (per channel:
shape ``[C, 1, 1]`` for a conv output). Refused (FE701): ``inhibition``, ``state_quant``,
``graded_spikes_factor`` other than 1, a ``spike_grad`` whose forward is not ``x > 0``, and any
other snntorch neuron class. The membrane potential a neuron returns may only carry its state
to the next step; a graph that computes with it or returns it is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.fx as fx
from torch import nn

from snncompile.diagnostics import SnnCompileError, error
from snncompile.frontend.fx_context import Context, to_array
from snncompile.frontend.layout import Act
from snncompile.ir.attrs import NoAttrs
from snncompile.ir.ops.recurrent import RecurrentAttrs
from snncompile.ir.ops.tensor import ConstAttrs, LifAttrs, LinearAttrs

__all__ = [
    "LEAKY",
    "Membrane",
    "StepGraph",
    "check_called_once",
    "check_recurrent_calls",
    "extract_step",
    "first_output",
    "has_membrane",
    "is_snntorch_neuron",
    "leaky_attrs",
    "neuron",
    "reset_neurons",
    "snntorch_neurons",
    "step_layout",
]

#: ``(module, class name)`` of ``snntorch.Leaky``.
LEAKY = ("snntorch._neurons.leaky", "Leaky")
#: ``(module, class name)`` of ``snntorch.RLeaky`` (a Leaky with recurrent synapses).
RLEAKY = ("snntorch._neurons.rleaky", "RLeaky")
_ONE_TO_ONE = ("snntorch._neurons.rleaky", "RecurrentOneToOne")
_SPIKING_NEURON = ("snntorch._neurons.neurons", "SpikingNeuron")
#: fx targets whose result is zeros whatever their input.
_ZEROS = (torch.zeros_like, "new_zeros", "zero_")
_RESETS = {"_base_sub": "subtract", "_base_zero": "zero", "_base_int": "none"}


def _classes(module: nn.Module) -> set[tuple[str, str]]:
    return {(c.__module__, c.__qualname__) for c in type(module).__mro__}


def is_snntorch_neuron(module: nn.Module) -> bool:
    """Whether ``module`` is an snntorch neuron (any ``snntorch.SpikingNeuron`` subclass)."""
    return _SPIKING_NEURON in _classes(module)


def is_leaky(module: nn.Module) -> bool:
    """Whether ``module`` is ``snntorch.Leaky`` (or a subclass of it)."""
    return LEAKY in _classes(module)


def is_rleaky(module: nn.Module) -> bool:
    """Whether ``module`` is ``snntorch.RLeaky`` (or a subclass of it)."""
    return RLEAKY in _classes(module)


def check_recurrent_calls(neurons: Iterable[tuple[str, nn.Module]]) -> None:
    """FE701 for an ``RLeaky`` that a loop model drives by hand (``spk, mem = lif(x, spk,
    mem)``): the recurrent edge is traced in step models (``init_hidden=True``) only."""
    for _, module in neurons:
        if is_rleaky(module) and not getattr(module, "init_hidden", False):
            raise _refuse(
                module,
                "an RLeaky that is passed spk and mem by hand (a loop model); give it "
                "init_hidden=True and call the model once per step",
            )


def snntorch_neurons(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The snntorch neurons of ``model``: ``(qualified name, module)``."""
    return [(name, m) for name, m in model.named_modules() if is_snntorch_neuron(m)]


def reset_neurons(model: nn.Module) -> None:
    """Zero every snntorch neuron's membrane (``reset_mem``), as ``snntorch.utils.reset``."""
    for _, module in snntorch_neurons(model):
        reset: Any = getattr(module, "reset_mem", None)
        if callable(reset):
            reset()


def _refuse(module: nn.Module, why: str) -> SnnCompileError:
    return error(
        "FE701",
        f"snntorch {type(module).__name__} is not supported by the torch frontend: {why}",
        node=type(module).__name__,
        fix="Use snntorch.Leaky with inhibition=False, state_quant=False, "
        "graded_spikes_factor=1 and a surrogate whose forward is x > 0 (docs/frontend.md).",
    )


def _tensor(module: nn.Module, name: str) -> torch.Tensor:
    value = getattr(module, name)
    if not isinstance(value, torch.Tensor):
        value = torch.as_tensor(value)
    return value.detach().cpu()


def _reset_mechanism(module: nn.Module) -> str:
    """The reset ``forward`` computes: the state function chosen at construction, which must
    agree with ``reset_mechanism_val`` (read again by ``forward`` when ``reset_delay=False``)."""
    function = getattr(module, "state_function", None)
    name = getattr(getattr(function, "__func__", function), "__name__", None)
    if name not in _RESETS:
        raise _refuse(module, f"unknown state function {name!r}")
    mechanism = _RESETS[name]
    value = int(_tensor(module, "reset_mechanism_val").item())
    if ("subtract", "zero", "none")[value] != mechanism:
        raise _refuse(
            module,
            f"its reset_mechanism was changed after construction ({mechanism} in the state "
            f"function, {('subtract', 'zero', 'none')[value]} in reset_mechanism_val)",
        )
    return mechanism


def _check_fire(module: nn.Module) -> None:
    """The spike function's forward must be the Heaviside ``x > 0`` of every snntorch
    surrogate (a custom ``spike_grad`` is probed, not trusted)."""
    probe = torch.tensor([-2.0, -1e-6, 0.0, 1e-6, 2.0])
    fire: Any = getattr(module, "spike_grad", None)
    try:
        with torch.no_grad():
            out = fire(probe)
    except Exception as exc:
        raise _refuse(module, f"its spike_grad fails on a probe ({exc})") from exc
    expected = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0])
    if not isinstance(out, torch.Tensor) or not torch.equal(out.float(), expected):
        raise _refuse(module, "its spike_grad's forward is not the Heaviside step x > 0")


def leaky_attrs(module: nn.Module) -> LifAttrs:
    """The ``lif`` attributes of an ``snntorch.Leaky`` (maps not yet fitted to a shape)."""
    if not (is_leaky(module) or is_rleaky(module)):
        raise _refuse(module, "only snntorch.Leaky and RLeaky are mapped (to the IR lif op)")
    if getattr(module, "inhibition", False):
        raise _refuse(module, "inhibition=True couples the neurons of a sample")
    if getattr(module, "state_quant", False):
        raise _refuse(module, "state_quant quantizes the membrane")
    graded = _tensor(module, "graded_spikes_factor")
    if graded.numel() != 1 or float(graded.reshape(())) != 1.0:
        raise _refuse(module, "graded_spikes_factor other than 1 (graded spikes)")
    _check_fire(module)
    beta = _tensor(module, "beta").clamp(0, 1)
    threshold = _tensor(module, "threshold")
    if not (beta.is_floating_point() and threshold.is_floating_point()):
        beta, threshold = beta.float(), threshold.float()
    scalar_beta = beta.numel() == 1
    top = float(beta.max()) if beta.numel() else 0.0
    return LifAttrs(
        tau=1.0 / (1.0 - top) if top < 1.0 else float("inf"),
        v_threshold=float(threshold.max()) if threshold.numel() else 1.0,
        v_reset=0.0,
        decay_input=False,
        decay=float(beta.reshape(())) if scalar_beta else top,
        v_threshold_map=None if threshold.numel() == 1 else threshold.numpy(),
        dynamics="snntorch",
        reset_mechanism=_reset_mechanism(module),
        reset_delay=bool(getattr(module, "reset_delay", True)),
        decay_map=None if scalar_beta else beta.numpy(),
    )


@dataclass(frozen=True)
class Membrane:
    """The membrane potential an snntorch neuron returns (traced, but not computable in IR)."""

    neuron: str


def has_membrane(obj: Any) -> bool:
    """Whether a (nested) argument holds a :class:`Membrane`."""
    if isinstance(obj, Membrane):
        return True
    if isinstance(obj, (list, tuple)):
        return any(has_membrane(o) for o in obj)
    if isinstance(obj, dict):
        return any(has_membrane(o) for o in obj.values())
    return False


def _fit(ctx: Context, module: nn.Module, name: str, array: Any, sample: tuple[int, ...]) -> Any:
    """A per-neuron map (``beta`` or ``threshold``) as broadcast over one sample's neurons."""
    if array is None:
        return None
    a = np.asarray(array)
    extra = a.ndim - len(sample)
    if extra > 0:
        if any(d != 1 for d in a.shape[:extra]):
            raise ctx.unsupported(
                f"{type(module).__name__} {name} of shape {list(a.shape)} varies over the batch "
                f"axis of [B, {', '.join(map(str, sample))}]"
            )
        a = a.reshape(a.shape[extra:])
    try:
        fits = np.broadcast_shapes(a.shape, sample) == tuple(sample)
    except ValueError:
        fits = False
    if not fits:
        raise ctx.unsupported(
            f"{type(module).__name__} {name} of shape {list(a.shape)} does not broadcast over "
            f"the neurons {list(sample)} (per channel of a conv output: shape [C, 1, 1])"
        )
    return a


def neuron(ctx: Context, module: nn.Module, x: Act) -> Act | tuple[Act, Membrane]:
    """An ``snntorch.Leaky`` call on one time step ``[B, ...]`` -> ``lif`` (snntorch
    dynamics); returns ``(spikes, membrane)`` where the module returns both."""
    if x.layout.lead != ("B",) or x.layout.averaged:
        raise ctx.mixes_time(
            f"an snntorch neuron takes one time step [B, ...] per call, got "
            f"{x.layout.describe()} (give the model one step per call: input_layout='TB' "
            f"feeds x[t])"
        )
    attrs = leaky_attrs(module)
    attrs = dataclasses.replace(
        attrs,
        decay_map=_fit(ctx, module, "beta", attrs.decay_map, x.sample_shape),
        v_threshold_map=_fit(ctx, module, "threshold", attrs.v_threshold_map, x.sample_shape),
    )
    recurrent = None
    if is_rleaky(module):
        recurrent, x = _recurrent_input(ctx, module, x, attrs)
    spikes = ctx.act("lif", [x], attrs, x.layout)
    if recurrent is not None:  # the recurrent edge reads these spikes one step back
        recurrent.attrs = dataclasses.replace(recurrent.attrs, source=spikes.value.name)
    returns_membrane = bool(getattr(module, "output", False)) or not getattr(
        module, "init_hidden", False
    )
    if returns_membrane:
        assert ctx.node is not None
        return spikes, Membrane(str(ctx.node.target))
    return spikes


def _recurrent_input(ctx: Context, module: nn.Module, x: Act, attrs: LifAttrs) -> tuple[Any, Act]:
    """``x + recurrent(S[t-1])`` of an ``RLeaky``: its ``recurrent`` module (an ``nn.Linear``
    for ``all_to_all``, ``V ⊙ S`` for one-to-one) on a ``recurrent`` node, the neuron's spikes
    of the previous step (returned so that its source can be named once the ``lif`` exists).

    snntorch computes ``β·U + I + rec(S[t-1])``: the recurrent current enters with the input,
    exactly the cut. Refused (FE701): a conv recurrence, and ``reset_mechanism='zero'``, which
    RLeaky applies to the whole update ``(1 - R)·(β·U + I + rec(S))`` while the lif op zeroes
    only ``β·U``.
    """
    if attrs.reset_mechanism == "zero":
        raise _refuse(
            module,
            "RLeaky with reset_mechanism='zero' zeroes the whole update (1 - R)·(β·U + I + "
            "V·S), which the lif op cannot state; use 'subtract' or 'none'",
        )
    check_recurrent_calls([("", module)])
    shape = x.sample_shape
    recurrent = getattr(module, "recurrent", None)
    prev_attrs = RecurrentAttrs(source="", shape=shape, dtype=x.value.type.dtype)
    prev = ctx.emit("recurrent", [], prev_attrs)
    if isinstance(recurrent, nn.Linear):
        if len(shape) != 1:
            raise _refuse(module, f"an all-to-all recurrence over a {list(shape)} sample")
        bias = recurrent.bias
        linear = LinearAttrs(to_array(recurrent.weight), None if bias is None else to_array(bias))
        current = ctx.emit("linear", [prev], linear)
    elif isinstance(recurrent, nn.Module) and _ONE_TO_ONE in _classes(recurrent):
        v = _fit(ctx, module, "V", _tensor(recurrent, "V").numpy(), shape)
        current = ctx.emit("mul_const", [prev], ConstAttrs(value=np.asarray(v)))
    else:
        raise _refuse(module, f"a {type(recurrent).__name__} recurrence (conv) is not mapped")
    total = ctx.emit("add", [x.value, current], NoAttrs())
    assert prev.producer is not None
    return prev.producer, Act(total, x.layout)


# --- layouts and step extraction ----------------------------------------------------------------


def step_layout(example: torch.Tensor, time_steps: int, layout: str | None) -> str:
    """The input layout of a step model: ``TB`` (``x[t]`` feeds step t) or ``static``."""
    if layout in ("static", "TB"):
        return layout
    if layout is not None:
        raise error(
            "CF201",
            f"input_layout {layout!r} is not supported for snntorch models: use 'TB' "
            f"([T, B, ...], step t reads x[t]) or 'static' ([B, ...] every step)",
        )
    if example.ndim >= 3 and example.shape[0] == time_steps:
        if example.shape[1] == time_steps:
            raise error(
                "CF201",
                f"cannot tell the time axis of a {list(example.shape)} example input with "
                f"T={time_steps}: pass input_layout='TB' or 'static'",
            )
        return "TB"
    return "static"


def check_called_once(gm: fx.GraphModule) -> None:
    """A step model (``init_hidden=True``) calls each neuron once per ``forward``."""
    modules = dict(gm.named_modules())
    counts: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module" and is_snntorch_neuron(modules[str(node.target)]):
            counts[str(node.target)] = counts.get(str(node.target), 0) + 1
    for target, count in counts.items():
        if count > 1:
            raise error(
                "FE702",
                f"snntorch neuron {target} has init_hidden=True but is called {count} times in "
                f"one forward: with init_hidden the forward must be one time step",
                node=target,
                fix="Call the model once per time step (init_hidden=True), or use "
                "init_hidden=False and pass the membrane: spk, mem = lif(cur, mem).",
            )


def first_output(gm: fx.GraphModule) -> None:
    """A step model returning a tuple (``spk, mem = net(x_t)``) is traced for its first item."""
    output = next(n for n in gm.graph.nodes if n.op == "output")
    result = output.args[0]
    if isinstance(result, (tuple, list)) and result:
        output.args = (result[0],)
        gm.graph.eliminate_dead_code()
        gm.recompile()


@dataclass(frozen=True)
class StepGraph:
    """One time step of a loop model: the fx module (input: one step) and its input layout."""

    module: fx.GraphModule
    layout: str


def _split_call(node: fx.Node) -> tuple[Any, Any]:
    """The ``(input_, mem)`` arguments of a neuron call node."""
    args, kwargs = node.args, node.kwargs
    current = args[0] if args else kwargs.get("input_")
    mem = args[1] if len(args) > 1 else kwargs.get("mem")
    return current, mem


def _loop_error(message: str, node: str = "forward") -> SnnCompileError:
    return error(
        "FE702",
        message,
        node=node,
        fix="Write the loop so that every step does the same thing: step t reads x[t] (or the "
        "static x), calls each neuron once with the membrane the previous step returned, and "
        "appends one output; return torch.stack(outputs). docs/frontend.md shows the form.",
    )


def _output_records(gm: fx.GraphModule, time_steps: int) -> list[fx.Node]:
    """The per-step outputs: the arguments of the returned ``torch.stack``."""
    output = next(n for n in gm.graph.nodes if n.op == "output")
    result = output.args[0]
    if isinstance(result, (tuple, list)):
        result = result[0] if result else None
    if not (
        isinstance(result, fx.Node)
        and result.op == "call_function"
        and result.target is torch.stack
    ):
        raise _loop_error(
            "an snntorch model that loops over the time steps must return "
            "torch.stack(per-step outputs) (or a tuple whose first item is that stack)"
        )
    records = result.args[0] if result.args else result.kwargs.get("tensors")
    dim = result.args[1] if len(result.args) > 1 else result.kwargs.get("dim", 0)
    if dim != 0 or not isinstance(records, (list, tuple)) or len(records) != time_steps:
        count = len(records) if isinstance(records, (list, tuple)) else "?"
        raise _loop_error(
            f"the returned torch.stack must stack {time_steps} per-step outputs on dim 0, got "
            f"{count} on dim {dim} (time_steps={time_steps})"
        )
    if not all(isinstance(r, fx.Node) for r in records):
        raise _loop_error("a per-step output is a constant")
    return list(records)


class _Signatures:
    """Structural ids of fx nodes relative to a step ``t`` (hash-consed)."""

    def __init__(self, gm: fx.GraphModule, inp: fx.Node, calls: dict[fx.Node, tuple[str, int]]):
        self.gm = gm
        self.inp = inp
        self.calls = calls
        self.table: dict[Any, int] = {}
        self.constants: dict[fx.Node, Any] = {}

    def _constant(self, node: fx.Node) -> Any:
        if node not in self.constants:
            obj: Any = self.gm
            for part in str(node.target).split("."):
                obj = getattr(obj, part)
            if isinstance(obj, torch.Tensor):
                data = obj.detach().cpu().contiguous()
                digest = hashlib.sha256(data.numpy().tobytes()).hexdigest()
                self.constants[node] = ("tensor", str(data.dtype), tuple(data.shape), digest)
            else:
                self.constants[node] = ("object", str(node.target))
        return self.constants[node]

    def of(self, t: int, region: Iterable[fx.Node]) -> dict[fx.Node, int]:
        """The id of every node of ``region`` (in graph order) seen from step ``t``."""
        ids: dict[fx.Node, int] = {}

        def arg(a: Any) -> Any:
            if isinstance(a, fx.Node):
                return ("node", ids[a])
            if isinstance(a, (list, tuple)):
                return (type(a).__name__, tuple(arg(x) for x in a))
            if isinstance(a, dict):
                return ("dict", tuple(sorted((k, arg(v)) for k, v in a.items())))
            if isinstance(a, slice):
                return ("slice", arg(a.start), arg(a.stop), arg(a.step))
            return ("value", type(a).__name__, repr(a))

        for node in region:
            if node.op == "placeholder":
                key: Any = ("placeholder", node.name)
            elif node.op == "get_attr":
                key = ("constant", self._constant(node))
            elif node in self.calls:
                current, _ = _split_call(node)
                key = ("neuron", str(node.target), arg(current))
            elif _input_step(node, self.inp) is not None:
                key = ("input step", _input_step(node, self.inp) - t)  # type: ignore[operator]
            else:
                target = node.target if isinstance(node.target, str) else _qualname(node.target)
                key = (node.op, target, arg(node.args), arg(dict(node.kwargs)))
            ids[node] = self.table.setdefault(key, len(self.table))
        return ids


def _qualname(target: Any) -> str:
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", repr(target))
    return f"{module}.{name}"


def _input_step(node: fx.Node, inp: fx.Node) -> int | None:
    """``i`` for ``x[i]`` (an int index on the input's leading axis), else None."""
    if node.op == "call_function" and node.target is operator.getitem and node.args[0] is inp:
        index = node.args[1]
        if isinstance(index, int) and not isinstance(index, bool):
            return index
    return None


def _region(record: fx.Node, calls: dict[fx.Node, tuple[str, int]]) -> set[fx.Node]:
    """The ancestors of ``record``, not following a neuron's membrane argument (its state)."""
    seen: set[fx.Node] = set()
    stack = [record]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node in calls:
            current, _ = _split_call(node)
            inputs: list[fx.Node] = [current] if isinstance(current, fx.Node) else []
        else:
            inputs = list(node.all_input_nodes)
        stack.extend(inputs)
    return seen


def _check_state(
    node: fx.Node,
    calls: dict[fx.Node, tuple[str, int]],
    by_target: dict[str, list[fx.Node]],
    zero: Callable[[Any], bool],
) -> None:
    """Call k of a neuron takes the membrane call k-1 returned (or none); call 0 a zero one."""
    target, k = calls[node]
    _, mem = _split_call(node)
    if mem is None:
        return
    if k == 0:
        if not zero(mem):
            raise _loop_error(
                f"the first call of snntorch neuron {target} gets a non-zero initial membrane; "
                f"the lif op starts at 0 (use mem = {target}.init_leaky())",
                node=target,
            )
        return
    previous = by_target[target][k - 1]
    if not (
        isinstance(mem, fx.Node)
        and mem.op == "call_function"
        and mem.target is operator.getitem
        and mem.args[0] is previous
        and mem.args[1] == 1
    ):
        raise _loop_error(
            f"call {k} of snntorch neuron {target} does not get the membrane that call {k - 1} "
            f"returned (mem must be carried from one step to the next unchanged)",
            node=target,
        )


def extract_step(
    gm: fx.GraphModule,
    values: dict[fx.Node, Any],
    *,
    time_steps: int,
    input_layout: str | None,
) -> StepGraph:
    """One time step of a traced loop model, checked to repeat identically over the T steps.

    ``gm`` is the unrolled trace of ``forward`` on the whole example and ``values`` its recorded
    node values. Checks: each neuron is called once per step (T times), its membrane goes from
    one call to the next (or stays inside the neuron), the first call starts from 0, the graph of
    output t (not following membranes) equals the graph of output 0 with ``x[0]`` read as
    ``x[t]``, and uses only neuron calls of step t. The step graph reads ``x[t]`` (``TB``) or
    the whole static input (``static``) as its one input.
    """
    modules = dict(gm.named_modules())
    nodes = list(gm.graph.nodes)
    placeholders = [n for n in nodes if n.op == "placeholder"]
    if not placeholders:
        raise _loop_error("the model takes no input")
    inp = placeholders[0]
    by_target: dict[str, list[fx.Node]] = {}
    for node in nodes:
        if node.op == "call_module" and is_snntorch_neuron(modules[str(node.target)]):
            by_target.setdefault(str(node.target), []).append(node)
    calls = {n: (target, k) for target, ns in by_target.items() for k, n in enumerate(ns)}
    for target, ns in by_target.items():
        if len(ns) != time_steps:
            raise _loop_error(
                f"snntorch neuron {target} is called {len(ns)} times in one forward, "
                f"time_steps={time_steps}: a loop model calls every neuron once per step",
                node=target,
            )

    def zero(mem: Any) -> bool:
        """A zero initial membrane: ``init_leaky()`` (a constant), ``zeros_like(...)``."""
        if isinstance(mem, fx.Node) and mem.target in _ZEROS:
            return True
        if isinstance(mem, fx.Node) and inp in _region(mem, calls):
            return False  # depends on the input: zero on the example only, perhaps
        value = values.get(mem) if isinstance(mem, fx.Node) else mem
        if not isinstance(value, torch.Tensor):
            return False
        return value.numel() == 0 or not bool(value.detach().ne(0).any())

    for node in calls:
        _check_state(node, calls, by_target, zero)
    records = _output_records(gm, time_steps)
    signatures = _Signatures(gm, inp, calls)
    order = {n: i for i, n in enumerate(nodes)}
    first: int | None = None
    region0: list[fx.Node] = []
    for t, record in enumerate(records):
        region = sorted(_region(record, calls), key=order.__getitem__)
        for node in region:
            if node in calls and calls[node][1] != t:
                target, k = calls[node]
                raise _loop_error(
                    f"output {t} uses call {k} of snntorch neuron {target} (a value of step "
                    f"{k}, other than the membrane, reaches step {t})",
                    node=target,
                )
        ids = signatures.of(t, region)
        if t == 0:
            first, region0 = ids[record], region
        elif ids[record] != first:
            raise _loop_error(
                f"step {t} of the loop computes its output differently from step 0 (the "
                f"traced step graphs differ): a per-step loop must repeat one step T times"
            )
    steps = [n for n in region0 if _input_step(n, inp) is not None]
    direct = [n for n in region0 if inp in n.all_input_nodes and n not in steps]
    if steps:
        if any(_input_step(n, inp) != 0 for n in steps) or direct:
            raise _loop_error(
                "step 0 reads the input other than as x[0] (a loop model reads x[t] at step t, "
                "or the whole static x)"
            )
        layout = "TB"
    else:
        layout = "static"
    if input_layout is not None and input_layout != layout:
        raise error(
            "CF201",
            f"input_layout={input_layout!r}, but the loop reads its input as "
            f"{'x[t] ([T, B, ...])' if layout == 'TB' else 'a static [B, ...] tensor'}",
        )
    return StepGraph(_copy_step(gm, region0, records[0], inp, set(steps), calls), layout)


def _copy_step(
    gm: fx.GraphModule,
    region: list[fx.Node],
    record: fx.Node,
    inp: fx.Node,
    steps: set[fx.Node],
    calls: dict[fx.Node, tuple[str, int]],
) -> fx.GraphModule:
    """The fx module of ``region``: input one step, neurons called without a membrane."""
    graph = fx.Graph()
    x = graph.placeholder(inp.name)
    env: dict[fx.Node, fx.Node] = {}
    for node in region:
        if node is inp or node in steps:
            env[node] = x
        elif node in calls:
            current, _ = _split_call(node)
            env[node] = graph.call_module(str(node.target), (env[current],))
            env[node].meta = dict(node.meta)
        else:
            env[node] = graph.node_copy(node, env.__getitem__)
    graph.output(env[record])
    return fx.GraphModule(gm, graph)
