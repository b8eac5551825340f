"""The per-population network report: joined from the pass reports, CLI table and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import snncompile
from snncompile.cli import main
from snncompile.report.network import network_report
from snncompile.targets.sim.cores import place_cores

DIGITS = "examples/digits/spikingformer.pt"


@pytest.fixture(scope="module")
def compiled() -> snncompile.api.Compiled:
    return snncompile.compile(DIGITS)


def test_rows_join_the_pass_reports(compiled: snncompile.api.Compiled) -> None:
    reports = compiled.reports
    placement = place_cores(compiled.program)
    report = network_report(reports, placement=placement, time_steps=compiled.time_steps)
    lowering = reports["lower-to-network"]
    assert [r["population"] for r in report.rows] == list(lowering["populations"])
    into_populations = [
        p["synapses"]
        for p in lowering["projections"].values()
        if p["target"] in lowering["populations"]
    ]
    assert sum(r["synapses"] for r in report.rows) == sum(into_populations)
    assert sum(into_populations) < lowering["totals"]["synapses"]  # the rest feed host probes
    assert sum(r["neurons"] for r in report.rows) == lowering["totals"]["neurons"]
    assert report.totals["depth"] == compiled.depth
    assert report.totals["cores"] == len(placement.cores)
    assert report.totals["chips"] == placement.chips == 1
    assert report.totals["cores_per_chip"] == [len(placement.cores)]
    blocks = report.totals["cores_per_block"]
    assert set(blocks) == {"patch_embed", "block.0", "block.1"}
    assert max(blocks.values()) <= len(placement.cores) <= sum(blocks.values())
    assert report.totals["latency_steps"] == compiled.time_steps + compiled.depth
    assert report.totals["latency_us_floor"] > 0
    assert {r["binding"] for r in report.rows} <= {
        "fits",
        "neurons_per_core",
        "synapse_bytes_per_core",
        "max_fan_in",
        "max_fan_out",
    }
    starts = dict(reports["pipeline-delays"]["starts"])
    ranges = {r["node"]: r for r in reports["quantize-fixed-point"]["ranges"]}
    for row in report.rows:
        assert row["start"] == starts[row["population"]]
        assert row["cores"] >= 1
        if row["kind"] == "lif":  # every LIF has a scale, a threshold and an overflow margin
            quantized = reports["quantize-fixed-point"]["neurons"][row["population"]]
            assert (row["scale"], row["vth"]) == (quantized["scale"], quantized["vth"])
            assert row["margin_bits"] == ranges[row["population"]]["margin_bits"] > 0
        else:
            assert row["scale"] is None and row["margin_bits"] is None
    assert report.totals["smallest_margin_bits"] == min(
        r["margin_bits"] for r in report.rows if r["margin_bits"] is not None
    )


def test_cli_report_of_an_artifact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sf.loihi"
    assert main([DIGITS, "--target", "loihi", "-o", str(out)]) == 0
    capsys.readouterr()
    code = main(["report", str(out), "--json", str(tmp_path / "net.json")])
    printed, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads((tmp_path / "net.json").read_text())
    # --objective cores (the default): one relay per attention block, one hop each
    assert data["totals"]["populations"] == len(data["populations"]) == 26
    assert "block.0.attn.matmul_coincidence" in printed and "pipeline depth 22 steps" in printed
    assert f"{data['totals']['cores']} cores" in printed
    assert "cores per block: patch_embed" in printed and "latency: 26 steps" in printed


def test_cli_report_refuses_a_board_too_small(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import dataclasses

    from snncompile.chip import register_chip
    from snncompile.targets.loihi.arch import LOIHI2

    tiny = dataclasses.replace(
        LOIHI2,
        name="tiny2",
        limits=dataclasses.replace(LOIHI2.limits, name="tiny2", cores_per_chip=2),
    )
    unregister = register_chip(tiny)
    try:
        code = main(["report", DIGITS, "--chip", "tiny2", "--board", "chips:2"])
    finally:
        unregister()
    printed, err = capsys.readouterr()
    assert code != 0
    assert "RS980" in err and "cores must go" in err
    assert "board chips:2 has 2 chips (4 cores)" in err and "Largest consumers:" in err
