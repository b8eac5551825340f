"""The reference cycle simulator on torch tensors (CPU or CUDA), bit for bit the numpy engine.

:class:`TorchSimulator` runs the same network graph with the same integer semantics as
:class:`snncompile.targets.sim.engine.Simulator` and returns the same :class:`SimResult`
(numpy outputs, recorded spikes and :class:`SimStats`), so either can serve ``Compiled.run``
(``CompileConfig.sim_backend``, ``CompileConfig.device``). Everything stays on the device
between steps; the constants (views, exactness bounds, fan-outs, fused product specs) come
from the numpy engine's executors, so the two cannot disagree on what they compute:

- synapses as float32 products where the numpy engine's bound proves every partial sum below
  2^24, float64 otherwise (exact below 2^53). Sums of integers that stay below these limits
  are exact in any order, which is why a GPU's reductions give the numpy engine's bits. On
  CUDA, TF32 is switched off for the run (``torch.set_float32_matmul_precision("highest")``)
  and convolutions run as im2col + matmul (cuDNN may pick Winograd or FFT algorithms, which
  are not exact);
- neuron state in int64: trunc-toward-zero decays, u wrapping at 24 bits, v saturating,
  strict threshold, populations gated until their ``start``;
- products of two activations (attention) as einsums over the un-broadcast operands, in
  float64, cast to the dtype the numpy engine computes them in;
- host ops (tensor ops in a network graph: encoder, readout, host max-pooling) run their
  numpy reference kernels on the CPU; their tensors are small and cross once per step;
- statistics accumulate on the device and are copied to numpy once at the end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from snncompile.diagnostics import error
from snncompile.ir.graph import Graph, Node, Value
from snncompile.ir.loihi import CURRENT_LIMIT, VOLTAGE_LIMIT
from snncompile.ir.ops import get_op
from snncompile.ir.views import View
from snncompile.targets.sim.engine import (
    SimResult,
    _first_steps,
    _Population,
    _Product,
    _Projection,
    fused_products,
)
from snncompile.targets.sim.stats import SimStats

__all__ = ["DEVICES", "TorchSimulator", "resolve_device"]

DEVICES = ("cpu", "cuda")


def resolve_device(device: str | torch.device) -> torch.device:
    """``device`` as a :class:`torch.device`; CUDA must be available (CF201 otherwise)."""
    try:
        dev = torch.device(device)
    except RuntimeError:
        dev = None
    if dev is None or dev.type not in DEVICES:
        raise error(
            "CF201", f"device must be one of {', '.join(DEVICES)}, got {device!r}", node="device"
        )
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise error(
            "CF201", "device 'cuda' was asked for, but torch sees no CUDA device", node="device"
        )
    return dev


def apply_view(view: View, x: torch.Tensor) -> torch.Tensor:
    """:meth:`View.apply` on a torch batch ``[B, *shape]`` (a view where possible)."""
    for step in view.steps:
        if step.kind == "reshape":
            x = x.reshape((x.shape[0], *step.args))
        elif step.kind == "permute":
            x = x.permute((0, *(p + 1 for p in step.args)))
        elif step.kind == "slice":
            axis, start, stop, stride = step.args
            index: list[slice] = [slice(None)] * x.ndim
            index[axis + 1] = slice(start, stop, stride)
            x = x[tuple(index)]
        else:
            shape = np.broadcast_shapes(tuple(x.shape[1:]), step.args)
            x = torch.broadcast_to(x, (x.shape[0], *shape))
    return x


def _shift(x: torch.Tensor, exponent: int) -> torch.Tensor:
    """:func:`snncompile.ir.loihi.shift` on int64 tensors (``>>`` is arithmetic: floor)."""
    return x << exponent if exponent >= 0 else x >> -exponent


def _trunc_div_4096(x: torch.Tensor) -> torch.Tensor:
    """``sign(x) · (|x| >> 12)``: division by 4096 rounding toward zero."""
    return torch.sign(x) * (x.abs() >> 12)


def _rint_int64(x: torch.Tensor) -> torch.Tensor:
    """``np.rint(x).astype(np.int64)`` (round half to even, as numpy)."""
    return torch.round(x).to(torch.int64)


_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


class _TorchProjection:
    """A projection's synapses and delay line on the device (constants from the numpy one)."""

    def __init__(self, base: _Projection, device: torch.device) -> None:
        self.base = base
        self.a = base.a
        self.name = base.name
        self.device = device
        self.dtype = base.dtype
        self.out_shape = base.out_shape
        self.pre, self.post = base.pre, base.post
        self.weight = None if base.weight is None else base.weight.to(device)
        self.bias = None if base.bias is None else base.bias.to(device)
        self.fanout = torch.from_numpy(np.ascontiguousarray(base.fanout, np.float64).ravel()).to(
            device
        )
        self.im2col = device.type == "cuda" and self.a.kind == "conv"
        self.buffer: torch.Tensor | None = None
        self.head = 0

    def reset(self, batch: int) -> None:
        delay = self.a.delay
        self.buffer = (
            torch.zeros((delay, batch, *self.out_shape), dtype=self.dtype, device=self.device)
            if delay
            else None
        )
        self.head = 0

    def _conv(self, t: torch.Tensor) -> torch.Tensor:
        a = self.a
        assert self.weight is not None
        if not self.im2col:
            return F.conv2d(t, self.weight, None, a.stride, a.padding, a.dilation, a.groups)
        c_out, c_in_g, kh, kw = self.weight.shape
        cols = F.unfold(t, (kh, kw), dilation=a.dilation, padding=a.padding, stride=a.stride)
        batch, _, positions = cols.shape
        cols = cols.reshape(batch, a.groups, c_in_g * kh * kw, positions)
        w = self.weight.reshape(a.groups, c_out // a.groups, c_in_g * kh * kw)
        y = torch.matmul(w.unsqueeze(0), cols)  # [B, groups, C_out/groups, L]
        return y.reshape(batch, c_out, *self.base.core_out[1:])

    def current(self, x: torch.Tensor) -> torch.Tensor:
        """The projection's current for source values ``x`` (before the delay)."""
        a = self.a
        s = apply_view(self.pre, x if a.graded else (x != 0))
        t = s.to(self.dtype).contiguous()
        if a.kind == "sum":
            y = t.sum(dim=tuple(d + 1 for d in a.axes)) if a.axes else t
            if a.gain != 1:
                y = y * a.gain
        elif a.kind == "dense":
            assert self.weight is not None
            y = t @ self.weight.T
        else:
            y = self._conv(t)
        if self.bias is not None:
            y = y + self.bias
        if a.weight_exp:
            y = _shift(_rint_int64(y), a.weight_exp).to(y.dtype)
        return apply_view(self.post, y).contiguous()

    def delayed(self, current: torch.Tensor) -> torch.Tensor:
        if self.buffer is None:
            return current
        out = self.buffer[self.head].clone()
        self.buffer[self.head] = current
        self.head = (self.head + 1) % self.a.delay
        return out

    def events(self, x: torch.Tensor) -> torch.Tensor:
        """``Σ_b Σ_i [x_bi ≠ 0] · fanout_i`` for one step of a batch (a 0-d float64 tensor)."""
        active = (x != 0).reshape(x.shape[0], -1).sum(dim=0, dtype=torch.float64)
        return active @ self.fanout


class _TorchPopulation:
    """Lava's LIF on int64 device state, or a gated product neuron (see ``_Population``)."""

    def __init__(self, base: _Population, device: torch.device) -> None:
        self.a = base.a
        self.name = base.name
        self.shape = base.shape
        self.neurons = base.neurons
        self.device = device
        self.decay_u, self.decay_v = base.decay_u, base.decay_v
        self.bias = torch.tensor(np.array(base.bias, np.int64), device=device)
        self.threshold = torch.tensor(np.array(base.threshold, np.int64), device=device)
        self.gated_bias = (
            torch.tensor(np.array(self.a.bias_mant, np.float64), device=device)
            if self.a.kind == "gated" and self.a.bias_mant is not None
            else None
        )
        self.step = 0
        self.u = self.v = torch.zeros(0, dtype=torch.int64, device=device)

    def reset(self, batch: int) -> None:
        self.step = 0
        self.u = torch.zeros((batch, *self.shape), dtype=torch.int64, device=self.device)
        self.v = torch.zeros((batch, *self.shape), dtype=torch.int64, device=self.device)

    def zeros(self, batch: int) -> torch.Tensor:
        return torch.zeros((batch, *self.shape), dtype=torch.float64, device=self.device)

    def run(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        step, self.step = self.step, self.step + 1
        if step < self.a.start:
            return self.zeros(inputs[0].shape[0])
        if self.a.kind == "gated":
            xs = [x.to(torch.float64) for x in inputs]
            value = xs[0]
            for x in xs[1:-1]:
                value = value + x
            if self.gated_bias is not None:
                value = value + self.gated_bias
            return value * xs[-1]
        a_in = _rint_int64(inputs[0])
        for current in inputs[1:]:
            a_in = a_in + _rint_int64(current)
        a_in = a_in << 6
        if self.decay_u:
            a_in = a_in + _trunc_div_4096(self.u * self.decay_u)
        u = torch.where(a_in > CURRENT_LIMIT, a_in - 2 * CURRENT_LIMIT, a_in)
        self.u = torch.where(u <= -CURRENT_LIMIT, u + 2 * CURRENT_LIMIT, u)
        v = self.u + self.bias
        if self.decay_v:
            v = v + _trunc_div_4096(self.v * self.decay_v)
        v = v.clamp(-VOLTAGE_LIMIT, VOLTAGE_LIMIT)
        spikes = v > self.threshold
        self.v = v.masked_fill(spikes, 0)
        return spikes.to(torch.float64)


class _TorchProduct:
    """A fused coincidence/gated population and its summing reader (see ``_Product``)."""

    def __init__(self, base: _Product, pop: _TorchPopulation, reader: _TorchProjection) -> None:
        self.base = base
        self.pop, self.reader = pop, reader
        device = pop.device
        self.bias = None if base.bias is None else torch.from_numpy(base.bias.copy()).to(device)
        r = reader.a
        self.reader_bias = (
            None
            if r.bias is None
            else torch.from_numpy(np.asarray(r.bias, np.float64).copy()).to(device)
        )

    def _squeeze(self, x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        return x.reshape((x.shape[0], *(n for n in shape if n > 1)))

    def current(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The reader's current and the population's spike (non-zero output) count."""
        pop, base = self.pop, self.base
        step, pop.step = pop.step, pop.step + 1
        batch = inputs[0].shape[0]
        device = pop.device
        if step < pop.a.start:
            summed = torch.zeros((batch, *base.out_shape), dtype=torch.float64, device=device)
            return self._finish(summed), torch.zeros((), dtype=torch.float64, device=device)
        value, gate = inputs
        if self.bias is not None:
            value = value + self.bias
        # numpy's einsum computes in the operands' common dtype; exact results agree
        dtype = torch.promote_types(value.dtype, gate.dtype)
        a = self._squeeze(value, base.shapes[0]).to(torch.float64)
        b = self._squeeze(gate, base.shapes[1]).to(torch.float64)
        summed = torch.einsum(base.spec, a, b).reshape((batch, *base.out_shape)).to(dtype)
        count = torch.einsum(
            base.count_spec, (a != 0).to(torch.float64), (b != 0).to(torch.float64)
        )
        return self._finish(summed), count.sum()

    def _finish(self, summed: torch.Tensor) -> torch.Tensor:
        r = self.reader.a
        y = summed * r.gain if r.gain != 1 else summed
        if self.reader_bias is not None:
            y = y + self.reader_bias
        if r.weight_exp:
            y = _shift(_rint_int64(y), r.weight_exp).to(torch.float64)
        return apply_view(self.reader.post, y).contiguous()


class _Host:
    """A host op: its numpy reference kernel on the CPU, tensors moved across."""

    def __init__(self, node: Node, device: torch.device) -> None:
        self.op = get_op(node.op)
        self.device = device

    def run(self, node: Node, xs: Sequence[torch.Tensor], state: Any) -> list[torch.Tensor]:
        arrays = [x.detach().to("cpu", torch.float64).numpy() for x in xs]
        results = self.op.kernel(node.attrs, arrays, state)
        return [torch.from_numpy(np.ascontiguousarray(r)).to(self.device) for r in results]


@contextmanager
def _exact_matmuls(device: torch.device) -> Iterator[None]:
    """No TF32 on CUDA for the duration (float32 products must be IEEE exact)."""
    if device.type != "cuda":
        yield
        return
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


class TorchSimulator:
    """:class:`~snncompile.targets.sim.engine.Simulator` on torch tensors.

    Args:
        graph: a network-stage graph (layerwise or pipelined).
        device: ``cpu`` or ``cuda`` (or a :class:`torch.device`).
        fuse_products: evaluate attention products structurally (see ``Simulator``).
    """

    def __init__(
        self, graph: Graph, *, device: str | torch.device = "cpu", fuse_products: bool = True
    ) -> None:
        if graph.stage != "network":
            raise error("CF203", f"the simulator runs network graphs, got stage {graph.stage!r}")
        self.graph = graph
        self.device = resolve_device(device)
        self.fuse_products = fuse_products
        self.fused, compact = fused_products(graph) if fuse_products else ({}, set())
        executors: dict[str, Any] = {}
        bases: dict[str, Any] = {}
        self.plan: list[tuple[Node, Any]] = []
        self.products: dict[str, _TorchProduct] = {}
        for node in graph.nodes:
            ex: Any
            if node.op == "projection":
                base = _Projection(node, compact=node.name in compact)
                ex = _TorchProjection(base, self.device)
                source = node.inputs[0].producer
                if source is not None and source.name in self.fused:
                    operands = [bases[v.producer.name] for v in source.inputs if v.producer]
                    product = _Product(bases[source.name], base, operands)
                    self.products[node.name] = _TorchProduct(product, executors[source.name], ex)
                bases[node.name] = base
            elif node.op == "population":
                pop = _Population(node)
                bases[node.name] = pop
                ex = _TorchPopulation(pop, self.device)
            else:
                ex = _Host(node, self.device)
            executors[node.name] = ex
            self.plan.append((node, ex))
        self.first_step = _first_steps(graph)

    def run(
        self,
        inputs: Sequence[Any],
        *,
        record: Sequence[str] | bool = False,
        stats: bool = True,
        window: int | None = None,
    ) -> SimResult:
        """Run for ``T`` steps on ``inputs`` (one ``[T, B, *shape]`` array or tensor per graph
        input); arguments and result as :meth:`Simulator.run`."""
        start = time.perf_counter()
        tensors = [
            (
                x.detach().to(self.device, torch.float64)
                if isinstance(x, torch.Tensor)
                else torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).to(self.device)
            )
            for x in inputs
        ]
        steps, batch = tensors[0].shape[:2]
        for value, tensor in zip(self.graph.inputs, tensors, strict=True):
            if tuple(tensor.shape[2:]) != value.type.shape:
                raise error(
                    "IR106",
                    f"input %{value.name} expects [T, B, {value.type.shape}], "
                    f"got {tuple(tensor.shape)}",
                    node=f"%{value.name}",
                )
        pops = [n for n in self.graph.nodes if n.op == "population"]
        wanted = {n.name for n in pops} if record is True else set(record or ())
        simulator = (
            self
            if not (wanted & set(self.fused))
            else TorchSimulator(self.graph, device=self.device, fuse_products=False)
        )
        with _exact_matmuls(self.device), torch.inference_mode():
            return simulator._run(tensors, int(steps), int(batch), wanted, stats, start, window)

    def _idle(self, node: Node, ex: Any, env: dict[Value, torch.Tensor], batch: int) -> None:
        """A step outside ``node``'s window: zeros out, delay lines and step counters move."""
        if isinstance(ex, _TorchProjection):
            zeros = torch.zeros((batch, *ex.out_shape), dtype=ex.dtype, device=self.device)
            env[node.output] = ex.delayed(zeros)
            source = node.inputs[0].producer
            if node.name in self.products and source is not None:
                self.products[node.name].pop.step += 1
            return
        if node.name not in self.fused:
            ex.step += 1
            env[node.output] = ex.zeros(batch)

    def _run(
        self,
        tensors: list[torch.Tensor],
        steps: int,
        batch: int,
        wanted: set[str],
        stats: bool,
        start: float,
        window: int | None,
    ) -> SimResult:
        for _, ex in self.plan:
            if isinstance(ex, _TorchProjection | _TorchPopulation):
                ex.reset(batch)
        host_states = {
            node.name: ex.op.init_state(node.attrs, [v.type for v in node.inputs], batch)
            for node, ex in self.plan
            if isinstance(ex, _Host) and ex.op.init_state is not None
        }
        dev = self.device
        spike_counts: dict[str, torch.Tensor] = {}
        event_counts: dict[str, torch.Tensor] = {}
        counts = SimStats(batch, steps, window=window)
        for node, ex in self.plan:
            if isinstance(ex, _TorchPopulation):
                spike_counts[node.name] = torch.zeros(steps, dtype=torch.float64, device=dev)
                counts.neurons[node.name] = ex.neurons
                counts.starts[node.name] = node.attrs.start
            elif isinstance(ex, _TorchProjection):
                event_counts[node.name] = torch.zeros(steps, dtype=torch.float64, device=dev)
        outputs: dict[str, list[torch.Tensor]] = {v.name: [] for v in self.graph.outputs}
        spikes: dict[str, list[torch.Tensor]] = {name: [] for name in wanted}
        for t in range(steps):
            env: dict[Value, torch.Tensor] = {
                v: x[t] for v, x in zip(self.graph.inputs, tensors, strict=True)
            }
            for node, ex in self.plan:
                xs = [env[v] for v in node.inputs if v in env]
                first = self.first_step.get(node.name, 0)
                outside = window is not None and not first <= t < first + window
                if outside and not isinstance(ex, _Host):  # host ops always run
                    self._idle(node, ex, env, batch)
                    continue
                if isinstance(ex, _TorchProjection):
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
                elif isinstance(ex, _TorchPopulation):
                    if node.name in self.fused:
                        continue
                    out = ex.run(xs)
                    env[node.output] = out
                    if stats:
                        spike_counts[node.name][t] = (out != 0).sum(dtype=torch.float64)
                    if node.name in spikes:
                        spikes[node.name].append(out)
                else:
                    results = ex.run(node, xs, host_states.get(node.name))
                    env.update(zip(node.outputs, results, strict=True))
            for v in self.graph.outputs:
                outputs[v.name].append(env[v])
        if stats:
            counts.spikes = {k: v.cpu().numpy() for k, v in spike_counts.items()}
            counts.events = {k: v.cpu().numpy() for k, v in event_counts.items()}
        return SimResult(
            {k: torch.stack(v).cpu().numpy() for k, v in outputs.items()},
            {k: torch.stack(v).cpu().numpy() for k, v in spikes.items()},
            counts if stats else None,
            time.perf_counter() - start,
        )
