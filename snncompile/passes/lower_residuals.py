"""``lower-residuals``: synapses driven by spike counts are distributed over the spike sources.

A SEW residual (Spikformer: ``x + SSA(x)``) feeds the next layer a ``count(k)``: the sum of k
binary spike tensors. Synapses cannot multiply by a count, but the product distributes::

    W·(a + b + ...) + bias  =  (W·a + bias) + W·b + ...          (one projection per source)

so each copy of the projection is driven by binary spikes (AC), at ``k`` times the synapse
memory. With ``expand_sew`` the pass rewrites every conv/linear whose input is a count into one
copy per source (the count's expression through adds and layout ops is expanded term by term);
without it, such a projection stops the compile with the compliance diagnostic SD201, which
names the sources and the memory the expansion would cost.

MS residuals (Spikingformer, SDT, SpikingResformer) add currents: the sum is dendritic fan-in
(several projections into one population) and needs no rewrite.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, Node, Value
from snncompile.ir.ops import Trait, ops_with
from snncompile.ir.types import DomainKind, SpikeDomain
from snncompile.passes.analyze_spike_domain import Flow, analyze
from snncompile.passes.compliance import findings
from snncompile.passes.manager import PassContext
from snncompile.passes.rewrite import Rewriter, apply_patterns

__all__ = ["LowerResiduals"]

WEIGHTED = ops_with(Trait.WEIGHTED)
LAYOUT = ops_with(Trait.LAYOUT)


class _Expand:
    """``W(count) -> Σ_i W(term_i)`` over the binary terms of the count."""

    name = "distribute-synapses-over-count"

    def __init__(self, flows: dict[str, Flow], report: list[dict[str, Any]]) -> None:
        self.flows = flows
        self.report = report

    def _terms(self, value: Value, rewriter: Rewriter, anchor: Node) -> list[Value] | None:
        """Binary values summing to ``value`` (layout ops replayed per term), or None."""
        flow = self.flows.get(value.name)
        if flow is not None and flow.domain.kind is DomainKind.BINARY:
            return [value]
        producer = value.producer
        if producer is None:
            return None
        if producer.op == "add":
            left = self._terms(producer.inputs[0], rewriter, anchor)
            right = self._terms(producer.inputs[1], rewriter, anchor)
            return None if left is None or right is None else left + right
        if producer.op in LAYOUT:
            inner = self._terms(producer.inputs[0], rewriter, anchor)
            if inner is None:
                return None
            return [
                rewriter.insert_before(
                    anchor, producer.op, [term], producer.attrs, name=producer.name
                )
                for term in inner
            ]
        return None

    def apply(self, node: Node, rewriter: Rewriter) -> None:
        if node.op not in WEIGHTED:
            return
        flow = self.flows.get(node.inputs[0].name)
        if flow is None or flow.domain.kind is not DomainKind.COUNT:
            return
        terms = self._terms(node.inputs[0], rewriter, node)
        if terms is None or len(terms) < 2:
            return
        total: Value | None = None
        for index, term in enumerate(terms):
            attrs = node.attrs if index == 0 else dataclasses.replace(node.attrs, bias=None)
            part = rewriter.insert_before(
                node, node.op, [term], attrs, name=f"{node.name}_src{index}", loc=node.loc
            )
            self.flows[part.name] = Flow(SpikeDomain.real())
            total = (
                part
                if total is None
                else rewriter.insert_before(
                    node, "add", [total, part], NoAttrs(), name=f"{node.name}_sum", loc=node.loc
                )
            )
        assert total is not None
        rewriter.replace_uses(node.output, total)
        self.report.append(
            {
                "node": node.name,
                "module": node.loc.module if node.loc else None,
                "sources": len(terms),
                "weights": int(node.attrs.weight.size) * len(terms),
            }
        )


@dataclass(frozen=True)
class LowerResiduals:
    """Distribute count-driven synapses over their spike sources, or refuse (SD201)."""

    name: ClassVar[str] = "lower-residuals"
    requires: ClassVar[frozenset[str]] = frozenset({"batchnorm-folded", "scales-folded"})
    ensures: ClassVar[frozenset[str]] = frozenset({"residuals-lowered"})

    expand_sew: bool = False

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        expand = self.expand_sew or ctx.config.expand_sew
        report: list[dict[str, Any]] = []
        result = graph
        if expand:
            result = apply_patterns(graph, [_Expand(analyze(graph), report)], pass_name=self.name)
        ctx.reports[self.name] = {"expanded": report}
        for found in findings(result):
            if found.code == "SD201":
                raise found.to_error()
        return result
