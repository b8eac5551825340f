"""``partition-host``: split the graph into host encoder, chip and host readout.

With N the set of neuron nodes (``lif``, ``population``):

- host encoder: nodes that no neuron precedes (a ``recurrent`` node counts as preceded by its
  source neuron; everything before the first spiking neuron,
  e.g. the first conv on the image, SpikingResformer's stem);
- host readout: nodes that some neuron precedes and from which no neuron can be reached
  (everything after the last neuron, e.g. the head on the float stream);
- chip: every other node, neurons included.

The partition is a function of the graph (:func:`partition`); the pass publishes it in
``ctx.reports["partition-host"]`` and refuses a graph without neurons (SD101).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from snncompile.diagnostics import error
from snncompile.ir.graph import Graph, Node
from snncompile.ir.ops import Trait, ops_with
from snncompile.passes.manager import PassContext

__all__ = ["NEURON_OPS", "Partition", "PartitionHost", "partition"]

#: Ops that are spiking neurons (``Trait.NEURON`` in the op registry).
NEURON_OPS = ops_with(Trait.NEURON)
#: Ops that a neuron precedes by definition: neurons, and recurrent edges (a neuron's spikes of
#: the previous step, read through no input edge).
_AFTER_NEURON = NEURON_OPS | {"recurrent"}


@dataclass(frozen=True)
class Partition:
    """Node names of the three partitions, each in graph order."""

    host_encoder: tuple[str, ...]
    chip: tuple[str, ...]
    host_readout: tuple[str, ...]

    def where(self, node_name: str) -> str:
        """``host_encoder``, ``chip`` or ``host_readout``."""
        if node_name in self.host_encoder:
            return "host_encoder"
        if node_name in self.host_readout:
            return "host_readout"
        return "chip"

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "host_encoder": list(self.host_encoder),
            "chip": list(self.chip),
            "host_readout": list(self.host_readout),
        }


def partition(graph: Graph) -> Partition:
    """The partition of ``graph`` (see the module docstring)."""
    after_neuron: set[Node] = set()  # nodes with a neuron strictly before or at them
    for node in graph.nodes:
        if node.op in _AFTER_NEURON or any(
            v.producer in after_neuron for v in node.inputs if v.producer is not None
        ):
            after_neuron.add(node)
    reaches_neuron: set[Node] = set()  # nodes from which a neuron is reachable (or neurons)
    users = graph.users()
    for node in reversed(graph.nodes):
        if node.op in NEURON_OPS or any(
            user in reaches_neuron for v in node.outputs for user in users.get(v, [])
        ):
            reaches_neuron.add(node)
    encoder = tuple(n.name for n in graph.nodes if n not in after_neuron)
    readout = tuple(n.name for n in graph.nodes if n in after_neuron and n not in reaches_neuron)
    chip = tuple(n.name for n in graph.nodes if n.name not in encoder and n.name not in readout)
    return Partition(encoder, chip, readout)


@dataclass(frozen=True)
class PartitionHost:
    """Record the host encoder / chip / host readout partition (see the module docstring)."""

    name: ClassVar[str] = "partition-host"
    requires: ClassVar[frozenset[str]] = frozenset()
    ensures: ClassVar[frozenset[str]] = frozenset({"partitioned"})

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        if not any(node.op in NEURON_OPS for node in graph.nodes):
            raise error(
                "SD101",
                f"@{graph.name} has no spiking neurons ({len(graph.nodes)} nodes); there is "
                "nothing to put on a neuromorphic chip",
                node=f"@{graph.name}",
            )
        ctx.reports[self.name] = partition(graph).to_dict()
        return graph.copy()
