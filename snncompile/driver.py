"""The compile driver: read a model, run the target's pipeline, emit the target's output.

Each target (``snncompile.targets.TARGETS``) holds its pipeline as an explicit ordered list
(ARCHITECTURE convention 6) and its emitter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from snncompile.config import CompileConfig
from snncompile.diagnostics import error
from snncompile.ir.graph import Graph
from snncompile.passes.manager import PassContext, PassManager, PipelineResult
from snncompile.targets import TARGETS, Emitted

__all__ = ["CompileResult", "compile_file", "compile_graph", "read_model"]


@dataclass(frozen=True)
class CompileResult:
    """What a compile produced: the final graph, per-pass timing and what the target wrote."""

    pipeline: PipelineResult
    emitted: Emitted

    @property
    def text(self) -> str | None:
        return self.emitted.text

    @property
    def summary(self) -> str:
        return (
            f"{self.emitted.summary}; {len(self.pipeline.timings)} passes in "
            f"{self.pipeline.total_seconds * 1e3:.1f} ms"
        )


def read_model(source: str | Path, config: CompileConfig) -> tuple[Graph, CompileConfig]:
    """Load ``source`` (``zoo:NAME``, a checkpoint, a pickled module, text IR, ONNX or NIR) as
    tensor IR; the returned config carries the model's T when the user did not set one."""
    from snncompile.frontend.load import load_configured, to_graph

    loaded = load_configured(source, config)
    if config.time_steps is None:
        config = config.replace(time_steps=loaded.time_steps)
    return to_graph(loaded), config


def compile_graph(
    graph: Graph,
    config: CompileConfig,
    *,
    output: Path | None = None,
    dump: Callable[[str, str], None] | None = None,
    source: str | Path | None = None,
) -> CompileResult:
    """Run the target's pipeline on ``graph`` and emit the target's output (to ``output``).

    ``source`` (the model file, if any) is recorded for targets that hash it (``loihi``)."""
    target = TARGETS.get(config.target)
    if target is None:
        raise error(
            "CF201",
            f"target {config.target!r} is not available in this version; available: "
            f"{', '.join(TARGETS)}",
            node="target",
        )
    passes = target.pipeline(config)
    initial: frozenset[str] = frozenset()
    if graph.stage == "network":  # already fixed point (a netx file): no tensor-level passes
        passes = [p for p in passes if p.requires & {"network"} or not (p.requires or p.ensures)]
        initial = frozenset({"quantized", "network"})
    manager = PassManager(
        passes,
        verify_each=config.verify_each_pass,
        dump_ir_after=config.dump_ir_after,
        dump=dump,
        initial_properties=initial,
    )
    ctx = PassContext(config=config)
    if source is not None:
        ctx.reports["source"] = str(source)
    result = manager.run(graph, ctx)
    return CompileResult(result, target.emit(result.graph, config, ctx, output))


def compile_file(
    source: str | Path,
    config: CompileConfig,
    *,
    output: Path | None = None,
    dump: Callable[[str, str], None] | None = None,
) -> CompileResult:
    """Read ``source`` and compile it with ``config``."""
    graph, config = read_model(source, config)
    return compile_graph(graph, config, output=output, dump=dump, source=source)
