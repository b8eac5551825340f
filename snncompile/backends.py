"""Run backends, in one explicit registry: ``Backend.run(compiled, inputs, run_config)``.

=========  ===================================================================================
backend    what runs
=========  ===================================================================================
``sim``    the reference simulator on the network IR (``mode`` pipelined, as the chip runs, or
           layerwise, as PyTorch computes; engine ``sim_backend`` numpy, or torch on
           ``device``; bit-identical)
``float``  the traced tensor IR in float32 (what PyTorch computes)
``lava``   Lava's CPU simulation of the emitted processes (``lava_mode`` stock or fused)
=========  ===================================================================================

``inputs`` is the graph's ``[T, B, *shape]`` float64 input. Every backend averages the counted
outputs over T (steps ``depth .. depth + T - 1`` of a pipelined run, whose latency is
``T + depth``), as the models do.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Protocol

import numpy as np

from snncompile.config import BACKENDS, RunConfig
from snncompile.diagnostics import error

if TYPE_CHECKING:
    from snncompile.api import Compiled, RunOutput

__all__ = ["BACKEND_REGISTRY", "Backend", "get_backend"]


class Backend(Protocol):
    """A way to run a compiled model on a batch."""

    name: str

    def run(
        self,
        compiled: Compiled,
        inputs: np.ndarray,
        run_config: RunConfig,
        *,
        record: bool | list[str] = False,
        stats: bool = True,
    ) -> RunOutput: ...


def _drained(compiled: Compiled, inputs: np.ndarray, mode: str) -> tuple[np.ndarray, int]:
    """``inputs`` followed by ``depth`` zero steps when pipelined (the pipeline drains:
    inputs after T reach no counted output), and the depth."""
    from snncompile.limits import require_memory

    depth = compiled.depth if mode == "pipelined" else 0
    steps = inputs.shape[0]
    graph = compiled.program.graph(mode)
    per_step = sum(out.type.numel for node in graph.nodes for out in node.outputs)
    require_memory(  # the padded inputs of every step, and one step's values
        8 * inputs.shape[1] * (per_step + (steps + depth) * math.prod(inputs.shape[2:])),
        f"running {inputs.shape[1]} sample(s) of {compiled.loaded.name} for {steps + depth} steps",
        node=compiled.loaded.name,
    )
    if depth:
        inputs = np.concatenate([inputs, np.zeros((depth, *inputs.shape[1:]))])
    return inputs, depth


class FloatBackend:
    """The traced model, in the trace dtype (float32)."""

    name = "float"

    def run(
        self,
        compiled: Compiled,
        inputs: np.ndarray,
        run_config: RunConfig,
        *,
        record: bool | list[str] = False,
        stats: bool = True,
    ) -> RunOutput:
        from snncompile.api import RunOutput
        from snncompile.ir.interpret import run_layerwise

        graph = compiled.float_graph()
        start = time.perf_counter()
        out = run_layerwise(graph, [inputs])[graph.outputs[0].name]
        seconds = time.perf_counter() - start
        steps = compiled.time_steps
        return RunOutput(out.mean(axis=0), out, latency_steps=steps, seconds=seconds)


class SimBackend:
    """The reference simulator (numpy or torch engine)."""

    name = "sim"

    def run(
        self,
        compiled: Compiled,
        inputs: np.ndarray,
        run_config: RunConfig,
        *,
        record: bool | list[str] = False,
        stats: bool = True,
    ) -> RunOutput:
        from snncompile.api import RunOutput

        mode, steps = run_config.mode, compiled.time_steps
        inputs, depth = _drained(compiled, inputs, mode)
        name = compiled.program.graph(mode).outputs[0].name
        window = None if record else steps  # only the steps that reach counted outputs
        simulator = compiled.simulator(mode, run_config)
        result = simulator.run([inputs], record=record, stats=stats, window=window)
        out = result.outputs[name]
        return RunOutput(
            out[depth : depth + steps].mean(axis=0),
            out,
            spikes=result.spikes,
            stats=result.stats,
            latency_steps=steps + depth,
            seconds=result.seconds,
        )


class LavaBackend:
    """Lava's CPU simulation of the pipelined network's processes."""

    name = "lava"

    def run(
        self,
        compiled: Compiled,
        inputs: np.ndarray,
        run_config: RunConfig,
        *,
        record: bool | list[str] = False,
        stats: bool = True,
    ) -> RunOutput:
        from snncompile.api import RunOutput
        from snncompile.targets.loihi.run import run_lava

        if run_config.mode != "pipelined":
            raise error("CF201", "the lava backend runs the pipelined network", node="mode")
        steps = compiled.time_steps
        inputs, depth = _drained(compiled, inputs, "pipelined")
        name = compiled.program.pipelined.outputs[0].name
        lava = run_lava(compiled.program, [inputs], form=run_config.lava_mode)
        out = lava.outputs[name]
        return RunOutput(
            out[depth : depth + steps].mean(axis=0),
            out,
            spikes=dict(lava.spikes),
            latency_steps=steps + depth,
            seconds=lava.wall_s,
            extra={"processes": lava.processes, "process_count": lava.process_count},
        )


#: Every run backend by its ``--backend`` name.
BACKEND_REGISTRY: dict[str, Backend] = {
    "sim": SimBackend(),
    "float": FloatBackend(),
    "lava": LavaBackend(),
}


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (CF201 naming the choices otherwise)."""
    backend = BACKEND_REGISTRY.get(name)
    if backend is None:
        raise error("CF201", f"backend must be one of {', '.join(BACKENDS)}", node="backend")
    return backend
