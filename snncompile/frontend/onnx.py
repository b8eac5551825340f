"""ONNX import: an ONNX model back to the tensor IR (one time step).

Reads what the ``onnx`` target writes (docs/onnx.md): when the model is unrolled over T steps
(node names ``t0/...``, metadata ``snncompile.time_steps``), the nodes of step 0 are the one-step
graph and the ``readout/...`` nodes (the mean over T) are dropped; a neuron's state input is its
initial membrane potential and is not read. Other models are read as one time step whose output
is the graph output, as long as they use the ops below and neurons named like ours
(``snncompile.LIF`` and its variants, :mod:`snncompile.targets.onnx_functions`).

Every problem is an :class:`SnnCompileError` with a code: IX801 (unreadable file), IX802
(unknown op or attribute), IX803 (a value nothing produces), IX804 (a cycle), IX805 (shapes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from snncompile import limits
from snncompile.diagnostics import SnnCompileError, error
from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, GraphBuilder, Value, replace_attrs
from snncompile.ir.ops.base import ShapeError
from snncompile.ir.ops.tensor import (
    AdaptivePool2dAttrs,
    BatchNormAttrs,
    ConstAttrs,
    Conv2dAttrs,
    LifAttrs,
    LinearAttrs,
    PermuteAttrs,
    Pool2dAttrs,
    ReduceAttrs,
    ReshapeAttrs,
    ScaleAttrs,
    SliceAttrs,
)
from snncompile.ir.types import TensorType
from snncompile.limits import require_memory
from snncompile.targets.onnx_functions import DOMAIN, parse_function_name

__all__ = ["OnnxImport", "import_onnx", "read_onnx"]

_ELEM_TYPES = {onnx.TensorProto.FLOAT: "f32", onnx.TensorProto.DOUBLE: "f64"}


@dataclass(frozen=True)
class OnnxImport:
    """An imported model: the one-step tensor IR and T when the file records it."""

    graph: Graph
    time_steps: int | None


def read_onnx(path: str | Path, *, time_steps: int | None = None) -> OnnxImport:
    """Read the ONNX file at ``path`` (IX801 if it is not one) and import it.

    Before importing, the memory its declared shapes need is checked (IN604,
    :func:`declared_bytes`) over ``time_steps`` steps (default: the file's recorded T)."""
    try:
        model = onnx.load_model(str(path))
    except Exception as exc:  # protobuf raises DecodeError, RuntimeWarning-like and OSError
        raise error("IX801", f"cannot read {path} as ONNX: {exc}", node=str(path)) from exc
    if not model.graph.node:
        raise error("IX801", f"{path} holds no ONNX graph nodes", node=str(path))
    props = {p.key: p.value for p in model.metadata_props}
    steps = time_steps or _int_or_none(props.get("snncompile.time_steps")) or 1
    require_memory(
        declared_bytes(model.graph, steps),
        f"{Path(path).name} (its declared shapes over {steps} steps)",
        node=str(path),
    )
    return import_onnx(model)


def _int_or_none(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def declared_bytes(graph: onnx.GraphProto, time_steps: int) -> int:
    """Float64 bytes of the values ``graph`` declares (inputs, outputs, value_info; one sample
    of a symbolic batch dimension; each within :data:`MAX_ELEMENTS`) over ``time_steps``
    steps (one for an unrolled graph, whose values are per step already) plus its
    initializers (:func:`snncompile.limits.declared_bytes`), from the protobuf alone."""
    values = []
    for info in [*graph.input, *graph.output, *graph.value_info]:
        # a symbolic dimension (the batch) counts one sample
        dims = [
            d.dim_value if d.HasField("dim_value") else 1 for d in info.type.tensor_type.shape.dim
        ]
        if dims and all(d > 0 for d in dims):
            size = int(np.prod(dims, dtype=object))
            values.append(size if size <= MAX_ELEMENTS else 0)  # larger: IX815 on import
    arrays = [int(np.prod(list(t.dims), dtype=object)) for t in graph.initializer]
    unrolled = any(n.name.startswith("t0/") for n in graph.node)
    return limits.declared_bytes(values, arrays, 1 if unrolled else time_steps)


def import_onnx(model: onnx.ModelProto) -> OnnxImport:
    """The tensor IR of ``model`` (see the module docstring)."""
    props = {p.key: p.value for p in model.metadata_props}
    onnx_graph = model.graph
    time_steps = int(props["snncompile.time_steps"]) if "snncompile.time_steps" in props else None
    unrolled = any(n.name.startswith("t0/") for n in onnx_graph.node)
    if unrolled:
        nodes = [n for n in onnx_graph.node if n.name.startswith("t0/")]
        output = props.get("snncompile.step_output")
        if output is None:
            raise error("IX803", "unrolled model without snncompile.step_output", node="metadata")
    else:
        nodes = [n for n in onnx_graph.node if not n.name.startswith("readout/")]
        if len(onnx_graph.output) != 1:
            raise error(
                "IX806",
                f"model has {len(onnx_graph.output)} outputs; the import takes one",
                node=onnx_graph.name,
            )
        output = onnx_graph.output[0].name
    name = props.get("snncompile.graph", onnx_graph.name or "onnx")
    reader = _Reader(onnx_graph, name, nodes, strip="t0/" if unrolled else "")
    reader.time_major = props.get("snncompile.input_layout") == "TB"
    return OnnxImport(reader.run(output), time_steps)


#: The most elements one value of an imported graph may have (IX815 before allocating).
MAX_ELEMENTS = 1 << 28


def _check_size(where: str, shape: tuple[int, ...]) -> None:
    """IX815 unless every dimension is positive and the value has at most MAX_ELEMENTS."""
    total = 1
    for d in shape:
        total *= d
    if any(d <= 0 for d in shape) or total > MAX_ELEMENTS:
        raise error(
            "IX815",
            f"{where} has shape {list(shape)}: dimensions must be positive and a value at most "
            f"{MAX_ELEMENTS} elements",
            node=where,
        )


class _Reader:
    """Translates the selected ONNX nodes, one IR node (or a fused pair) each."""

    def __init__(
        self, onnx_graph: onnx.GraphProto, name: str, nodes: list[onnx.NodeProto], strip: str
    ) -> None:
        self.onnx_graph = onnx_graph
        self.strip = strip
        self.consts: dict[str, np.ndarray] = {
            t.name: numpy_helper.to_array(t) for t in onnx_graph.initializer
        }
        self.nodes = nodes
        self.builder = GraphBuilder(name)
        self.time_major = False  # the input is [T, B, *shape]; step t reads Gather(x, t)
        self.env: dict[str, Value] = {}
        self.consumers: dict[str, int] = {}
        for node in nodes:
            for name_ in node.input:
                self.consumers[name_] = self.consumers.get(name_, 0) + 1

    # --- structure --------------------------------------------------------------------------
    def run(self, output: str) -> Graph:
        self._inputs()
        for node in self._ordered():
            self._translate(node)
        if output not in self.env:
            raise error("IX803", f"the output {output!r} is produced by no node", node=output)
        graph = self.builder.finish([self.env[output]])
        self._check_output(graph)
        return graph

    def _inputs(self) -> None:
        real = [v for v in self.onnx_graph.input if v.name not in self.consts]
        if len(real) != 1:
            raise error(
                "IX806",
                f"model has {len(real)} inputs; the import takes one image input",
                node=self.onnx_graph.name,
            )
        info = real[0]
        tensor = info.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        dtype = _ELEM_TYPES.get(tensor.elem_type)
        lead = 2 if self.time_major else 1
        if dtype is None or len(dims) <= lead or any(d is None for d in dims[lead:]):
            raise error(
                "IX805",
                f"input {info.name} must be a float tensor {'[T, B' if lead == 2 else '[B'}, "
                f"*shape] with a static sample shape, got dims {dims}",
                node=info.name,
            )
        self.dtype = dtype
        self.input_name = info.name
        sample = tuple(int(d) for d in dims[lead:] if d is not None)
        _check_size(info.name, sample)
        self.env[info.name] = self.builder.input(info.name, TensorType(sample, dtype))

    def _ordered(self) -> list[onnx.NodeProto]:
        """The selected nodes in dependency order (IX803 / IX804)."""
        known = set(self.env) | set(self.consts) | {""}
        produced = {out: node for node in self.nodes for out in node.output}
        for node in self.nodes:
            for name in node.input:
                if name not in known and name not in produced:
                    raise error(
                        "IX803",
                        f"node {node.name or node.op_type} reads {name!r}, which no node, "
                        "initializer or graph input provides",
                        node=node.name or node.op_type,
                    )
        return _topological(self.nodes, known, produced)

    def _check_output(self, graph: Graph) -> None:
        if not self.onnx_graph.output:
            raise error(
                "IX801",
                "the ONNX graph declares no output, so nothing says which value is the result",
                node=self.onnx_graph.name or "graph",
            )
        declared = self.onnx_graph.output[0].type.tensor_type.shape.dim if self.strip else []
        dims = tuple(d.dim_value for d in list(declared)[1:])
        if dims and dims != graph.outputs[0].type.shape:
            raise error(
                "IX805",
                f"the model declares output [B, {list(dims)}] but the graph computes "
                f"[B, {list(graph.outputs[0].type.shape)}]",
                node=self.onnx_graph.output[0].name,
            )

    # --- nodes ------------------------------------------------------------------------------
    def _translate(self, node: onnx.NodeProto) -> None:
        label = node.name or f"{node.op_type}:{node.output[0]}"
        if node.op_type == "Constant":
            self.consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
            return
        if self.time_major and node.op_type == "Gather" and node.input[0] == self.input_name:
            self.env[node.output[0]] = self.env[self.input_name]  # step t of [T, B, *shape]
            return
        if node.domain == DOMAIN or parse_function_name(node.op_type) is not None:
            handler: Callable[[_Reader, onnx.NodeProto], Value] = _Reader._lif
        elif node.domain in ("", "ai.onnx") and node.op_type in _HANDLERS:
            handler = _HANDLERS[node.op_type]
        else:
            raise error(
                "IX802",
                f"ONNX op {node.domain + '.' if node.domain else ''}{node.op_type} in node "
                f"{label} has no tensor IR form",
                node=label,
            )
        try:
            value = handler(self, node)
        except ShapeError as exc:
            raise error("IX805", f"node {label} ({node.op_type}): {exc}", node=label) from exc
        except SnnCompileError:
            raise
        except (KeyError, ValueError, IndexError, TypeError, AttributeError) as exc:
            raise error("IX805", f"node {label} ({node.op_type}): {exc}", node=label) from exc
        _check_size(label, value.type.shape)
        self.env[node.output[0]] = value

    def _hint(self, node: onnx.NodeProto) -> str:
        name = node.name or node.output[0]
        return name[len(self.strip) :] if self.strip and name.startswith(self.strip) else name

    def add(self, node: onnx.NodeProto, op: str, inputs: list[Value], attrs: Any) -> Value:
        return self.builder.add_node(op, inputs, attrs, name=self._hint(node))

    def value(self, node: onnx.NodeProto, index: int) -> Value:
        name = node.input[index]
        if name not in self.env:
            raise error(
                "IX805",
                f"node {node.name} expects an activation at input {index}, got constant {name!r}",
                node=node.name,
            )
        return self.env[name]

    def const(self, node: onnx.NodeProto, index: int) -> np.ndarray | None:
        if index >= len(node.input) or not node.input[index]:
            return None
        name = node.input[index]
        if name not in self.consts:
            raise error(
                "IX805",
                f"node {node.name} needs a constant at input {index}, got activation {name!r}",
                node=node.name,
            )
        return self.consts[name]

    def _lif(self, node: onnx.NodeProto) -> Value:
        kind = parse_function_name(node.op_type)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if kind is None or any(name not in attrs for name in kind.attributes):
            raise error(
                "IX802",
                f"neuron {node.name} ({node.op_type}) needs attributes "
                f"{list(kind.attributes) if kind else '?'}, has {sorted(attrs)}",
                node=node.name,
            )
        decay = float(attrs["decay"]) if kind.parametric else None
        lif = LifAttrs(
            tau=1.0 / decay if decay is not None else float(attrs["tau"]),
            v_threshold=float(attrs["v_threshold"]),
            v_reset=None if kind.soft_reset else float(attrs["v_reset"]),
            decay_input=kind.decay_input,
            decay=decay,
        )
        if self.strip and node.name.startswith(self.strip) and len(node.input) > 1:
            self._check_initial_state(node, 0.0 if lif.v_reset is None else lif.v_reset)
        return self.add(node, "lif", [self.value(node, 0)], lif)

    def _check_initial_state(self, node: onnx.NodeProto, start: float) -> None:
        """IX805 unless the first step's membrane (``v_init``) is the value the ``lif`` op
        starts from (its ``v_reset``, 0 for a soft reset): the import would drop it."""
        initial = self.consts.get(node.input[1])
        if (
            initial is None
            or initial.size == 0
            or not np.all(initial.astype(np.float32) == np.float32(start))
        ):
            shown = None if initial is None else np.unique(initial)[:4].tolist()
            raise error(
                "IX805",
                f"neuron {node.name} starts from membrane {shown} ({node.input[1]}); the lif op "
                f"starts from {start} (its v_reset), so the import would drop that state",
                node=node.name,
            )


def _topological(
    nodes: list[onnx.NodeProto], known: set[str], produced: dict[str, onnx.NodeProto]
) -> list[onnx.NodeProto]:
    """``nodes`` with every node after its producers, otherwise in file order (IX804)."""
    ordered: list[onnx.NodeProto] = []
    state: dict[int, str] = {}  # id(node) -> "open" while on the stack, "done" once placed
    for root in nodes:
        stack = [root]
        while stack:
            node = stack[-1]
            if state.get(id(node)) == "done":
                stack.pop()
                continue
            state[id(node)] = "open"
            waiting = [
                produced[name]
                for name in node.input
                if name not in known and state.get(id(produced[name])) != "done"
            ]
            cyclic = [n for n in waiting if state.get(id(n)) == "open"]
            if cyclic:
                names = ", ".join(n.name or n.op_type for n in (node, *cyclic))
                raise error("IX804", f"nodes {names} depend on each other", node=names)
            if waiting:
                stack.extend(waiting)
                continue
            state[id(node)] = "done"
            ordered.append(node)
            stack.pop()
    return ordered


def _ints(node: onnx.NodeProto, name: str, default: list[int]) -> list[int]:
    for attribute in node.attribute:
        if attribute.name == name:
            return [int(v) for v in attribute.ints]
    return default


def _int(node: onnx.NodeProto, name: str, default: int) -> int:
    for attribute in node.attribute:
        if attribute.name == name:
            return int(attribute.i)
    return default


def _symmetric_pads(node: onnx.NodeProto) -> tuple[int, int]:
    pads = _ints(node, "pads", [0, 0, 0, 0])
    if len(pads) != 4 or pads[:2] != pads[2:]:
        raise ShapeError(f"pads {pads} are not symmetric [pH, pW, pH, pW]")
    for attribute in node.attribute:
        if attribute.name == "auto_pad" and attribute.s not in (b"", b"NOTSET"):
            raise ShapeError(f"auto_pad {attribute.s.decode()} is not supported; give pads")
    return pads[0], pads[1]


def _conv(r: _Reader, node: onnx.NodeProto) -> Value:
    weight = r.const(node, 1)
    if weight is None:
        raise ShapeError(f"{node.op_type} needs a constant weight at input 1")
    attrs = Conv2dAttrs(
        weight=weight,
        bias=r.const(node, 2),
        stride=tuple(_ints(node, "strides", [1, 1])),
        padding=_symmetric_pads(node),
        dilation=tuple(_ints(node, "dilations", [1, 1])),
        groups=_int(node, "group", 1),
    )
    return r.add(node, "conv2d", [r.value(node, 0)], attrs)


def _gemm(r: _Reader, node: onnx.NodeProto) -> Value:
    weight = r.const(node, 1)
    if weight is None:
        raise ShapeError(f"{node.op_type} needs a constant weight at input 1")
    if _int(node, "transA", 0):
        raise ShapeError("Gemm with transA=1 is not a linear layer")
    floats = {a.name: a.f for a in node.attribute if a.type == onnx.AttributeProto.FLOAT}
    if floats.get("alpha", 1.0) != 1.0 or floats.get("beta", 1.0) != 1.0:
        raise ShapeError("Gemm with alpha or beta other than 1 is not supported")
    if not _int(node, "transB", 0):
        weight = np.ascontiguousarray(weight.T)
    return r.add(
        node, "linear", [r.value(node, 0)], LinearAttrs(weight=weight, bias=r.const(node, 2))
    )


def _matmul(r: _Reader, node: onnx.NodeProto) -> Value:
    if node.input[1] in r.consts:
        weight = np.ascontiguousarray(r.consts[node.input[1]].T)
        return r.add(node, "linear", [r.value(node, 0)], LinearAttrs(weight=weight, bias=None))
    return r.add(node, "matmul", [r.value(node, 0), r.value(node, 1)], NoAttrs())


def _binary(op: str, const_op: str) -> Callable[[_Reader, onnx.NodeProto], Value]:
    def translate(r: _Reader, node: onnx.NodeProto) -> Value:
        left, right = node.input[0], node.input[1]
        if left in r.consts and right in r.consts:
            raise ShapeError("both operands are constants")
        if left in r.consts:
            left, right = right, left  # Add and Mul commute
        if right not in r.consts:
            return r.add(node, op, [r.env[left], r.env[right]], NoAttrs())
        value = r.consts[right]
        x = r.env[left]
        if op == "mul" and value.ndim == 0:
            return r.add(node, "scale", [x], ScaleAttrs(factor=float(value)))
        if op == "add" and _fuses_bias(r, x, left, value):
            last = x.producer
            assert last is not None
            last.attrs = replace_attrs(last.attrs, bias=value)
            return x
        return r.add(node, const_op, [x], ConstAttrs(value=value))

    return translate


def _fuses_bias(r: _Reader, x: Value, name: str, value: np.ndarray) -> bool:
    """Whether ``x + value`` is the bias of the linear node that just produced ``x``."""
    last = x.producer
    if last is None or r.consumers.get(name, 0) != 1:
        return False
    return last.op == "linear" and last.attrs.bias is None and value.shape == (x.type.shape[-1],)


def _batchnorm(r: _Reader, node: onnx.NodeProto) -> Value:
    arrays = [r.const(node, i) for i in range(1, 5)]
    if any(a is None for a in arrays):
        raise ShapeError("BatchNormalization needs scale, bias, mean and var constants")
    weight, bias, mean, var = (np.asarray(a) for a in arrays)
    eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
    attrs = BatchNormAttrs(weight, bias, mean, var, eps=float(eps), axis=0)
    return r.add(node, "batchnorm", [r.value(node, 0)], attrs)


def _reshape(r: _Reader, node: onnx.NodeProto) -> Value:
    shape = r.const(node, 1)
    x = r.value(node, 0)
    if shape is None or shape.ndim != 1 or len(shape) < 2 or int(shape[0]) not in (0, -1):
        raise ShapeError(f"Reshape target {shape} must keep the batch axis first (0 or -1)")
    sample = [int(d) for d in shape[1:]]
    if sample.count(-1) == 1 and int(shape[0]) == 0:
        known = int(np.prod([d for d in sample if d != -1]))
        sample[sample.index(-1)] = x.type.numel // max(known, 1)
    return r.add(node, "reshape", [x], ReshapeAttrs(shape=tuple(sample)))


def _flatten(r: _Reader, node: onnx.NodeProto) -> Value:
    x = r.value(node, 0)
    if _int(node, "axis", 1) != 1:
        raise ShapeError("Flatten must keep the batch axis (axis=1)")
    return r.add(node, "reshape", [x], ReshapeAttrs(shape=(x.type.numel,)))


def _transpose(r: _Reader, node: onnx.NodeProto) -> Value:
    x = r.value(node, 0)
    perm = _ints(node, "perm", list(range(x.type.rank, -1, -1)))
    if not perm or perm[0] != 0:
        raise ShapeError(f"Transpose perm {perm} moves the batch axis")
    return r.add(node, "permute", [x], PermuteAttrs(perm=tuple(p - 1 for p in perm[1:])))


def _pool(op: str) -> Callable[[_Reader, onnx.NodeProto], Value]:
    def translate(r: _Reader, node: onnx.NodeProto) -> Value:
        kernel = _ints(node, "kernel_shape", [])
        padding = _symmetric_pads(node)
        if _int(node, "ceil_mode", 0):
            raise ShapeError("ceil_mode=1 is not supported")
        if op == "avgpool2d" and any(padding) and not _int(node, "count_include_pad", 0):
            raise ShapeError("AveragePool with padding must count the padding")
        if _ints(node, "dilations", [1, 1]) != [1, 1]:
            raise ShapeError("dilated pooling is not supported")
        attrs = Pool2dAttrs(
            kernel_size=tuple(kernel),
            stride=tuple(_ints(node, "strides", [1, 1])),
            padding=padding,
        )
        return r.add(node, op, [r.value(node, 0)], attrs)

    return translate


def _global_avgpool(r: _Reader, node: onnx.NodeProto) -> Value:
    attrs = AdaptivePool2dAttrs(output_size=(1, 1))
    return r.add(node, "adaptive_avgpool2d", [r.value(node, 0)], attrs)


def _reduce(op: str) -> Callable[[_Reader, onnx.NodeProto], Value]:
    def translate(r: _Reader, node: onnx.NodeProto) -> Value:
        x = r.value(node, 0)
        given = r.const(node, 1)
        axes = [int(a) for a in given] if given is not None else _ints(node, "axes", [])
        axes = [a + x.type.rank + 1 if a < 0 else a for a in axes]
        if not axes or 0 in axes:
            raise ShapeError(f"{node.op_type} axes {axes} must name sample axes, not the batch")
        keep = bool(_int(node, "keepdims", 1))
        attrs = ReduceAttrs(axes=tuple(a - 1 for a in axes), keepdim=keep)
        return r.add(node, op, [x], attrs)

    return translate


def _slice(r: _Reader, node: onnx.NodeProto) -> Value:
    x = r.value(node, 0)
    starts, ends, axes, steps = (r.const(node, i) for i in range(1, 5))
    if starts is None or ends is None:
        raise ShapeError("Slice needs constant starts and ends")
    count = len(starts)
    axes_list = [int(a) for a in axes] if axes is not None else list(range(count))
    steps_list = [int(s) for s in steps] if steps is not None else [1] * count
    for start, end, axis, step in zip(starts, ends, axes_list, steps_list, strict=True):
        axis = axis + x.type.rank + 1 if axis < 0 else axis
        if axis == 0:
            raise ShapeError("Slice along the batch axis")
        size = x.type.shape[axis - 1]
        lo, hi, _ = slice(int(start), int(end), step).indices(size)
        x = r.add(node, "slice", [x], SliceAttrs(axis=axis - 1, start=lo, stop=hi, step=step))
    return x


def _identity(r: _Reader, node: onnx.NodeProto) -> Value:
    return r.value(node, 0)


_HANDLERS: Mapping[str, Callable[[_Reader, onnx.NodeProto], Value]] = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "Add": _binary("add", "add_const"),
    "Mul": _binary("mul", "mul_const"),
    "BatchNormalization": _batchnorm,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Transpose": _transpose,
    "MaxPool": _pool("maxpool2d"),
    "AveragePool": _pool("avgpool2d"),
    "GlobalAveragePool": _global_avgpool,
    "ReduceSum": _reduce("sum"),
    "ReduceMean": _reduce("mean"),
    "Slice": _slice,
    "Identity": _identity,
}
