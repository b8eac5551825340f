"""``snncompile run``: inference on a data set, as the chip would compute it or in float.

Backends (:mod:`snncompile.api`):

- ``sim`` (default): the reference cycle simulator on the network IR, Loihi's integer
  arithmetic bit for bit; ``--mode pipelined`` (default) as the chip runs it, one step per
  projection hop, the output of step t appearing at t + depth (latency T + depth steps), or
  ``--mode layerwise`` as PyTorch computes it;
- ``float``: the traced model in float32 (what PyTorch computes);
- ``lava``: Lava's own fixed-point CPU simulation of the emitted processes (``--lava-mode``
  stock or fused); ``--compare sim`` also runs the simulator and reports, per population,
  whether the spike trains are identical.

Every backend averages the counted outputs over T, as the models do. ``sim`` also reports the
chip's cores, time per step and energy per inference (``snncompile.targets.sim.perf``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from snncompile.config import BACKENDS, CompileConfig, RunConfig
from snncompile.data.sources import DataSource
from snncompile.diagnostics import error
from snncompile.frontend.load import LoadedModel
from snncompile.ir.graph import Graph
from snncompile.passes.manager import PassContext

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["BACKENDS", "RunResult", "progress_display", "quantized_graph", "run_model"]


@dataclass
class RunResult:
    """Predictions (and accuracy when labels were given) of one run, with its reports."""

    model: str
    backend: str
    time_steps: int
    predictions: np.ndarray
    labels: np.ndarray | None
    seconds: float
    reports: dict[str, Any] = field(default_factory=dict)
    latency: int = 0  # steps until the last counted output: T (+ the pipeline depth)
    mode: str = "pipelined"
    perf: dict[str, Any] | None = None
    comparison: dict[str, Any] | None = None
    sharding: dict[str, Any] | None = None  # sharded runs: samples_evaluated, duplicates, ...
    classes: int = 0  # outputs of the model (the width of its logits)

    @property
    def accuracy(self) -> float | None:
        if self.labels is None:
            return None
        return float(np.mean(self.predictions == self.labels))

    def to_dict(self) -> dict[str, Any]:
        samples = len(self.predictions)
        perf = self.perf or {}
        data: dict[str, Any] = {
            "model": self.model,
            "backend": self.backend,
            "mode": self.mode if self.backend != "float" else None,
            "time_steps": self.time_steps,
            "samples": samples,
            "accuracy": self.accuracy,
            "predictions": self.predictions.tolist(),
            "latency_steps": self.latency or self.time_steps,
            "seconds": self.seconds,
            "time_us_per_sample": 1e6 * self.seconds / max(samples, 1),
            "energy_uj_per_inference": perf.get("energy_uj_per_inference"),
            "time_us_per_step": perf.get("time_us_per_step"),
            "cores": perf.get("cores"),
            "chips": perf.get("chips"),
        }
        if self.perf is not None:
            data["performance"] = self.perf
        if self.comparison is not None:
            data.update(self.comparison)
        if self.sharding is not None:
            data.update(self.sharding)
        return data


def quantized_graph(
    graph: Graph, config: CompileConfig, *, pipelined: bool = False
) -> tuple[Graph, PassContext]:
    """The integer reference of ``graph`` (float64 in, integers on chip), layerwise or, with
    ``pipelined``, as the chip runs it (``ctx.reports["balance-delays"]["depth"]`` steps late)."""
    from snncompile.driver import run_pipeline
    from snncompile.pipelines import fixed_pipeline, quantize_passes

    passes = fixed_pipeline(config) if pipelined else quantize_passes()
    result, ctx = run_pipeline(graph, passes, config)
    return result.graph, ctx


#: Samples of ``--dataset random`` without ``--limit``.
RANDOM_SAMPLES = 16


class RandomSource(DataSource):
    """``samples`` seeded uniform random inputs in [0, 1) of ``shape``, without labels."""

    def __init__(self, shape: tuple[int, ...], samples: int, seed: int) -> None:
        from snncompile.data.samples import sample_inputs

        self._x = sample_inputs(tuple(shape), samples=samples, seed=seed)
        self.where = f"random (seed {seed})"
        self.labels = None

    def __len__(self) -> int:
        return len(self._x)

    def _read(self, start: int, stop: int) -> np.ndarray:
        return self._x[start:stop]


def _labelled_inputs(
    loaded: LoadedModel,
    dataset: str | None,
    input_path: Path | None,
    limit: int | None,
    *,
    resize: tuple[int, int] | None = None,
    normalize: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
    seed: int = 0,
) -> tuple[DataSource, np.ndarray | None]:
    """The run's samples as a lazily read source (``source[a:b]`` loads one batch) and their
    labels: ``input_path`` (``.npy``/``.npz``, or a folder of class sub-folders of images,
    preprocessed by :mod:`snncompile.data.sources`), else the embedded digits test split."""
    from snncompile.data.sources import DigitsSource, open_source

    if input_path is not None:
        shape = loaded.input_shape
        if shape is None:
            raise error("ML410", f"the input shape of {loaded.name} is unknown", node=loaded.name)
        source = open_source(
            input_path, shape, resize=resize, normalize=normalize, card=loaded.card
        ).limited(limit)
        return source, source.labels
    if dataset == "random":
        source = RandomSource(loaded.input_shape or (), limit or RANDOM_SAMPLES, seed)
        return source, None
    if (dataset or loaded.dataset) == "digits":
        assert loaded.input_shape is not None
        source = DigitsSource(loaded.input_shape[1]).limited(limit)
        return source, source.labels
    raise error(
        "CF201",
        f"no data for {loaded.name}: pass --dataset digits|random or --input X.npy|X.npz|FOLDER "
        "(labels from X_labels.npy beside it)",
        node="dataset",
    )


def run_model(
    source: str | Path,
    *,
    run_config: RunConfig | None = None,
    config: CompileConfig | None = None,
    dataset: str | None = None,
    input_path: Path | None = None,
    progress: bool | Progress = False,
    resize: tuple[int, int] | None = None,
    normalize: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
    shards_path: Path | None = None,
    on_shard: Callable[[Any], None] | None = None,
    **run_options: Any,
) -> RunResult:
    """Run ``source`` on a data set as ``run_config`` says (see the module docstring).

    ``run_options`` are :class:`~snncompile.config.RunConfig` fields (``backend``, ``mode``,
    ``limit``, ``batch_size``, ``compare``, ``shard_size``, ``ray``, ``workers``, ...) that
    override ``run_config``. The model is read and compiled by the driver with ``config``.

    ``resize``/``normalize`` preprocess ``input_path`` data (:mod:`snncompile.data.sources`).
    With ``shard_size``, ``shards_path`` or ``ray`` the data set is evaluated in shards
    (:mod:`snncompile.distributed`): on Ray workers at address ``ray`` (``auto``, an address,
    or ``local``), resumable from ``shards_path``; the result is the same.

    ``progress``: a progress bar over samples on stderr when stderr is a terminal (nothing
    otherwise), or a running :func:`progress_display` to add the bar to (the demo's).
    """
    from snncompile.api import compile_config

    run = RunConfig.from_dict({**(run_config or RunConfig()).to_dict(), **run_options})
    backend, mode, batch_size, compare = run.backend, run.mode, run.batch_size, run.compare
    config = config or CompileConfig()
    with _progress(progress, None, f"reading and compiling {source}"):
        compiled = compile_config(source, config)
        compiled.run_config = run
    loaded = compiled.loaded
    x, labels = _labelled_inputs(
        loaded, dataset, input_path, run.limit, resize=resize, normalize=normalize, seed=config.seed
    )
    if backend == "lava":
        batch_size = 1  # Lava has no batch axis
    if run.shard_size is not None or shards_path is not None or run.ray is not None:
        if compare:
            raise error("CF201", "--compare runs in one process (no shards)", node="compare")
        with _progress(progress, len(x), f"{loaded.name} [{backend}, shards]") as advance:

            def shard_done(shard: Any) -> None:
                advance(shard.stop - shard.start)  # resumed shards are not counted again
                if on_shard is not None:
                    on_shard(shard)

            workers = run.workers
            return _run_sharded(
                compiled,
                str(source),
                x,
                run=run,
                batch_size=batch_size,
                shard_size=run.shard_size or max(batch_size, -(-len(x) // (4 * max(workers, 1)))),
                shards_path=shards_path,
                on_shard=shard_done,
            )
    logits: list[np.ndarray] = []
    stats = None
    mismatched: dict[str, int] = {}
    start = time.perf_counter()
    with _progress(progress, len(x), f"{loaded.name} [{backend}]") as advance:
        for first in range(0, len(x), batch_size):
            chunk = x[first : first + batch_size]
            out = compiled.run(chunk, record=bool(compare))
            logits.append(out.logits)
            if out.stats is not None:
                stats = out.stats if stats is None else stats.merge(out.stats)
            if compare:
                sim = compiled.run(chunk, backend="sim", mode="pipelined", record=True)
                for name, spikes in sim.spikes.items():
                    same = name in out.spikes and np.array_equal(out.spikes[name], spikes)
                    mismatched[name] = mismatched.get(name, 0) + (0 if same else 1)
            advance(len(chunk))
    seconds = time.perf_counter() - start
    predictions = np.concatenate(logits).argmax(axis=1)
    perf = None
    if stats is not None:
        perf = _performance(compiled, stats)
    comparison = None
    if compare:
        comparison = {
            "bit_exact": not any(mismatched.values()),
            "populations": [
                {"population": name, "identical": count == 0}
                for name, count in sorted(mismatched.items())
            ],
        }
    return _result(
        compiled, backend, mode, predictions, labels, seconds, perf, comparison=comparison
    )


def _run_sharded(
    compiled: Any,
    source: str,
    data: DataSource,
    *,
    run: RunConfig,
    batch_size: int,
    shard_size: int,
    shards_path: Path | None,
    on_shard: Callable[[Any], None] | None,
) -> RunResult:
    """:func:`run_model` over shards (:mod:`snncompile.distributed`), merged."""
    from snncompile.distributed import ShardJob, run_shards

    backend, mode = run.backend, run.mode
    if Path(source).is_file():
        source = str(Path(source).resolve())  # workers may run elsewhere
    job = ShardJob(source, compiled.config, data, backend, mode, batch_size, run)
    start = time.perf_counter()
    predictions, labels, stats, report = run_shards(
        compiled,
        job,
        shard_size=shard_size,
        shards_path=shards_path,
        ray_address=run.ray,
        workers=run.workers,
        on_shard=on_shard,
    )
    seconds = time.perf_counter() - start
    perf = None if stats is None else _performance(compiled, stats)
    return _result(compiled, backend, mode, predictions, labels, seconds, perf, sharding=report)


def _result(
    compiled: Any,
    backend: str,
    mode: str,
    predictions: np.ndarray,
    labels: np.ndarray | None,
    seconds: float,
    perf: dict[str, Any] | None,
    **extra: Any,
) -> RunResult:
    """The :class:`RunResult` of a run of ``compiled`` (latency T, plus depth if pipelined)."""
    loaded = compiled.loaded
    depth = compiled.depth if backend != "float" and mode == "pipelined" else 0
    return RunResult(
        loaded.name,
        backend,
        loaded.time_steps,
        predictions,
        labels,
        seconds,
        compiled.reports if backend != "float" else {},
        latency=loaded.time_steps + depth,
        mode=mode,
        perf=perf,
        classes=int(compiled.graph.outputs[0].type.shape[-1]),
        **extra,
    )


def _performance(compiled: Any, stats: Any) -> dict[str, Any]:
    """Cores, time per step and energy per inference of a simulated run."""
    from snncompile.targets.sim.cores import place_cores
    from snncompile.targets.sim.perf import perf_report

    placement = place_cores(compiled.program)
    report = perf_report(placement, stats)
    data = report.to_dict()
    data.setdefault("cores", len(placement.cores))
    data.setdefault("chips", placement.chips)
    data["energy_uj_per_inference"] = report.energy_uj_per_inference
    data["time_us_per_step"] = report.time_us_per_step
    return data


def progress_display() -> Progress | None:
    """A transient rich progress display on stderr, or None when stderr is not a terminal
    (pipes, files, CI logs and tests stay clean; ``FORCE_COLOR`` does not make one)."""
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        if isatty is None or not isatty():
            return None
    except ValueError:  # a closed stream
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    if console.is_dumb_terminal:
        return None
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),  # "[float]" is not a style
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        redirect_stdout=False,  # stdout may be a file: results must not reach the terminal
    )


class _progress:
    """A progress bar over ``total`` samples (``None``: a spinner): its own display (``enabled``
    true and stderr a terminal), a task in a running display (``enabled`` a rich ``Progress``),
    or nothing. Entering gives ``advance(n)``."""

    def __init__(self, enabled: bool | Progress, total: int | None, label: str) -> None:
        self.enabled, self.total, self.label = enabled, total, label
        self.display: Progress | None = None
        self.owned = isinstance(enabled, bool)
        self.task: Any = None

    def __enter__(self) -> Callable[[int], None]:
        if isinstance(self.enabled, bool):
            self.display = progress_display() if self.enabled else None
        else:
            self.display = self.enabled
        display = self.display
        if display is None:
            return lambda n: None
        task = self.task = display.add_task(self.label, total=self.total)
        if self.owned:
            display.start()
        return lambda n: display.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self.display is None:
            return
        self.display.remove_task(self.task)
        if self.owned:
            self.display.stop()
