"""Sharded evaluation: a data set split into shards, run in-process or on Ray workers, resumable.

``snncompile run MODEL ... --shard-size S [--ray auto|ADDRESS|local --workers N]`` evaluates
the samples ``[0, N)`` in shards of ``S`` consecutive samples (:func:`shard_layout`) and merges
their predictions, labels and simulator statistics in shard order. Every sample is computed on
its own (the simulators are exact, batch composition changes nothing), so the merged result
equals the single-process run exactly: predictions, accuracy and statistics
(:meth:`SimStats.merge` adds integer counts).

- **Ray**: one actor per worker holds the compiled program. The job (model path, config, data
  source description, backend, mode) is put in the object store once and each actor compiles
  it once, in its constructor; shards are then handed to whichever actor is free. A worker
  process that dies is restarted and its shard retried (``max_restarts``,
  ``max_task_retries``); a shard is merged once, however often it ran.
- **Nothing lost on interruption**: each finished shard is appended (and flushed) as one JSON
  line to the shards file (``OUT.shards.jsonl`` beside ``--json OUT``, or ``shards.jsonl`` in
  ``--resume-dir``), after a header line that identifies the run: model hash, config (less the
  engine choice, which does not change results), backend, mode, data fingerprint, batch size
  and the shard layout. Re-running the same command skips the shards already there; a shards
  file of a different run is refused with IN602. A line cut off by a crash is dropped.

The report adds ``samples_evaluated`` (distinct samples merged), ``duplicates`` (samples
merged more than once: 0), ``shards``, ``shards_resumed`` and ``workers``.

Test hooks: ``on_shard`` (a driver-side callback after each shard is written; raising in it
interrupts the run) and the environment variable ``SNNCOMPILE_SHARD_CRASH_ONCE=PATH`` (a
worker kills its own process once, creating ``PATH`` so that the retry goes through).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snncompile.config import CompileConfig, RunConfig
from snncompile.data.sources import DataSource
from snncompile.diagnostics import error
from snncompile.targets.sim.stats import SimStats

__all__ = [
    "CRASH_ONCE_ENV",
    "ShardJob",
    "ShardResult",
    "run_shards",
    "shard_layout",
    "shards_path_for",
]

CRASH_ONCE_ENV = "SNNCOMPILE_SHARD_CRASH_ONCE"
FORMAT = 1
#: Config fields that pick how a result is computed, not what it is.
_ENGINE_FIELDS = ("sim_backend", "device", "verify_each_pass", "dump_ir_after")


def shard_layout(samples: int, shard_size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of every shard: consecutive, ``shard_size`` samples (the last fewer)."""
    if shard_size < 1:
        raise error("CF201", f"shard size must be >= 1, got {shard_size}", node="shard-size")
    return [(start, min(start + shard_size, samples)) for start in range(0, samples, shard_size)]


def shards_path_for(json_path: Path | None, resume_dir: Path | None) -> Path | None:
    """Where the shard results go: ``DIR/shards.jsonl`` or ``OUT.shards.jsonl`` beside OUT."""
    if resume_dir is not None:
        return Path(resume_dir) / "shards.jsonl"
    if json_path is not None:
        return json_path.with_name(json_path.name + ".shards.jsonl")
    return None


@dataclass
class ShardJob:
    """Everything a worker needs to evaluate shards (small: paths and settings, no data)."""

    model: str
    config: CompileConfig
    source: DataSource
    backend: str
    mode: str
    batch_size: int
    run_config: RunConfig = field(default_factory=RunConfig)  # the engine (sim_backend, device)


@dataclass
class ShardResult:
    """One shard's predictions, labels and statistics."""

    index: int
    start: int
    stop: int
    predictions: np.ndarray
    labels: np.ndarray | None
    stats: SimStats | None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "shard",
            "index": self.index,
            "start": self.start,
            "stop": self.stop,
            "predictions": self.predictions.tolist(),
            "labels": None if self.labels is None else self.labels.tolist(),
            "stats": None if self.stats is None else _stats_to_json(self.stats),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShardResult:
        labels = data.get("labels")
        stats = data.get("stats")
        return cls(
            int(data["index"]),
            int(data["start"]),
            int(data["stop"]),
            np.asarray(data["predictions"], np.int64),
            None if labels is None else np.asarray(labels, np.int64),
            None if stats is None else _stats_from_json(stats),
        )


def _stats_to_json(stats: SimStats) -> dict[str, Any]:
    return {
        "samples": stats.samples,
        "steps": stats.steps,
        "spikes": {k: v.tolist() for k, v in stats.spikes.items()},
        "events": {k: v.tolist() for k, v in stats.events.items()},
        "neurons": stats.neurons,
        "starts": stats.starts,
        "window": stats.window,
    }


