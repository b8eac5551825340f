"""Sharded evaluation (in-process and on Ray workers): the same result, resumable, no loss."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from snncompile.cli import main
from snncompile.config import CompileConfig, RunConfig
from snncompile.distributed import CRASH_ONCE_ENV, ShardResult
from snncompile.runner import RunResult, run_model

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "digits"
FAMILIES = ("spikformer", "spikingformer", "sdt", "spikingresformer")
CONFIG = CompileConfig(expand_sew=True, allow_host_ops=True)
TORCH = RunConfig(sim_backend="torch", device="cpu")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """A local Ray cluster with two real worker processes, shut down after the module."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _same(a: RunResult, b: RunResult) -> None:
    """Predictions, labels, accuracy and every statistic identical."""
    np.testing.assert_array_equal(a.predictions, b.predictions)
    assert a.accuracy == b.accuracy
    da, db = a.to_dict(), b.to_dict()
    assert da["performance"] == db["performance"]
    assert da["energy_uj_per_inference"] == db["energy_uj_per_inference"]


def _model(family: str) -> Path:
    return EXAMPLES / f"{family}.pt"


def test_interrupted_run_resumes_without_loss(tmp_path: Path) -> None:
    shards = tmp_path / "run.json.shards.jsonl"
    whole = run_model(_model("sdt"), config=CONFIG, limit=30, batch_size=8)
    seen: list[int] = []

    def abort_after_two(shard: ShardResult) -> None:
        seen.append(shard.index)
        if len(seen) == 2:
            raise KeyboardInterrupt

    args: dict[str, Any] = {"config": CONFIG, "limit": 30, "batch_size": 8, "shard_size": 7}
    with pytest.raises(KeyboardInterrupt):
        run_model(_model("sdt"), shards_path=shards, on_shard=abort_after_two, **args)
    lines = shards.read_text().splitlines()
    assert len(lines) == 1 + 2  # the header and the two finished shards
    with shards.open("a") as f:
        f.write('{"kind": "shard", "index": 2, "sta')  # a line cut off by a crash
    resumed = run_model(_model("sdt"), shards_path=shards, **args)
    assert resumed.sharding is not None
    assert resumed.sharding["shards_resumed"] == 2 and resumed.sharding["shards"] == 5
    assert resumed.sharding["samples_evaluated"] == 30 and resumed.sharding["duplicates"] == 0
    _same(whole, resumed)
    again = run_model(_model("sdt"), shards_path=shards, **args)  # everything already there
    assert again.sharding is not None and again.sharding["shards_resumed"] == 5
    _same(whole, again)


def test_cli_writes_shards_resumes_and_refuses_a_foreign_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run.json"
    argv = ["run", str(_model("spikingformer")), "--limit", "12", "--shard-size", "5"]
    argv += ["--json", str(out), "--sim-backend", "torch"]
    assert main(argv) == 0
    data = json.loads(out.read_text())
    assert data["samples_evaluated"] == 12 and data["duplicates"] == 0 and data["shards"] == 3
    assert (tmp_path / "run.json.shards.jsonl").is_file()
    assert main(argv) == 0
    assert "3 resumed" in capsys.readouterr().out
    assert json.loads(out.read_text())["predictions"] == data["predictions"]
    argv[argv.index("12")] = "13"  # another data set: another shard layout
    assert main(argv) == 1
    assert "error[IN602]" in capsys.readouterr().err


@pytest.mark.timeout(300)
def test_ray_workers_match_one_process_despite_a_dying_worker(
    ray_cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag = tmp_path / "crashed"
    monkeypatch.setenv(CRASH_ONCE_ENV, str(flag))
    whole = run_model(_model("spikingformer"), config=CONFIG, limit=24, batch_size=8)
    sharded = run_model(
        _model("spikingformer"),
        config=CONFIG,
        limit=24,
        batch_size=8,
        shard_size=6,
        ray="auto",
        workers=2,
        shards_path=tmp_path / "shards.jsonl",
    )
    assert flag.is_file()  # a worker process died once; its shard was retried
    assert sharded.sharding is not None
    assert sharded.sharding["samples_evaluated"] == 24 and sharded.sharding["duplicates"] == 0
    assert sharded.sharding["workers"] == 2
    _same(whole, sharded)
    lines = (tmp_path / "shards.jsonl").read_text().splitlines()[1:]  # after the header
    indices = [json.loads(line)["index"] for line in lines]
    assert sorted(indices) == [0, 1, 2, 3]  # each shard written once


def _acceptance(family: str, limit: int | None, tmp_path: Path) -> None:
    """numpy, torch (CPU) and Ray-sharded runs give identical predictions on the digits test
    split (the first ``limit`` samples)."""
    numpy_run = run_model(_model(family), config=CONFIG, limit=limit)
    torch_run = run_model(_model(family), config=CONFIG, run_config=TORCH, limit=limit)
    ray_run = run_model(
        _model(family),
        config=CONFIG,
        limit=limit,
        shard_size=max(8, (limit or 450) // 4),
        ray="auto",
        workers=2,
        shards_path=tmp_path / f"{family}.shards.jsonl",
    )
    _same(numpy_run, torch_run)
    _same(numpy_run, ray_run)
    assert ray_run.sharding is not None
    assert ray_run.sharding["samples_evaluated"] == len(numpy_run.predictions)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("family", FAMILIES)
def test_numpy_torch_and_ray_agree_on_a_digits_subset(
    ray_cluster: Any, tmp_path: Path, family: str
) -> None:
    _acceptance(family, 32, tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("family", FAMILIES)
def test_numpy_torch_and_ray_agree_on_the_full_digits_split(
    ray_cluster: Any, tmp_path: Path, family: str
) -> None:
    _acceptance(family, None, tmp_path)
