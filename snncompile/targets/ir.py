"""The ``ir`` target: the traced tensor IR in its text form (what the frontend produced)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from snncompile.config import CompileConfig
from snncompile.fileio import write_text
from snncompile.frontend.recorded import header
from snncompile.ir.graph import Graph
from snncompile.ir.printer import print_graph
from snncompile.passes.dead_code import DeadCode
from snncompile.passes.manager import Pass, PassContext
from snncompile.targets.base import Emitted

__all__ = ["IrTarget"]


@dataclass(frozen=True)
class IrTarget:
    """Print the tensor IR (after dead-code removal) so a user can read what was traced."""

    name: str = "ir"
    limits: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def pipeline(self, config: CompileConfig) -> list[Pass]:
        return [DeadCode()]

    def emit(
        self, graph: Graph, config: CompileConfig, ctx: PassContext, output: Path | None
    ) -> Emitted:
        text = header(config.time_steps, config.input_shape) + print_graph(graph)
        summary = f"{len(graph.nodes)} nodes"
        if output is None:
            return Emitted(summary, text=text)
        write_text(output, text)
        return Emitted(summary, files=(output,))
