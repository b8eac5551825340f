"""The ``nir`` target: NIR-expressible tensor IR as a NIR 1.0 graph (``nir.write``).

NIR stores continuous-time ODEs; our neurons are discrete. The export fixes the discretisation
so that the discrete model is exactly ours (docs/nir.md): ``dt = 1`` (one step), forward Euler,
``tau_NIR = tau · dt`` and ``r = 1`` (``r = tau`` without ``decay_input``), ``v_leak = v_reset``;
the reset mode (``value`` or ``subtract``), the threshold comparison (``>=``) and the integrator
are written into the metadata of every neuron and of the graph. An ``add`` of two activations
becomes NIR's fan-in (both edges into a unit ``Scale`` junction). Ops NIR cannot express
(products of activations, max pooling, batch norm, layout changes other than a full flatten)
are refused with IX807, naming them, unless ``extensions`` is set (``--nir-extensions``): they
are then written as ``snncompile`` extension subgraphs (docs/nir.md). A ``recurrent`` node
(a neuron's spikes of the previous step) is written back as the cycle it came from: its readers
take an edge from the neuron's node (plain NIR, type-checked; the import cuts the cycle at the
edge that leaves the neuron, so the round trip is exact).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import nir
import numpy as np

from snncompile import __version__
from snncompile.config import CompileConfig
from snncompile.diagnostics import SnnCompileError, error
from snncompile.fileio import atomic_file
from snncompile.frontend.nir import EXTENSION_IR, EXTENSION_OP
from snncompile.ir.graph import Graph, GraphBuilder, Node, Value
from snncompile.ir.ops import Trait, ops_with
from snncompile.ir.printer import print_graph
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
PRODUCTS = ops_with(Trait.PRODUCT)


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
        nir_graph = export_nir(graph, extensions=config.nir_extensions)
        with atomic_file(output) as tmp:
            nir.write(str(tmp), nir_graph)
        return Emitted(f"{len(nir_graph.nodes)} NIR nodes", files=(output,))


def _full(value: Value, number: float) -> np.ndarray:
    return np.full(value.type.shape, number, dtype=np.float64)


def _lif(node: Node) -> nir.NIRNode:
    a = node.attrs
    _check_defaults(node, _LIF_FIELDS)
    dt = float(DISCRETISATION["snncompile.dt"])
    x = node.inputs[0]
    v_reset = 0.0 if a.v_reset is None else a.v_reset
    thresholds = np.broadcast_to(a.thresholds(np.dtype(np.float64)), x.type.shape).astype(
        np.float64
    )
    leak = a.decay if a.decay is not None else 1.0 / a.tau
    tau = dt * a.tau if a.decay is None else dt / a.decay
    r = 1.0 if a.decay_input else 1.0 / leak
    metadata = {
        **DISCRETISATION,
        "snncompile.reset": "subtract" if a.v_reset is None else "value",
        "snncompile.decay_input": int(a.decay_input),
        "snncompile.decay": -1.0 if a.decay is None else float(a.decay),
        "snncompile.tau": float(a.tau),
        "snncompile.v_threshold": float(a.v_threshold),
    }
    if math.isinf(a.tau) and a.decay is None:  # no leak: an integrator (an imported IF)
        if a.decay_input:
            raise error(
                "IX807",
                f"{node.describe()} has tau = inf with decay_input: it ignores its input",
                node=node.describe(),
            )
        return nir.IF(
            r=_full(x, 1.0), v_threshold=thresholds, v_reset=_full(x, v_reset), metadata=metadata
        )
    return nir.LIF(
        tau=_full(x, tau),
        r=_full(x, r),
        v_leak=_full(x, v_reset),
        v_threshold=thresholds,
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


#: The ``lif`` attributes the export understands; any other (e.g. a reset mode added later)
#: must keep its default or the neuron is refused.
_LIF_FIELDS = frozenset(
    {"tau", "v_threshold", "v_reset", "decay_input", "decay", "v_threshold_map"}
)


def _check_defaults(node: Node, known: frozenset[str]) -> None:
    """IX807 when ``node`` sets an attribute the export does not know to a non-default."""
    for f in dataclasses.fields(node.attrs):
        if f.name in known:
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        value = getattr(node.attrs, f.name)
        if not (value is default or value == default):
            raise error(
                "IX807",
                f"{node.describe()} has {f.name} = {value!r}; the NIR export writes only the "
                f"default ({default!r})",
                node=node.describe(),
            )


def _extension(node: Node) -> nir.NIRGraph:
    """``node`` as a namespaced extension subgraph: one ``Input`` per operand (``in0``,
    ``in1``, reached by the dotted edges ``NODE.in0``), an ``Output``, and the op with its
    attributes as a one-node text IR graph in the metadata (docs/nir.md)."""
    b = GraphBuilder(f"ext_{node.name}")
    operands = [b.input(f"in{i}", v.type) for i, v in enumerate(node.inputs)]
    y = b.add_node(node.op, operands, node.attrs, name=node.name)
    text = print_graph(b.finish([y]))
    nodes: dict[str, nir.NIRNode] = {
        f"in{i}": nir.Input(input_type={"input": np.array(v.type.shape)})
        for i, v in enumerate(node.inputs)
    }
    nodes["out"] = nir.Output(output_type={"output": np.array(node.output.type.shape)})
    metadata = {EXTENSION_OP: node.op, EXTENSION_IR: text, "snncompile.extension": 1}
    return nir.NIRGraph(nodes=nodes, edges=[], metadata=metadata, type_check=False)


def _describe_refusals(failures: list[tuple[Node, SnnCompileError | None]]) -> str:
    products = [n for n, _ in failures if n.op in PRODUCTS]
    others = [(n, e) for n, e in failures if n.op not in PRODUCTS]
    parts = []
    if products:
        named = ", ".join(n.describe() for n in products)
        parts.append(f"products of two activations (attention) have no NIR primitive: {named}")
    unknown = [n for n, e in others if e is None]
    if unknown:
        counts: dict[str, int] = {}
        for node in unknown:
            counts[node.op] = counts.get(node.op, 0) + 1
        listed = ", ".join(f"{op} x{count}" for op, count in counts.items())
        parts.append(f"ops with no NIR form: {listed} (first: {unknown[0].describe()})")
    parts += [e.message for _, e in others if e is not None][:3]
    return "; ".join(parts)


def _cycle_readers(graph: Graph) -> dict[str, set[str]]:
    """For each recurrent node, its readers from which the source neuron is reachable: for
    them the edge back from the neuron closes a cycle, which says "previous step" in plain NIR
    (the import cuts it there). Other readers get an explicit one-step NIR ``Delay``."""
    users = graph.users()
    result: dict[str, set[str]] = {}
    for node in graph.nodes:
        if node.op != "recurrent":
            continue
        result[node.name] = set()
        for reader in users.get(node.output, []):
            seen: set[str] = set()
            todo = [reader]
            while todo:
                current = todo.pop()
                if current.name == node.attrs.source:
                    result[node.name].add(reader.name)
                    break
                if current.name not in seen:
                    seen.add(current.name)
                    todo += [u for v in current.outputs for u in users.get(v, [])]
    return result


def export_nir(graph: Graph, *, extensions: bool = False) -> nir.NIRGraph:
    """``graph`` as a ``nir.NIRGraph`` (IX807 for what NIR cannot express).

    With ``extensions`` every op NIR cannot express is written as an ``snncompile`` extension
    subgraph instead (the graph is then not type-checked by ``nir``: its dotted edges are not
    in NIR 1.0's checker; ``nir.read(path, type_check=False)`` reads it, and tools that do not
    know the extension fail on it rather than running something else).
    """
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise error(
            "IX807",
            f"@{graph.name} has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; "
            "the NIR export takes one of each",
            node=graph.name,
        )
    converted: dict[Node, nir.NIRNode] = {}
    failures: list[tuple[Node, SnnCompileError | None]] = []
    for node in graph.nodes:
        if node.op == "recurrent":
            continue  # an edge back from its source neuron (below)
        converter = _CONVERTERS.get(node.op)
        if converter is None:
            failures.append((node, None))
            continue
        try:
            converted[node] = converter(node)
        except SnnCompileError as exc:
            if exc.code != "IX807":
                raise
            failures.append((node, exc))
    if failures and not extensions:
        first = failures[0][0]
        products = [n for n, _ in failures if n.op in PRODUCTS]
        raise error(
            "IX807",
            _describe_refusals(failures)
            + " (--nir-extensions writes them as snncompile extension nodes)",
            node=(products[0] if products else first).describe(),
        )
    x, y = graph.inputs[0], graph.outputs[0]
    nodes: dict[str, nir.NIRNode] = {
        "input": nir.Input(input_type={"input": np.array(x.type.shape)}),
        "output": nir.Output(output_type={"output": np.array(y.type.shape)}),
    }
    names: dict[Value, str] = {x: "input"}
    edges: list[tuple[str, str]] = []
    cycles = _cycle_readers(graph)
    users = graph.users()
    delayed = {
        n.name
        for n in graph.nodes
        if n.op == "recurrent" and any(u.name not in cycles[n.name] for u in users[n.output])
    }
    for node in graph.nodes:
        name = node.name
        if node.op == "recurrent":
            names[node.output] = name
            if node.name in delayed:  # an explicit one-step Delay for readers off the cycle
                nodes[name] = nir.Delay(delay=np.full(node.output.type.shape, 1.0))
                edges.append((node.attrs.source, name))
            continue

        def source(value: Value, reader: str = name) -> str:
            producer = value.producer
            if producer is not None and reader in cycles.get(producer.name, ()):
                return str(producer.attrs.source)  # the edge back closes the cycle
            return names[value]

        if node in converted:
            nodes[name] = converted[node]
            edges += [(source(v), name) for v in node.inputs]
        else:
            nodes[name] = _extension(node)
            edges += [(source(v), f"{name}.in{i}") for i, v in enumerate(node.inputs)]
        names[node.output] = name
    edges.append((names[y], "output"))
    metadata: dict[str, Any] = {
        **DISCRETISATION,
        "snncompile.writer": f"snncompile {__version__}",
        "snncompile.nir_version": nir.version,
        "snncompile.graph": graph.name,
        "snncompile.dtype": x.type.dtype,
    }
    if failures:
        metadata["snncompile.extensions"] = ",".join(sorted({n.op for n, _ in failures}))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=not failures)
