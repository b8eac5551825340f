"""``snncompile demo``: the main job on the embedded default.

Checks every shipped trained digits model (``examples/digits/<family>.pt``) for
spike-drivenness on the digits test split and prints one verdict table, writing an HTML report
per model. It grows with the compiler (compile for Loihi, simulate, compare with Lava).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from snncompile.data.samples import sample_inputs
from snncompile.frontend.load import load_model, to_graph
from snncompile.frontend.simulate import time_major_inputs
from snncompile.report.compliance import ComplianceReport, check_graph
from snncompile.report.html import compliance_html
from snncompile.report.terminal import _wide_console

__all__ = ["FAMILIES", "DemoRow", "run_demo"]

FAMILIES = ("spikformer", "spikingformer", "sdt", "spikingresformer")


@dataclass(frozen=True)
class DemoRow:
    family: str
    report: ComplianceReport
    accuracy: float | None
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
        rows.append(DemoRow(family, report, accuracy, html))
    table = Table(title="Are the trained digits spiking transformers spike-driven?")
    for column in ("model", "float acc.", "verdict", "violations", "MACs", "ACs", "energy"):
        table.add_column(column)
    for row in rows:
        codes = sorted({f.code for f in row.report.violations})
        energy = row.report.energy
        table.add_row(
            row.family,
            "-" if row.accuracy is None else f"{row.accuracy:.1%}",
            "[green]spike-driven[/green]" if row.report.spike_driven else "[red]not[/red]",
            f"{len(row.report.violations)} {' '.join(codes)}",
            f"{energy.mac_ops / 1e3:.1f} k",
            f"{energy.ac_ops / 1e3:.1f} k",
            f"{energy.energy_mj * 1e3:.2f} µJ",
        )
    console.print(table)
    console.print(f"HTML reports: {', '.join(str(r.html) for r in rows)}")
    return rows
