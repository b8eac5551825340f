"""The ``onnx`` target: the tensor IR as an ONNX model that onnxruntime runs as it is.

Time is unrolled: the one-step graph is written T times (node names ``t0/...``, ``t1/...``),
weights are shared initializers, and every neuron's membrane state ``V`` is threaded from step t
to step t + 1. The input is a static image batch ``[B, *shape]`` that every step sees (direct
encoding); the output is the graph output averaged over T (``readout/...`` nodes): exactly what
:func:`snncompile.simulate` returns. Neurons are ONNX local functions in the ``snncompile``
domain (:mod:`snncompile.targets.onnx_functions`). See docs/onnx.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import onnx
from onnx import helper, numpy_helper

from snncompile.config import CompileConfig
from snncompile.diagnostics import error
from snncompile.fileio import atomic_file
from snncompile.ir.graph import Graph, Node
from snncompile.ir.types import DTYPES
from snncompile.passes.dead_code import DeadCode
from snncompile.passes.manager import Pass, PassContext
from snncompile.targets.base import Emitted
from snncompile.targets.onnx_functions import DOMAIN, OPSET, lif_function, neuron_kind

__all__ = ["DEFAULT_TIME_STEPS", "OnnxTarget", "export_onnx"]

#: T used when the configuration does not give one.
DEFAULT_TIME_STEPS = 4
#: Metadata keys written into every export (read back by the importer).
META_TIME_STEPS = "snncompile.time_steps"
META_STEP_OUTPUT = "snncompile.step_output"
META_GRAPH = "snncompile.graph"
META_INPUT_LAYOUT = "snncompile.input_layout"
#: Input layouts: ``static`` ``[B, *shape]`` seen at every step, ``TB`` ``[T, B, *shape]``.
INPUT_LAYOUTS = ("static", "TB")
#: Name of the dynamic batch dimension.
BATCH = "B"


@dataclass(frozen=True)
class OnnxTarget:
    """Write the tensor IR (after dead-code removal) as an unrolled ONNX model."""

    name: str = "onnx"
    limits: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def pipeline(self, config: CompileConfig) -> list[Pass]:
        return [DeadCode()]

    def emit(
        self, graph: Graph, config: CompileConfig, ctx: PassContext, output: Path | None
    ) -> Emitted:
        if output is None:
            raise error(
                "CF201", "--target onnx writes a binary file: give -o FILE.onnx", node="output"
            )
        steps = config.time_steps or DEFAULT_TIME_STEPS
        model = export_onnx(graph, steps)
        with atomic_file(output) as tmp:
            onnx.save_model(model, str(tmp))
        summary = f"{len(graph.nodes)} nodes x {steps} steps -> {len(model.graph.node)} ONNX nodes"
        return Emitted(summary, files=(output,))


class _Writer:
    """Accumulates the nodes and initializers of one export."""

    def __init__(self, graph: Graph, elem_type: int, dtype: np.dtype) -> None:
        self.graph = graph
        self.elem_type = elem_type
        self.dtype = dtype
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._constants: dict[str, str] = {}
        self.functions: dict[str, onnx.FunctionProto] = {}

    def constant(self, name: str, array: np.ndarray, dtype: np.dtype | None = None) -> str:
        """An initializer (created once per name) holding ``array`` in ``dtype``."""
        if name not in self._constants:
            values = np.array(array, dtype=dtype or self.dtype, order="C")
            tensor = numpy_helper.from_array(values, name)
            self.initializers.append(tensor)
            self._constants[name] = name
        return name

    def ints(self, name: str, values: tuple[int, ...] | list[int]) -> str:
        """An int64 initializer (shapes, axes, slice bounds)."""
        return self.constant(name, np.asarray(values, dtype=np.int64), np.dtype(np.int64))

    def node(
        self, op: str, inputs: list[str], outputs: list[str], name: str, **attrs: object
    ) -> None:
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))


#: One emitter per IR op: (writer, node, step prefix, input names, output name) -> None.
Emitter = Callable[[_Writer, Node, str, list[str], str], None]


def _param(node: Node, field_name: str) -> str:
    return f"{node.name}.{field_name}"


def _emit_conv2d(w: _Writer, node: Node, p: str, xs: list[str], out: str) -> None:
    a = node.attrs
    inputs = [xs[0], w.constant(_param(node, "weight"), a.weight)]
    if a.bias is not None:
        inputs.append(w.constant(_param(node, "bias"), a.bias))
    w.node(
        "Conv",
        inputs,
        [out],
        p + node.name,
        kernel_shape=list(a.weight.shape[2:]),
        strides=list(a.stride),
        pads=[*a.padding, *a.padding],
        dilations=list(a.dilation),
        group=a.groups,
    )


def _emit_linear(w: _Writer, node: Node, p: str, xs: list[str], out: str) -> None:
    a = node.attrs
    rank = node.inputs[0].type.rank
    if rank == 1 and a.bias is not None:
        weight = w.constant(_param(node, "weight"), a.weight)
        bias = w.constant(_param(node, "bias"), a.bias)
        w.node("Gemm", [xs[0], weight, bias], [out], p + node.name, transB=1)
        return
    weight_t = w.constant(_param(node, "weight_t"), np.ascontiguousarray(a.weight.T))
    if a.bias is None:
        w.node("MatMul", [xs[0], weight_t], [out], p + node.name)
        return
    product = f"{out}.matmul"
    w.node("MatMul", [xs[0], weight_t], [product], p + node.name + ".matmul")
    w.node("Add", [product, w.constant(_param(node, "bias"), a.bias)], [out], p + node.name)


def _emit_batchnorm(w: _Writer, node: Node, p: str, xs: list[str], out: str) -> None:
    a = node.attrs
    rank = node.inputs[0].type.rank
    names = [
        w.constant(_param(node, f), getattr(a, f))
        for f in ("weight", "bias", "running_mean", "running_var")
    ]
    if a.axis == 0:
        w.node("BatchNormalization", [xs[0], *names], [out], p + node.name, epsilon=a.eps)
        return
    # move the channel axis to ONNX's axis 1, normalise, move it back
    perm = [0, a.axis + 1, *(d + 1 for d in range(rank) if d != a.axis)]
    inverse = [perm.index(i) for i in range(rank + 1)]
    moved, normed = f"{out}.moved", f"{out}.normed"
    w.node("Transpose", [xs[0]], [moved], p + node.name + ".to_channels", perm=perm)
    w.node("BatchNormalization", [moved, *names], [normed], p + node.name, epsilon=a.eps)
    w.node("Transpose", [normed], [out], p + node.name + ".from_channels", perm=inverse)


def _emit_binary(op: str) -> Emitter:
    def emit(w: _Writer, node: Node, p: str, xs: list[str], out: str) -> None:
        w.node(op, xs, [out], p + node.name)

    return emit


def _emit_const(op: str) -> Emitter:
    def emit(w: _Writer, node: Node, p: str, xs: list[str], out: str) -> None:
        value = w.constant(_param(node, "value"), node.attrs.value)
        w.node(op, [xs[0], value], [out], p + node.name)

    return emit


def _emit_scale(w: _Writer, node: Node, p: str, xs: list[str], out: str) -> None:
    factor = w.constant(_param(node, "factor"), np.asarray(node.attrs.factor))
    w.node("Mul", [xs[0], factor], [out], p + node.name)


def _emit_reshape(w: _Writer, node: Node, p: str, xs: list[str], out: str) -> None:
    shape = w.ints(_param(node, "shape"), [0, *node.attrs.shape])
    w.node("Reshape", [xs[0], shape], [out], p + node.name)


def _emit_permute(w: _Writer, node: Node, p: str, xs: list[str], out: str) -> None:
    perm = [0, *(d + 1 for d in node.attrs.perm)]
    w.node("Transpose", xs, [out], p + node.name, perm=perm)


def _emit_pool(op: str) -> Emitter:
    def emit(w: _Writer, node: Node, p: str, xs: list[str], out: str) -> None:
        a = node.attrs
        extra = {"count_include_pad": 1} if op == "AveragePool" else {}
        w.node(
            op,
            xs,
            [out],
            p + node.name,
            kernel_shape=list(a.kernel_size),
            strides=list(a.stride),
            pads=[*a.padding, *a.padding],
            **extra,
        )

    return emit


def _emit_adaptive(w: _Writer, node: Node, p: str, xs: list[str], out: str) -> None:
    out_h, out_w = node.attrs.output_size
    _, height, width = node.inputs[0].type.shape
    if (out_h, out_w) == (1, 1):
        w.node("GlobalAveragePool", xs, [out], p + node.name)
        return
    if height % out_h or width % out_w:
        raise error(
            "IX806",
            f"adaptive_avgpool2d from {height}x{width} to {out_h}x{out_w} has uneven windows; "
            "the ONNX export supports output sizes that divide the input",
            node=node.describe(),
        )
    kernel = [height // out_h, width // out_w]
    w.node("AveragePool", xs, [out], p + node.name, kernel_shape=kernel, strides=kernel)


def _emit_reduce(op: str) -> Emitter:
    def emit(w: _Writer, node: Node, p: str, xs: list[str], out: str) -> None:
        a = node.attrs
        axes = w.ints(_param(node, "axes"), [d + 1 for d in a.axes])
        w.node(op, [xs[0], axes], [out], p + node.name, keepdims=int(a.keepdim))

    return emit


def _emit_slice(w: _Writer, node: Node, p: str, xs: list[str], out: str) -> None:
    a = node.attrs
    bounds = [
        w.ints(_param(node, name), [value])
        for name, value in (("start", a.start), ("stop", a.stop), ("axis", a.axis + 1))
    ]
    steps = w.ints(_param(node, "step"), [a.step])
    w.node("Slice", [xs[0], *bounds, steps], [out], p + node.name)


EMITTERS: dict[str, Emitter] = {
    "conv2d": _emit_conv2d,
    "linear": _emit_linear,
    "batchnorm": _emit_batchnorm,
    "add": _emit_binary("Add"),
    "mul": _emit_binary("Mul"),
    "matmul": _emit_binary("MatMul"),
    "scale": _emit_scale,
    "reshape": _emit_reshape,
    "permute": _emit_permute,
    "maxpool2d": _emit_pool("MaxPool"),
    "avgpool2d": _emit_pool("AveragePool"),
    "adaptive_avgpool2d": _emit_adaptive,
    "add_const": _emit_const("Add"),
    "mul_const": _emit_const("Mul"),
    "sum": _emit_reduce("ReduceSum"),
    "mean": _emit_reduce("ReduceMean"),
    "slice": _emit_slice,
}


def _emit_lif(w: _Writer, node: Node, p: str, x: str, v_in: str, out: str, v_out: str) -> None:
    a = node.attrs
    kind = neuron_kind(a.decay is not None, a.decay_input, a.v_reset is None)
    w.functions.setdefault(kind.function_name, lif_function(kind))
    attrs: dict[str, float] = {"v_threshold": a.v_threshold}
    if a.decay is not None:
        attrs["decay"] = a.decay
    else:
        attrs["tau"] = a.tau
    if a.v_reset is not None:
        attrs["v_reset"] = a.v_reset
    w.nodes.append(
        helper.make_node(
            kind.function_name, [x, v_in], [out, v_out], name=p + node.name, domain=DOMAIN, **attrs
        )
    )


def _elem_type(graph: Graph) -> tuple[int, np.dtype]:
    dtype = np.dtype(DTYPES[graph.inputs[0].type.dtype])
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise error(
            "IX806", f"the ONNX export takes float graphs, input is {dtype}", node=graph.name
        )
    return helper.np_dtype_to_tensor_dtype(dtype), dtype


def _check_exportable(graph: Graph) -> None:
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise error(
            "IX806",
            f"@{graph.name} has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; "
            "the ONNX export takes one of each",
            node=graph.name,
        )
    for node in graph.nodes:
        if node.op == "lif" and node.attrs.dynamics != "spikingjelly":
            raise error(
                "IX806",
                f"{node.describe()} has {node.attrs.dynamics} dynamics; the ONNX neuron "
                "functions are spikingjelly's LIF (docs/onnx.md)",
                node=node.describe(),
            )
        if node.op != "lif" and node.op not in EMITTERS:
            raise error(
                "IX806",
                f"op {node.op} has no ONNX form (export the tensor-level IR)",
                node=node.describe(),
            )


def export_onnx(graph: Graph, time_steps: int, *, input_layout: str = "static") -> onnx.ModelProto:
    """``graph`` (tensor IR, one input, one output) unrolled over ``time_steps`` steps.

    The model maps ``x [B, *shape]`` (``input_layout='static'``: every step sees it) or
    ``x [T, B, *shape]`` (``'TB'``: step t sees ``x[t]``, e.g. event frames) to
    ``mean_t y[t]  [B, *out_shape]``; it passes ``onnx.checker.check_model(full_check=True)``.
    """
    if time_steps < 1:
        raise error("CF201", f"time_steps must be >= 1, got {time_steps}", node="time_steps")
    if input_layout not in INPUT_LAYOUTS:
        raise error(
            "CF201",
            f"input_layout must be one of {INPUT_LAYOUTS}, got {input_layout!r}",
            node="input_layout",
        )
    _check_exportable(graph)
    elem_type, dtype = _elem_type(graph)
    w = _Writer(graph, elem_type, dtype)
    x = graph.inputs[0]
    states: dict[Node, str] = {}
    for node in graph.nodes:
        if node.op == "lif":
            v0 = 0.0 if node.attrs.v_reset is None else node.attrs.v_reset
            states[node] = w.constant(f"{node.name}.v_init", np.asarray(v0))
    step_outputs: list[str] = []
    for t in range(time_steps):
        prefix = f"t{t}/"
        env = {x: x.name}
        if input_layout == "TB":
            index = w.constant(f"input.step{t}", np.asarray(t, dtype=np.int64), np.dtype(np.int64))
            w.node("Gather", [x.name, index], [prefix + "input"], prefix + "input", axis=0)
            env[x] = prefix + "input"
        for node in graph.nodes:
            out = prefix + node.name
            inputs = [env[v] for v in node.inputs]
            if node.op == "lif":
                v_next = f"{out}.v"
                _emit_lif(w, node, prefix, inputs[0], states[node], out, v_next)
                states[node] = v_next
            else:
                EMITTERS[node.op](w, node, prefix, inputs, out)
            env[node.output] = out
        step_outputs.append(env[graph.outputs[0]])
    _readout(w, step_outputs)
    y = graph.outputs[0]
    leading: list[str | int] = [time_steps, BATCH] if input_layout == "TB" else [BATCH]
    onnx_graph = helper.make_graph(
        w.nodes,
        graph.name,
        [helper.make_tensor_value_info(x.name, elem_type, [*leading, *x.type.shape])],
        [helper.make_tensor_value_info("logits", elem_type, [BATCH, *y.type.shape])],
        initializer=w.initializers,
    )
    model = helper.make_model(
        onnx_graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(DOMAIN, 1)],
        functions=list(w.functions.values()),
        producer_name="snncompile",
        doc_string=f"@{graph.name} unrolled over T={time_steps} steps; logits averaged over T",
    )
    helper.set_model_props(
        model,
        {
            META_TIME_STEPS: str(time_steps),
            META_STEP_OUTPUT: step_outputs[0],
            META_GRAPH: graph.name,
            META_INPUT_LAYOUT: input_layout,
        },
    )
    model.ir_version = min(model.ir_version, 10)
    onnx.checker.check_model(model, full_check=True)
    return model


def _readout(w: _Writer, step_outputs: list[str]) -> None:
    """``logits = ReduceMean_t(Concat_t(Unsqueeze(y[t], 0)))``."""
    axis = w.ints("readout.time_axis", [0])
    stacked = []
    for t, name in enumerate(step_outputs):
        w.node("Unsqueeze", [name, axis], [f"readout/y{t}"], f"readout/unsqueeze{t}")
        stacked.append(f"readout/y{t}")
    w.node("Concat", stacked, ["readout/stacked"], "readout/stack", axis=0)
    w.node("ReduceMean", ["readout/stacked", axis], ["logits"], "readout/mean", keepdims=0)
