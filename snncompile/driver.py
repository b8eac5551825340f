"""The driver: the one way from a model to a compiled result, for every command and the API.

``snncompile MODEL`` (compile), ``check``, ``run``, ``report``, ``demo`` and
:func:`snncompile.compile` all read models with :func:`read_model` and run pipelines
(:mod:`snncompile.pipelines`) with :func:`run_pipeline`:

1. :func:`read_model` loads the source (:mod:`snncompile.frontend.load`) and traces it to tensor
   IR in :data:`TRACE_DTYPE` (float32; see docs/architecture.md for why);
2. :func:`run_pipeline` runs a pipeline once with one :class:`PassContext` (each pass publishes
   its report; ``ctx.timings`` records every pass);
3. :func:`compile_graph` runs the target's pipeline and hands the result to the target's emitter,
   which only writes; :func:`build_program` runs the network pipeline for the simulator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snncompile.config import CompileConfig
from snncompile.diagnostics import error
from snncompile.ir.graph import Graph
from snncompile.passes.manager import Pass, PassContext, PassManager, PipelineResult

if TYPE_CHECKING:
    from snncompile.frontend.load import LoadedModel
    from snncompile.targets.base import Emitted
    from snncompile.targets.sim.program import NetworkProgram

__all__ = [
    "TRACE_DTYPE",
    "CompileResult",
    "build_program",
    "compile_file",
    "compile_graph",
    "load",
    "read_model",
    "run_pipeline",
    "trace",
]

#: The dtype every model is traced in (compile, check, run and the API alike).
TRACE_DTYPE = "float32"

DumpSink = Callable[[str, str], None]


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


def load(source: Any, config: CompileConfig) -> LoadedModel:
    """Load ``source`` (``zoo:NAME``, a checkpoint, a pickled module, text IR, ONNX, NIR, netx
    or an ``nn.Module``) with the loading options of ``config``."""
    from snncompile.frontend.load import load_configured

    return load_configured(source, config)


def trace(loaded: LoadedModel) -> Graph:
    """The tensor IR of ``loaded``, traced in :data:`TRACE_DTYPE`."""
    import torch

    from snncompile.frontend.load import to_graph

    return to_graph(loaded, getattr(torch, TRACE_DTYPE))


def read_model(source: Any, config: CompileConfig) -> tuple[Graph, CompileConfig]:
    """Load and trace ``source``; the returned config carries the model's T and input shape
    when the user did not set them (so that they are recorded with the result)."""
    loaded = load(source, config)
    graph = trace(loaded)
    return graph, recorded_config(config, loaded)


def recorded_config(config: CompileConfig, loaded: LoadedModel) -> CompileConfig:
    """``config`` with the model's T (and input shape) filled in where the user gave none."""
    changes: dict[str, Any] = {}
    if config.time_steps is None:
        changes["time_steps"] = loaded.time_steps
    if config.input_shape is None and loaded.input_shape is not None:
        changes["input_shape"] = tuple(int(n) for n in loaded.input_shape)
    return config.replace(**changes) if changes else config


def run_pipeline(
    graph: Graph,
    passes: Sequence[Pass],
    config: CompileConfig | None = None,
    *,
    dump: DumpSink | None = None,
    ctx: PassContext | None = None,
    initial_properties: frozenset[str] = frozenset(),
) -> tuple[PipelineResult, PassContext]:
    """Run ``passes`` on ``graph`` once, with ``config``'s verification and IR dumps
    (``initial_properties``: what the input graph already has, e.g. a netx network)."""
    config = config or CompileConfig()
    ctx = ctx or PassContext(config=config)
    manager = PassManager(
        passes,
        verify_each=config.verify_each_pass,
        dump_ir_after=config.dump_ir_after,
        dump=dump,
        initial_properties=initial_properties,
    )
    return manager.run(graph, ctx), ctx


