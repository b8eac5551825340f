"""The ``nir`` target: NIR-expressible tensor IR as a NIR 1.0 graph (``nir.write``).

NIR stores continuous-time ODEs; our neurons are discrete. The export fixes the discretisation
so that the discrete model is exactly ours (docs/nir.md): ``dt = 1`` (one step), forward Euler,
``tau_NIR = tau · dt`` and ``r = 1`` (``r = tau`` without ``decay_input``), ``v_leak = v_reset``;
the reset mode (``value`` or ``subtract``), the threshold comparison (``>=``) and the integrator
are written into the metadata of every neuron and of the graph. An ``add`` of two activations
becomes NIR's fan-in (both edges into a unit ``Scale`` junction). Ops NIR cannot express
(products of activations, max pooling, batch norm, layout changes other than a full flatten)
are refused with IX807, naming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import nir
import numpy as np

from snncompile.config import CompileConfig
from snncompile.diagnostics import error
from snncompile.ir.graph import Graph, Node, Value
from snncompile.passes.dead_code import DeadCode
from snncompile.passes.fold_batchnorm import FoldBatchNorm
from snncompile.passes.manager import Pass, PassContext
from snncompile.targets.base import Emitted

__all__ = ["DISCRETISATION", "NirTarget", "export_nir"]

#: The discretisation every exported neuron follows (also the graph's metadata).
DISCRETISATION: dict[str, Any] = {
    "snncompile.dt": 1.0,
    "snncompile.integrator": "forward-euler",
    "snncompile.threshold": ">=",
}
#: Ops that multiply two activations (attention): NIR has no primitive for them.
PRODUCTS = frozenset({"matmul", "mul"})


@dataclass(frozen=True)
class NirTarget:
    """Write the tensor IR as a NIR graph file, after folding batch norms into the convs and
    linears that feed them (NIR has no batch norm) and removing dead code."""

    name: str = "nir"
    limits: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def pipeline(self, config: CompileConfig) -> list[Pass]:
        return [FoldBatchNorm(), DeadCode()]

    def emit(
        self, graph: Graph, config: CompileConfig, ctx: PassContext, output: Path | None
    ) -> Emitted:
        if output is None:
            raise error(
                "CF201", "--target nir writes a binary file: give -o FILE.nir", node="output"
            )
        nir_graph = export_nir(graph)
        nir.write(str(output), nir_graph)
        return Emitted(f"{len(nir_graph.nodes)} NIR nodes", files=(output,))


def _refuse(graph: Graph) -> None:
    problems = [n for n in graph.nodes if n.op not in _CONVERTERS]
    if not problems:
        return
    products = [n for n in problems if n.op in PRODUCTS]
    others = [n for n in problems if n.op not in PRODUCTS]
    parts = []
    if products:
        named = ", ".join(n.describe() for n in products)
        parts.append(f"products of two activations (attention) have no NIR primitive: {named}")
    if others:
        counts: dict[str, int] = {}
        for node in others:
            counts[node.op] = counts.get(node.op, 0) + 1
        listed = ", ".join(f"{op} x{count}" for op, count in counts.items())
        parts.append(f"ops with no NIR form: {listed} (first: {others[0].describe()})")
    raise error("IX807", "; ".join(parts), node=(products or others)[0].describe())


def _full(value: Value, number: float) -> np.ndarray:
    return np.full(value.type.shape, number, dtype=np.float64)


def _lif(node: Node) -> nir.NIRNode:
    a = node.attrs
    dt = float(DISCRETISATION["snncompile.dt"])
    x = node.inputs[0]
    v_reset = 0.0 if a.v_reset is None else a.v_reset
    leak = a.decay if a.decay is not None else 1.0 / a.tau
    tau = dt * a.tau if a.decay is None else dt / a.decay
    r = 1.0 if a.decay_input else 1.0 / leak
    metadata = {
        **DISCRETISATION,
        "snncompile.reset": "subtract" if a.v_reset is None else "value",
        "snncompile.decay_input": int(a.decay_input),
        "snncompile.decay": -1.0 if a.decay is None else float(a.decay),
        "snncompile.tau": float(a.tau),
    }
    return nir.LIF(
        tau=_full(x, tau),
        r=_full(x, r),
        v_leak=_full(x, v_reset),
        v_threshold=_full(x, a.v_threshold),
        v_reset=_full(x, v_reset),
        metadata=metadata,
    )


def _conv(node: Node) -> nir.NIRNode:
    a = node.attrs
    bias = a.bias if a.bias is not None else np.zeros(a.weight.shape[0], a.weight.dtype)
    return nir.Conv2d(
        input_shape=tuple(node.inputs[0].type.shape[1:]),
        weight=np.array(a.weight),
        stride=tuple(a.stride),
        padding=tuple(a.padding),
        dilation=tuple(a.dilation),
        groups=a.groups,
        bias=np.array(bias),
    )


def _linear(node: Node) -> nir.NIRNode:
    a = node.attrs
    if node.inputs[0].type.rank != 1:
        raise error(
            "IX807",
            f"linear over a [{node.inputs[0].type.shape}] input (tokens) has no NIR form; "
            "NIR's Affine takes vectors",
            node=node.describe(),
        )
    if a.bias is None:
        return nir.Linear(weight=np.array(a.weight))
    return nir.Affine(weight=np.array(a.weight), bias=np.array(a.bias))


def _scale(node: Node) -> nir.NIRNode:
    value = node.attrs.factor if node.op == "scale" else node.attrs.value
    shape = node.inputs[0].type.shape
    return nir.Scale(scale=np.array(np.broadcast_to(value, shape), dtype=np.float64))


def _add(node: Node) -> nir.NIRNode:
    junction = nir.Scale(scale=np.ones(node.output.type.shape))
    junction.metadata = {"snncompile.op": "add"}
    return junction


def _reshape(node: Node) -> nir.NIRNode:
    shape = node.inputs[0].type.shape
    if node.attrs.shape != (int(np.prod(shape)),):
        raise error(
            "IX807",
            f"reshape {shape} -> {node.attrs.shape} has no NIR form (only a full flatten)",
            node=node.describe(),
        )
    return nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1)


def _avgpool(node: Node) -> nir.NIRNode:
    a = node.attrs
    return nir.AvgPool2d(
        kernel_size=np.array(a.kernel_size), stride=np.array(a.stride), padding=np.array(a.padding)
    )


_CONVERTERS = {
    "lif": _lif,
    "conv2d": _conv,
    "linear": _linear,
    "scale": _scale,
    "mul_const": _scale,
    "add": _add,
    "reshape": _reshape,
    "avgpool2d": _avgpool,
}


def export_nir(graph: Graph) -> nir.NIRGraph:
    """``graph`` as a type-checked ``nir.NIRGraph`` (IX807 for what NIR cannot express)."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise error(
            "IX807",
            f"@{graph.name} has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; "
            "the NIR export takes one of each",
            node=graph.name,
        )
    _refuse(graph)
    x, y = graph.inputs[0], graph.outputs[0]
    nodes: dict[str, nir.NIRNode] = {
        "input": nir.Input(input_type={"input": np.array(x.type.shape)}),
        "output": nir.Output(output_type={"output": np.array(y.type.shape)}),
    }
    names: dict[Value, str] = {x: "input"}
    edges: list[tuple[str, str]] = []
    for node in graph.nodes:
        name = node.name
        nodes[name] = _CONVERTERS[node.op](node)
        edges += [(names[v], name) for v in node.inputs]
        names[node.output] = name
    edges.append((names[y], "output"))
    metadata = {**DISCRETISATION, "snncompile.graph": graph.name, "snncompile.dtype": x.type.dtype}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)
