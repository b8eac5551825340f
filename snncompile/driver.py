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
from snncompile.ir.parser import parse_graph
from snncompile.ir.printer import print_graph
from snncompile.passes.dead_code import DeadCode
from snncompile.passes.manager import Pass, PassContext, PassManager, PipelineResult

__all__ = ["PIPELINES", "CompileResult", "compile_file", "compile_graph", "read_model"]

#: The pass pipeline of each target, in order. Targets without a pipeline yet are absent.
PIPELINES: dict[str, Callable[[CompileConfig], list[Pass]]] = {
    "ir": lambda config: [DeadCode()],
}

#: File suffixes of the text IR.
IR_SUFFIXES = (".snnir", ".ir")


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


def read_model(path: Path) -> Graph:
    """Read a model file into a graph; raises IN601 for inputs this version cannot read."""
    if not path.exists():
        raise error("IN601", f"{path} does not exist", node=str(path))
    if path.suffix in IR_SUFFIXES:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise error("IN601", f"cannot read {path} as text: {exc}", node=str(path)) from exc
        return parse_graph(text)
    raise error(
        "IN601",
        f"cannot compile {path}: this version reads text IR files ({', '.join(IR_SUFFIXES)}); "
        "PyTorch checkpoints, NIR, ONNX and netx inputs are not supported yet",
        node=str(path),
    )


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
    path: Path, config: CompileConfig, *, dump: Callable[[str, str], None] | None = None
) -> CompileResult:
    """Read ``path`` and compile it with ``config``."""
    return compile_graph(read_model(path), config, dump=dump)
