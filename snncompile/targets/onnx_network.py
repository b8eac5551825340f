r"""The compiled chip network as ONNX: the quantized, pipelined network IR, hardware-neutral.

:func:`export_network_onnx` writes the *chip partition* of a network-stage graph (populations,
projections, current probes) unrolled over ``T`` steps into a standard ONNX model (opset 18,
default domain only) that onnxruntime runs bit for bit like the reference semantics of
:mod:`snncompile.ir.ops.network`:

- **inputs**: every value a network op reads from the host (the encoder's output, or the graph
  input), as ``[T, B, *shape]`` float64, named after the IR value; **outputs**: every network
  value the host reads (the readout's input, or the graph output) as ``[T, B, *shape]``, and
  with ``record`` every population and probe too. The host ops themselves (float encoder and
  readout) are not in the model: :func:`host_boundary` names them, and a host op *between*
  network ops is refused (IX816).
- **projection** (float64, exact: every value is an integer below 2^53)::

      s = pre(x != 0 | x)                Gather of the flattened source by the view's index map
      dense:  y = s · Wᵀ                 MatMul
      conv:   y[o, p] = Σ_k W[o, k] · s̃[o, k, p]   one Gather of im2col indices per output
              channel (groups and padding in the index map, a zero appended for padding),
              then Mul and ReduceSum
      sum:    y = gain · Σ_axes s        ReduceSum
      y = post(floor((rint(y + b)) · 2^e))           Round, Mul / Div + Floor, Gather

  and the projection's output at step ``t`` is the current computed at step ``t - delay``
  (zero before); no ring buffer is needed in the unrolled graph.
- **population** ``lif``/``and``/``or`` (int64 state ``u``, ``v``; the chip model's integer
  LIF, :class:`snncompile.chip.NeuronArithmetic`, with decay scale ``D``, input shift ``i``,
  threshold shift ``h``; Loihi 2: Lava's, ``D = 4096``, ``i = h = 6``)::

      a = Cast(Round(Σ_p I_p))
      u = limit_u(trunc(u · (D - (du + o)) / D) + 2^i·a)    trunc: (x - fmod(x, D)) / D
      v = limit_v(trunc(v · (D - dv) / D) + u + (bias_mant << bias_exp))
      s = v > vth·2^h;  v = 0 where s

  ``limit``: wrap (Loihi 2's ``u``: ``u - 2^24`` above ``2^23``, ``u + 2^24`` at or below
  ``-2^23``) or saturate (Loihi 2's ``v``: ``±(2^23 - 1)``) at the chip's widths. ``gated``:
  ``(Σ_value I + bias_mant) · gate``; ``relay``: ``Σ I + bias_mant``; ``current_sum``: ``Σ I``.
  Before its ``start`` a population outputs 0 and keeps its state at 0.

``snncompile MODEL --target onnx-network -o FILE.onnx`` writes it for the pipelined network
(``T`` from the model); docs/onnx.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from snncompile.config import CompileConfig
from snncompile.diagnostics import error
from snncompile.ir.graph import Graph, Node, Value
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.ir.views import View
from snncompile.passes.manager import Pass, PassContext
from snncompile.targets.base import Emitted

__all__ = ["NETWORK_OPS", "OnnxNetworkTarget", "export_network_onnx", "host_boundary"]

NETWORK_OPS = frozenset({"population", "projection", "current_sum"})
OPSET = 18
#: The largest im2col index table one conv may need (elements), to keep models small.
MAX_INDEX_ELEMENTS = 1 << 26


#: Host ops the model may hold between network ops (float64, as the simulator runs them).
INNER_HOST_OPS = frozenset({"add_const", "mul_const", "scale", "round", "maxpool2d", "mean"})


def host_boundary(graph: Graph) -> tuple[list[Value], list[Value], list[Node]]:
    """The values the chip partition reads from the host, the ones the host reads back, and
    the host ops that sit between network ops (their input comes from the chip and their
    output goes back to it: :data:`INNER_HOST_OPS`, written into the model too).

    Raises:
        UnsupportedOpError IX816: another kind of host op between network ops, a recurrent
            edge, or the graph has no network op.
    """
    for node in graph.nodes:
        if node.op == "recurrent":
            raise error(
                "IX816",
                f"{node.describe()} is a recurrent edge (%{node.attrs.source}'s spikes of the "
                "previous step): the ONNX chip network has no state carried between steps "
                "yet; run recurrent networks with the simulator or the Loihi artifact",
                node=node.describe(),
            )
    chip = [n for n in graph.nodes if n.op in NETWORK_OPS]
    if not chip:
        raise error(
            "IX816", f"@{graph.name} has no network ops (compile it first)", node=graph.name
        )
    downstream: set[Value] = {n.output for n in chip}
    for node in graph.nodes:  # values that depend on the chip
        if node.op not in NETWORK_OPS and any(v in downstream for v in node.inputs):
            downstream.update(node.outputs)
    upstream: set[Value] = {v for n in chip for v in n.inputs}
    for node in reversed(graph.nodes):  # values the chip depends on
        if node.output in upstream:
            upstream.update(node.inputs)
    inner = [
        n
        for n in graph.nodes
        if n.op not in NETWORK_OPS and n.output in downstream and n.output in upstream
    ]
    for node in inner:
        if node.op not in INNER_HOST_OPS:
            raise error(
                "IX816",
                f"host op {node.describe()} reads the chip and feeds it again; the model holds "
                f"only {', '.join(sorted(INNER_HOST_OPS))} there",
                node=node.describe(),
            )
    inside = {n.output for n in [*chip, *inner]}
    inputs: list[Value] = []
    for node in [*chip, *inner]:
        for value in node.inputs:
            if value not in inside and value not in inputs:
                inputs.append(value)
    users = graph.users()
    outputs = [
        v
        for n in [*chip, *inner]
        for v in n.outputs
        if v in graph.outputs
        or any(u.op not in NETWORK_OPS and u not in inner for u in users.get(v, ()))
    ]
    return inputs, outputs, inner


def _host_op(w: _Writer, node: Node, x: str, hint: str) -> str:
    """One of :data:`INNER_HOST_OPS` in float64, as its tensor-IR kernel computes it."""
    a = node.attrs
    if node.op == "add_const":
        return w.op("Add", [x, w.const(f"{hint}.c", a.value)], hint)
    if node.op == "mul_const":
        return w.op("Mul", [x, w.const(f"{hint}.c", a.value)], hint)
    if node.op == "scale":
        return w.op("Mul", [x, w.const(f"{hint}.c", float(a.factor))], hint)
    if node.op == "round":
        return w.op("Round", [x], hint)  # half to even, as np.rint
    if node.op == "mean":  # float: the summation order may differ from torch's in the last bit
        axes = w.const("axes", [d + 1 for d in a.axes], np.int64)
        return w.op("ReduceMean", [x, axes], hint, keepdims=int(bool(a.keepdim)))
    (ph, pw), (kh, kw), (sh, sw) = a.padding, a.kernel_size, a.stride
    return w.op(
        "MaxPool", [x], hint, kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw]
    )


@dataclass
class _Writer:
    """Accumulates ONNX nodes and initializers with unique names."""

    nodes: list[onnx.NodeProto] = field(default_factory=list)
    inits: list[onnx.TensorProto] = field(default_factory=list)
    count: int = 0
    cache: dict[tuple[str, bytes, str], str] = field(default_factory=dict)

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{hint}#{self.count}"

    def const(self, hint: str, array: Any, dtype: Any = np.float64) -> str:
        data = np.array(array, dtype=dtype, order="C")  # (ascontiguousarray makes 0-d 1-d)
        key = (str(data.dtype), data.tobytes(), str(data.shape))
        if key in self.cache:
            return self.cache[key]
        name = self.fresh(hint)
        self.inits.append(numpy_helper.from_array(data, name))
        self.cache[key] = name
        return name

    def op(self, op_type: str, inputs: Sequence[str], hint: str, **attrs: Any) -> str:
        out = self.fresh(hint)
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out


def _view(w: _Writer, x: str, view: View, shape: tuple[int, ...], hint: str) -> str:
    """``view`` of ``x`` [B, *shape] as one Gather of the flattened sample."""
    if not view:
        return x
    index = view.index_map(shape)
    flat = w.op("Reshape", [x, w.const("flat", [-1, int(np.prod(shape))], np.int64)], hint)
    return w.op("Gather", [flat, w.const(f"{hint}.view", index, np.int64)], hint, axis=1)


def _conv_indices(a: ProjectionAttrs, shape: tuple[int, ...]) -> np.ndarray:
    """``idx[o, k, p]``: the flat input index (``C·H·W`` for padding: a zero) that output
    channel ``o`` multiplies with weight ``k`` at output position ``p``."""
    assert a.weight is not None
    c_in, h, w_ = shape
    c_out, c_group, kh, kw = a.weight.shape
    out_h, out_w = a.core_shape(shape)[1:]
    (sh, sw), (ph, pw), (dh, dw) = a.stride, a.padding, a.dilation
    size = c_out * c_group * kh * kw * out_h * out_w
    if size > MAX_INDEX_ELEMENTS:
        raise error(
            "IX816", f"a conv needs an im2col table of {size} indices (limit {MAX_INDEX_ELEMENTS})"
        )
    per_group = c_out // a.groups
    o = np.arange(c_out)[:, None, None, None, None, None]
    c = (o // per_group) * c_group + np.arange(c_group)[None, :, None, None, None, None]
    i = np.arange(kh)[None, None, :, None, None, None]
    j = np.arange(kw)[None, None, None, :, None, None]
    y = np.arange(out_h)[None, None, None, None, :, None] * sh - ph + i * dh
    x = np.arange(out_w)[None, None, None, None, None, :] * sw - pw + j * dw
    inside = (y >= 0) & (y < h) & (x >= 0) & (x < w_)
    flat = (c * h + np.clip(y, 0, h - 1)) * w_ + np.clip(x, 0, w_ - 1)
    flat = np.where(inside, flat, c_in * h * w_)
    return flat.reshape(c_out, c_group * kh * kw, out_h * out_w).astype(np.int64)


def _projection(w: _Writer, a: ProjectionAttrs, x: str, source: Value, node: Node) -> str:
    """The current of one projection for source ``x`` (before its delay), float64."""
    hint = node.name
    s = x
    if not a.graded:
        s = w.op(
            "Cast",
            [w.op("Not", [w.op("Equal", [x, w.const("zero", 0.0)], hint)], hint)],
            hint,
            to=TensorProto.DOUBLE,
        )
    shape = source.type.shape
    s = _view(w, s, a.pre_view, shape, f"{hint}.pre")
    core_in = a.pre_view.shape_after(shape)
    if a.kind == "sum":
        if a.axes:
            axes = w.const("axes", [d + 1 for d in a.axes], np.int64)
            s = w.op("ReduceSum", [s, axes], hint, keepdims=0)
        y = w.op("Mul", [s, w.const("gain", float(a.gain))], hint) if a.gain != 1 else s
    elif a.kind == "dense":
        assert a.weight is not None
        y = w.op("MatMul", [s, w.const(f"{hint}.w", a.weight.T)], hint)
    else:
        assert a.weight is not None
        c_out = a.weight.shape[0]
        flat = w.op("Reshape", [s, w.const("flat", [-1, int(np.prod(core_in))], np.int64)], hint)
        first = w.op(
            "Slice",
            [
                flat,
                w.const("s0", [0], np.int64),
                w.const("s1", [1], np.int64),
                w.const("ax1", [1], np.int64),
            ],
            hint,
        )
        zero = w.op("Mul", [first, w.const("zero", 0.0)], hint)  # [B, 1]: the padding value
        padded = w.op("Concat", [flat, zero], hint, axis=1)
        patches = w.op(
            "Gather",
            [padded, w.const(f"{hint}.im2col", _conv_indices(a, core_in), np.int64)],
            hint,
            axis=1,
        )
        weight = a.weight.reshape(c_out, -1, 1)
        summed = w.op(
            "ReduceSum",
            [
                w.op("Mul", [patches, w.const(f"{hint}.w", weight)], hint),
                w.const("ax2", [2], np.int64),
            ],
            hint,
            keepdims=0,
        )
        out_shape = a.core_shape(core_in)
        y = w.op("Reshape", [summed, w.const("shape", [-1, *out_shape], np.int64)], hint)
    core_out = a.core_shape(core_in)
    if a.bias is not None:
        bias = a.bias.reshape(-1, 1, 1) if a.bias.ndim == 1 and a.kind == "conv" else a.bias
        y = w.op("Add", [y, w.const(f"{hint}.b", np.broadcast_to(bias, core_out))], hint)
    if a.weight_exp:
        y = w.op("Round", [y], hint)
        factor = w.const("pow2", float(2.0 ** abs(a.weight_exp)))
        if a.weight_exp > 0:
            y = w.op("Mul", [y, factor], hint)
        else:
            y = w.op("Floor", [w.op("Div", [y, factor], hint)], hint)
    return _view(w, y, a.post_view, core_out, f"{hint}.post")


@dataclass
class _PopulationState:
    u: str | None = None
    v: str | None = None


def _trunc_div(w: _Writer, x: str, scale: int, hint: str) -> str:
    """``x / D`` rounded toward zero on int64: ``(x - fmod(x, D)) / D``."""
    k = w.const(f"k{scale}", scale, np.int64)
    rest = w.op("Mod", [x, k], hint, fmod=1)
    return w.op("Div", [w.op("Sub", [x, rest], hint), k], hint)


def _limit(w: _Writer, x: str, mode: str, limit: int, hint: str) -> str:
    """Wrap into ``(-L, L]`` (``mode == "wrap"``) or saturate at ``±L``."""
    if mode != "wrap":
        bounds = [w.const(f"min{limit}", -limit, np.int64), w.const(f"max{limit}", limit, np.int64)]
        return w.op("Clip", [x, *bounds], hint)
    span = w.const(f"span{limit}", 2 * limit, np.int64)
    over = w.op("Greater", [x, w.const(f"lim{limit}", limit, np.int64)], hint)
    x = w.op("Where", [over, w.op("Sub", [x, span], hint), x], hint)
    under = w.op("LessOrEqual", [x, w.const(f"nlim{limit}", -limit, np.int64)], hint)
    return w.op("Where", [under, w.op("Add", [x, span], hint), x], hint)


def _lif(w: _Writer, a: PopulationAttrs, current: str, state: _PopulationState, hint: str) -> str:
    """One step of the chip's integer LIF (``snncompile.chip.NeuronArithmetic``; Loihi 2:
    Lava's) on int64 state; returns the spikes (float64)."""
    neuron = a.neuron()
    arith = neuron.arithmetic
    decay_u, decay_v = arith.retained(neuron.du, neuron.dv)
    a_in = w.op("Cast", [w.op("Round", [current], hint)], hint, to=TensorProto.INT64)
    if state.u is None:
        state.u = state.v = w.op("Sub", [a_in, a_in], hint)
    assert state.u is not None and state.v is not None
    scaled = w.op(
        "Mul", [a_in, w.const(f"k{arith.input_scale}", arith.input_scale, np.int64)], hint
    )
    u_decayed = w.op("Mul", [state.u, w.const("du", decay_u, np.int64)], hint)
    u = w.op("Add", [_trunc_div(w, u_decayed, arith.scale, hint), scaled], hint)
    if arith.current_overflow == "wrap":
        u = _limit(w, u, "wrap", arith.current_limit, hint)
    else:
        u = _limit(w, u, "saturate", arith.current_limit - 1, hint)
    v_decayed = w.op("Mul", [state.v, w.const("dv", decay_v, np.int64)], hint)
    v = w.op("Add", [_trunc_div(w, v_decayed, arith.scale, hint), u], hint)
    bias = np.asarray(neuron.bias(), dtype=np.int64)
    if np.any(bias != 0):
        v = w.op("Add", [v, w.const(f"{hint}.bias", bias, np.int64)], hint)
    theta = w.const(f"{hint}.vth", arith.threshold(np.asarray(neuron.vth, np.int64)), np.int64)
    if a.reset == "subtract-next":  # the previous step's spike leaves after the decay
        previous = w.op(
            "Cast", [w.op("Greater", [state.v, theta], hint)], hint, to=TensorProto.INT64
        )
        v = w.op("Sub", [v, w.op("Mul", [previous, theta], hint)], hint)
    if arith.voltage_overflow == "wrap":
        v = _limit(w, v, "wrap", arith.voltage_limit + 1, hint)
    else:
        v = _limit(w, v, "saturate", arith.voltage_limit, hint)
    spikes = w.op("Greater", [v, theta], hint)
    state.u = u
    if a.reset == "zero":
        state.v = w.op("Where", [spikes, w.const("i0", 0, np.int64), v], hint)
    elif a.reset == "subtract":
        state.v = w.op("Where", [spikes, w.op("Sub", [v, theta], hint), v], hint)
    else:  # subtract-next (applied at the next step) and none
        state.v = v
    return w.op("Cast", [spikes], hint, to=TensorProto.DOUBLE)


