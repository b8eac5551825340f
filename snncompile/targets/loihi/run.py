"""Run a compiled network program on Lava's CPU simulation, sample by sample.

:func:`run_lava` takes the graph inputs ``[T, B, ...]`` exactly as
:func:`~snncompile.ir.interpret.run_layerwise` does, builds the Lava processes of each sample
(:func:`~snncompile.targets.loihi.emit.emit`: Lava has no batch axis), runs them under
``Loihi2SimCfg(select_tag="fixed_pt")`` and returns the outputs and every population's spikes,
``[T, B, ...]`` by name. Lava step ``t`` (1-based) is network step ``t - 1``.

Failures: an exception inside a Lava child process reaches the caller as LV508 with the
child's traceback. Lava's runtime logs child tracebacks at INFO through the runtime logger (the
``loglevel`` of the run config) and raises "N Exception(s) occurred. See output above"; we set
``loglevel`` to INFO *and* read the tracebacks from the runtime's actors
(``runtime._messaging_infrastructure.actors[i].exception``) into the error message. Every run
stops its processes in a ``finally``, also when it fails. SIGINT or SIGTERM during a run
(:mod:`snncompile.interrupt`) ends every Lava process within seconds and re-raises the
interruption; the forked workers ignore the group's Ctrl-C instead of printing tracebacks.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snncompile.interrupt import end_children, handling_signals
from snncompile.ir.graph import Graph
from snncompile.targets.loihi._lava import lava_module, require_lava
from snncompile.targets.loihi.emit import FORMS, LavaNetwork, emit
from snncompile.targets.loihi.errors import RUN_CODE, lava_error
from snncompile.targets.loihi.plan import run_host

__all__ = ["LavaRun", "child_tracebacks", "force_stop", "run_lava", "run_network"]


@dataclass
class LavaRun:
    """The result of :func:`run_lava`.

    Attributes:
        outputs: graph outputs ``[T, B, ...]`` by output name.
        spikes: every population's output (spikes; payloads for gated) ``[T, B, *shape]``.
        currents: every current probe's summed currents ``[T, B, *shape]``.
        processes: Lava processes per sample network, by class name.
        process_count: their total.
        form: ``stock`` or ``fused``.
        steps: Lava steps run per sample.
        wall_s: total wall time (building, compiling, running, stopping, host ops).
        run_s: time spent inside Lava's ``run`` calls (for steps per second).
        reports: each sample network's report.
    """

    outputs: dict[str, np.ndarray]
    spikes: dict[str, np.ndarray]
    currents: dict[str, np.ndarray]
    processes: dict[str, int]
    process_count: int
    form: str
    steps: int
    wall_s: float
    run_s: float
    reports: list[dict[str, Any]] = field(default_factory=list)

    @property
    def steps_per_second(self) -> float:
        """Lava steps per second of run time, over all samples."""
        samples = next(iter(self.outputs.values())).shape[1] if self.outputs else 1
        return self.steps * samples / self.run_s if self.run_s > 0 else float("inf")


def child_tracebacks(proc: Any) -> list[str]:
    """The tracebacks of Lava child processes that failed (empty when none or unknown)."""
    runtime = getattr(proc, "runtime", None)
    infrastructure = getattr(runtime, "_messaging_infrastructure", None)
    found = []
    for actor in getattr(infrastructure, "actors", []) or []:
        try:
            exception = actor.exception
        except Exception:  # a closed pipe: nothing to report
            continue
        if exception:
            found.append(str(exception[1]) if isinstance(exception, tuple) else str(exception))
    return found


def force_stop(proc: Any) -> None:
    """Stop a run that failed inside Lava: terminate every Lava child process still alive and
    shut the shared-memory manager down.

    Lava's own ``stop()`` cannot be used here: it sends STOP to runtime services that may be
    gone and waits for their answers (it hangs or raises "process object is closed").
    """
    runtime: Any = getattr(proc, "runtime", None)
    if runtime is None:
        return
    infrastructure: Any = getattr(runtime, "_messaging_infrastructure", None)
    for actor in getattr(infrastructure, "actors", []) or []:
        if getattr(actor, "_is_done", True):
            continue  # joined and closed by Lava's error path
        try:
            if actor.is_alive():
                actor.terminate()
            # Lava's SystemProcess.join() takes no timeout: join as a plain Process
            multiprocessing.Process.join(actor, 5)
            if actor.is_alive():
                actor.kill()
                multiprocessing.Process.join(actor, 2)
        except (ValueError, AssertionError, OSError):
            pass
    for stopper in (
        lambda: infrastructure._smm.shutdown(),
        lambda: runtime._watchdog_manager.stop(),
    ):
        with contextlib.suppress(Exception):  # already down
            stopper()
    runtime._is_running = False
    runtime._is_started = False


def run_network(network: LavaNetwork) -> tuple[dict[str, np.ndarray], float]:
    """Run one sample's network; return every recorded value ``[steps, 1, ...]`` and the time
    spent in ``run``. The processes are stopped in every case."""
    conditions = lava_module("lava.magma.core.run_conditions")
    configs = lava_module("lava.magma.core.run_configs")
    cfg = configs.Loihi2SimCfg(select_tag="fixed_pt", loglevel=logging.INFO)
    proc = network.processes[0]
    run_s = 0.0
    done = 0
    try:
        with handling_signals():
            for until, sets in [*network.segments, (network.steps, [])]:
                if until > done:
                    start = time.perf_counter()
                    proc.run(condition=conditions.RunSteps(num_steps=until - done), run_cfg=cfg)
                    run_s += time.perf_counter() - start
                    done = until
                for var, value in sets:
                    var.set(np.asarray(value))
    except KeyboardInterrupt:  # SIGINT/SIGTERM: end every Lava process, then stop
        end_children()
        with contextlib.suppress(Exception):
            force_stop(proc)
        raise
    except BaseException as exc:
        details = child_tracebacks(proc)
        force_stop(proc)  # Lava's stop() waits forever for a child that has died
        detail = "\n".join(details) if details else f"{type(exc).__name__}: {exc}"
        raise lava_error(
            RUN_CODE, f"the Lava run ({network.form}) failed at step {done}: {detail}"
        ) from exc
    if getattr(proc, "runtime", None) is not None:
        proc.stop()
    table = np.array(
        np.memmap(
            network.path, dtype=np.int64, mode="r", shape=(max(network.rows, 1), network.steps)
        )
    )
    flat: dict[str, np.ndarray] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    for slot in network.record:
        if slot.name not in flat:
            flat[slot.name] = np.zeros((network.steps, int(np.prod(slot.shape))))
            shapes[slot.name] = slot.shape
        rows = table[slot.offset : slot.offset + len(slot.indices)]
        flat[slot.name][:, slot.indices] = rows.T
    values = {
        name: array.reshape((network.steps, 1, *shapes[name])) for name, array in flat.items()
    }
    return values, run_s


def _graph_of(program: Any) -> Graph:
    graph = program.pipelined if hasattr(program, "pipelined") else program
    assert isinstance(graph, Graph)
    return graph


def run_lava(
    program: Any,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    *,
    form: str = "stock",
    steps: int | None = None,
    _fail_at_step: int | None = None,
) -> LavaRun:
    """Run ``program`` (a NetworkProgram, or a pipelined network graph) on Lava.

    Args:
        program: its pipelined graph is emitted.
        inputs: one ``[T, B, *shape]`` array per graph input (in order, or by name).
        form: ``stock`` (library processes) or ``fused`` (one custom process).
        steps: Lava steps per sample (default T); inputs are zero-padded (pipeline drain) or
            cut to it.

    Returns:
        A :class:`LavaRun`; its outputs and spikes equal ``run_layerwise(program.pipelined,
        inputs, record=True)`` on the same steps.

    Raises:
        LV507: no exact form; LV508: the run failed inside Lava (with the child's traceback).
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    require_lava()
    began = time.perf_counter()
    graph = _graph_of(program)
    if isinstance(inputs, Mapping):
        arrays = [np.asarray(inputs[v.name], dtype=np.float64) for v in graph.inputs]
    else:
        arrays = [np.asarray(a, dtype=np.float64) for a in inputs]
    if len(arrays) != len(graph.inputs):
        raise ValueError(f"the graph takes {len(graph.inputs)} input(s), got {len(arrays)}")
    total, batch = arrays[0].shape[:2]
    steps = int(total if steps is None else steps)
    if steps < 1:
        raise ValueError("steps must be >= 1")
    padded = []
    for array in arrays:
        out = np.zeros((steps, *array.shape[1:]))
        out[: min(steps, total)] = array[:steps]
        padded.append(out)
    traces: dict[str, list[np.ndarray]] = {}
    reports: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    run_s = 0.0
    with tempfile.TemporaryDirectory(prefix="snnc_lava_") as tmp:
        for b in range(batch):
            sample = {v.name: a[:, b : b + 1] for v, a in zip(graph.inputs, padded, strict=True)}
            path = os.path.join(tmp, f"record_{b}.bin")
            network = emit(program, sample, form=form, steps=steps, path=path)
            if _fail_at_step is not None and form == "fused":
                network.processes[0].proc_params.overwrite("fail_at_step", _fail_at_step)
            counts = network.process_counts()
            reports.append(network.report())
            chip, seconds = run_network(network)
            run_s += seconds
            known = {**sample, **chip}
            values = run_host(network.split.host, known, steps) if network.split.host else known
            for name, value in values.items():
                traces.setdefault(name, []).append(value)
    merged = {name: np.concatenate(parts, axis=1) for name, parts in traces.items()}
    outputs = {v.name: merged[v.name] for v in graph.outputs}
    spikes = {n.name: merged[n.name] for n in graph.nodes if n.op == "population"}
    currents = {n.name: merged[n.name] for n in graph.nodes if n.op == "current_sum"}
    return LavaRun(
        outputs,
        spikes,
        currents,
        counts,
        sum(counts.values()),
        form,
        steps,
        time.perf_counter() - began,
        run_s,
        reports,
    )
