"""Terminal renderers (rich tables) for the CLI's listings."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["render_zoo"]


def _millions(count: int | None) -> str:
    return "-" if count is None else f"{count / 1e6:.2f} M"


def render_zoo(rows: list[dict[str, Any]]) -> None:
    """The model zoo as one table."""
    table = Table(title=f"snncompile model zoo ({len(rows)} models)")
    for column in ("name", "family", "dataset", "depth", "dim", "heads", "T", "image"):
        table.add_column(column)
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
    Console().print(table)