def _stats_from_json(data: dict[str, Any]) -> SimStats:
    return SimStats(
        int(data["samples"]),
        int(data["steps"]),
        {k: np.asarray(v, np.float64) for k, v in data["spikes"].items()},
        {k: np.asarray(v, np.float64) for k, v in data["events"].items()},
        {k: int(v) for k, v in data["neurons"].items()},
        {k: int(v) for k, v in data["starts"].items()},
        data.get("window"),
    )


def evaluate_shard(compiled: Any, job: ShardJob, index: int, start: int, stop: int) -> ShardResult:
    """Run samples ``[start, stop)`` of ``job.source`` in batches of ``job.batch_size``."""
    logits: list[np.ndarray] = []
    stats: SimStats | None = None
    batch = job.batch_size if job.backend != "lava" else 1
    for first in range(start, stop, batch):
        chunk = job.source[first : min(first + batch, stop)]
        out = compiled.run(chunk, run_config=job.run_config, backend=job.backend, mode=job.mode)
        logits.append(out.logits)
        if out.stats is not None:
            stats = out.stats if stats is None else stats.merge(out.stats)
    predictions = (
        np.concatenate(logits).argmax(axis=1) if logits else np.zeros(0, np.int64)
    ).astype(np.int64)
    labels = job.source.labels
    return ShardResult(
        index, start, stop, predictions, None if labels is None else labels[start:stop], stats
    )


def _model_hash(model: str) -> str:
    path = Path(model)
    if not path.is_file():
        return hashlib.sha256(model.encode()).hexdigest()
    digest = hashlib.sha256(path.read_bytes())
    card = path.with_suffix(".json")
    if card.is_file() and card != path:
        digest.update(card.read_bytes())
    return digest.hexdigest()


def _header(job: ShardJob, layout: list[tuple[int, int]]) -> dict[str, Any]:
    config = {k: v for k, v in job.config.to_dict().items() if k not in _ENGINE_FIELDS}
    return {
        "kind": "header",
        "format": FORMAT,
        "model": job.model,
        "model_sha256": _model_hash(job.model),
        "config": config,
        "backend": job.backend,
        "mode": job.mode if job.backend != "float" else None,
        "data": job.source.fingerprint(),
        "batch_size": job.batch_size,
        "shards": [list(s) for s in layout],
    }


class ShardLog:
    """The append-only JSON-lines file of finished shards (see the module docstring)."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        self.done: dict[int, ShardResult] = {}
        lines: list[str] = []
        if path.is_file():
            lines = self._valid_lines(path)
        if lines:
            found = json.loads(lines[0])
            if found != header:
                differ = sorted(
                    k for k in set(found) | set(header) if found.get(k) != header.get(k)
                )
                raise error(
                    "IN602",
                    f"{path} holds shards of a different run (differs in: {', '.join(differ)})",
                    node=str(path),
                )
            for line in lines[1:]:
                shard = ShardResult.from_json(json.loads(line))
                self.done.setdefault(shard.index, shard)
        else:
            lines = [json.dumps(header, sort_keys=True)]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in lines))
        os.replace(tmp, path)  # a line cut off by a crash is gone; the rest stays
        self._file = open(path, "a")  # noqa: SIM115 - closed in close()

    @staticmethod
    def _valid_lines(path: Path) -> list[str]:
        lines = []
        for line in path.read_text().splitlines():
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict) and data.get("kind") in ("header", "shard"):
                lines.append(line)
        if lines and json.loads(lines[0]).get("kind") != "header":
            return []
        return lines

    def write(self, shard: ShardResult) -> None:
        self._file.write(json.dumps(shard.to_json()) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def _maybe_crash() -> None:
    """The worker-death test hook (see the module docstring)."""
    flag = os.environ.get(CRASH_ONCE_ENV)
    if flag and not os.path.exists(flag):
        Path(flag).write_text(str(os.getpid()))
        os._exit(1)


class _Worker:
    """A Ray actor's body: compiles the job once, then evaluates shards."""

    def __init__(self, job: ShardJob) -> None:
        from snncompile.api import compile_config

        self.job = job
        self.compiled = compile_config(job.model, job.config)
        self.pid = os.getpid()

    def run(self, index: int, start: int, stop: int) -> ShardResult:
        _maybe_crash()
        return evaluate_shard(self.compiled, self.job, index, start, stop)

    def ping(self) -> int:
        return self.pid


