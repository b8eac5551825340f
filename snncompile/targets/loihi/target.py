"""The ``loihi`` target: compile to the network IR and write a Loihi artifact directory.

Pipeline: ``keep-traced`` (remembers the traced graph for the compliance report), the
quantization passes of the ``fixed`` target, ``lower-to-network``; the emitter then runs
``pipeline-delays`` on the layerwise network, measures the compliance report on sample inputs
and writes the artifact (:mod:`snncompile.targets.loihi.artifact`). No Lava is needed to
compile; ``snncompile.targets.loihi.load(OUT)`` loads the result and builds the Lava processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from snncompile.config import CompileConfig
from snncompile.diagnostics import error
from snncompile.ir.graph import Graph
from snncompile.passes.manager import Pass, PassContext, PassManager
from snncompile.passes.pipeline_delays import PipelineDelays
from snncompile.targets.base import Emitted
from snncompile.targets.loihi.artifact import network_counts, write_artifact
from snncompile.targets.loihi.integrity import read_sign_key
from snncompile.targets.sim.program import NetworkProgram, network_passes

__all__ = ["COMPLIANCE_SAMPLES", "KeepTraced", "LoihiTarget", "compliance_report"]

#: Random sample inputs the artifact's compliance report is measured on.
COMPLIANCE_SAMPLES = 4
_TRACED = "keep-traced"


@dataclass(frozen=True)
class KeepTraced:
    """Record the traced graph in ``ctx.reports['keep-traced']`` (for reports); no change."""

    name: ClassVar[str] = _TRACED
    requires: ClassVar[frozenset[str]] = frozenset()
    ensures: ClassVar[frozenset[str]] = frozenset()

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        ctx.reports[self.name] = graph
        return graph


def compliance_report(
    graph: Graph, config: CompileConfig, *, samples: int = COMPLIANCE_SAMPLES
) -> Any:
    """The compliance report of the traced ``graph`` on seeded random inputs, or ``None`` when
    the graph is not a tensor-IR graph with one input."""
    if graph.stage != "tensor" or len(graph.inputs) != 1:
        return None
    from snncompile.data.samples import sample_inputs
    from snncompile.frontend.simulate import time_major_inputs
    from snncompile.ir.types import DTYPES
    from snncompile.report.compliance import check_graph

    steps = config.time_steps or 4
    shape = graph.inputs[0].type.shape
    x = sample_inputs(shape, samples=samples, seed=config.seed)
    inputs = time_major_inputs(graph, x.astype(DTYPES[graph.inputs[0].type.dtype]), steps)
    return check_graph(graph, np.asarray(inputs), model=graph.name)


@dataclass(frozen=True)
class LoihiTarget:
    """Compile to a Loihi artifact directory (``-o`` is required)."""

    name: str = "loihi"
    limits: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType(
            {"weight_bits": 8, "state_bits": 24, "max_synaptic_delay": 62}
        )
    )

    def pipeline(self, config: CompileConfig) -> list[Pass]:
        return [KeepTraced(), *network_passes(pipelined=False)]

    def emit(
        self, graph: Graph, config: CompileConfig, ctx: PassContext, output: Path | None
    ) -> Emitted:
        if output is None:
            raise error(
                "CF201",
                "--target loihi writes an artifact directory: give it with -o OUT",
                node="output",
            )
        traced = ctx.reports.pop(_TRACED, None)
        pipelined = PassManager(
            [PipelineDelays()],
            verify_each=config.verify_each_pass,
            initial_properties=ctx.properties,
        ).run(graph, ctx)
        depth = int(ctx.reports["pipeline-delays"]["depth"])
        program = NetworkProgram(graph, pipelined.graph, depth, dict(ctx.reports))
        compliance = compliance_report(traced, config) if isinstance(traced, Graph) else None
        source = ctx.reports.get("source")
        files = write_artifact(
            program,
            config,
            output,
            source=source if isinstance(source, (str, Path)) else None,
            compliance=compliance,
            key=read_sign_key(config.sign_key),
        )
        counts = network_counts(program.pipelined)
        summary = (
            f"artifact {output}: {counts['populations']} populations, "
            f"{counts['projections']} projections, depth {depth}"
        )
        return Emitted(summary, files=tuple(files))
