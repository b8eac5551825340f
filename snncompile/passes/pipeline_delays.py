"""``pipeline-delays``: the layerwise network becomes the pipelined network the chip runs.

On the chip every projection costs one step: spikes emitted in step t reach the target's
dendrite in step t + 1 (SEMANTICS.md section 6). With ``arrive(x)`` the step in which the value
``x`` of input step 0 is available (graph inputs: 0), the pass sets, for every population and
current probe ``P`` with projections ``p`` from sources ``x_p``::

    arrive(P) = max_p (arrive(x_p) + 1)
    delay_p   = arrive(P) - arrive(x_p)           (>= 1: the hop plus a balancing delay)
    start(p)  = arrive(x_p)                       (when the projection first has data)
    start(P)  = arrive(P)                         (bias gating: no integration before data)

This is the schedule of :mod:`snncompile.passes.timing` (shared with ``balance-delays``) with a
hop on every dendrite input: a projection passes its source's arrival through, and its delay is
``1 + balance``. The timing is computed here once and stored on the IR (``start`` of
populations and projections); the simulator reads it.

Host ops take their inputs in the step the latest one arrives; earlier inputs go through a host
``delay`` op. With ``D = arrive(output)``, the pipelined output at step ``t + D`` equals the
layerwise output at step ``t``, exactly. The report gives ``D`` (the pipeline depth), every
population's start and the balancing delays (those longer than the chip's
``max_synaptic_delay`` are counted in ``delays_over_limit``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from snncompile.diagnostics import error
from snncompile.ir.graph import Graph, GraphBuilder, Node, Value
from snncompile.ir.ops.fixed import DelayAttrs
from snncompile.passes.manager import PassContext
from snncompile.passes.timing import schedule

__all__ = ["PipelineDelays"]

_DENDRITES = frozenset({"population", "current_sum"})


@dataclass(frozen=True)
class PipelineDelays:
    """Set projection delays and population starts (see the module docstring)."""

    name: ClassVar[str] = "pipeline-delays"
    requires: ClassVar[frozenset[str]] = frozenset({"network"})
    ensures: ClassVar[frozenset[str]] = frozenset({"pipelined"})

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        if graph.stage != "network":
            raise error("CF203", "pipeline-delays runs on the network IR (after lower-to-network)")
        users = graph.users()

        def latency(node: Node, i: int) -> int:
            return int(node.op in _DENDRITES)  # the hop of an input projection

        timing = schedule(graph, latency)
        arrive, target_time = timing.arrive, timing.aligned
        builder = GraphBuilder(graph.name, graph.stage)
        new: dict[Value, Value] = {}
        for value in graph.inputs:
            new[value] = builder.input(value.name, value.type)
        starts: dict[str, int] = {}
        balancing: list[int] = []
        host_delays = 0
        for node in graph.nodes:
            attrs = node.attrs
            inputs = [new[v] for v in node.inputs]
            if node.op == "projection":
                (target,) = users[node.output]
                delay = target_time[target.name] - arrive[node.inputs[0]]
                attrs = dataclasses.replace(attrs, delay=delay, start=arrive[node.inputs[0]])
                if delay > 1:
                    balancing.append(delay - 1)
            elif node.op == "population":
                attrs = dataclasses.replace(attrs, start=target_time[node.name])
                starts[node.name] = target_time[node.name]
            elif node.op not in _DENDRITES:
                for i in range(len(node.inputs)):
                    if timing.balance(node, i) > 0:
                        host_delays += 1
                        inputs[i] = builder.add_node(
                            "delay",
                            [inputs[i]],
                            DelayAttrs(steps=timing.balance(node, i)),
                            name=f"{node.name}_align",
                            loc=node.loc,
                        )
            outputs = builder.add_node_multi(node.op, inputs, attrs, name=node.name, loc=node.loc)
            new.update(zip(node.outputs, outputs, strict=True))
        result = builder.finish([new[v] for v in graph.outputs])
        ctx.reports[self.name] = {
            "depth": timing.depth,
            "starts": starts,
            "balancing_delays": len(balancing),
            "balancing_steps": sum(balancing),
            "longest_delay": max(balancing, default=0) + 1,
            "delays_over_limit": sum(
                1 for d in balancing if d + 1 > ctx.chip.limits.max_synaptic_delay
            ),
            "host_aligning_delays": host_delays,
        }
        return result
