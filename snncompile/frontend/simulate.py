"""Float execution of a tensor-level graph over T time steps: ``snncompile.simulate``."""

from __future__ import annotations

from typing import Any

import numpy as np

from snncompile.diagnostics import error
from snncompile.ir.graph import Graph
from snncompile.ir.interpret import run_layerwise

__all__ = ["simulate", "time_major_inputs"]


def time_major_inputs(
    graph: Graph, inputs: Any, time_steps: int, input_layout: str | None = None
) -> np.ndarray:
    """``inputs`` as a ``[T, B, *shape]`` array for the graph's single input.

    ``inputs`` is static ``[B, *shape]`` (repeated over the T steps: direct encoding),
    ``[T, B, *shape]``, or, with ``input_layout='BT'``, event frames ``[B, T, *shape]``; torch
    tensors are converted to numpy. ``input_layout`` (``static``, ``TB``, ``BT``; see
    :class:`~snncompile.frontend.torch.TraceInfo`) defaults to what the rank says.
    """
    if len(graph.inputs) != 1:
        raise error("IR110", f"@{graph.name} takes {len(graph.inputs)} inputs; simulate takes one")
    if hasattr(inputs, "detach"):
        inputs = inputs.detach().cpu().numpy()
    array = np.asarray(inputs)
    sample = graph.inputs[0].type.shape
    if input_layout == "BT" and array.ndim == len(sample) + 2:
        array = np.ascontiguousarray(np.swapaxes(array, 0, 1))
    elif input_layout not in (None, "static", "TB", "BT"):
        raise error("CF201", f"input_layout must be static, TB or BT, got {input_layout!r}")
    if array.ndim == len(sample) + 1 and array.shape[1:] == sample:
        return np.repeat(array[None], time_steps, axis=0)
    if array.ndim == len(sample) + 2 and array.shape[2:] == sample:
        if array.shape[0] != time_steps:
            raise error(
                "IR106",
                f"inputs have {array.shape[0]} time steps on axis 0, time_steps={time_steps}",
            )
        return array
    raise error(
        "IR106",
        f"inputs of shape {list(array.shape)} fit neither [B, {sample}] nor [T, B, {sample}] "
        f"for input %{graph.inputs[0].name}",
    )


def simulate(
    graph: Graph, inputs: Any, *, time_steps: int, input_layout: str | None = None
) -> np.ndarray:
    """Run ``graph`` layerwise for ``time_steps`` steps and average its output over time.

    ``logits = 1/T · Σ_t y[t]`` with ``y[t]`` the graph output at step t (what a PyTorch spiking
    model returns with its final ``mean(0)``).

    Args:
        graph: a tensor-level graph of one time step with one input and one output (e.g. from
            :func:`snncompile.trace`).
        inputs: static ``[B, *shape]`` inputs repeated over T, or ``[T, B, *shape]`` (numpy or
            torch; the dtype is kept, use float64 for bit-level comparisons).
        time_steps: T.
        input_layout: ``BT`` for ``[B, T, *shape]`` event frames; by default static
            ``[B, *shape]`` or ``[T, B, *shape]`` as the rank says.

    Returns:
        ``[B, *out_shape]`` outputs averaged over the T steps.
    """
    if time_steps < 1:
        raise error("CF201", f"time_steps must be >= 1, got {time_steps}")
    if len(graph.outputs) != 1:
        raise error("IR110", f"@{graph.name} has {len(graph.outputs)} outputs; simulate needs 1")
    steps = time_major_inputs(graph, inputs, time_steps, input_layout)
    result = run_layerwise(graph, [steps])[graph.outputs[0].name]
    return np.asarray(result.mean(axis=0))
