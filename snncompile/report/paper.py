"""The papers' arithmetic from published firing rates (reproducing their operation counts).

The spiking-transformer papers count with syops-style hooks (``Spikformer`` eq. 21-22)::

    Ops(op)  = n_runs · (FLOPs(op) + [bias] · out_elements)      dense, per inference
    ACs(op)  = r_in(op) · Ops(op)                                  binary input at rate r_in
    MACs(op) = Ops(op)                                             any other input

with ``FLOPs`` as :func:`~snncompile.report.energy.flops_of` (``out · C_in/groups · kH · kW``),
``n_runs = T`` (1 for an op the model computes once per inference, such as a head on the mean
over T) and, as syops does, one add per output element for an op with a bias. Given the input
rates a paper (or its energy log) publishes, :func:`paper_counts` recomputes its per-layer counts
from our traced architecture; docs/reports.md compares them with Spikingformer-8-768's log.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from snncompile.ir.graph import Graph
from snncompile.ir.ops import Trait, has_trait
from snncompile.ir.types import DomainKind
from snncompile.passes.analyze_spike_domain import analyze
from snncompile.report.energy import flops_of

__all__ = ["PaperCount", "paper_counts"]


@dataclass(frozen=True)
class PaperCount:
    """One weighted op's counts per inference in the papers' arithmetic."""

    module: str
    ops: int
    rate: float | None
    macs: float
    acs: float


def paper_counts(
    graph: Graph,
    time_steps: int,
    rates: Mapping[str, float],
    *,
    bias_adds: bool = True,
) -> dict[str, PaperCount]:
    """Per-module counts of ``graph``'s weighted ops from published input ``rates``.

    ``rates`` maps a module path to the firing rate of its input spikes; a binary-input op
    without a published rate is left out. ``bias_adds``: count one add per output element of an
    op with a bias (syops does).
    """
    flows = analyze(graph)
    result: dict[str, PaperCount] = {}
    for node in graph.nodes:
        if not has_trait(node, Trait.WEIGHTED) or node.loc is None or node.loc.module is None:
            continue
        module = node.loc.module
        runs = 1 if node.name in graph.once_per_inference else time_steps
        per_run = flops_of(node)
        if bias_adds and getattr(node.attrs, "bias", None) is not None:
            per_run += math.prod(node.output.type.shape)
        ops = runs * per_run
        if flows[node.inputs[0].name].domain.kind is DomainKind.BINARY:
            if module not in rates:
                continue
            rate = float(rates[module])
            result[module] = PaperCount(module, ops, rate, 0.0, rate * ops)
        else:
            result[module] = PaperCount(module, ops, None, float(ops), 0.0)
    return result
