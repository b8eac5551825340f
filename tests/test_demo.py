"""The demo checks every shipped digits model and writes an HTML report for each."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from snncompile.demo import FAMILIES, run_demo


@pytest.mark.slow
def test_demo_verdicts(tmp_path: Path) -> None:
    with open(tmp_path / "log", "w") as log:
        rows = run_demo(tmp_path, samples=4, console=Console(file=log))
    verdicts = {row.family: row.report.spike_driven for row in rows}
    assert verdicts == {
        "spikformer": False,
        "spikingformer": True,
        "sdt": False,
        "spikingresformer": True,
    }
    assert [row.family for row in rows] == list(FAMILIES)
    for row in rows:
        assert row.html.read_text().startswith("<!DOCTYPE html>")
