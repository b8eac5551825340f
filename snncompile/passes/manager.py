"""The pass manager: runs an explicit, ordered list of passes with timing and verification.

A pass is a small frozen dataclass (ARCHITECTURE convention 4)::

    @dataclass(frozen=True)
    class FoldBatchNorm:
        name: ClassVar[str] = "fold-batchnorm"
        requires: ClassVar[frozenset[str]] = frozenset()
        ensures: ClassVar[frozenset[str]] = frozenset({"no-batchnorm"})

        def run(self, graph: Graph, ctx: PassContext) -> Graph: ...

``requires``/``ensures`` are property names; the manager checks before running anything that
every pass's requirements are established by the initial properties or an earlier pass (CF203).
After every pass it runs the verifier (always on in tests); a failure is an InternalError PM301
naming the pass. ``dump_ir_after`` names passes (or ``all``) whose output IR is written to the
dump sink.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from snncompile.chip import ChipModel, get_chip
from snncompile.config import CompileConfig
from snncompile.diagnostics import SnnCompileError, error
from snncompile.ir.graph import Graph
from snncompile.ir.printer import print_graph
from snncompile.ir.verify import verify

__all__ = ["Pass", "PassContext", "PassManager", "PassTiming", "PipelineResult"]

log = logging.getLogger(__name__)


class Pass(Protocol):
    """What the manager needs of a pass."""

    name: ClassVar[str]
    requires: ClassVar[frozenset[str]]
    ensures: ClassVar[frozenset[str]]

    def run(self, graph: Graph, ctx: PassContext) -> Graph: ...


@dataclass
class PassContext:
    """Shared state of one pipeline run.

    Attributes:
        config: the build configuration.
        properties: the properties established so far (initial ones plus passes' ``ensures``).
        reports: results passes publish for reports (e.g. ``compliance``), keyed by name.
        graphs: graphs a pass keeps for the emitter besides the one it returns (e.g. the
            layerwise network before ``pipeline-delays``), keyed by name.
        timings: the :class:`PassTiming` of every pass run so far with this context, in order
            (what the artifact records).
        chip: the chip model compiled for, resolved once from ``config.chip`` (or given).
    """

    config: CompileConfig = field(default_factory=CompileConfig)
    properties: set[str] = field(default_factory=set)
    reports: dict[str, Any] = field(default_factory=dict)
    graphs: dict[str, Graph] = field(default_factory=dict)
    timings: list[PassTiming] = field(default_factory=list)
    chip: ChipModel = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.chip is None:
            self.chip = get_chip(self.config.chip)


@dataclass(frozen=True)
class PassTiming:
    """How long one pass took and what it did to the node count."""

    name: str
    seconds: float
    nodes_before: int
    nodes_after: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "pass": self.name,
            "seconds": self.seconds,
            "nodes_before": self.nodes_before,
            "nodes_after": self.nodes_after,
        }


@dataclass(frozen=True)
class PipelineResult:
    """The final graph and the per-pass timing."""

    graph: Graph
    timings: tuple[PassTiming, ...]

    @property
    def total_seconds(self) -> float:
        return sum(t.seconds for t in self.timings)


DumpSink = Callable[[str, str], None]


class PassManager:
    """Runs ``passes`` in order.

    Args:
        passes: the pipeline, in order.
        verify_each: run the verifier after every pass.
        dump_ir_after: pass names (or ``"all"``) whose output IR goes to ``dump``.
        dump: receives ``(pass_name, ir_text)``; defaults to the log at INFO.
        initial_properties: properties the input graph already has.
    """

    def __init__(
        self,
        passes: Sequence[Pass],
        *,
        verify_each: bool = True,
        dump_ir_after: Iterable[str] = (),
        dump: DumpSink | None = None,
        initial_properties: Iterable[str] = (),
    ) -> None:
        self.passes = tuple(passes)
        self.verify_each = verify_each
        self.dump_ir_after = frozenset(dump_ir_after)
        self.dump = dump or (lambda name, text: log.info("IR after %s:\n%s", name, text))
        self.initial_properties = frozenset(initial_properties)
        self._check_pipeline()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.passes)

    def _check_pipeline(self) -> None:
        names = self.names
        unknown = sorted(self.dump_ir_after - set(names) - {"all"})
        if unknown:
            raise error(
                "CF202",
                f"--dump-ir-after names pass(es) {', '.join(unknown)} that are not in the "
                f"pipeline ({', '.join(names) or 'empty'})",
                node=unknown[0],
            )
        established = set(self.initial_properties)
        for p in self.passes:
            missing = sorted(p.requires - established)
            if missing:
                raise error(
                    "CF203",
                    f"pass {p.name} requires {', '.join(missing)}, which no earlier pass "
                    f"establishes (pipeline: {', '.join(names)})",
                    node=p.name,
                )
            established |= p.ensures

    def run(self, graph: Graph, ctx: PassContext | None = None) -> PipelineResult:
        """Run the pipeline on ``graph`` (which is not modified)."""
        ctx = ctx or PassContext()
        ctx.properties |= self.initial_properties
        if self.verify_each:
            verify(graph)
        timings = []
        for p in self.passes:
            before = len(graph.nodes)
            start = time.perf_counter()
            try:
                result = p.run(graph, ctx)
            except SnnCompileError:
                raise
            except Exception as exc:
                raise error(
                    "PM303",
                    f"pass {p.name} crashed on @{graph.name}: {type(exc).__name__}: {exc}",
                    node=p.name,
                ) from exc
            elapsed = time.perf_counter() - start
            if self.verify_each:
                try:
                    verify(result)
                except SnnCompileError as exc:
                    raise error(
                        "PM301",
                        f"pass {p.name} produced invalid IR: [{exc.code}] {exc.message}",
                        node=exc.node or p.name,
                    ) from exc
            ctx.properties |= p.ensures
            timing = PassTiming(p.name, elapsed, before, len(result.nodes))
            timings.append(timing)
            ctx.timings.append(timing)
            log.debug("pass %s: %.3f s, %d -> %d nodes", p.name, elapsed, before, len(result.nodes))
            if "all" in self.dump_ir_after or p.name in self.dump_ir_after:
                self.dump(p.name, print_graph(result, elide_arrays=True))
            graph = result
        return PipelineResult(graph, tuple(timings))
