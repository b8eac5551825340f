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

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from snncompile.chip import shift as _shift
from snncompile.diagnostics import error
from snncompile.ir.graph import Graph, Node
from snncompile.ir.views import View
from snncompile.targets.sim.engine import Simulator, _Population, _Product, _Projection
from snncompile.targets.sim.loop import DelayLine, Engine, require_network

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


class _TorchOps:
    """:class:`snncompile.chip.ArrayOps` on torch tensors (no data-dependent indexing: no
    host synchronisation on CUDA)."""

    def wrap_(self, x: torch.Tensor, limit: int) -> torch.Tensor:
        x.sub_((x > limit).to(x.dtype) * (2 * limit))
        x.add_((x <= -limit).to(x.dtype) * (2 * limit))
        return x

    def clip_(self, x: torch.Tensor, limit: int) -> torch.Tensor:
        return x.clamp_(-limit, limit)


TORCH = _TorchOps()


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
        self.line: DelayLine | None = None

    def reset(self, batch: int) -> None:
        self.line = DelayLine(self.a.delay, self.zeros(batch)) if self.a.delay else None

    def zeros(self, batch: int) -> torch.Tensor:
        return torch.zeros((batch, *self.out_shape), dtype=self.dtype, device=self.device)

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
        return current if self.line is None else self.line(current)

    def events(self, x: torch.Tensor) -> torch.Tensor:
        """``Σ_b Σ_i [x_bi ≠ 0] · fanout_i`` for one step of a batch (a 0-d float64 tensor)."""
        active = (x != 0).reshape(x.shape[0], -1).sum(dim=0, dtype=torch.float64)
        return active @ self.fanout


class _TorchPopulation:
    """The chip's integer LIF on int64 device state (the same ``NeuronArithmetic.step`` as the
    numpy engine), or a gated product / relay neuron (``_Population``)."""

    def __init__(self, base: _Population, device: torch.device) -> None:
        self.a = base.a
        self.name = base.name
        self.shape = base.shape
        self.neurons = base.neurons
        self.device = device
        self.arithmetic, self.retained = base.arithmetic, base.retained
        self.bias = torch.tensor(np.array(base.bias, np.int64), device=device)
        self.threshold = torch.tensor(np.array(base.threshold, np.int64), device=device)
        self.graded_bias = (  # added to the payload of gated and relay populations
            torch.tensor(np.array(self.a.bias_mant, np.float64), device=device)
            if self.a.kind in ("gated", "relay") and self.a.bias_mant is not None
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
        if self.a.kind in ("gated", "relay"):  # graded payloads (the gate is the last input)
            xs = [x.to(torch.float64) for x in inputs]
            summed = xs if self.a.kind == "relay" else xs[:-1]
            value = summed[0]
            for x in summed[1:]:
                value = value + x
            if self.graded_bias is not None:
                value = value + self.graded_bias
            return value if self.a.kind == "relay" else value * xs[-1]
        a_in = _rint_int64(inputs[0])
        for current in inputs[1:]:
            a_in += _rint_int64(current)
        self.u, self.v, spikes = self.arithmetic.step(
            TORCH, self.u, self.v, a_in, self.retained, self.bias, self.threshold
        )
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


class TorchSimulator(Engine):
    """:class:`~snncompile.targets.sim.engine.Simulator` on torch tensors; ``run`` is
    :meth:`Engine.run <snncompile.targets.sim.loop.Engine.run>` (inputs may be tensors).

    Args:
        graph: a network-stage graph (layerwise or pipelined).
        device: ``cpu`` or ``cuda`` (or a :class:`torch.device`).
        fuse_products: evaluate attention products structurally (see ``Simulator``).
    """

    def __init__(
        self, graph: Graph, *, device: str | torch.device = "cpu", fuse_products: bool = True
    ) -> None:
        require_network(graph)
        self.device = resolve_device(device)
        self.fuse_products = fuse_products
        base = Simulator(graph, fuse_products=fuse_products)  # the constants, on numpy
        self.graph, self.fused, self.first_step = graph, base.fused, base.first_step
        executors: dict[str, Any] = {}
        self.plan = []
        for node, ex in base.plan:
            if isinstance(ex, _Projection):
                ex = _TorchProjection(ex, self.device)
            elif isinstance(ex, _Population):
                ex = _TorchPopulation(ex, self.device)
            executors[node.name] = ex
            self.plan.append((node, ex))
        self.products: dict[str, _TorchProduct] = {}
        for name, product in base.products.items():
            source = graph.node(name).inputs[0].producer
            assert source is not None
            self.products[name] = _TorchProduct(product, executors[source.name], executors[name])
        self._zeros: dict[str, torch.Tensor] = {}

    def _inputs(self, inputs: Sequence[Any]) -> list[torch.Tensor]:
        return [
            (
                x.detach().to(self.device, torch.float64)
                if isinstance(x, torch.Tensor)
                else torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).to(self.device)
            )
            for x in inputs
        ]

    def _unfused(self) -> TorchSimulator:
        return TorchSimulator(self.graph, device=self.device, fuse_products=False)

    def _running(self) -> AbstractContextManager[Any]:
        stack = ExitStack()
        stack.enter_context(_exact_matmuls(self.device))
        stack.enter_context(torch.inference_mode())
        return stack

    def _counter(self, steps: int) -> torch.Tensor:
        return torch.zeros(steps, dtype=torch.float64, device=self.device)

    def _count(self, out: torch.Tensor) -> torch.Tensor:
        return (out != 0).sum(dtype=torch.float64)

    def _host(self, node: Node, op: Any, xs: list[torch.Tensor], state: Any) -> list[torch.Tensor]:
        """The numpy reference kernel on the CPU, tensors moved across."""
        arrays = [x.detach().to("cpu", torch.float64).numpy() for x in xs]
        results = op.kernel(node.attrs, arrays, state)
        return [torch.from_numpy(np.ascontiguousarray(r)).to(self.device) for r in results]

    def _numpy(self, x: torch.Tensor) -> np.ndarray:
        return x.cpu().numpy()

    def _stack(self, xs: list[torch.Tensor]) -> np.ndarray:
        return torch.stack(xs).cpu().numpy()
