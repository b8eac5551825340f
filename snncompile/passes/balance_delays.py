"""``balance-delays``: the pipelined network computes the layerwise function, D steps later.

On the chip every hop from a neuron to the next neuron costs one step (SEMANTICS.md section 6):
spikes reach the next population's input one step after they are emitted. In the quantized
tensor IR the neurons are ``lif_fixed`` and, on chip, the coincidence/gated products (``mul``);
everything between two neurons (synapses: conv, linear, shift; dendrites: add, layout, sums) is
one hop. The pass rebuilds the graph so that a layerwise run of the result *is* the pipelined
execution:

- after every chip neuron, a ``delay(1)`` on the way to chip consumers (the hop);
- arrival times propagate: inputs arrive at step 0, a neuron emits in the step its input
  arrives, a hop adds one;
- where inputs with different arrival times meet (MS residuals, attention branches), the
  earlier ones get ``delay(d)`` so that all arrive together (synaptic delays on the shorter
  paths);
- every ``lif_fixed`` gets ``start`` = the arrival of its input: before it the population holds
  its state at 0 and does not spike, so its bias cannot drift it (bias gating).

- a ``recurrent`` node (``r[t] = S_Q[t-1]``) arrives with its source ``Q`` (its own step is
  the hop), so its readers delay it by ``arrival(P) - arrival(Q)`` (0 onto the same neuron);
  the source comes later in the graph, so the pass runs twice (NW908 when the recurrence would
  run against the pipeline).

Then, with ``D`` the arrival time of the graph output, the pipelined output at step ``t + D``
equals the layerwise output at step ``t``, exactly. ``ctx.reports["balance-delays"]`` gives
``D``, every population's start and the delays inserted (longer than the chip's
``max_synaptic_delay``, e.g. Loihi 2's 6-bit delays, are counted in ``delays_over_limit``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from snncompile.diagnostics import error
from snncompile.ir.graph import Graph, GraphBuilder, Node, Value
from snncompile.ir.ops import Trait, has_trait
from snncompile.ir.ops.fixed import DelayAttrs
from snncompile.ir.types import DomainKind
from snncompile.passes.analyze_spike_domain import analyze
from snncompile.passes.manager import PassContext
from snncompile.passes.partition_host import partition

__all__ = ["BalanceDelays"]


def _neuron_like(node: Node, chip: set[str], binary: set[str]) -> bool:
    if node.name not in chip:
        return False
    if has_trait(node, Trait.NEURON):
        return True
    # coincidence / gated neurons: products with a spike operand
    return node.op == "mul" and any(v.name in binary for v in node.inputs)


@dataclass(frozen=True)
class BalanceDelays:
    """Insert hop and balancing delays and gate populations (see the module docstring)."""

    name: ClassVar[str] = "balance-delays"
    requires: ClassVar[frozenset[str]] = frozenset({"quantized"})
    ensures: ClassVar[frozenset[str]] = frozenset({"pipelined"})

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        if not any(n.op == "recurrent" for n in graph.nodes):
            return self._balance(graph, ctx, {})[0]
        # recurrent edges: r[t] = S_Q[t-1] arrives with Q, which comes later in the graph; a
        # first pass (recurrent edges at step 0) gives the neurons' arrivals, the second uses
        # them, and they must not move (else the recurrence runs against the pipeline)
        _, first = self._balance(graph, ctx, {})
        result, second = self._balance(graph, ctx, first)
        neurons = [v.name for n in graph.nodes if has_trait(n, Trait.NEURON) for v in n.outputs]
        moved = [name for name in neurons if first[name] != second[name]]
        if moved:
            raise error(
                "NW908",
                f"a recurrent edge feeds spikes back to %{moved[0]}, which the pipeline reaches "
                "earlier than their source: the spikes of step t - 1 would be needed before "
                "they are computed",
                node=f"%{moved[0]}",
            )
        return result

    def _balance(
        self, graph: Graph, ctx: PassContext, emitted: dict[str, int]
    ) -> tuple[Graph, dict[str, int]]:
        """The balanced graph and each value's arrival by name; a recurrent node arrives with
        its source (``emitted``; 0 when not known yet)."""
        chip = set(partition(graph).chip)
        flows = analyze(graph)
        binary = {name for name, f in flows.items() if f.domain.kind is DomainKind.BINARY}
        builder = GraphBuilder(graph.name, graph.stage)
        new: dict[Value, Value] = {}  # value as host consumers see it
        hopped: dict[Value, Value] = {}  # value as chip consumers see it (after the hop)
        arrival: dict[Value, int] = {}  # arrival step of ``new[v]``
        hop_arrival: dict[Value, int] = {}
        starts: dict[str, int] = {}
        delays: list[int] = []

        for value in graph.inputs:
            new[value] = hopped[value] = builder.input(value.name, value.type)
            arrival[value] = hop_arrival[value] = 0

        def delayed(value: Value, steps: int, hint: str, *, hop: bool = False) -> Value:
            if steps == 0:
                return value
            if not hop:
                delays.append(steps)
            producer = value.producer
            loc = producer.loc if producer is not None else None
            return builder.add_node(
                "delay", [value], DelayAttrs(steps=steps), name=f"{hint}_delay", loc=loc
            )

        neurons: set[Value] = set()  # outputs whose chip readers see them after a hop

        def for_chip(value: Value) -> Value:
            """The hopped copy of a neuron output, created when a chip reader first needs it."""
            if value in neurons and value not in hopped:
                hopped[value] = delayed(new[value], 1, value.name, hop=True)
            return hopped[value]

        for node in graph.nodes:
            on_chip = node.name in chip
            sources = [for_chip(v) if on_chip else new[v] for v in node.inputs]
            times = [hop_arrival[v] if on_chip else arrival[v] for v in node.inputs]
            latest = max(times, default=0)
            if node.op == "recurrent":
                latest = emitted.get(node.attrs.source, 0)
            inputs = [
                delayed(value, latest - time, node.name)
                for value, time in zip(sources, times, strict=True)
            ]
            attrs = node.attrs
            if node.op == "lif_fixed":
                attrs = dataclasses.replace(attrs, start=latest)
                starts[node.name] = latest
            outputs = builder.add_node_multi(node.op, inputs, attrs, name=node.name, loc=node.loc)
            for old, value in zip(node.outputs, outputs, strict=True):
                new[old], arrival[old] = value, latest
                if _neuron_like(node, chip, binary):
                    neurons.add(old)
                    hop_arrival[old] = latest + 1
                else:
                    hopped[old], hop_arrival[old] = value, latest
        result = builder.finish([new[v] for v in graph.outputs])
        depth = max((arrival[v] for v in graph.outputs), default=0)
        ctx.reports[self.name] = {
            "depth": depth,
            "starts": starts,
            "delays": len(delays),
            "delay_steps": sum(delays),
            "longest_delay": max(delays, default=0),
            "delays_over_limit": sum(1 for d in delays if d > ctx.chip.limits.max_synaptic_delay),
        }
        return result, {v.name: t for v, t in arrival.items()}
