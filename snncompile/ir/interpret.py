"""Layerwise execution of a graph with the ops' reference kernels (float semantics).

At step t every node sees the step-t results of the nodes before it (what PyTorch computes;
SEMANTICS.md section 1); a ``recurrent`` node sees its source's result of step t - 1 (latched
after each step). State of stateful ops persists over the T steps of one run and starts
fresh for every run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from snncompile.diagnostics import error
from snncompile.ir.graph import Graph, Value
from snncompile.ir.ops import get_op
from snncompile.ir.ops.base import State
from snncompile.ir.ops.recurrent import latch, recurrent_nodes

__all__ = ["StepObserver", "run_layerwise"]

#: Called after every step with the step index and every value of that step, by name.
StepObserver = Callable[[int, Mapping[str, np.ndarray]], None]


def run_layerwise(
    graph: Graph,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    *,
    record: bool = False,
    observer: StepObserver | None = None,
) -> dict[str, np.ndarray]:
    """Run ``graph`` for T steps on a batch.

    Args:
        graph: a tensor- or network-level graph.
        inputs: one ``[T, B, *shape]`` array per graph input (in order, or by name).
        record: also return every intermediate value, not only the outputs.
        observer: sees every value of every step without keeping them (statistics over long
            runs of big models, where recording everything would not fit in memory).

    Returns:
        ``[T, B, *shape]`` arrays keyed by value name: the graph outputs (and, with ``record``,
        every value).
    """
    if isinstance(inputs, Mapping):
        arrays = [np.asarray(inputs[v.name]) for v in graph.inputs]
    else:
        arrays = [np.asarray(a) for a in inputs]
    if len(arrays) != len(graph.inputs):
        raise error("IR110", f"@{graph.name} takes {len(graph.inputs)} input(s), got {len(arrays)}")
    steps, batch = arrays[0].shape[:2]
    for value, array in zip(graph.inputs, arrays, strict=True):
        if array.shape[2:] != value.type.shape or array.shape[:2] != (steps, batch):
            raise error(
                "IR106",
                f"input %{value.name} expects [T={steps}, B={batch}, {value.type.shape}], "
                f"got {array.shape}",
                node=f"%{value.name}",
            )
    ops = [get_op(node.op) for node in graph.nodes]
    states: list[State | None] = [
        op.init_state(node.attrs, [v.type for v in node.inputs], batch) if op.init_state else None
        for op, node in zip(ops, graph.nodes, strict=True)
    ]
    by_name = {v.name: v for v in graph.values()}
    latches = [
        (states[i], by_name[graph.nodes[i].attrs.source]) for i in recurrent_nodes(graph.nodes)
    ]
    wanted = {v.name for v in graph.values()} if record else {v.name for v in graph.outputs}
    trace: dict[str, list[np.ndarray]] = {name: [] for name in wanted}
    for t in range(steps):
        env: dict[Value, np.ndarray] = {v: a[t] for v, a in zip(graph.inputs, arrays, strict=True)}
        for op, node, state in zip(ops, graph.nodes, states, strict=True):
            results = op.kernel(node.attrs, [env[v] for v in node.inputs], state)
            for value, result in zip(node.outputs, results, strict=True):
                env[value] = result
        for state, source in latches:  # recurrent edges read this step's spikes at t + 1
            assert state is not None
            latch(state, env[source])
        if observer is not None:
            observer(t, {value.name: result for value, result in env.items()})
        for value, result in env.items():
            if value.name in trace:
                trace[value.name].append(result)
    return {name: np.stack(steps_) for name, steps_ in trace.items()}
