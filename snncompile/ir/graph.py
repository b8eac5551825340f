"""The IR graph: values, nodes and graphs, shared by the tensor and the network level.

A :class:`Graph` is a list of :class:`Node` in topological order over SSA :class:`Value`s. Each
node has an op name (a key of the op registry), input values, a typed attribute dataclass (the
op's ``attrs`` class), output values and an optional source location. Weight arrays live in the
attributes as read-only numpy arrays, so copies of a graph share them.

Passes never mutate their input graph: they call :meth:`Graph.copy` (cheap: arrays are shared)
or build a new graph with :class:`GraphBuilder`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from snncompile.ir.types import TensorType

__all__ = ["Graph", "GraphBuilder", "Node", "SourceLoc", "Value", "freeze_array"]

#: The IR levels. A graph's stage selects the verifier spec that applies to it.
STAGES = ("tensor", "network")


def freeze_array(array: Any, dtype: str | None = None) -> np.ndarray:
    """Return ``array`` as a read-only, C-contiguous numpy array (shared, never copied twice)."""
    result = np.asarray(array, dtype=dtype, order="C")  # keeps 0-d arrays 0-d
    if result.flags.writeable:
        if result is array:
            result = result.copy()
        result.flags.writeable = False
    return result


@dataclass(frozen=True)
class SourceLoc:
    """Where a node came from in the user's model.

    Attributes:
        module: the module path in the source model (e.g. ``block.0.attn.q_conv``).
        line: the source line (``file.py:123``) of the call that produced the node.
    """

    module: str | None = None
    line: str | None = None

    @property
    def label(self) -> str | None:
        """The name reports show: the module path, or for an op of the model's own
        ``forward`` (module ``<model>``) that with its line, ``<model> file.py:123``, since
        several such ops share the module."""
        if self.module and self.module.startswith("<") and self.line:
            return f"{self.module} {self.line}"
        return self.module

    def __str__(self) -> str:
        parts = [p for p in (self.module, self.line) if p]
        return " @ ".join(parts) if parts else "<unknown>"


class Value:
    """An SSA value: a name, a type, and the node that produces it (None for graph inputs)."""

    __slots__ = ("name", "producer", "type")

    def __init__(self, name: str, type: TensorType, producer: Node | None = None) -> None:
        self.name = name
        self.type = type
        self.producer = producer

    def __repr__(self) -> str:
        return f"%{self.name}: {self.type}"


class Node:
    """One operation. Its name is the name of its first output (``%q`` in the text form)."""

    __slots__ = ("attrs", "inputs", "loc", "op", "outputs")

    def __init__(
        self,
        op: str,
        inputs: Sequence[Value],
        attrs: Any,
        outputs: Sequence[Value],
        loc: SourceLoc | None = None,
    ) -> None:
        self.op = op
        self.inputs: tuple[Value, ...] = tuple(inputs)
        self.attrs = attrs
        self.outputs: tuple[Value, ...] = tuple(outputs)
        self.loc = loc if loc is not None and (loc.module or loc.line) else None
        for value in self.outputs:
            value.producer = self

    @property
    def name(self) -> str:
        return self.outputs[0].name if self.outputs else f"<{self.op}>"

    @property
    def output(self) -> Value:
        """The single output of a one-result node."""
        assert len(self.outputs) == 1, f"{self.op} has {len(self.outputs)} outputs"
        return self.outputs[0]

    def describe(self) -> str:
        """``%name (op)`` plus the source module when known, for diagnostics."""
        where = f" from {self.loc.module}" if self.loc and self.loc.module else ""
        return f"%{self.name} ({self.op}){where}"

    def __repr__(self) -> str:
        return f"<Node {self.describe()}>"


class Graph:
    """A function of one time step: inputs, nodes in topological order, outputs.

    Attributes:
        name: the graph's name (the model name).
        stage: ``tensor`` or ``network``: which verifier spec applies.
        inputs: graph input values (per sample, per time step).
        nodes: the nodes, each after the producers of its inputs.
        outputs: the values the graph returns.
        once_per_inference: names of nodes the model computes once per inference, on values it
            has averaged over T (a classifier head after the mean over time). They commute with
            that mean, so the per-step graph computes the same averaged output; cost reports
            charge them once instead of T times. Printed as a ``once_per_inference`` line.
    """

    def __init__(
        self,
        name: str,
        stage: str = "tensor",
        inputs: Sequence[Value] = (),
        nodes: Sequence[Node] = (),
        outputs: Sequence[Value] = (),
        once_per_inference: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self.stage = stage
        self.once_per_inference = frozenset(once_per_inference)
        self.inputs: list[Value] = list(inputs)
        self.nodes: list[Node] = list(nodes)
        self.outputs: list[Value] = list(outputs)

    # --- queries ----------------------------------------------------------------------------
    def values(self) -> Iterator[Value]:
        """Every value: the inputs, then each node's outputs in order."""
        yield from self.inputs
        for node in self.nodes:
            yield from node.outputs

    def value(self, name: str) -> Value:
        """The value named ``name`` (KeyError if absent)."""
        for value in self.values():
            if value.name == name:
                return value
        raise KeyError(name)

    def node(self, name: str) -> Node:
        """The node whose first output is named ``name`` (KeyError if absent)."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def users(self) -> dict[Value, list[Node]]:
        """Map each value to the nodes that read it (graph outputs not included)."""
        table: dict[Value, list[Node]] = {v: [] for v in self.values()}
        for node in self.nodes:
            for value in node.inputs:
                table.setdefault(value, []).append(node)
        return table

    def has_single_reader(self, value: Value) -> bool:
        """True iff exactly one node reads ``value`` and it is not a graph output."""
        if value in self.outputs:
            return False
        return sum(value in node.inputs for node in self.nodes) == 1

    def op_counts(self) -> dict[str, int]:
        """How many nodes of each op the graph holds."""
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.op] = counts.get(node.op, 0) + 1
        return counts

    # --- copies -----------------------------------------------------------------------------
    def copy(self, *, stage: str | None = None) -> Graph:
        """A structural copy with fresh Value/Node objects; attribute arrays are shared."""
        mapping: dict[Value, Value] = {}

        def clone(value: Value) -> Value:
            new = Value(value.name, value.type)
            mapping[value] = new
            return new

        inputs = [clone(v) for v in self.inputs]
        nodes = []
        for node in self.nodes:
            new_inputs = [mapping[v] for v in node.inputs]
            new_outputs = [clone(v) for v in node.outputs]
            nodes.append(Node(node.op, new_inputs, node.attrs, new_outputs, node.loc))
        outputs = [mapping[v] for v in self.outputs]
        return Graph(
            self.name, stage or self.stage, inputs, nodes, outputs, self.once_per_inference
        )

    def __repr__(self) -> str:
        return f"<Graph @{self.name} stage={self.stage} nodes={len(self.nodes)}>"


class GraphBuilder:
    """Build a graph node by node, inferring result types through the op registry.

    Example::

        b = GraphBuilder("net")
        x = b.input("x", TensorType((1, 8, 8)))
        y = b.add_node("scale", [x], ScaleAttrs(factor=0.5))
        g = b.finish([y])
    """

    def __init__(self, name: str, stage: str = "tensor", *, taken: Iterable[str] = ()) -> None:
        self.graph = Graph(name, stage)
        self._taken: set[str] = set(taken)
        self._counter = itertools.count()

    def fresh_name(self, hint: str) -> str:
        """A value name not used yet, derived from ``hint``."""
        base = _sanitize(hint) or "v"
        name = base
        while name in self._taken:
            name = f"{base}_{next(self._counter)}"
        self._taken.add(name)
        return name

    def input(self, name: str, type: TensorType) -> Value:
        value = Value(self.fresh_name(name), type)
        self.graph.inputs.append(value)
        return value

    def add_node(
        self,
        op: str,
        inputs: Sequence[Value],
        attrs: Any,
        *,
        name: str | None = None,
        loc: SourceLoc | None = None,
        types: Sequence[TensorType] | None = None,
    ) -> Value:
        """Append a node; return its single output (see :meth:`add_node_multi`)."""
        outputs = self.add_node_multi(op, inputs, attrs, name=name, loc=loc, types=types)
        if len(outputs) != 1:
            raise ValueError(f"{op} has {len(outputs)} outputs; use add_node_multi")
        return outputs[0]

    def add_node_multi(
        self,
        op: str,
        inputs: Sequence[Value],
        attrs: Any,
        *,
        name: str | None = None,
        loc: SourceLoc | None = None,
        types: Sequence[TensorType] | None = None,
    ) -> tuple[Value, ...]:
        """Append a node with the result types the op's type rule infers (or ``types``)."""
        from snncompile.ir.ops import get_op

        if types is None:
            types = get_op(op).infer([v.type for v in inputs], attrs)
        base = name or op
        outputs = [
            Value(self.fresh_name(base if i == 0 else f"{base}_{i}"), t)
            for i, t in enumerate(types)
        ]
        self.graph.nodes.append(Node(op, inputs, attrs, outputs, loc))
        return tuple(outputs)

    def finish(self, outputs: Iterable[Value]) -> Graph:
        self.graph.outputs = list(outputs)
        return self.graph


def _sanitize(hint: str) -> str:
    return "".join(c if (c.isalnum() or c in "_.") else "_" for c in hint)


def replace_attrs(attrs: Any, **changes: Any) -> Any:
    """A copy of a frozen attrs dataclass with ``changes`` applied."""
    return dataclasses.replace(attrs, **changes)
