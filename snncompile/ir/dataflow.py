"""Forward dataflow over a graph: one fact per value, computed from the facts of the inputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from snncompile.ir.graph import Graph, Node

__all__ = ["forward"]

Fact = TypeVar("Fact")


def forward(
    graph: Graph, initial: Fact, transfer: Callable[[Node, Sequence[Fact]], Fact]
) -> dict[str, Fact]:
    """Facts by value name: ``initial`` for the graph inputs, then, in graph order, every
    node's outputs get ``transfer(node, facts of its inputs)``."""
    facts = {value.name: initial for value in graph.inputs}
    for node in graph.nodes:
        fact = transfer(node, [facts[v.name] for v in node.inputs])
        for value in node.outputs:
            facts[value.name] = fact
    return facts
