"""``snncompile demo``: the main job on the embedded default.

For every shipped trained digits model (``examples/digits/<family>.pt``): check it for
spike-drivenness, measure its operations and energy on the digits test split, quantize it to
Loihi's integer arithmetic and run the whole test split in it; print one table (float accuracy,
chip accuracy, verdict, energy) and write an HTML report per model. It grows with the compiler
(pipelined cycle simulation, Lava).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from snncompile.config import CompileConfig
from snncompile.data.samples import sample_inputs
from snncompile.frontend.load import load_model, to_graph
from snncompile.frontend.simulate import time_major_inputs
from snncompile.report.compliance import ComplianceReport, check_graph
from snncompile.report.html import compliance_html
from snncompile.report.terminal import _wide_console
from snncompile.runner import run_model

__all__ = ["FAMILIES", "DemoRow", "run_demo"]

FAMILIES = ("spikformer", "spikingformer", "sdt", "spikingresformer")


@dataclass(frozen=True)
class DemoRow:
    family: str
    report: ComplianceReport
    accuracy: float | None
    chip_accuracy: float | None
    html: Path


def _examples_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "examples" / "digits"


def run_demo(out_dir: Path, *, samples: int = 32, console: Console | None = None) -> list[DemoRow]:
    """Check each shipped digits model; write ``out_dir/<family>.html``; print the verdicts."""
    console = console or _wide_console()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for family in FAMILIES:
        checkpoint = _examples_dir() / f"{family}.pt"
        if not checkpoint.exists():
            console.print(f"[yellow]{checkpoint} is not shipped; skipped[/yellow]")
            continue
        loaded = load_model(checkpoint)
        graph = to_graph(loaded)
        x = sample_inputs(graph.inputs[0].type.shape, samples=samples, dataset="digits")
        report = check_graph(graph, time_major_inputs(graph, x, loaded.time_steps), model=family)
        html = out_dir / f"{family}.html"
        html.write_text(compliance_html(report))
        accuracy = (loaded.card or {}).get("accuracy")
        chip = run_model(
            checkpoint,
            backend="sim",
            config=CompileConfig(expand_sew=True, allow_host_ops=True),
        ).accuracy
        rows.append(DemoRow(family, report, accuracy, chip, html))
    table = Table(title="Are the trained digits spiking transformers spike-driven?")
    columns = ("model", "float acc.", "chip acc.", "verdict", "violations", "MACs", "ACs", "energy")
    for column in columns:
        table.add_column(column)
    for row in rows:
        codes = sorted({f.code for f in row.report.violations})
        energy = row.report.energy
        table.add_row(
            row.family,
            "-" if row.accuracy is None else f"{row.accuracy:.1%}",
            "-" if row.chip_accuracy is None else f"{row.chip_accuracy:.1%}",
            "[green]spike-driven[/green]" if row.report.spike_driven else "[red]not[/red]",
            f"{len(row.report.violations)} {' '.join(codes)}",
            f"{energy.mac_ops / 1e3:.1f} k",
            f"{energy.ac_ops / 1e3:.1f} k",
            f"{energy.energy_mj * 1e3:.2f} µJ",
        )
    console.print(table)
    console.print(
        "chip acc.: the whole digits test split in Loihi's integer arithmetic (8-bit weights, "
        "24-bit state), pipelined as the chip runs it; Spikformer's SEW synapses distributed "
        "over their sources (--expand-sew), SDT's max-pool over currents on the host "
        "(--allow-host-ops)"
    )
    console.print(f"HTML reports: {', '.join(str(r.html) for r in rows)}")
    return rows
