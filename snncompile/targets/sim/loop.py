"""The reference simulator's step loop.

:class:`Engine` runs a network graph's executors step by step: input checks, the unfused
re-build when fused products are recorded, idle steps outside a node's window, statistics,
recording and the result. The executors are written once
(:class:`snncompile.targets.sim.engine.Simulator`) over an array backend
(:mod:`snncompile.targets.sim.arrays`: numpy; :mod:`snncompile.targets.sim.torch_engine`:
torch on CPU or CUDA) and share one interface:

- projection: ``reset(batch)``, ``zeros(batch)`` (its idle output), ``current(x)``,
  ``delayed(current)``, ``events(x)`` (the step's synaptic events);
- population: ``reset(batch)``, ``zeros(batch)``, ``run(inputs)``, ``step``, ``neurons``;
- fused product (by reader projection name): ``current(inputs)`` -> (current, spike count),
  ``pop`` (its population executor);
- host op: the op itself (``init_state``; the engine's :meth:`Engine._host` runs its kernel),
  or an executor with ``native = True`` whose ``kernel`` runs on the backend's arrays. A
  stateless host op given the very same arrays as in its previous step (the idle zeros outside
  a window) returns its previous outputs: ``f(0)``, biases included, computed once;

and the few array operations that differ come from the backend (``Engine.xp``).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snncompile.diagnostics import error
from snncompile.ir.graph import Graph, Node, Value
from snncompile.ir.ops.recurrent import latch, recurrent_latches
from snncompile.targets.sim.arrays import Array, Backend
from snncompile.targets.sim.stats import SimStats

__all__ = ["DelayLine", "Engine", "SimResult"]

_CHIP = ("projection", "population")


@dataclass
class SimResult:
    """Outputs (``[steps, B, ...]`` by output name), recorded spikes and statistics."""

    outputs: dict[str, np.ndarray]
    spikes: dict[str, np.ndarray] = field(default_factory=dict)
    stats: SimStats | None = None
    seconds: float = 0.0


class DelayLine:
    """A synaptic delay of ``delay`` steps: what goes in comes out ``delay`` steps later (zeros
    before). It keeps references and never copies: executors never write into an array they
    were given or returned (each step's values are fresh arrays; idle zeros are read-only)."""

    def __init__(self, delay: int, zeros: Array) -> None:
        self._line: deque[Array] = deque([zeros] * delay)

    def __call__(self, current: Array) -> Array:
        self._line.append(current)
        return self._line.popleft()


def require_network(graph: Graph) -> None:
    """CF203 unless ``graph`` is a network-stage graph."""
    if graph.stage != "network":
        raise error("CF203", f"the simulator runs network graphs, got stage {graph.stage!r}")


class Engine(ABC):
    """The step loop over ``plan`` (see the module docstring).

    Attributes set by the engine's constructor:
        graph: the network graph.
        xp: the array backend (:mod:`snncompile.targets.sim.arrays`).
        plan: ``(node, executor)`` in graph order (host ops: the op).
        fused: fused product population name -> its summing reader node.
        products: reader projection name -> fused product executor.
        first_step: population/projection name -> the step its data first arrives.
    """

    graph: Graph
    xp: Backend
    plan: list[tuple[Node, Any]]
    fused: dict[str, Node]
    products: dict[str, Any]
    first_step: dict[str, int]
    _zeros: dict[str, Array]  # node name -> its idle output (read-only: no executor writes input)

    @abstractmethod
    def _unfused(self) -> Engine:
        """The same engine on the same graph without fused products."""

    # the few array operations, from the backend
    def _inputs(self, inputs: Sequence[Any]) -> list[Array]:
        return self.xp.inputs(inputs)

    def _running(self) -> AbstractContextManager[Any]:
        return self.xp.running()

    def _counter(self, steps: int) -> Array:
        return self.xp.counter(steps)

    def _count(self, out: Array) -> Any:
        return self.xp.count(out)

    def _host(self, node: Node, op: Any, xs: list[Array], state: Any) -> Sequence[Array]:
        return self.xp.host(node, op, xs, state)

    def _numpy(self, x: Array) -> np.ndarray:
        return self.xp.numpy(x)

    def _stack(self, xs: list[Array]) -> np.ndarray:
        """The steps' arrays as one float64 ``[steps, B, ...]`` array (spikes run as int8)."""
        return np.asarray(self.xp.stack(xs), dtype=np.float64)

    def run(
        self,
        inputs: Sequence[Any],
        *,
        record: Sequence[str] | bool = False,
        stats: bool = True,
        window: int | None = None,
    ) -> SimResult:
        """Run for ``T`` steps on ``inputs`` (one ``[T, B, *shape]`` array per graph input; the
        torch engine also takes tensors).

        Args:
            record: population names whose spikes to keep (``True``: every population; fused
                products are then materialised for the steps they are recorded in).
            stats: count spikes, synaptic events and neuron updates.
            window: compute every node only in the ``window`` steps after its data arrives
                (the model's T): exactly the steps that reach the outputs at ``depth`` to
                ``depth + window - 1``, and the work the chip does per inference when samples
                stream back to back. Other steps output zeros; statistics count the window.
        """
        start = time.perf_counter()
        arrays = self._inputs(inputs)
        steps, batch = (int(n) for n in arrays[0].shape[:2])
        for value, array in zip(self.graph.inputs, arrays, strict=True):
            shape = tuple(array.shape)
            if shape[2:] != value.type.shape:
                raise error(
                    "IR106",
                    f"input %{value.name} expects [T, B, {value.type.shape}], got {shape}",
                    node=f"%{value.name}",
                )
        pops = [n for n in self.graph.nodes if n.op == "population"]
        wanted = {n.name for n in pops} if record is True else set(record or ())
        engine = self if not (wanted & set(self.fused)) else self._unfused()
        with self._running():
            return engine._run(arrays, steps, batch, wanted, stats, start, window)

    def _idle(self, node: Node, ex: Any, env: dict[Value, Array], batch: int) -> None:
        """A step outside ``node``'s window: zeros out, delay lines and step counters move."""
        if node.name in self.fused:  # its reader's product moves its step counter
            return
        zeros = self._zeros.get(node.name)
        if zeros is None or zeros.shape[0] != batch:
            zeros = self._zeros[node.name] = ex.zeros(batch)
        if node.op == "projection":
            env[node.output] = ex.delayed(zeros)
            if node.name in self.products:
                self.products[node.name].pop.step += 1
            return
        ex.step += 1
        env[node.output] = zeros

    def _run(
        self,
        arrays: list[Array],
        steps: int,
        batch: int,
        wanted: set[str],
        stats: bool,
        start: float,
        window: int | None,
    ) -> SimResult:
        counts = SimStats(batch, steps, window=window)
        spike_counts: dict[str, Array] = {}
        event_counts: dict[str, Array] = {}
        host_states: dict[str, Any] = {}
        # stateless host op -> (its last inputs, its outputs): idle steps feed the same zeros
        host_cache: dict[str, tuple[list[Array], Sequence[Array]]] = {}
        spans: list[tuple[int, int]] = []  # the steps each node computes in
        for node, ex in self.plan:
            first = self.first_step.get(node.name, 0)
            if window is not None and node.op in _CHIP:  # host ops run every step
                spans.append((first, first + window))
            else:
                spans.append((0, steps))
            if node.op == "population":
                ex.reset(batch)
                spike_counts[node.name] = self._counter(steps)
                counts.neurons[node.name] = ex.neurons
                counts.starts[node.name] = node.attrs.start
            elif node.op == "projection":
                ex.reset(batch)
                event_counts[node.name] = self._counter(steps)
            elif ex.init_state is not None:
                types = [v.type for v in node.inputs]
                host_states[node.name] = ex.init_state(node.attrs, types, batch)
        outputs: dict[str, list[Array]] = {v.name: [] for v in self.graph.outputs}
        spikes: dict[str, list[Array]] = {name: [] for name in wanted}
        latches = recurrent_latches(self.graph)
        for t in range(steps):
            env: dict[Value, Array] = {
                v: a[t] for v, a in zip(self.graph.inputs, arrays, strict=True)
            }
            for (node, ex), (first, end) in zip(self.plan, spans, strict=True):
                if not first <= t < end:
                    self._idle(node, ex, env, batch)
                    continue
                xs = [env[v] for v in node.inputs if v in env]
                if node.op == "projection":
                    if node.name in self.products:
                        product = self.products[node.name]
                        pop_node = node.inputs[0].producer
                        assert pop_node is not None
                        current, count = product.current([env[v] for v in pop_node.inputs])
                        if stats:
                            spike_counts[pop_node.name][t] = count
                            event_counts[node.name][t] = count
                        env[node.output] = ex.delayed(current)
                        continue
                    if stats:
                        event_counts[node.name][t] = ex.events(xs[0])
                    env[node.output] = ex.delayed(ex.current(xs[0]))
                elif node.op == "population":
                    if node.name in self.fused:
                        continue
                    out = ex.run(xs)
                    env[node.output] = out
                    if stats:
                        spike_counts[node.name][t] = self._count(out)
                    if node.name in spikes:
                        spikes[node.name].append(out)
                else:
                    cached = host_cache.get(node.name)
                    if cached is not None and all(
                        a is b for a, b in zip(cached[0], xs, strict=True)
                    ):
                        results = cached[1]  # a stateless op of the very same arrays
                    elif getattr(ex, "native", False):
                        results = ex.kernel(node.attrs, xs, host_states[node.name])
                    else:
                        results = self._host(node, ex, xs, host_states.get(node.name))
                    if ex.init_state is None:
                        host_cache[node.name] = (xs, results)
                    env.update(zip(node.outputs, results, strict=True))
            for name, source in latches:  # recurrent edges: this step's spikes, read at t + 1
                latch(host_states[name], self._numpy(env[source]))
            for v in self.graph.outputs:
                outputs[v.name].append(env[v])
        if stats:
            counts.spikes = {k: self._numpy(v) for k, v in spike_counts.items()}
            counts.events = {k: self._numpy(v) for k, v in event_counts.items()}
        return SimResult(
            {k: self._stack(v) for k, v in outputs.items()},
            {k: self._stack(v) for k, v in spikes.items()},
            counts if stats else None,
            time.perf_counter() - start,
        )
