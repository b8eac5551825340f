"""A compiled network program: the layerwise and pipelined network IR of one model.

The network pipeline (:func:`snncompile.pipelines.network_pipeline`) goes from the traced tensor
IR to the pipelined network IR; :func:`build_program` runs it through the driver and keeps what
the simulator, Lava emission and reports need. Both graphs share the same populations and
projections (names included); they differ only in delays and population starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from snncompile.config import CompileConfig
from snncompile.ir.graph import Graph, Node
from snncompile.ir.ops.network import graph_chip
from snncompile.passes.manager import Pass, PassContext

__all__ = ["NetworkProgram", "build_program", "network_passes"]


def network_passes(*, pipelined: bool = True) -> list[Pass]:
    """Traced tensor IR -> quantized tensor IR -> network IR (-> pipelined): the network
    pipeline of :mod:`snncompile.pipelines`."""
    from snncompile.pipelines import network_pipeline

    return network_pipeline(CompileConfig(), pipelined=pipelined)


@dataclass
class NetworkProgram:
    """The network IR of one model, in both timings.

    Attributes:
        layerwise: all delays 0 (what PyTorch computes, step for step).
        pipelined: one step per projection hop, as the chip runs it; its output at step
            ``t + depth`` equals the layerwise output at step ``t``.
        depth: the pipeline depth in steps.
        reports: the pass reports (quantizer, lowering, pipeline).
    """

    layerwise: Graph
    pipelined: Graph
    depth: int
    reports: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_pipeline(cls, pipelined: Graph, ctx: PassContext) -> NetworkProgram:
        """The program a network pipeline left: ``pipelined`` (its result), the layerwise graph
        ``keep-layerwise`` kept and the depth ``pipeline-delays`` reported."""
        depth = int(ctx.reports["pipeline-delays"]["depth"])
        return cls(ctx.graphs["layerwise"], pipelined, depth, dict(ctx.reports))

    @property
    def chip(self) -> str:
        """The chip the program was compiled for (its populations name it)."""
        return graph_chip(self.pipelined)

    def graph(self, mode: str) -> Graph:
        """The graph for ``mode`` (``pipelined`` or ``layerwise``)."""
        if mode not in ("pipelined", "layerwise"):
            raise ValueError(f"mode must be pipelined or layerwise, got {mode!r}")
        return self.pipelined if mode == "pipelined" else self.layerwise

    def populations(self, mode: str = "pipelined") -> Iterator[Node]:
        return (n for n in self.graph(mode).nodes if n.op == "population")

    def projections(self, mode: str = "pipelined") -> Iterator[Node]:
        return (n for n in self.graph(mode).nodes if n.op == "projection")


def build_program(graph: Graph, config: CompileConfig) -> NetworkProgram:
    """Compile a traced tensor-IR ``graph`` to a :class:`NetworkProgram`
    (:func:`snncompile.driver.build_program`)."""
    from snncompile.driver import build_program as build

    return build(graph, config)
