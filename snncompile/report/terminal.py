"""Terminal renderers (rich tables) for the CLI's listings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from snncompile.report.compliance import ComplianceReport

__all__ = ["render_compliance", "render_zoo"]


def _wide_console() -> Console:
    """A console at least 130 columns wide (pipes and CI logs default to 80)."""
    width = Console().width
    return Console(width=max(width, 130))


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
    console = console or _wide_console()
    by_node = {f.node: f for f in report.findings}
    table = Table(title=f"spike-driven check of {report.model} (T={report.energy.time_steps})")
    table.add_column("layer", no_wrap=True)
    for column in ("op", "where", "input", "rate"):
        table.add_column(column)
    table.add_column("MACs", justify="right")
    table.add_column("ACs", justify="right")
    table.add_column("finding")
    for layer in report.energy.layers:
        finding = by_node.get(layer.node)
        mark = ""
        if finding is not None:
            colour = "red" if finding.severity == "violation" else "yellow"
            mark = f"[{colour}]{finding.code}[/{colour}]"
        table.add_row(
            layer.module or layer.node,
            layer.op,
            _WHERE[layer.partition],
            layer.input_domain.replace(" x ", "×"),
            "" if layer.firing_rate is None else f"{layer.firing_rate:.3f}",
            _ops(layer.macs),
            _ops(layer.acs),
            mark,
        )
    console.print(table)
    fixed: set[str] = set()  # each code's fix is printed once, under its first finding
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
    console.print(
        f"per inference: {_ops(energy.mac_ops)} MACs, {_ops(energy.ac_ops)} ACs, "
        f"{energy.energy_mj:.4f} mJ (4.6 pJ/MAC, 0.9 pJ/AC, 45 nm; {energy.samples} samples)"
    )
    if report.spike_driven:
        console.print("[green]verdict: the chip partition is spike-driven[/green]")
    else:
        count = len(report.violations)
        noun = "violation" if count == 1 else "violations"
        console.print(f"[red]verdict: NOT spike-driven ({count} {noun})[/red]")