def _sum(w: _Writer, names: Sequence[str], hint: str) -> str:
    return names[0] if len(names) == 1 else w.op("Sum", list(names), hint)


def export_network_onnx(graph: Graph, time_steps: int, *, record: bool = False) -> onnx.ModelProto:
    """The chip partition of the network-stage ``graph`` unrolled over ``time_steps`` steps
    (see the module docstring); with ``record`` every population and probe is an output too.

    Raises:
        UnsupportedOpError IX816: not a network-stage graph, or a host op inside the chip.
    """
    if graph.stage != "network":
        raise error(
            "IX816",
            f"@{graph.name} is a {graph.stage}-stage graph; give the network IR",
            node=graph.name,
        )
    if time_steps < 1:
        raise error("CF201", f"time_steps must be >= 1, got {time_steps}", node="time_steps")
    inputs, outputs, inner = host_boundary(graph)
    chip = [n for n in graph.nodes if n.op in NETWORK_OPS or n in inner]
    recorded = list(outputs)
    if record:
        recorded += [n.output for n in chip if n.op != "projection" and n.output not in recorded]
    w = _Writer()
    names = {v: _safe(v.name) for v in [*inputs, *recorded]}
    per_step: dict[Value, list[str]] = {v: [] for v in recorded}
    currents: dict[Node, list[str]] = {n: [] for n in chip if n.op == "projection"}
    states: dict[Node, _PopulationState] = {n: _PopulationState() for n in chip}
    for t in range(time_steps):
        env: dict[Value, str] = {}
        for value in inputs:
            env[value] = w.op(
                "Gather", [names[value], w.const("t", t, np.int64)], f"t{t}/{names[value]}", axis=0
            )
        for node in chip:
            hint = f"t{t}/{_safe(node.name)}"
            a = node.attrs
            if node.op not in NETWORK_OPS:
                env[node.output] = _host_op(w, node, env[node.inputs[0]], hint)
            elif node.op == "projection":
                currents[node].append(_projection(w, a, env[node.inputs[0]], node.inputs[0], node))
                now = currents[node][-1]
                env[node.output] = (
                    currents[node][t - a.delay] if t >= a.delay else w.op("Sub", [now, now], hint)
                )
            elif node.op == "current_sum":
                env[node.output] = _sum(w, [env[v] for v in node.inputs], hint)
            elif t < a.start:
                first = env[node.inputs[0]]
                env[node.output] = w.op("Sub", [first, first], hint)
            elif a.kind in ("gated", "relay"):
                values = node.inputs if a.kind == "relay" else node.inputs[:-1]
                y = _sum(w, [env[v] for v in values], hint)
                if a.bias_mant is not None:
                    y = w.op("Add", [y, w.const(f"{hint}.bias", a.bias_mant)], hint)
                if a.kind == "gated":
                    y = w.op("Mul", [y, env[node.inputs[-1]]], hint)
                env[node.output] = y
            else:
                current = _sum(w, [env[v] for v in node.inputs], hint)
                env[node.output] = _lif(w, a, current, states[node], hint)
            if node.output in per_step:
                per_step[node.output].append(env[node.output])
    out_names = []
    for value in recorded:
        stacked = [
            w.op("Unsqueeze", [n, w.const("ax0", [0], np.int64)], "stack") for n in per_step[value]
        ]
        final = w.op("Concat", stacked, "out", axis=0) if len(stacked) > 1 else stacked[0]
        w.nodes.append(
            helper.make_node("Identity", [final], [names[value]], name=f"out/{names[value]}")
        )
        out_names.append(value)
    onnx_graph = helper.make_graph(
        w.nodes,
        _safe(graph.name),
        [_info(names[v], v, time_steps) for v in inputs],
        [_info(names[v], v, time_steps) for v in out_names],
        w.inits,
    )
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.producer_name = "snncompile"
    for key, text in (
        ("snncompile.kind", "chip-network"),
        ("snncompile.time_steps", str(time_steps)),
        ("snncompile.graph", graph.name),
    ):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, text
    return model


