"""``dead-code``: remove nodes whose results no graph output depends on.

Equation: keep node n iff some graph output is reachable from a result of n. Neurons whose
spikes reach no output are removed too: they cannot change what the graph computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from snncompile.ir.graph import Graph, Node
from snncompile.passes.manager import PassContext

__all__ = ["DeadCode"]


@dataclass(frozen=True)
class DeadCode:
    """Drop every node that does not contribute to a graph output."""

    name: ClassVar[str] = "dead-code"
    requires: ClassVar[frozenset[str]] = frozenset()
    ensures: ClassVar[frozenset[str]] = frozenset({"no-dead-code"})

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        result = graph.copy()
        live: set[Node] = set()
        pending = [v.producer for v in result.outputs if v.producer is not None]
        while pending:
            node = pending.pop()
            if node in live:
                continue
            live.add(node)
            pending.extend(v.producer for v in node.inputs if v.producer is not None)
        removed = len(result.nodes) - len(live)
        result.nodes = [n for n in result.nodes if n in live]
        ctx.reports.setdefault("dead-code", {})["removed_nodes"] = removed
        return result
