"""The ``fixed`` target: the quantized tensor IR, Loihi's integer arithmetic as text.

Pipeline (:func:`snncompile.pipelines.fixed_pipeline`): ``fold-batchnorm``, ``fold-scales``,
``lower-residuals``, ``decompose-attention``, ``quantize-fixed-point``, ``balance-delays``. The
output is the pipelined integer network, headed by the T and input shape it was compiled with
(:mod:`snncompile.frontend.recorded`): its layerwise run is what the chip computes, the model's
output appearing ``depth`` steps late; the reference simulator and Lava must equal it bit for
bit (``docs/lowering.md``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from snncompile.chip import DEFAULT_CHIP, get_chip
from snncompile.config import CompileConfig
from snncompile.fileio import write_text
from snncompile.frontend.recorded import header
from snncompile.ir.graph import Graph
from snncompile.ir.printer import print_graph
from snncompile.passes.manager import Pass, PassContext
from snncompile.pipelines import fixed_pipeline, quantize_passes
from snncompile.targets.base import Emitted

__all__ = ["FixedTarget", "quantize_passes"]


@dataclass(frozen=True)
class FixedTarget:
    """Quantize to the chip's formats and print the integer IR (and its report)."""

    name: str = "fixed"
    limits: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType(
            {
                "weight_bits": get_chip(DEFAULT_CHIP).weights.bits,
                "state_bits": get_chip(DEFAULT_CHIP).neuron.voltage_bits,
            }
        )
    )

    def pipeline(self, config: CompileConfig) -> list[Pass]:
        return fixed_pipeline(config)

    def emit(
        self, graph: Graph, config: CompileConfig, ctx: PassContext, output: Path | None
    ) -> Emitted:
        report = dict(ctx.reports.get("quantize-fixed-point", {}))
        pipeline = ctx.reports.get("balance-delays", {})
        report["pipeline"] = pipeline
        scales = ", ".join(str(s) for s in report.get("scales", []))
        summary = f"{len(graph.nodes)} nodes, {len(report.get('neurons', {}))} populations"
        summary += f", scales {scales}" if scales else ""
        summary += f", depth {pipeline['depth']}" if "depth" in pipeline else ""
        text = header(config.time_steps, config.input_shape) + print_graph(graph)
        if output is None:
            return Emitted(summary, text=text)
        report_path = output.with_suffix(".quantization.json")
        write_text(output, text)
        write_text(report_path, json.dumps(report, indent=2, default=str))
        return Emitted(summary, files=(output, report_path))