def compile_graph(
    graph: Graph,
    config: CompileConfig,
    *,
    output: Path | None = None,
    dump: DumpSink | None = None,
    source: str | Path | None = None,
) -> CompileResult:
    """Run the target's pipeline on ``graph`` and emit the target's output (to ``output``).

    ``source`` (the model file, if any) is recorded for targets that hash it (``loihi``)."""
    from snncompile.targets import TARGET_NAMES, get_target

    if config.target not in TARGET_NAMES:
        raise error(
            "CF201",
            f"target {config.target!r} is not available in this version; available: "
            f"{', '.join(TARGET_NAMES)}",
            node="target",
        )
    target = get_target(config.target)
    if graph.stage == "network" and config.target == "fixed":
        raise error(
            "IX830",
            f"{graph.name} is already the chip's integer network (a netx file): --target fixed "
            "writes the quantized tensor IR, which a network has no form of; use --target ir "
            "(the network IR as read) or --target loihi",
            node=graph.name,
        )

    def attempt(cfg: CompileConfig) -> tuple[PipelineResult, PassContext]:
        passes, initial = _network_stage(graph, target.pipeline(cfg))
        ctx = PassContext(config=cfg)
        if source is not None:
            ctx.reports["source"] = str(source)
        return run_pipeline(graph, passes, cfg, dump=dump, ctx=ctx, initial_properties=initial)

    result, ctx = within_latency_budget(config, attempt)
    return CompileResult(result, target.emit(result.graph, ctx.config, ctx, output))


def latency_steps(ctx: PassContext) -> int | None:
    """``T + depth`` of a pipelined network compile (None before ``pipeline-delays``)."""
    depth = ctx.reports.get("pipeline-delays", {}).get("depth")
    steps = ctx.config.time_steps
    return None if depth is None or steps is None else int(steps) + int(depth)


def within_latency_budget(
    config: CompileConfig,
    attempt: Callable[[CompileConfig], tuple[PipelineResult, PassContext]],
) -> tuple[PipelineResult, PassContext]:
    """Run ``attempt(config)``; with ``max_latency_steps`` set and exceeded, retry with
    ``objective="latency"`` (no relay hops) when the cores objective chose relays, else RS981.
    ``ctx.reports["objective"]`` records the objective used and why."""
    result, ctx = attempt(config)
    budget = config.max_latency_steps
    steps = latency_steps(ctx)
    if budget is None or steps is None or steps <= budget:
        ctx.reports["objective"] = {"objective": config.objective, "latency_steps": steps}
        return result, ctx
    products = ctx.reports.get("lower-to-network", {}).get("products", [])
    first = steps
    if config.objective == "cores" and any(p["lowered_as"] == "relay" for p in products):
        result, ctx = attempt(config.replace(objective="latency"))
        steps = latency_steps(ctx)
        if steps is not None and steps <= budget:
            ctx.reports["objective"] = {
                "objective": "latency",
                "latency_steps": steps,
                "reason": f"objective cores needs {first} steps > --max-latency-steps {budget}",
            }
            return result, ctx
    needed = first if steps is None else steps
    raise error(
        "RS981",
        f"the fastest mapping needs {needed} steps (T={ctx.config.time_steps} + pipeline depth "
        f"{needed - int(ctx.config.time_steps or 0)}), more than --max-latency-steps {budget}",
        node="max_latency_steps",
    )


def compile_file(
    source: str | Path,
    config: CompileConfig,
    *,
    output: Path | None = None,
    dump: DumpSink | None = None,
) -> CompileResult:
    """Read ``source`` and compile it with ``config``."""
    graph, config = read_model(source, config)
    return compile_graph(graph, config, output=output, dump=dump, source=source)


def build_program(graph: Graph, config: CompileConfig) -> NetworkProgram:
    """Compile a traced tensor-IR ``graph`` to a network program (both timings) with the
    network pipeline (:func:`snncompile.pipelines.network_pipeline`)."""
    from snncompile.pipelines import network_pipeline
    from snncompile.targets.sim.program import NetworkProgram

    def attempt(cfg: CompileConfig) -> tuple[PipelineResult, PassContext]:
        passes, initial = _network_stage(graph, network_pipeline(cfg))
        return run_pipeline(graph, passes, cfg, initial_properties=initial)

    result, ctx = within_latency_budget(config, attempt)
    if graph.stage == "network":  # read as a network: describe it as the lowering would
        from snncompile.report.network import lowering_summary

        ctx.reports.setdefault("lower-to-network", lowering_summary(ctx.graphs["layerwise"]))
    return NetworkProgram.from_pipeline(result.graph, ctx)


def _network_stage(graph: Graph, passes: list[Pass]) -> tuple[list[Pass], frozenset[str]]:
    """The passes of ``passes`` that apply to ``graph`` and the properties it starts with: a
    network-stage graph (a netx file) is already fixed point, so the tensor-level passes are
    dropped and it starts ``quantized`` and ``network``."""
    if graph.stage != "network":
        return passes, frozenset()
    kept = [p for p in passes if p.requires & {"network"} or not (p.requires or p.ensures)]
    return kept, frozenset({"quantized", "network"})
