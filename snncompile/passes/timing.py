"""Pipeline timing: the one arrival-time algorithm of ``balance-delays`` and ``pipeline-delays``.

On the chip data moves one hop per step (SEMANTICS.md section 6). Both delay passes, one on the
quantized tensor IR and one on the network IR, time the graph with :func:`schedule`; they differ
only in which input edges cost a hop (``latency``). With ``arrive(x)`` the step in which the
value ``x`` of input step 0 is available (graph inputs: 0) and ``lat(n, i)`` the latency of input
``i`` of node ``n`` (0 or 1)::

    aligned(n)       = max_i (arrive(x_i) + lat(n, i))     (0 for a node without inputs)
    arrive(y)        = aligned(n)                          for every output y of n
    balance(n, i)    = aligned(n) - arrive(x_i) - lat(n, i) (>= 0: the delay that aligns input i)

and the pipeline depth ``D = max over graph outputs of arrive``. ``balance-delays`` charges a
hop on a chip consumer's input produced by a chip neuron (or coincidence/gated product);
``pipeline-delays`` charges it on a dendrite's (population or current probe) input projection,
whose output :func:`schedule` lets through with its source's arrival (the projection delay is
``1 + balance``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from snncompile.ir.graph import Graph, Node, Value

__all__ = ["Latency", "Timing", "schedule"]

#: ``latency(node, i)``: the steps input ``i`` of ``node`` takes beyond its arrival (0 or 1),
#: or ``None`` for an input that does not count in ``aligned`` (a recurrent projection).
Latency = Callable[[Node, int], int | None]
#: ``fixed(node)``: the step a node is aligned to regardless of its inputs, or ``None``.
Fixed = Callable[[Node], int | None]


@dataclass(frozen=True)
class Timing:
    """The schedule of one graph (see the module docstring).

    Attributes:
        arrive: the arrival step of every value.
        aligned: the step every node's inputs are aligned to, by node name.
        latency: the edge latency the schedule was computed with.
        depth: ``D``, the latest arrival of a graph output.
    """

    arrive: dict[Value, int]
    aligned: dict[str, int]
    latency: Latency
    depth: int

    def ready(self, node: Node, i: int) -> int | None:
        """The step input ``i`` of ``node`` is ready there: ``arrive(x_i) + lat(node, i)``
        (``None`` for an input that does not count)."""
        latency = self.latency(node, i)
        return None if latency is None else self.arrive[node.inputs[i]] + latency

    def balance(self, node: Node, i: int) -> int:
        """The delay that aligns input ``i`` of ``node`` with its latest input (>= 0)."""
        ready = self.ready(node, i)
        assert ready is not None, "an input that does not count has no balance"
        return self.aligned[node.name] - ready


def schedule(graph: Graph, latency: Latency, fixed: Fixed | None = None) -> Timing:
    """The arrival times of ``graph`` with edge latencies ``latency``; a node for which
    ``fixed`` gives a step is aligned to it (a recurrent edge arrives with its source)."""
    arrive: dict[Value, int] = {v: 0 for v in graph.inputs}
    aligned: dict[str, int] = {}
    timing = Timing(arrive, aligned, latency, 0)
    for node in graph.nodes:
        step = fixed(node) if fixed is not None else None
        if step is None:
            ready = [timing.ready(node, i) for i in range(len(node.inputs))]
            step = max((r for r in ready if r is not None), default=0)
        aligned[node.name] = step
        for value in node.outputs:
            arrive[value] = step
    depth = max((arrive[v] for v in graph.outputs), default=0)
    return Timing(arrive, aligned, latency, depth)
