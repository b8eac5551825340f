"""The shared driver for local rewrites (ARCHITECTURE convention 5).

A pattern looks at one node and, when it applies, edits the graph through the
:class:`Rewriter` it is given: create nodes before the matched one, redirect uses of a value,
erase nodes. The rewriter records every edit, so patterns never return a "changed" flag.

The driver visits nodes from a worklist (initially every node, in order). After a pattern
changed something, the nodes it created and the users of redirected values are visited again.
Nodes whose results have become unused are erased. The total number of rewrites is capped; a
pattern that keeps matching its own output raises PM302 naming the pass and the pattern.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol

from snncompile.diagnostics import error
from snncompile.ir.graph import Graph, GraphBuilder, Node, SourceLoc, Value

__all__ = ["RewritePattern", "Rewriter", "apply_patterns"]


class RewritePattern(Protocol):
    """A local rewrite: inspect ``node`` and, if it matches, edit through ``rewriter``."""

    name: str

    def apply(self, node: Node, rewriter: Rewriter) -> None: ...


class Rewriter:
    """Edits one graph in place and remembers what changed. Only the driver creates it."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._namer: GraphBuilder | None = None  # built on the first insertion: most pattern
        # applications match nothing, and collecting every name is O(values)
        self.changed = False
        self.created: list[Node] = []
        self.touched: list[Node] = []
        self.replaced: list[Value] = []

    def insert_before(
        self,
        anchor: Node,
        op: str,
        inputs: Sequence[Value],
        attrs: Any,
        *,
        name: str | None = None,
        loc: SourceLoc | None = None,
    ) -> Value:
        """Create a one-result node right before ``anchor`` (type inferred) and return it."""
        from snncompile.ir.ops import get_op

        types = get_op(op).infer([v.type for v in inputs], attrs)
        if self._namer is None:
            g = self.graph
            self._namer = GraphBuilder(g.name, g.stage, taken=(v.name for v in g.values()))
        outputs = [Value(self._namer.fresh_name(name or op), t) for t in types]
        node = Node(op, inputs, attrs, outputs, loc if loc is not None else anchor.loc)
        self.graph.nodes.insert(self.graph.nodes.index(anchor), node)
        self.created.append(node)
        self.changed = True
        return node.output

    def insert_after(
        self,
        anchor: Node,
        op: str,
        inputs: Sequence[Value],
        attrs: Any,
        *,
        name: str | None = None,
        loc: SourceLoc | None = None,
    ) -> Value:
        """Create a one-result node right after ``anchor`` (type inferred) and return it."""
        position = self.graph.nodes.index(anchor) + 1
        if position < len(self.graph.nodes):
            return self.insert_before(
                self.graph.nodes[position], op, inputs, attrs, name=name, loc=loc or anchor.loc
            )
        value = self.insert_before(anchor, op, inputs, attrs, name=name, loc=loc or anchor.loc)
        node = self.graph.nodes.pop(self.graph.nodes.index(anchor) - 1)
        self.graph.nodes.append(node)
        return value

    def replace_input(self, node: Node, index: int, value: Value) -> None:
        """Make ``node`` read ``value`` as its input ``index``."""
        inputs = list(node.inputs)
        self.replaced.append(inputs[index])  # its producer may now be dead
        inputs[index] = value
        node.inputs = tuple(inputs)
        self.touched.append(node)
        self.changed = True

    def update_attrs(self, node: Node, attrs: Any) -> None:
        """Give ``node`` new attributes; its result types must stay what they were."""
        from snncompile.ir.ops import get_op

        types = get_op(node.op).infer([v.type for v in node.inputs], attrs)
        for value, new_type in zip(node.outputs, types, strict=True):
            if (value.type.shape, value.type.dtype) != (new_type.shape, new_type.dtype):
                raise ValueError(f"new attributes change the type of %{value.name}")
        node.attrs = attrs
        self.touched.append(node)
        self.changed = True

    def replace_uses(self, old: Value, new: Value, *, skip: Node | None = None) -> None:
        """Every reader of ``old`` but ``skip`` (and the graph outputs) reads ``new`` instead."""
        if old is new:
            return
        for node in self.graph.nodes:
            if node is not skip and old in node.inputs:
                node.inputs = tuple(new if v is old else v for v in node.inputs)
                self.touched.append(node)
        self.replaced.append(old)
        self.graph.outputs = [new if v is old else v for v in self.graph.outputs]
        self.changed = True

    def erase(self, node: Node) -> None:
        """Remove ``node``; its results must be unused."""
        live = {v for n in self.graph.nodes if n is not node for v in n.inputs}
        live |= set(self.graph.outputs)
        used = [v.name for v in node.outputs if v in live]
        assert not used, f"cannot erase {node.describe()}: {used} still used"
        self.graph.nodes.remove(node)
        self.changed = True


def _erase_dead(graph: Graph, candidates: Sequence[Node]) -> None:
    """Erase candidates (and then their producers) whose results nobody reads."""
    readers: dict[Value, int] = {}
    for node in graph.nodes:
        for value in node.inputs:
            readers[value] = readers.get(value, 0) + 1
    for value in graph.outputs:
        readers[value] = readers.get(value, 0) + 1
    queue = deque(candidates)
    erased: set[Node] = set()
    while queue:
        node = queue.popleft()
        if node in erased or any(readers.get(v, 0) for v in node.outputs):
            continue
        erased.add(node)
        for value in node.inputs:
            readers[value] -= 1
            if value.producer is not None and readers[value] == 0:
                queue.append(value.producer)
    if erased:
        graph.nodes = [n for n in graph.nodes if n not in erased]


def apply_patterns(
    graph: Graph,
    patterns: Sequence[RewritePattern],
    *,
    pass_name: str,
    max_rewrites: int | None = None,
) -> Graph:
    """Apply ``patterns`` to a copy of ``graph`` until none matches; return the copy.

    ``max_rewrites`` defaults to ``10 * len(graph.nodes) + 100``.
    """
    result = graph.copy()
    cap = max_rewrites if max_rewrites is not None else 10 * len(result.nodes) + 100
    worklist = deque(result.nodes)
    queued = set(worklist)
    rewrites = 0
    while worklist:
        node = worklist.popleft()
        queued.discard(node)
        if node not in result.nodes:
            continue
        for pattern in patterns:
            rewriter = Rewriter(result)
            pattern.apply(node, rewriter)
            if not rewriter.changed:
                continue
            rewrites += 1
            if rewrites > cap:
                raise error(
                    "PM302",
                    f"pass {pass_name}: pattern {pattern.name} still matching after {cap} rewrites",
                    node=node.describe(),
                )
            producers = [v.producer for v in rewriter.replaced if v.producer is not None]
            _erase_dead(result, [node, *producers])
            for new in [*rewriter.created, *rewriter.touched]:
                if new not in queued and new in result.nodes:
                    worklist.append(new)
                    queued.add(new)
            break
    return result
