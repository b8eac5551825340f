"""``snncompile run``: inference on a data set, in float or in the chip's integer arithmetic.

Backends:

- ``float``: the traced tensor IR in float (what PyTorch computes);
- ``fixed``: the ``fixed`` target's pipelined integer network: Loihi's arithmetic bit for bit
  and its latency (one step per hop: the output of step t appears at t + depth; the latency is
  T + depth steps).

Both average the output over T, as the models do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from snncompile.config import CompileConfig
from snncompile.diagnostics import error
from snncompile.frontend.load import LoadedModel, load_configured, to_graph
from snncompile.frontend.simulate import time_major_inputs
from snncompile.ir.graph import Graph
from snncompile.ir.interpret import run_layerwise
from snncompile.passes.manager import Pass, PassContext, PassManager

__all__ = ["BACKENDS", "RunResult", "quantized_graph", "run_model"]

BACKENDS = ("float", "fixed")


@dataclass(frozen=True)
class RunResult:
    """Predictions (and accuracy when labels were given) of one run."""

    model: str
    backend: str
    time_steps: int
    predictions: np.ndarray
    labels: np.ndarray | None
    seconds: float
    reports: dict[str, Any] = field(default_factory=dict)
    latency: int = 0  # steps until the last counted output: T + pipeline depth

    @property
    def accuracy(self) -> float | None:
        if self.labels is None:
            return None
        return float(np.mean(self.predictions == self.labels))

    def to_dict(self) -> dict[str, Any]:
        samples = len(self.predictions)
        return {
            "model": self.model,
            "backend": self.backend,
            "time_steps": self.time_steps,
            "samples": samples,
            "accuracy": self.accuracy,
            "predictions": self.predictions.tolist(),
            "latency_steps": self.latency or self.time_steps,
            "seconds": self.seconds,
            "time_us_per_sample": 1e6 * self.seconds / max(samples, 1),
        }


def quantized_graph(
    graph: Graph, config: CompileConfig, *, pipelined: bool = False
) -> tuple[Graph, PassContext]:
    """The integer reference of ``graph`` (float64 in, integers on chip), layerwise or, with
    ``pipelined``, as the chip runs it (``ctx.reports["balance-delays"]["depth"]`` steps late)."""
    from snncompile.passes.balance_delays import BalanceDelays
    from snncompile.targets.fixed import quantize_passes

    ctx = PassContext(config=config)
    passes: list[Pass] = [*quantize_passes(), *([BalanceDelays()] if pipelined else [])]
    return PassManager(passes, verify_each=config.verify_each_pass).run(graph, ctx).graph, ctx


def _labelled_inputs(
    loaded: LoadedModel, dataset: str | None, input_path: Path | None, limit: int | None
) -> tuple[np.ndarray, np.ndarray | None]:
    if input_path is not None:
        from snncompile.data.samples import sample_inputs

        shape = loaded.input_shape
        if shape is None:
            raise error("IN601", f"the input shape of {loaded.name} is unknown", node=loaded.name)
        x = sample_inputs(shape, samples=limit or 10**9, input_path=input_path)
        labels_path = input_path.with_name(input_path.stem + "_labels.npy")
        labels = np.load(labels_path) if labels_path.exists() else None
        return x, None if labels is None else labels[: len(x)]
    if (dataset or loaded.dataset) == "digits":
        from snncompile.data.digits import load_digits_split

        assert loaded.input_shape is not None
        split = load_digits_split(image_size=loaded.input_shape[1])
        return split.x_test[:limit], split.y_test[:limit]
    raise error(
        "CF201",
        f"no data for {loaded.name}: pass --dataset digits or --input X.npy "
        "(labels from X_labels.npy beside it)",
        node="dataset",
    )


def run_model(
    source: str | Path,
    *,
    backend: str = "float",
    dataset: str | None = None,
    input_path: Path | None = None,
    limit: int | None = None,
    batch_size: int = 64,
    config: CompileConfig | None = None,
) -> RunResult:
    """Run ``source`` on a data set with ``backend`` (see the module docstring)."""
    if backend not in BACKENDS:
        raise error("CF201", f"backend must be one of {', '.join(BACKENDS)}", node="backend")
    config = config or CompileConfig()
    loaded = load_configured(source, config)
    x, labels = _labelled_inputs(loaded, dataset, input_path, limit)
    graph = to_graph(loaded, torch.float64)
    reports: dict[str, Any] = {}
    depth = 0
    if backend == "fixed":
        graph, ctx = quantized_graph(graph, config, pipelined=True)
        reports = ctx.reports
        depth = int(reports["balance-delays"]["depth"])
    start = time.perf_counter()
    logits = []
    steps = loaded.time_steps
    layout = "BT" if loaded.input_kind == "frames" else None
    for first in range(0, len(x), batch_size):
        chunk = x[first : first + batch_size].astype(np.float64)
        inputs = time_major_inputs(graph, chunk, steps, input_layout=layout)
        if depth:  # the pipeline needs depth more steps; their inputs reach no counted output
            inputs = np.concatenate([inputs, np.zeros((depth, *inputs.shape[1:]))])
        outputs = run_layerwise(graph, [inputs])[graph.outputs[0].name]
        logits.append(outputs[depth : depth + steps].mean(axis=0))
    seconds = time.perf_counter() - start
    predictions = np.concatenate(logits).argmax(axis=1)
    return RunResult(
        loaded.name, backend, steps, predictions, labels, seconds, reports, latency=steps + depth
    )
