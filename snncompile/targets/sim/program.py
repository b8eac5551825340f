"""A compiled network program: the layerwise and pipelined network IR of one model.

:func:`network_passes` is the pipeline from the traced tensor IR to the pipelined network IR
(the chip targets ``sim`` and ``loihi`` run it); :func:`build_program` runs it and keeps what the
simulator, Lava emission and reports need. Both graphs share the same populations and
projections (names included); they differ only in delays and population starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from snncompile.config import CompileConfig
from snncompile.ir.graph import Graph, Node
from snncompile.ir.ops.network import graph_chip
from snncompile.passes.lower_to_network import LowerToNetwork
from snncompile.passes.manager import Pass, PassContext, PassManager
from snncompile.passes.pipeline_delays import PipelineDelays
from snncompile.targets.fixed import quantize_passes

__all__ = ["NetworkProgram", "build_program", "network_passes"]


def network_passes(*, pipelined: bool = True) -> list[Pass]:
    """Traced tensor IR -> quantized tensor IR -> network IR (-> pipelined)."""
    return [*quantize_passes(), LowerToNetwork(), *([PipelineDelays()] if pipelined else [])]


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
    """Compile a traced tensor-IR ``graph`` (float64) to a :class:`NetworkProgram`."""
    ctx = PassContext(config=config)
    layerwise = PassManager(
        network_passes(pipelined=False), verify_each=config.verify_each_pass
    ).run(graph, ctx)
    pipelined = PassManager(
        [PipelineDelays()],
        verify_each=config.verify_each_pass,
        initial_properties=ctx.properties,
    ).run(layerwise.graph, ctx)
    depth = int(ctx.reports["pipeline-delays"]["depth"])
    return NetworkProgram(layerwise.graph, pipelined.graph, depth, ctx.reports)
