"""Terminal renderers (rich tables) for the CLI's listings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from snncompile.report.energy import CONVENTIONS
from snncompile.report.models import conventions, energy_models

if TYPE_CHECKING:
    from snncompile.report.compliance import ComplianceReport

__all__ = ["render_compliance", "render_zoo"]


def _wide_console(columns: int = 130) -> Console:
    """A console at least ``columns`` wide (pipes and CI logs default to 80)."""
    width = Console().width
    return Console(width=max(width, columns))


def _millions(count: int | None) -> str:
    return "-" if count is None else f"{count / 1e6:.2f} M"


def render_zoo(rows: list[dict[str, Any]]) -> None:
    """The model zoo as one table."""
    table = Table(title=f"snncompile model zoo ({len(rows)} models)")
    for column in ("name", "family", "dataset", "depth", "dim", "heads", "T", "image"):
        table.add_column(column, no_wrap=True)
    table.add_column("params", justify="right")
    table.add_column("paper", justify="right")
    for row in rows:
        table.add_row(
            row["name"],
            row["family"],
            row["dataset"],
            str(row["depth"]),
            str(row["dim"]),
            str(row["heads"]),
            str(row["time_steps"]),
            str(row["image_size"]),
            _millions(row["params"]),
            _millions(row["paper_params"]),
        )
    _wide_console().print(table)


def _ops(value: float) -> str:
    if value == 0:
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{value:.0f}"


_WHERE = {"host_encoder": "host-in", "chip": "chip", "host_readout": "host-out"}


def render_compliance(report: ComplianceReport, console: Console | None = None) -> None:
    """The compliance report: one row per synaptic op, then findings and the verdict."""
    console = console or _wide_console(150)  # the three conventions side by side
    by_node = {f.node: f for f in report.findings}
    table = Table(title=f"spike-driven check of {report.model} (T={report.energy.time_steps})")
    table.add_column("layer", no_wrap=True)
    for column in ("op", "where", "input", "rate"):
        table.add_column(column)
    selected = report.energy.convention
    columns = {
        "paper": ("paper MAC", "paper AC"),
        "events": ("event MAC", "event AC"),
        "chip": ("chip syn",),
    }
    order = [selected, *(c for c in CONVENTIONS if c != selected)]
    for convention in order:
        for column in columns[convention]:
            label = f"[bold]{column}[/bold]" if convention == selected else column
            table.add_column(label, justify="right", no_wrap=True)
    table.add_column("finding")
    for layer in report.energy.layers:
        finding = by_node.get(layer.node)
        mark = ""
        if finding is not None:
            colour = "red" if finding.severity == "violation" else "yellow"
            mark = f"[{colour}]{finding.code}[/{colour}]"
        cells = {
            "paper": (_ops(layer.macs), _ops(layer.acs)),
            "events": (_ops(layer.event_macs), _ops(layer.event_acs)),
            "chip": (
                _ops(layer.event_macs + layer.event_acs) if layer.partition == "chip" else "host",
            ),
        }
        table.add_row(
            layer.module or layer.node,
            layer.op,
            _WHERE[layer.partition],
            layer.input_domain.replace(" x ", "×"),
            "" if layer.firing_rate is None else f"{layer.firing_rate:.3f}",
            *(cell for convention in order for cell in cells[convention]),
            mark,
        )
    console.print(table)
    fixed: set[str] = set()
    for finding in report.findings:
        colour = "red" if finding.severity == "violation" else "yellow"
        where = f" ({finding.module})" if finding.module else ""
        fix = "" if finding.code in fixed else f"\n  fix: {finding.fix}"
        fixed.add(finding.code)
        console.print(
            f"[{colour}]{finding.severity} {finding.code}[/{colour}] %{finding.node}{where}: "
            f"{finding.message}{fix}"
        )
    energy = report.energy
    console.print(
        f"partitions: host encoder {len(report.partition.host_encoder)} nodes, chip "
        f"{len(report.partition.chip)}, host readout {len(report.partition.host_readout)}"
    )
    conv = conventions(energy)
    models = energy_models(energy)
    shown = conv[energy.convention]
    counts = (
        f"{_ops(shown['synaptic_events'])} synaptic events, {_ops(shown['neuron_updates'])} "
        f"neuron updates, {_ops(shown['spikes'])} spikes"
        if energy.convention == "chip"
        else f"{_ops(shown['mac_ops'])} MACs, {_ops(shown['ac_ops'])} ACs"
    )
    console.print(
        f"per inference ({energy.convention} convention, {energy.samples} samples): {counts}"
    )
    console.print(
        f"energy per inference: {models['compute_45nm']['energy_uj']:.4g} µJ 45 nm compute "
        f"(paper counts; {models['compute_45nm']['energy_uj_events']:.4g} µJ on events), "
        f"{models['memory']['energy_uj']:.4g} µJ memory traffic, "
        f"{models['chip']['energy_uj']:.4g} µJ chip model"
    )
    console.print(f"[dim]{models['explanation']}[/dim]")
    if report.spike_driven:
        console.print("[green]verdict: the chip partition is spike-driven[/green]")
    else:
        count = len(report.violations)
        noun = "violation" if count == 1 else "violations"
        console.print(f"[red]verdict: NOT spike-driven ({count} {noun})[/red]")
