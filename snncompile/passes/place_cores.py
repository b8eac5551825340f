"""``place-cores``: place the network's populations on neuro cores (an analysis pass).

The graph is returned unchanged; the placement (:func:`snncompile.targets.sim.cores.place_cores`)
is published as ``ctx.reports["place-cores"]`` (its ``to_dict``, without the per-core list when
the placement uses more than ``per_core_limit`` cores). A placement that does not fit raises
RS951 (ResourceLimitError) with the numbers; one that needs more chips than the
``CompileConfig.board`` has raises RS980 naming the largest consumers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from snncompile.chip import CoreLimits
from snncompile.ir.graph import Graph
from snncompile.passes.manager import PassContext
from snncompile.targets.sim.cores import check_board, place_cores

__all__ = ["PlaceCores"]


@dataclass(frozen=True)
class PlaceCores:
    """Place populations on cores under ``limits`` (default: the chip model's, ``ctx.chip``)
    and report it (see the module docstring)."""

    name: ClassVar[str] = "place-cores"
    requires: ClassVar[frozenset[str]] = frozenset({"network"})
    ensures: ClassVar[frozenset[str]] = frozenset({"placed"})

    limits: CoreLimits | None = None
    per_core_limit: int = 1024

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        placement = place_cores(graph, self.limits or ctx.chip)
        ctx.reports[self.name] = placement.to_dict(
            per_core=len(placement.cores) <= self.per_core_limit
        )
        if ctx.config.board is not None:
            check_board(placement, ctx.config.board)
        return graph