def _ray_shards(
    job: ShardJob,
    todo: list[tuple[int, int, int]],
    address: str,
    workers: int,
) -> Iterator[ShardResult]:
    """Evaluate ``todo`` on Ray actors, yielding shards as they finish."""
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - ray is a dev dependency
        raise error("CF201", "--ray needs the ray package (pip install ray)", node="ray") from exc
    import signal

    started = False
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def keep_handlers() -> None:
        """``ray.init`` replaces SIGTERM's handler with ``sys.exit(15)``: keep
        snncompile.interrupt's, which shuts Ray down, ends every child and exits 143."""
        for sig, handler in handlers.items():
            if handler is not None:
                signal.signal(sig, handler)

    if not ray.is_initialized():
        env = {CRASH_ONCE_ENV: os.environ[CRASH_ONCE_ENV]} if CRASH_ONCE_ENV in os.environ else {}
        utils: Any = getattr(getattr(ray, "_private", None), "utils", None)
        setter = getattr(utils, "set_sigterm_handler", None)
        if setter is not None:  # not even while ray.init starts the head processes
            utils.set_sigterm_handler = lambda handler: None
        try:
            ray.init(
                address=None if address == "local" else address,
                include_dashboard=False,
                runtime_env={"env_vars": env} if env else None,
                log_to_driver=False,
            )
        except ConnectionError as exc:  # no cluster at that address ("auto": none running)
            raise error(
                "IN608",
                f"no Ray cluster at --ray {address}: {exc}",
                node=f"--ray {address}",
            ) from exc
        finally:
            if setter is not None:
                utils.set_sigterm_handler = setter
            keep_handlers()
        started = True
    try:
        env = {CRASH_ONCE_ENV: os.environ[CRASH_ONCE_ENV]} if CRASH_ONCE_ENV in os.environ else {}
        actor_class = ray.remote(num_cpus=1, max_restarts=3, max_task_retries=3)(_Worker)
        job_ref = ray.put(job)  # shipped once; every actor compiles it once
        count = max(1, min(workers, len(todo)))
        options: dict[str, Any] = {"runtime_env": {"env_vars": env}} if env else {}
        actors: list[Any] = [actor_class.options(**options).remote(job_ref) for _ in range(count)]
        queue = list(todo)
        running: dict[Any, Any] = {}
        for worker in actors:
            if queue:
                running[worker.run.remote(*queue.pop(0))] = worker
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                actor: Any = running.pop(ref)
                result: ShardResult = ray.get(ref)
                if queue:
                    running[actor.run.remote(*queue.pop(0))] = actor
                yield result
    finally:
        if started:
            ray.shutdown()


def run_shards(
    compiled: Any,
    job: ShardJob,
    *,
    shard_size: int,
    shards_path: Path | None = None,
    ray_address: str | None = None,
    workers: int = 1,
    on_shard: Callable[[ShardResult], None] | None = None,
) -> tuple[np.ndarray, np.ndarray | None, SimStats | None, dict[str, Any]]:
    """Evaluate ``job`` in shards (in-process with ``compiled``, or on Ray at ``ray_address``)
    and merge them: predictions, labels, statistics and the sharding report."""
    layout = shard_layout(len(job.source), shard_size)
    log = ShardLog(shards_path, _header(job, layout)) if shards_path is not None else None
    done: dict[int, ShardResult] = dict(log.done) if log is not None else {}
    resumed = len(done)
    todo = [(i, a, b) for i, (a, b) in enumerate(layout) if i not in done]
    start = time.perf_counter()
    results: Iterator[ShardResult] = iter(())
    try:
        if ray_address is not None and todo:
            results = _ray_shards(job, todo, ray_address, workers)
        else:
            results = (evaluate_shard(compiled, job, *t) for t in todo)
        for shard in results:
            if shard.index in done:  # a retried shard that finished twice counts once
                continue
            done[shard.index] = shard
            if log is not None:
                log.write(shard)
            if on_shard is not None:
                on_shard(shard)
    finally:
        close = getattr(results, "close", None)
        if close is not None:  # shut Ray down now (interrupted too), not when collected
            close()
        if log is not None:
            log.close()
    seconds = time.perf_counter() - start
    ordered = [done[i] for i in range(len(layout))]
    coverage = np.zeros(len(job.source), np.int64)
    for shard in ordered:
        coverage[shard.start : shard.stop] += 1
    predictions = (
        np.concatenate([s.predictions for s in ordered]) if ordered else np.zeros(0, np.int64)
    )
    labels = None
    if ordered and all(s.labels is not None for s in ordered):
        labels = np.concatenate([s.labels for s in ordered if s.labels is not None])
    stats: SimStats | None = None
    for shard in ordered:
        if shard.stats is not None:
            stats = shard.stats if stats is None else stats.merge(shard.stats)
    report = {
        "samples_evaluated": int(np.count_nonzero(coverage)),
        "duplicates": int((coverage - 1).clip(min=0).sum()),
        "shards": len(layout),
        "shard_size": shard_size,
        "shards_resumed": resumed,
        "workers": workers if ray_address is not None else 1,
        "ray": ray_address,
        "shards_file": None if shards_path is None else str(shards_path),
        "shard_seconds": seconds,
    }
    return predictions, labels, stats, report
