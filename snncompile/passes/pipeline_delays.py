"""``pipeline-delays``: the layerwise network becomes the pipelined network the chip runs.

On the chip every projection costs one step: spikes emitted in step t reach the target's
dendrite in step t + 1 (SEMANTICS.md section 6). With ``arrive(x)`` the step in which the value
``x`` of input step 0 is available (graph inputs: 0), the pass sets, for every population and
current probe ``P`` with projections ``p`` from sources ``x_p``::

    arrive(P) = max_p (arrive(x_p) + 1)
    delay_p   = arrive(P) - arrive(x_p)           (>= 1: the hop plus a balancing delay)
    start(p)  = arrive(x_p)                       (when the projection first has data)
    start(P)  = arrive(P)                         (bias gating: no integration before data)

A *recurrent projection* reads a ``recurrent`` node ``r`` (``r[t] = S_Q[t-1]``, the spikes of
population ``Q`` one step back). On the chip ``r`` at step ``c`` holds ``Q``'s spikes of step
``c - 1``, i.e. its layerwise value of step ``c - arrive(Q)``, so ``arrive(r) = arrive(Q)`` and
the same rule gives ``delay_p = arrive(P) - arrive(Q)``: 0 for a population onto itself (the
recurrent node's own step is the hop), and NW908 when negative (``Q`` arrives after ``P``: the
spikes of step ``t - 1`` would be needed before the chip computes them). Recurrent projections
do not count in ``arrive(P)`` (only feed-forward sources do; a population fed by recurrent
projections only is NW907), so the recurrence adds nothing to the pipeline depth and every
recurrent edge reads the spikes of step ``t - 1`` of the same sample.

The timing is computed here once and stored on the IR (``start`` of populations and
projections); the simulator reads it.

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

__all__ = ["PipelineDelays"]

_DENDRITES = frozenset({"population", "current_sum"})


def _recurrent(value: Value) -> bool:
    return value.producer is not None and value.producer.op == "recurrent"


def _check_recurrent_readers(graph: Graph, users: dict[Value, list[Node]]) -> None:
    """NW907 unless every recurrent node is read by projections only."""
    for node in graph.nodes:
        if node.op != "recurrent":
            continue
        for reader in users.get(node.output, []):
            if reader.op != "projection":
                raise error(
                    "NW907",
                    f"{reader.describe()} reads the recurrent edge {node.describe()} directly; "
                    "at the network level only projections read a recurrent edge",
                    node=reader.describe(),
                )
        if node.output in graph.outputs:
            raise error(
                "NW907",
                f"{node.describe()} is a graph output; only projections read a recurrent edge",
                node=node.describe(),
            )


def _source(current: Value) -> Value:
    """The source a projection's output ``current`` reads."""
    assert current.producer is not None and current.producer.op == "projection"
    return current.producer.inputs[0]


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
        _check_recurrent_readers(graph, users)
        arrive: dict[Value, int] = {v: 0 for v in graph.inputs}
        target_time: dict[str, int] = {}  # dendrite node name -> arrival
        for node in graph.nodes:  # dendrites first need the arrival of their sources
            if node.op in _DENDRITES:
                sources = [_source(p) for p in node.inputs]
                forward = [s for s in sources if not _recurrent(s)]
                if not forward:
                    raise error(
                        "NW907",
                        f"{node.describe()} is fed by recurrent projections only: it has no "
                        "feed-forward input to start from",
                        node=node.describe(),
                    )
                target_time[node.name] = max(arrive[s] + 1 for s in forward)
            for value in node.outputs:
                if node.op in ("projection", "recurrent"):
                    continue  # a projection's output arrives with its target
                if node.op in _DENDRITES:
                    arrive[value] = target_time[node.name]
                else:
                    arrive[value] = max((arrive[v] for v in node.inputs), default=0)
        by_name = {v.name: v for v in graph.values()}
        for node in graph.nodes:  # r[t] = S[t-1]: arrives with its source (see the docstring)
            if node.op == "recurrent":
                arrive[node.output] = arrive[by_name[node.attrs.source]]
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
                if _recurrent(node.inputs[0]) and delay < 0:
                    source = node.inputs[0].producer.attrs.source  # type: ignore[union-attr]
                    raise error(
                        "NW908",
                        f"{node.describe()} feeds %{source}'s spikes back to {target.describe()}, "
                        f"which the pipeline reaches {-delay} step(s) earlier: the spikes of step "
                        "t - 1 would be needed before the chip computes them",
                        node=node.describe(),
                    )
                attrs = dataclasses.replace(attrs, delay=delay, start=arrive[node.inputs[0]])
                if delay > 1:
                    balancing.append(delay - 1)
            elif node.op == "population":
                attrs = dataclasses.replace(attrs, start=target_time[node.name])
                starts[node.name] = target_time[node.name]
            elif node.op not in _DENDRITES:
                latest = max((arrive[v] for v in node.inputs), default=0)
                for i, v in enumerate(node.inputs):
                    if arrive[v] < latest:
                        host_delays += 1
                        inputs[i] = builder.add_node(
                            "delay",
                            [inputs[i]],
                            DelayAttrs(steps=latest - arrive[v]),
                            name=f"{node.name}_align",
                            loc=node.loc,
                        )
            outputs = builder.add_node_multi(node.op, inputs, attrs, name=node.name, loc=node.loc)
            new.update(zip(node.outputs, outputs, strict=True))
        result = builder.finish([new[v] for v in graph.outputs])
        depth = max((arrive[v] for v in graph.outputs), default=0)
        ctx.reports[self.name] = {
            "depth": depth,
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
