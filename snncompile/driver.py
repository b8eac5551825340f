"""The compile driver: read a model, run the target's pipeline, produce the target's output.

Pipelines are explicit ordered lists, one per target, in :data:`PIPELINES` (ARCHITECTURE
convention 6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from snncompile.config import CompileConfig
from snncompile.diagnostics import error
from snncompile.ir.graph import Graph
from snncompile.ir.printer import print_graph
from snncompile.passes.dead_code import DeadCode
from snncompile.passes.manager import Pass, PassContext, PassManager, PipelineResult

__all__ = ["PIPELINES", "CompileResult", "compile_file", "compile_graph", "read_model"]

#: The pass pipeline of each target, in order. Targets without a pipeline yet are absent.
PIPELINES: dict[str, Callable[[CompileConfig], list[Pass]]] = {
    "ir": lambda config: [DeadCode()],
}


@dataclass(frozen=True)
class CompileResult:
    """What a compile produced: the final graph, its text output and per-pass timing."""

    pipeline: PipelineResult
    text: str

    @property
    def summary(self) -> str:
        g = self.pipeline.graph
        return (
            f"{len(g.nodes)} nodes, {len(self.pipeline.timings)} passes in "
            f"{self.pipeline.total_seconds * 1e3:.1f} ms"
        )


def read_model(source: str | Path, config: CompileConfig) -> Graph:
    """Load ``source`` (``zoo:NAME``, a checkpoint, a pickled module or text IR) as tensor IR."""
    from snncompile.frontend.load import load_model, to_graph

    loaded = load_model(
        source,
        arch=config.arch,
        trust_pickle=config.trust_pickle,
        seed=config.seed,
        time_steps=config.time_steps,
    )
    return to_graph(loaded)


def compile_graph(
    graph: Graph,
    config: CompileConfig,
    *,
    dump: Callable[[str, str], None] | None = None,
) -> CompileResult:
    """Run the target's pipeline on ``graph`` and render the target's output."""
    if config.target not in PIPELINES:
        raise error(
            "CF201",
            f"target {config.target!r} is not available in this version; available: "
            f"{', '.join(PIPELINES)}",
            node="target",
        )
    manager = PassManager(
        PIPELINES[config.target](config),
        verify_each=config.verify_each_pass,
        dump_ir_after=config.dump_ir_after,
        dump=dump,
    )
    result = manager.run(graph, PassContext(config=config))
    return CompileResult(result, print_graph(result.graph))


def compile_file(
    source: str | Path,
    config: CompileConfig,
    *,
    dump: Callable[[str, str], None] | None = None,
) -> CompileResult:
    """Read ``source`` and compile it with ``config``."""
    return compile_graph(read_model(source, config), config, dump=dump)
