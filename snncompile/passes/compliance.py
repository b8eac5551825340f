"""The spike-driven rule (SEMANTICS.md sections 3-4), checked node by node.

On chip every synaptic (weighted) operation must be driven by binary spikes: it accumulates a
weight when a spike arrives (AC) and never multiplies a weight by a graded value (MAC). With the
spike domains of :mod:`analyze_spike_domain` and the partition of :mod:`partition_host`:

======================================  ==========================================================
chip node                               finding
======================================  ==========================================================
weighted op on ``binary``               compliant (AC)
weighted op on ``count(k)``             SD201: a sum of k spike trains; expandable into k
                                        projections at k times the synapse memory
weighted op on ``int``/``real``         SD202: a MAC on chip
maximum on ``int``/``real``             SD203: a max over graded values has no synaptic form
product, both operands ``binary``       compliant: coincidence (AND) neurons, exact
product, one operand ``binary``         SD301 note: gated neurons with graded spikes, exact
product, no ``binary`` operand          SD204: needs the host
======================================  ==========================================================

"Weighted op", "product" and "maximum" are op traits (``Trait.WEIGHTED``, ``PRODUCT``,
``MAXIMUM``) declared in the op registry, which refuses an op that counts synaptic operations
without being weighted or a product (IR114): a new op cannot slip past this check.
Nodes in the host encoder and host readout are never findings: the report counts their MACs.
The chip partition is spike-driven iff there is no SD2xx finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snncompile.diagnostics import CODES, SnnCompileError, error
from snncompile.ir.graph import Graph, Node
from snncompile.ir.ops import Trait, get_op
from snncompile.ir.types import DomainKind, SpikeDomain
from snncompile.passes.analyze_spike_domain import Flow, analyze
from snncompile.passes.partition_host import Partition, partition

__all__ = ["Finding", "finding_of", "findings"]


@dataclass(frozen=True)
class Finding:
    """One compliance finding about one node (the JSON report's ``diagnostics`` entries)."""

    code: str
    severity: str  # "violation" or "note"
    node: str
    op: str
    module: str | None
    domain: str
    message: str

    @property
    def fix(self) -> str:
        return CODES[self.code].fix

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "node": self.node,
            "op": self.op,
            "module": self.module,
            "domain": self.domain,
            "message": self.message,
            "fix": self.fix,
        }

    def to_error(self) -> SnnCompileError:
        return error(self.code, self.message, node=f"%{self.node} ({self.op})", source=self.module)


def _finding(code: str, node: Node, domain: SpikeDomain | str, message: str) -> Finding:
    severity = "note" if code.startswith("SD3") else "violation"
    module = node.loc.label if node.loc else None
    return Finding(code, severity, node.name, node.op, module, str(domain), message)


def finding_of(code: str, node: Node, message: str) -> Finding:
    """A finding ``code`` about a neuron ``node`` (no spike domain: its model is the reason)."""
    return _finding(code, node, "neuron", message)


def _weighted(node: Node, flow: Flow) -> Finding | None:
    domain = flow.domain
    if domain.kind is DomainKind.BINARY:
        return None
    if domain.kind is DomainKind.COUNT:
        weights = int(node.attrs.weight.size)
        sources = ", ".join(f"%{s}" for s in sorted(flow.sources)) or "unknown sources"
        return _finding(
            "SD201",
            node,
            domain,
            f"{node.op} is driven by {domain}, the sum of spikes from {sources}; as written "
            f"this is a MAC. Distributing its synapses over the {domain.bound} sources makes it "
            f"spike-driven at {domain.bound}x the synapse memory ({weights} -> "
            f"{weights * (domain.bound or 1)} weights)",
        )
    return _finding(
        "SD202", node, domain, f"{node.op} multiplies its weights by {domain} values (a MAC)"
    )


def _product(node: Node, flows: list[Flow]) -> Finding | None:
    kinds = [f.domain.kind for f in flows]
    described = " x ".join(str(f.domain) for f in flows)
    if all(k is DomainKind.BINARY for k in kinds):
        return None
    if any(k is DomainKind.BINARY for k in kinds):
        return _finding(
            "SD301",
            node,
            described,
            f"{node.op} of {described}: decomposes into gated neurons that pass the graded "
            "operand when the spike is present (graded spikes, exact for integers)",
        )
    return _finding("SD204", node, described, f"{node.op} of {described} has no spike operand")


def findings(graph: Graph, parts: Partition | None = None) -> list[Finding]:
    """Every compliance finding of ``graph``'s chip partition, in graph order."""
    flows = analyze(graph)
    parts = parts or partition(graph)
    chip = set(parts.chip)
    result: list[Finding] = []
    for node in graph.nodes:
        if node.name not in chip:
            continue
        inputs = [flows[v.name] for v in node.inputs]
        found: Finding | None = None
        op = get_op(node.op)
        if op.has(Trait.WEIGHTED):
            found = _weighted(node, inputs[0])
        elif op.has(Trait.PRODUCT):
            found = _product(node, inputs)
        elif op.has(Trait.MAXIMUM) and inputs[0].domain.kind in (DomainKind.INT, DomainKind.REAL):
            found = _finding(
                "SD203",
                node,
                inputs[0].domain,
                f"max-pool over {inputs[0].domain} values inside the chip partition",
            )
        if found is not None:
            result.append(found)
    return result
