"""`snncompile run`: float and fixed-point inference with accuracy and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from snncompile.cli import main
from snncompile.runner import run_model

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "digits"


def test_float_run_reproduces_the_model_card_accuracy() -> None:
    card = json.loads((EXAMPLES / "sdt.json").read_text())
    result = run_model(EXAMPLES / "sdt.pt", backend="float")
    assert result.accuracy == pytest.approx(card["accuracy"])
    assert len(result.predictions) == card["split"]["n_test"]


def test_sim_run_is_close_to_float(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.json"
    argv = ["run", str(EXAMPLES / "spikingformer.pt"), "--limit", "64", "--json", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "µJ per inference" in printed
    data = json.loads(out.read_text())
    assert data["samples"] == 64 and data["backend"] == "sim" and data["accuracy"] > 0.9
    # T + the pipeline depth of this model's network (--objective cores: 20 + one relay hop
    # per attention block)
    assert data["latency_steps"] == 4 + 22
    assert data["energy_uj_per_inference"] > 0 and data["time_us_per_step"] > 0
    assert data["cores"] >= 1
    assert f"{data['energy_uj_per_inference']:.2f} µJ" in printed
    floats = run_model(EXAMPLES / "spikingformer.pt", backend="float", limit=64)
    agreement = np.mean(np.array(data["predictions"]) == floats.predictions)
    assert agreement >= 0.95
    layerwise = run_model(EXAMPLES / "spikingformer.pt", mode="layerwise", limit=64)
    np.testing.assert_array_equal(layerwise.predictions, data["predictions"])


def test_unlabelled_inputs(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).random((5, 1, 16, 16), dtype=np.float32))
    result = run_model(EXAMPLES / "sdt.pt", backend="float", input_path=path)
    assert result.accuracy is None and result.to_dict()["accuracy"] is None
    assert len(result.predictions) == 5


def test_model_without_data_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "zoo:sdt_2_256"]) == 1
    assert "error[CF201]" in capsys.readouterr().err


def test_predictions_per_class_counts_every_class(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", str(EXAMPLES / "sdt.pt"), "--backend", "float", "--limit", "2"]
    assert main(argv) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "per class" in x)
    counts = json.loads(line.split(":", 1)[1])
    assert len(counts) == 10 and sum(counts) == 2
