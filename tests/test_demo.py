"""The demo: verdicts, chip accuracy, the Loihi artifact, Lava vs simulator, and a summary
whose numbers are the ones printed."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from snncompile.demo import FAMILIES, run_demo


def test_demo_prints_what_it_writes(tmp_path: Path) -> None:
    log = tmp_path / "log"
    with open(log, "w") as handle:
        rows = run_demo(
            tmp_path, samples=4, limit=16, lava_samples=1, console=Console(file=handle, width=200)
        )
    printed = log.read_text()
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
    summary = json.loads((tmp_path / "summary.json").read_text())
    for model in summary["models"]:
        assert f"{model['chip_accuracy']:.1%}" in printed
        assert f"{model['latency_steps']} steps" in printed
    loihi = summary["loihi"]
    assert Path(loihi["artifact"], "manifest.json").is_file()
    assert f"{loihi['energy_uj_per_inference']:.2f} µJ per inference" in printed
    assert f"{loihi['time_us_per_step']:.2f} µs per step" in printed
    assert f"{loihi['cores']} cores" in printed
    assert loihi["latency_steps"] == 4 + 22  # depth 20 and a relay hop per attention block
    assert loihi["lava"]["bit_exact"] is True and "bit-exact" in printed
    assert loihi["lava"]["predictions_equal_sim"] is True
