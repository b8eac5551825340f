"""NIR import: a NIR graph (``nir.read``) to the tensor IR (one time step).

NIR neurons are continuous-time ODEs, so a discretisation must be chosen. A graph written by the
``nir`` target records it (``snncompile.dt``, forward Euler, reset mode; docs/nir.md) and comes
back exactly. For other graphs the caller supplies ``dt`` and ``reset`` (``value`` or
``subtract``); a graph whose neurons record neither is refused (IX809), since the same file means
different networks under different choices.

Forward Euler with step ``dt``: ``v += dt/tau · (v_leak - v + r · I)``, which is the ``lif`` op
with ``decay = dt/tau`` on input ``r · I`` when ``v_leak = v_reset``. Fan-in (several edges into
one node) is a sum. Node types read: Input, Output, Conv2d, Affine, Linear, Scale, Flatten,
AvgPool2d, SumPool2d, LIF; anything else is IX808.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nir
import numpy as np

from snncompile.diagnostics import SnnCompileError, error
from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, GraphBuilder, Value
from snncompile.ir.ops.base import ShapeError
from snncompile.ir.ops.tensor import (
    ConstAttrs,
    Conv2dAttrs,
    LifAttrs,
    LinearAttrs,
    Pool2dAttrs,
    ReshapeAttrs,
    ScaleAttrs,
)
from snncompile.ir.types import TensorType

__all__ = ["import_nir", "read_nir"]

RESETS = ("value", "subtract")


def read_nir(path: str | Path, *, dt: float | None = None, reset: str | None = None) -> Graph:
    """Read a NIR file (IX808 if it is not one) and import it (see :func:`import_nir`)."""
    try:
        graph = nir.read(str(path))
    except Exception as exc:  # h5py and nir raise many kinds for a bad file
        raise error("IX808", f"cannot read {path} as NIR: {exc}", node=str(path)) from exc
    if not isinstance(graph, nir.NIRGraph):
        raise error(
            "IX808", f"{path} holds a {type(graph).__name__}, not a NIRGraph", node=str(path)
        )
    return import_nir(graph, dt=dt, reset=reset, name=Path(path).stem)


def import_nir(
    graph: nir.NIRGraph,
    *,
    dt: float | None = None,
    reset: str | None = None,
    name: str = "nir",
) -> Graph:
    """The tensor IR of ``graph``; ``dt`` and ``reset`` override what the file records."""
    if reset is not None and reset not in RESETS:
        raise error("CF201", f"reset must be one of {RESETS}, got {reset!r}", node="reset")
    metadata = dict(graph.metadata or {})
    builder = GraphBuilder(str(metadata.get("snncompile.graph", name)))
    order = _order(graph)
    inputs = [n for n in order if isinstance(graph.nodes[n], nir.Input)]
    outputs = [n for n in order if isinstance(graph.nodes[n], nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise error(
            "IX808",
            f"the graph has {len(inputs)} Input and {len(outputs)} Output nodes; one of each "
            "is needed",
            node=builder.graph.name,
        )
    preds: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for src, dst in graph.edges:
        preds[dst].append(src)
    env: dict[str, Value] = {}
    options = {"dt": dt, "reset": reset, "graph": metadata}
    for node_name in order:
        node = graph.nodes[node_name]
        if isinstance(node, nir.Input):
            shape = tuple(int(d) for d in np.asarray(node.input_type["input"]).ravel())
            dtype = str(metadata.get("snncompile.dtype", "f32"))
            env[node_name] = builder.input("x", TensorType(shape, dtype))
            continue
        if not preds[node_name]:
            raise error("IX808", f"node {node_name} has no input edge", node=node_name)
        x = env[preds[node_name][0]]
        for other in preds[node_name][1:]:  # fan-in is a sum
            x = builder.add_node("add", [x, env[other]], NoAttrs(), name=f"{node_name}_in")
        if isinstance(node, nir.Output):
            env[node_name] = x
            continue
        try:
            env[node_name] = _translate(builder, node_name, node, x, options)
        except ShapeError as exc:
            raise error("IX808", f"node {node_name}: {exc}", node=node_name) from exc
        except SnnCompileError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise error("IX808", f"node {node_name}: {exc}", node=node_name) from exc
    return builder.finish([env[outputs[0]]])


def _order(graph: nir.NIRGraph) -> list[str]:
    """Node names with every node after its predecessors (IX808 for recurrence)."""
    for src, dst in graph.edges:
        for end in (src, dst):
            if end not in graph.nodes:
                raise error("IX808", f"edge {src} -> {dst} names a missing node {end}", node=end)
    indegree = {n: 0 for n in graph.nodes}
    for _, dst in graph.edges:
        indegree[dst] += 1
    ready = [n for n in graph.nodes if indegree[n] == 0]
    order: list[str] = []
    while ready:
        current = ready.pop(0)
        order.append(current)
        for src, dst in graph.edges:
            if src == current:
                indegree[dst] -= 1
                if indegree[dst] == 0:
                    ready.append(dst)
    if len(order) != len(graph.nodes):
        stuck = sorted(n for n in graph.nodes if n not in order)
        raise error(
            "IX808",
            f"recurrent edges (a cycle through {', '.join(stuck[:5])}) are not supported",
            node=stuck[0],
        )
    return order


def _uniform(name: str, field: str, array: Any) -> float:
    values = np.asarray(array, dtype=np.float64).ravel()
    if values.size == 0 or not np.all(values == values[0]):
        raise error(
            "IX808",
            f"{field} of neuron {name} varies across neurons; the lif op takes one value",
            node=name,
        )
    return float(values[0])


def _lif(node_name: str, node: nir.LIF, options: Mapping[str, Any]) -> tuple[LifAttrs, float]:
    """The ``lif`` attributes and the input gain ``r`` (1 when nothing is inserted)."""
    meta = {**options["graph"], **(node.metadata or {})}
    dt = options["dt"] if options["dt"] is not None else meta.get("snncompile.dt")
    reset = options["reset"] or meta.get("snncompile.reset")
    if dt is None or reset is None:
        raise error(
            "IX809",
            f"neuron {node_name} records no discretisation (dt={dt}, reset={reset}); the same "
            "NIR file means different networks for different choices",
            node=node_name,
        )
    if reset not in RESETS:
        raise error("IX809", f"neuron {node_name} has unknown reset {reset!r}", node=node_name)
    tau = _uniform(node_name, "tau", node.tau)
    r = _uniform(node_name, "r", node.r)
    v_leak = _uniform(node_name, "v_leak", node.v_leak)
    v_reset = _uniform(node_name, "v_reset", node.v_reset) if node.v_reset is not None else 0.0
    if v_leak != v_reset:
        raise error(
            "IX808",
            f"neuron {node_name} leaks to {v_leak} but resets to {v_reset}; the lif op needs both "
            "equal",
            node=node_name,
        )
    threshold = _uniform(node_name, "v_threshold", node.v_threshold)
    soft = reset == "subtract"
    if "snncompile.decay_input" in meta and "snncompile.tau" in meta:  # our own export: exact
        decay = float(meta["snncompile.decay"])
        attrs = LifAttrs(
            tau=float(meta["snncompile.tau"]),
            v_threshold=threshold,
            v_reset=None if soft else v_reset,
            decay_input=bool(meta["snncompile.decay_input"]),
            decay=None if decay < 0 else decay,
        )
        return attrs, 1.0
    decay = float(dt) / tau
    attrs = LifAttrs(
        tau=tau / float(dt), v_threshold=threshold, v_reset=None if soft else v_reset, decay=decay
    )
    return attrs, r


def _pads(padding: Any) -> tuple[int, int]:
    if isinstance(padding, str):
        raise ShapeError(f"padding {padding!r} is not supported; give numbers")
    values = np.broadcast_to(np.asarray(padding, dtype=np.int64).ravel(), (2,))
    return int(values[0]), int(values[1])


def _pair(value: Any) -> tuple[int, int]:
    values = np.broadcast_to(np.asarray(value, dtype=np.int64).ravel(), (2,))
    return int(values[0]), int(values[1])


def _translate(
    b: GraphBuilder, name: str, node: nir.NIRNode, x: Value, options: Mapping[str, Any]
) -> Value:
    if isinstance(node, nir.LIF):
        attrs, r = _lif(name, node, options)
        if r != 1.0:
            x = b.add_node("scale", [x], ScaleAttrs(factor=r), name=f"{name}_r")
        return b.add_node("lif", [x], attrs, name=name)
    if isinstance(node, nir.Conv2d):
        conv = Conv2dAttrs(
            weight=np.asarray(node.weight),
            bias=np.asarray(node.bias),
            stride=_pair(node.stride),
            padding=_pads(node.padding),
            dilation=_pair(node.dilation),
            groups=int(node.groups),
        )
        return b.add_node("conv2d", [x], conv, name=name)
    if isinstance(node, nir.Affine):
        linear = LinearAttrs(weight=np.asarray(node.weight), bias=np.asarray(node.bias))
        return b.add_node("linear", [x], linear, name=name)
    if isinstance(node, nir.Linear):
        return b.add_node("linear", [x], LinearAttrs(np.asarray(node.weight), None), name=name)
    if isinstance(node, nir.Scale):
        scale = np.asarray(node.scale)
        if (node.metadata or {}).get("snncompile.op") == "add" and np.all(scale == 1):
            return x
        if scale.size and np.all(scale == scale.ravel()[0]):
            return b.add_node("scale", [x], ScaleAttrs(float(scale.ravel()[0])), name=name)
        return b.add_node("mul_const", [x], ConstAttrs(scale), name=name)
    if isinstance(node, nir.Flatten):
        shape = x.type.shape
        start = node.start_dim % len(shape)
        end = node.end_dim % len(shape)
        merged = int(np.prod(shape[start : end + 1]))
        new_shape = (*shape[:start], merged, *shape[end + 1 :])
        return b.add_node("reshape", [x], ReshapeAttrs(new_shape), name=name)
    if isinstance(node, (nir.AvgPool2d, nir.SumPool2d)):
        kernel = _pair(node.kernel_size)
        pool = Pool2dAttrs(kernel, _pair(node.stride), _pads(node.padding))
        y = b.add_node("avgpool2d", [x], pool, name=name)
        if isinstance(node, nir.SumPool2d):
            y = b.add_node(
                "scale", [y], ScaleAttrs(float(kernel[0] * kernel[1])), name=f"{name}_sum"
            )
        return y
    raise error(
        "IX808",
        f"NIR node {name} of type {type(node).__name__} has no tensor IR form (supported: Input, "
        "Output, Conv2d, Affine, Linear, Scale, Flatten, AvgPool2d, SumPool2d, LIF)",
        node=name,
    )