def _info(name: str, value: Value, steps: int) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.DOUBLE, [steps, "B", *value.type.shape])


def _safe(name: str) -> str:
    return name.replace("%", "").replace("@", "")


def run_network_onnx(
    model: onnx.ModelProto, inputs: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Run ``model`` in onnxruntime (CPU) on ``[T, B, *shape]`` float64 inputs by value name."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    feeds = {_safe(k): np.ascontiguousarray(v, dtype=np.float64) for k, v in inputs.items()}
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


@dataclass(frozen=True)
class OnnxNetworkTarget:
    """``--target onnx-network``: the pipelined chip network as a standard ONNX model."""

    name: str = "onnx-network"
    limits: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def pipeline(self, config: CompileConfig) -> list[Pass]:
        from snncompile.targets.sim.program import network_passes

        return network_passes(pipelined=True)

    def emit(
        self, graph: Graph, config: CompileConfig, ctx: PassContext, output: Path | None
    ) -> Emitted:
        if output is None:
            raise error(
                "CF201",
                "--target onnx-network writes a binary file: give -o FILE.onnx",
                node="output",
            )
        steps = config.time_steps or 4
        depth = int(ctx.reports.get("pipeline-delays", {}).get("depth", 0))
        model = export_network_onnx(graph, steps + depth)
        onnx.save_model(model, str(output))
        inputs = ", ".join(i.name for i in model.graph.input)
        return Emitted(
            f"chip network, {steps + depth} steps (T {steps} + depth {depth}), inputs {inputs}, "
            f"{len(model.graph.node)} ONNX nodes",
            files=(output,),
        )
