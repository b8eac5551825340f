"""``analyze-spike-domain``: give every value its spike domain (SEMANTICS.md section 3).

A forward dataflow over the graph in topological order. Each op declares one rule in the op
registry (``OpDef.domain``, the rules and their table in :mod:`snncompile.ir.domains`) mapping
its input domains to its output domain and the *sources* of a count: the neuron outputs whose
spikes were summed into it.

The result graph carries the domains in its value types; ``ctx.reports["spike-domain"]`` maps
each count value to its sorted sources. :func:`analyze` computes the flows of a graph once and
remembers them: every later pass or report that asks about the same graph (or an unchanged
copy, such as this pass's annotated result) reads them back; only a rewritten graph is
analysed again.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from snncompile.ir.dataflow import forward
from snncompile.ir.domains import REAL, Flow, Rule
from snncompile.ir.graph import Graph, Node
from snncompile.ir.ops import OPS
from snncompile.ir.types import DomainKind
from snncompile.passes.manager import PassContext

__all__ = ["DOMAIN_RULES", "STATS", "AnalyzeSpikeDomain", "Flow", "analyze"]

#: One rule per op, derived from the op registry (which refuses an op without one).
DOMAIN_RULES: dict[str, Rule] = {
    name: op.domain for name, op in OPS.items() if op.domain is not None
}


def _transfer(node: Node, flows: Sequence[Flow]) -> Flow:
    return DOMAIN_RULES[node.op](node, flows)


def analyze(graph: Graph) -> dict[str, Flow]:
    """The flow of every value of ``graph``, by value name (a fresh dict the caller may
    extend). Graph inputs are real.

    The analysis is computed once per compile and then kept up to date, not recomputed:

    - a graph asked about again, or an unchanged copy of it (same value names, ops, input
      wiring and the identity of each node's attributes, which copies share), reads the
      remembered flows (``STATS["reused"]``);
    - a graph that a pass rewrote is *updated* from the last analysis (``STATS["updated"]``):
      a node whose op, attribute object, input and output names and shapes and input flows
      are those of a node already analysed keeps that node's flow; only the nodes the pass
      added or changed are evaluated (``STATS["evaluated"]`` counts them). A domain rule reads
      exactly these (:mod:`snncompile.ir.domains`), so the update equals a fresh analysis;
    - a graph with no earlier analysis to update from is computed (``STATS["computed"]``).
    """
    key = _fingerprint(graph)
    entry = _CACHE.get(key)
    if entry is not None and entry.valid(graph):
        _CACHE.move_to_end(key)
        STATS["reused"] += 1
        return dict(entry.flows)
    known: dict[Key, _Known] = {}
    for previous in _CACHE.values():  # oldest first: the newest analysis wins
        known.update(previous.live_nodes())
    memo: dict[Key, _Known] = {}

    def transfer(node: Node, flows: Sequence[Flow]) -> Flow:
        node_key = _node_key(node)
        hit = known.get(node_key)
        if hit is not None and hit.inputs == tuple(flows) and hit.attrs() is node.attrs:
            flow = hit.flow
        else:
            STATS["evaluated"] += 1
            flow = _transfer(node, flows)
        memo[node_key] = _Known(weakref.ref(node.attrs), tuple(flows), flow)
        return flow

    STATS["updated" if known else "computed"] += 1
    flows = forward(graph, Flow(REAL), transfer)
    _CACHE[key] = _Entry(tuple(weakref.ref(node.attrs) for node in graph.nodes), flows, memo)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return dict(flows)


#: Analyses computed from scratch, updated from an earlier one, read back, and the nodes
#: whose rule ran (for tests and profiling).
STATS = {"computed": 0, "updated": 0, "reused": 0, "evaluated": 0}
_CACHE_SIZE = 8
Key = tuple[object, ...]


@dataclass(frozen=True)
class _Known:
    """One node's analysed flow and what it was computed from."""

    attrs: weakref.ref[object]
    inputs: tuple[Flow, ...]
    flow: Flow


@dataclass(frozen=True)
class _Entry:
    attrs: tuple[weakref.ref[object], ...]
    flows: dict[str, Flow]
    nodes: dict[Key, _Known]

    def valid(self, graph: Graph) -> bool:
        """The nodes still carry the very attribute objects analysed (ids are not reused
        while those objects live; a dead one means the entry is stale)."""
        return len(self.attrs) == len(graph.nodes) and all(
            ref() is node.attrs for ref, node in zip(self.attrs, graph.nodes, strict=True)
        )

    def live_nodes(self) -> dict[Key, _Known]:
        """The analysed nodes whose attribute objects still live (a dead one's id may be
        reused by another object)."""
        return {key: known for key, known in self.nodes.items() if known.attrs() is not None}


_CACHE: OrderedDict[Key, _Entry] = OrderedDict()


def _node_key(node: Node) -> Key:
    return (
        node.op,
        id(node.attrs),
        tuple((v.name, v.type.shape) for v in node.inputs),
        tuple((v.name, v.type.shape) for v in node.outputs),
    )


def _fingerprint(graph: Graph) -> Key:
    inputs = tuple((v.name, v.type.shape, v.type.dtype) for v in graph.inputs)
    return (inputs, tuple(_node_key(node) for node in graph.nodes))


@dataclass(frozen=True)
class AnalyzeSpikeDomain:
    """Annotate every value's type with its spike domain (see the module docstring)."""

    name: ClassVar[str] = "analyze-spike-domain"
    requires: ClassVar[frozenset[str]] = frozenset()
    ensures: ClassVar[frozenset[str]] = frozenset({"spike-domains"})

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        flows = analyze(graph)  # also remembered for the annotated copy (same structure)
        result = graph.copy()
        for value in result.values():
            value.type = value.type.with_domain(flows[value.name].domain)
        ctx.reports[self.name] = {
            name: sorted(flow.sources)
            for name, flow in flows.items()
            if flow.domain.kind is DomainKind.COUNT
        }
        return result
