"""The ``loihi`` target: compile to the network IR and write a Loihi artifact directory.

Pipeline (:func:`snncompile.pipelines.loihi_pipeline`): ``fold-batchnorm``, ``fold-scales``,
``measure-compliance`` (the compliance report on seeded random samples), the remaining
quantization passes, ``lower-to-network``, ``keep-layerwise``, ``pipeline-delays`` and
``place-cores``; each pass runs once. The emitter only writes the artifact
(:mod:`snncompile.targets.loihi.artifact`) with the reports the passes published and the
per-pass timings. No Lava is needed to compile; ``snncompile.targets.loihi.load(OUT)`` loads
the result and builds the Lava processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from snncompile.config import CompileConfig
from snncompile.diagnostics import error
from snncompile.ir.graph import Graph
from snncompile.passes.manager import Pass, PassContext
from snncompile.pipelines import loihi_pipeline
from snncompile.report.compliance import COMPLIANCE_SAMPLES, MeasureCompliance
from snncompile.targets.base import Emitted
from snncompile.targets.loihi.arch import require_loihi2
from snncompile.targets.loihi.artifact import network_counts, write_artifact
from snncompile.targets.loihi.integrity import read_sign_key
from snncompile.targets.sim.program import NetworkProgram

__all__ = ["COMPLIANCE_SAMPLES", "LoihiTarget"]


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
        require_loihi2(config.chip, "loihi")
        return loihi_pipeline(config)

    def emit(
        self, graph: Graph, config: CompileConfig, ctx: PassContext, output: Path | None
    ) -> Emitted:
        if output is None:
            raise error(
                "CF201",
                "--target loihi writes an artifact directory: give it with -o OUT",
                node="output",
            )
        program = NetworkProgram.from_pipeline(graph, ctx)
        source = ctx.reports.get("source")
        files = write_artifact(
            program,
            config,
            output,
            source=source if isinstance(source, (str, Path)) else None,
            compliance=ctx.reports.get(MeasureCompliance.name),
            extra={"passes": [t.to_dict() for t in ctx.timings]},
            key=read_sign_key(config.sign_key),
        )
        counts = network_counts(program.pipelined)
        summary = (
            f"artifact {output}: {counts['populations']} populations, "
            f"{counts['projections']} projections, depth {program.depth}"
        )
        return Emitted(summary, files=tuple(files))
