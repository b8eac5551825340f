"""The reference cycle simulator: the network IR in Loihi's integer arithmetic, fast.

It computes exactly what the ops' reference kernels compute (``run_layerwise`` on the same
graph; tests check it bit for bit), organised for speed:

- every node is compiled once into an executor holding its constants (weights as torch
  tensors, thresholds and biases as int64, view programs) and its state;
- vectorised over the batch; neuron state in int64, advanced by the chip model's one neuron
  step (:meth:`snncompile.chip.NeuronArithmetic.step`; Loihi 2: Lava's 24-bit arithmetic);
- synapses as float32 BLAS products where an exactness bound proves every partial sum stays
  below 2^24 (binary spikes times integer weights: ``max_o Σ_i |W[o, i]| < 2^24``), float64
  otherwise (exact below 2^53; graded payloads and host currents);
- products of two activations (coincidence and gated populations read by a summing
  projection, i.e. attention) are evaluated *structurally*: ``Σ_k A[.., k, ..] · B[.., k, ..]``
  as one einsum over the un-broadcast operands, never materialising the N²·d neurons (their
  spike and event counts come from einsums too);
- statistics (:class:`~snncompile.targets.sim.stats.SimStats`) from pre-computed fan-outs:
  the events of a projection in a step are ``Σ_i [x_i ≠ 0] · fanout_i``.

Host ops (tensor ops in a network graph) run with their reference kernels.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from snncompile.chip import shift
from snncompile.ir.graph import Graph, Node, Value
from snncompile.ir.ops import get_op
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.ir.views import View
from snncompile.targets.sim.arrays import Array, Backend, NumpyBackend
from snncompile.targets.sim.loop import DelayLine, Engine, SimResult, require_network

__all__ = ["SimResult", "Simulator"]

EXACT_FLOAT32 = 2**24
EXACT_INT32 = 2**31
#: output positions from which an int8 convolution runs one product per sample (below: one
#: product over the batch, at the price of two transposes)
_PER_SAMPLE_POSITIONS = 256
_PRODUCTS = ("and", "gated")


def _without_trailing_expand(view: View) -> View:
    if view.steps and view.steps[-1].kind == "expand":
        return View(view.steps[:-1])
    return view


def _views(a: ProjectionAttrs, compact: bool) -> tuple[View, View]:
    """The projection's pre and post views; ``compact`` drops the final broadcast (a fused
    product's operand is broadcast by the einsum instead)."""
    pre, post = a.pre_view, a.post_view
    if not compact:
        return pre, post
    if a.kind == "sum" and not a.axes and not post:
        return _without_trailing_expand(pre), post
    return pre, _without_trailing_expand(post)


def _compact_shape(node: Node) -> tuple[int, ...]:
    a: ProjectionAttrs = node.attrs
    pre, post = _views(a, True)
    return post.shape_after(a.core_shape(pre.shape_after(node.inputs[0].type.shape)))


class _Projection:
    """A projection's synapses, delay line and fan-out (on the backend ``xp``)."""

    def __init__(self, node: Node, compact: bool, xp: Backend) -> None:
        a: ProjectionAttrs = node.attrs
        self.xp = xp
        self.name = node.output.name
        self.a = a
        self.source_shape = node.inputs[0].type.shape
        self.pre, self.post = pre, post = _views(a, compact)
        core_in = pre.shape_after(self.source_shape)
        self.core_out = a.core_shape(core_in)
        self.out_shape = post.shape_after(self.core_out)
        self.weight: torch.Tensor | None = None
        bound = self._bound()
        self.dtype = torch.float32 if (not a.graded and bound < EXACT_FLOAT32) else torch.float64
        if a.weight is not None:
            weight = torch.from_numpy(np.array(a.weight, dtype=np.float64)).to(self.dtype)
            self.weight = xp.tensor(weight)
        self.bias = None
        if a.bias is not None:
            bias = np.asarray(a.bias, dtype=np.float64)
            if a.kind == "conv" and bias.ndim == 1:
                bias = bias.reshape(-1, 1, 1)
            self.bias = xp.tensor(torch.from_numpy(np.array(bias)).to(self.dtype))
        self.int8 = self._int8_plan(bound) if xp.int8_products else None
        if self.int8 is not None:
            self.dtype = torch.int32
        fanout = self._fanout(core_in)
        if compact:  # every compact output element stands for this many broadcast copies
            full = node.output.type.numel
            fanout = fanout * (full // int(np.prod(self.out_shape)))
        self.fanout = fanout
        self.flat_fanout = xp.constant(np.ascontiguousarray(fanout, np.float64).ravel())
        self.line: DelayLine | None = None

    def _bound(self) -> float:
        """Largest |partial sum| for binary inputs (weights and bias)."""
        a = self.a
        bias = 0.0 if a.bias is None else float(np.abs(a.bias).max(initial=0.0))
        if a.kind == "sum":
            n = int(np.prod([self.pre.shape_after(self.source_shape)[d] for d in a.axes]))
            return abs(a.gain) * n + bias
        assert a.weight is not None
        w = np.abs(np.asarray(a.weight, dtype=np.float64))
        per_output = w.reshape(w.shape[0], -1).sum(axis=1) if a.kind == "conv" else w.sum(axis=1)
        return float(per_output.max(initial=0.0)) + bias

    def _int8_plan(self, bound: float) -> _Int8Product | None:
        """The exact int8 product of a dense or (ungrouped) conv projection of binary sources,
        or None.

        With ``W = g · (W8 + c)`` (``g`` the largest power of two dividing every weight, ``c``
        an offset that brings ``W/g`` into int8) and ``s`` the 0/1 sources (a convolution's
        through im2col: ``s`` its window columns)::

            W s = g · (W8 s + c · Σ_i s_i)

        accumulated in int32 (exact: every partial sum and the shifted result stay below 2^31),
        then the integer bias and ``shift(·, e)`` in int32, exactly as the float path's
        ``shift(rint(W s + b), e)``.
        """
        a = self.a
        if a.kind not in ("dense", "conv") or a.graded or a.weight is None:
            return None
        if a.kind == "conv" and a.groups != 1:
            return None
        weight = np.asarray(a.weight, dtype=np.float64)
        bias = None if a.bias is None else np.asarray(a.bias, dtype=np.float64)
        if not np.array_equal(weight, np.rint(weight)) or weight.size == 0:
            return None
        if bias is not None and not np.array_equal(bias, np.rint(bias)):
            return None
        w = weight.astype(np.int64).reshape(weight.shape[0], -1)  # [out, in (· kh · kw)]
        magnitudes = np.bitwise_or.reduce(np.abs(w), axis=None)
        g = int(magnitudes & -magnitudes) if magnitudes else 1
        w = w // g
        low, high = int(w.min()), int(w.max())
        if high - low > 255:
            return None
        c = 0 if low >= -128 and high <= 127 else low + 128
        fan_in = w.shape[1]
        if g * (128 + abs(c)) * fan_in >= EXACT_INT32 or bound * 2 ** max(a.weight_exp, 0) >= (
            EXACT_INT32
        ):
            return None
        w8 = (w - c).astype(np.int8)
        matrix = torch.from_numpy(np.ascontiguousarray(w8.T if a.kind == "dense" else w8))
        b = None
        if bias is not None:
            if a.kind == "conv" and bias.ndim == 1:
                bias = bias.reshape(-1, 1, 1)
            b = self.xp.tensor(torch.from_numpy(bias.astype(np.int32)))
        return _Int8Product(self.xp.tensor(matrix), g, c, b)

    def _fanout(self, core_in: tuple[int, ...]) -> np.ndarray:
        """Synapses leaving each source element (non-zero weights only)."""
        a = self.a
        if a.kind == "sum":
            core_fan = np.full(core_in, 1.0 if a.gain else 0.0)
        elif a.kind == "dense":
            assert a.weight is not None
            core_fan = np.broadcast_to((np.asarray(a.weight) != 0).sum(axis=0), core_in)
        else:
            assert a.weight is not None
            mask = torch.from_numpy((np.asarray(a.weight) != 0).astype(np.float64))
            ones = torch.ones((1, *self.core_out), dtype=torch.float64)
            core_fan = F.conv_transpose2d(
                ones,
                mask,
                stride=a.stride,
                padding=a.padding,
                dilation=a.dilation,
                groups=a.groups,
                output_padding=_output_padding(core_in, self.core_out, a),
            )[0].numpy()
        index = self.pre.index_map(self.source_shape).ravel()
        size = int(np.prod(self.source_shape))
        fan = np.bincount(
            index, weights=np.asarray(core_fan, dtype=np.float64).ravel(), minlength=size
        )
        return fan.reshape(self.source_shape)

    def reset(self, batch: int) -> None:
        self.line = DelayLine(self.a.delay, self.zeros(batch)) if self.a.delay else None

    def zeros(self, batch: int) -> Array:
        return self.xp.zeros((batch, *self.out_shape), self.dtype)

    def current(self, x: Array) -> Array:
        """The projection's current for source values ``x`` (before the delay); float32 when
        exact (see :meth:`_bound`), else float64::

            I = post(shift(core(pre(x)) + b, e))      (binary sources count as 0/1)
        """
        a, xp = self.a, self.xp
        if self.int8 is not None:
            return self._int8_current(x)
        t = xp.to_torch(xp.view(self.pre, x if a.graded else xp.binary(x)), self.dtype)
        if a.kind == "sum":
            y = t.sum(dim=tuple(d + 1 for d in a.axes)) if a.axes else t
            if a.gain != 1:
                y = y * a.gain
        elif a.kind == "dense":
            assert self.weight is not None
            y = t @ self.weight.T
        else:
            assert self.weight is not None
            y = xp.conv(t, self.weight, a, self.core_out)
        if self.bias is not None:
            y = y + self.bias
        out = xp.from_torch(y)
        if a.weight_exp:
            out = xp.shift_rint(out, a.weight_exp)
        return xp.contiguous(xp.view(self.post, out))

    def _int8_current(self, x: Array) -> Array:
        """:meth:`current` through :meth:`_int8_plan`'s int32 product (an int32 array)."""
        plan, xp, a = self.int8, self.xp, self.a
        assert plan is not None
        s = xp.to_torch(xp.view(self.pre, xp.binary(x)), torch.int8)
        if a.kind == "dense":
            lead = s.shape[:-1]
            s = s.reshape(-1, s.shape[-1])
            y = xp.int_matmul(s, plan.weight)
            if plan.offset:
                y += plan.offset * s.sum(dim=1, keepdim=True, dtype=torch.int32)
            y = y.reshape((*lead, y.shape[-1]))
        else:
            cols = _im2col(s, a, self.core_out)  # [B, C · kh · kw, L]
            batch, rows, positions = cols.shape
            if positions >= _PER_SAMPLE_POSITIONS:  # one product per sample, in place
                y = s.new_empty((batch, plan.weight.shape[0], positions), dtype=torch.int32)
                for b in range(batch):
                    xp.int_matmul(plan.weight, cols[b], out=y[b])
            else:  # small maps: one product over the whole batch
                flat = cols.permute(1, 0, 2).reshape(rows, batch * positions)
                y = xp.int_matmul(plan.weight, flat).reshape(-1, batch, positions)
                y = y.permute(1, 0, 2).contiguous()
            if plan.offset:
                y += plan.offset * cols.sum(dim=1, keepdim=True, dtype=torch.int32)
            y = y.reshape((batch, *self.core_out))
        if plan.scale != 1:
            y *= plan.scale
        if plan.bias is not None:
            y += plan.bias
        if a.weight_exp:
            y = shift(y, a.weight_exp)
        return xp.contiguous(xp.view(self.post, xp.from_torch(y)))

    def delayed(self, current: Array) -> Array:
        return current if self.line is None else self.line(current)

    def events(self, x: Array) -> Any:
        """``Σ_b Σ_i [x_bi ≠ 0] · fanout_i`` for one step of a batch."""
        return self.xp.events(x, self.flat_fanout)


class _Int8Product(NamedTuple):
    """A projection's weights as ``scale · (weight + offset)``, ``weight`` an int8 matrix
    (dense: ``[in, out]``; conv: ``[out, in · kh · kw]``; see :meth:`_Projection._int8_plan`)."""

    weight: torch.Tensor
    scale: int
    offset: int
    bias: torch.Tensor | None


def _im2col(s: torch.Tensor, a: ProjectionAttrs, core_out: tuple[int, ...]) -> torch.Tensor:
    """The convolution windows of ``s`` ``[B, C, H, W]`` as columns ``[B, C · kh · kw, L]``
    (``F.unfold``'s layout; it has no int8 kernel), by strides over the zero-padded input."""
    assert a.weight is not None
    kh, kw = a.weight.shape[2:]
    batch, channels = s.shape[:2]
    out_h, out_w = core_out[1:]
    if (kh, kw) == (1, 1) and tuple(a.stride) == (1, 1) and tuple(a.padding) == (0, 0):
        return s.reshape(batch, channels, -1)
    ph, pw = a.padding
    if ph or pw:
        s = F.pad(s, (pw, pw, ph, ph))
    sb, sc, sh, sw = s.stride()
    (dh, dw), (th, tw) = a.dilation, a.stride
    windows = s.as_strided(
        (batch, channels, kh, kw, out_h, out_w), (sb, sc, sh * dh, sw * dw, sh * th, sw * tw)
    )
    return windows.reshape(batch, channels * kh * kw, out_h * out_w)


def _output_padding(
    core_in: tuple[int, ...], core_out: tuple[int, ...], a: ProjectionAttrs
) -> tuple[int, int]:
    assert a.weight is not None
    pads = []
    for d in range(2):
        k = a.weight.shape[2 + d]
        full = (core_out[1 + d] - 1) * a.stride[d] - 2 * a.padding[d] + a.dilation[d] * (k - 1) + 1
        pads.append(core_in[1 + d] - full)
    return pads[0], pads[1]


class _Population:
    """The chip's integer LIF on int64 state (one step: ``NeuronArithmetic.step``), or a
    graded product / relay neuron.

    The LIF steps a block of batch rows at a time (:meth:`Backend.row_blocks`: blocks that
    fit the CPU's cache, the whole batch on a GPU): the step is a dozen elementwise passes,
    which then read and write cache instead of memory. Spikes are int8 0/1."""

    def __init__(self, node: Node, xp: Backend) -> None:
        a: PopulationAttrs = node.attrs
        self.xp = xp
        self.name = node.output.name
        self.a = a
        self.arithmetic = a.chip_model.neuron
        self.shape = node.output.type.shape
        self.neurons = int(np.prod(self.shape))
        self.retained = self.arithmetic.retained(a.du, a.dv)
        bias = 0 if a.bias_mant is None else np.asarray(a.bias_mant, dtype=np.float64)
        self.bias = xp.constant(shift(np.rint(np.asarray(bias)).astype(np.int64), a.bias_exp))
        self.threshold = xp.constant(np.asarray(self.arithmetic.threshold(a.thresholds())))
        self.graded_bias = (  # added to the payload of gated and relay populations
            xp.constant(np.array(a.bias_mant, np.float64))
            if a.kind in ("gated", "relay") and a.bias_mant is not None
            else None
        )
        self.step = 0
        self.rows: list[slice] = []
        self.us: list[Array] = []  # u and v by block of rows
        self.vs: list[Array] = []

    def reset(self, batch: int) -> None:
        """Zero state, held in blocks of batch rows (:meth:`Backend.row_blocks`)."""
        self.step = 0
        self.rows = self.xp.row_blocks(batch, self.neurons)
        shapes = [(r.stop - r.start, *self.shape) for r in self.rows]
        self.us = [self.xp.zeros(shape, torch.int64) for shape in shapes]
        self.vs = [self.xp.zeros(shape, torch.int64) for shape in shapes]

    @property
    def u(self) -> Array:
        """The current state ``u`` of the whole batch (int64)."""
        return self.us[0] if len(self.us) == 1 else self.xp.concat(self.us)

    @property
    def v(self) -> Array:
        """The voltage state ``v`` of the whole batch (int64)."""
        return self.vs[0] if len(self.vs) == 1 else self.xp.concat(self.vs)

    def zeros(self, batch: int) -> Array:
        dtype = torch.float64 if self.a.kind in ("gated", "relay") else torch.int8
        return self.xp.zeros((batch, *self.shape), dtype)

    def run(self, inputs: Sequence[Array]) -> Array:
        """One step: graded payloads (``gated``: ``(Σ value + bias) · gate``, the gate last;
        ``relay``: ``Σ value + bias``) or the chip's LIF on ``Σ rint(I_p)``."""
        step, self.step = self.step, self.step + 1
        xp = self.xp
        if step < self.a.start:
            return self.zeros(inputs[0].shape[0])
        if self.a.kind in ("gated", "relay"):
            xs = [xp.float64(x) for x in inputs]
            summed = xs if self.a.kind == "relay" else xs[:-1]
            value = summed[0]
            for x in summed[1:]:
                value = value + x
            if self.graded_bias is not None:
                value = value + self.graded_bias
            return value if self.a.kind == "relay" else value * xs[-1]
        fired = None
        if len(self.rows) > 1:
            fired = xp.zeros((inputs[0].shape[0], *self.shape), torch.bool)
        for i, rows in enumerate(self.rows):
            a_in = xp.rint_int64(inputs[0][rows])
            for current in inputs[1:]:
                a_in += xp.rint_int64(current[rows])
            self.us[i], self.vs[i], spikes = self.arithmetic.step(
                xp.ops,
                self.us[i],
                self.vs[i],
                a_in,
                self.retained,
                self.bias,
                self.threshold,
                self.a.reset,
            )
            if fired is None:
                return xp.spikes(spikes)
            fired[rows] = spikes
        return xp.spikes(fired)


class _Product:
    """A coincidence/gated population read by one summing projection, evaluated as an einsum.

    With ``A``, ``B`` the population's operands before their broadcast to the population shape
    ``S`` and ``R`` the reader's summed axes: ``I = Σ_{R} A ⊙ B`` (and: ``A·B`` of spikes;
    gated: ``(V + bias)·G``), computed without forming ``S``.
    """

    def __init__(self, pop: _Population, reader: _Projection, operands: list[_Projection]) -> None:
        self.pop, self.reader = pop, reader
        self.xp = xp = pop.xp
        shape = pop.shape
        letters = string.ascii_letters[: len(shape)]
        self.shapes = [op.out_shape for op in operands]
        self.subs = []
        for s in self.shapes:
            self.subs.append("Z" + "".join(c for c, n in zip(letters, s, strict=True) if n > 1))
        keep = "".join(c for d, c in enumerate(letters) if d not in reader.a.axes)
        self.out_shape = tuple(n for d, n in enumerate(shape) if d not in reader.a.axes)
        self.spec = f"{self.subs[0]},{self.subs[1]}->Z" + "".join(
            c for c in keep if shape[letters.index(c)] > 1
        )
        self.count_spec = f"{self.subs[0]},{self.subs[1]}->Z"
        self.bias = None
        if pop.a.kind == "gated" and pop.a.bias_mant is not None:
            full = np.broadcast_to(np.asarray(pop.a.bias_mant, dtype=np.float64), shape)
            index = tuple(slice(0, 1) if n == 1 else slice(None) for n in self.shapes[0])
            self.bias = xp.constant(np.array(full[index]))
        r = reader.a
        self.reader_bias = None if r.bias is None else xp.constant(np.array(r.bias, np.float64))

    def _squeeze(self, x: Array, shape: tuple[int, ...]) -> Array:
        return x.reshape((x.shape[0], *(n for n in shape if n > 1)))

    def current(self, inputs: Sequence[Array]) -> tuple[Array, Any]:
        """The reader's current and the population's spike (non-zero output) count."""
        pop, xp = self.pop, self.xp
        step, pop.step = pop.step, pop.step + 1
        batch = inputs[0].shape[0]
        if step < pop.a.start:
            summed = xp.zeros((batch, *self.out_shape), torch.float64)
            return self._finish(summed), xp.count(summed[:0])
        value, gate = inputs
        if self.bias is not None:
            value = value + self.bias
        a = self._squeeze(value, self.shapes[0])
        b = self._squeeze(gate, self.shapes[1])
        summed = xp.einsum(self.spec, a, b).reshape((batch, *self.out_shape))
        return self._finish(summed), xp.product_count(self.count_spec, a, b)

    def _finish(self, summed: Array) -> Array:
        r, xp = self.reader.a, self.xp
        y = summed * r.gain if r.gain != 1 else summed
        if self.reader_bias is not None:
            y = y + self.reader_bias
        if r.weight_exp:
            y = xp.shift_rint(y, r.weight_exp, torch.float64)
        return xp.contiguous(xp.view(self.reader.post, y))


class _HostDelay:
    """The host ``delay`` op (``y[t] = x[t - steps]``, zeros first) on the backend's arrays: a
    :class:`DelayLine` of references instead of the reference kernel's copied float64 buffer
    (the same values; an executor never writes into an array it was given)."""

    native = True  # runs on the backend's arrays, without the host's float64 round trip

    def __init__(self, node: Node, xp: Backend) -> None:
        self.steps = int(node.attrs.steps)
        self.shape = node.inputs[0].type.shape
        self.xp = xp

    def init_state(self, attrs: Any, types: Any, batch: int) -> DelayLine:
        return DelayLine(self.steps, self.xp.zeros((batch, *self.shape), torch.float64))

    def kernel(self, attrs: Any, xs: Sequence[Array], state: DelayLine) -> tuple[Array]:
        return (xs[0] if self.steps == 0 else state(xs[0]),)


def _fusable(node: Node, users: dict[Value, list[Node]]) -> Node | None:
    """The summing reader of a product population that can be fused, else None."""
    a: PopulationAttrs = node.attrs
    readers = users.get(node.output, [])
    if a.kind not in _PRODUCTS or len(node.inputs) != 2 or len(readers) != 1:
        return None
    reader = readers[0]
    r: ProjectionAttrs = reader.attrs
    if reader.op != "projection" or r.kind != "sum" or r.pre or not r.axes:
        return None
    if a.kind == "and":
        memoryless = a.chip_model.neuron.memoryless(a.du, a.dv)
        if not memoryless or a.vth != 1 or a.bias_mant is not None:
            return None
        for p in node.inputs:
            pa: ProjectionAttrs = p.producer.attrs  # type: ignore[union-attr]
            if pa.graded or pa.gain != 1 or pa.weight_exp or pa.bias is not None:
                return None
    shape = node.output.type.shape
    compact = [_compact_shape(p.producer) for p in node.inputs]  # type: ignore[arg-type]
    for d, n in enumerate(shape):
        sizes = [c[d] if len(c) == len(shape) else -1 for c in compact]
        if any(m not in (1, n) for m in sizes) or (n > 1 and all(m == 1 for m in sizes)):
            return None
    if a.kind == "gated" and a.bias_mant is not None:
        full = np.broadcast_to(np.asarray(a.bias_mant, dtype=np.float64), shape)
        index = tuple(slice(0, 1) if m == 1 else slice(None) for m in compact[0])
        if not np.array_equal(np.broadcast_to(full[index], shape), full):
            return None
    return reader


def fused_products(graph: Graph) -> tuple[dict[str, Node], set[str]]:
    """The product populations evaluated as einsums (name -> their summing reader) and the
    projections feeding them, which compute their operands without the final broadcast."""
    users = graph.users()
    fused: dict[str, Node] = {}
    for node in graph.nodes:
        if node.op == "population":
            reader = _fusable(node, users)
            if reader is not None:
                fused[node.name] = reader
    compact = {v.producer.name for k in fused for v in graph.node(k).inputs if v.producer}
    return fused, compact


class Simulator(Engine):
    """Compiled executors for one network graph (see the module docstring) on an array
    backend; ``run`` is :meth:`Engine.run <snncompile.targets.sim.loop.Engine.run>`.

    Args:
        graph: a network-stage graph (layerwise or pipelined).
        fuse_products: evaluate attention products structurally (off: materialise every
            coincidence/gated neuron, for checking the fusion itself).
        backend: the array namespace (default numpy; torch on CPU or CUDA:
            :class:`~snncompile.targets.sim.torch_engine.TorchSimulator`).
    """

    def __init__(
        self, graph: Graph, *, fuse_products: bool = True, backend: Backend | None = None
    ) -> None:
        require_network(graph)
        self.graph = graph
        self.xp = xp = backend or NumpyBackend()
        self.fuse_products = fuse_products
        # product population name -> reader node; operand projections left un-broadcast
        self.fused, compact = fused_products(graph) if fuse_products else ({}, set())
        executors: dict[str, Any] = {}
        self.plan = []
        self.products: dict[str, _Product] = {}
        for node in graph.nodes:
            ex: Any
            if node.op == "projection":
                ex = _Projection(node, node.name in compact, xp)
                source = node.inputs[0].producer
                if source is not None and source.name in self.fused:
                    operands = [executors[v.producer.name] for v in source.inputs if v.producer]
                    self.products[node.name] = _Product(executors[source.name], ex, operands)
            elif node.op == "population":
                ex = _Population(node, xp)
            elif node.op == "delay":
                ex = _HostDelay(node, xp)
            else:
                ex = get_op(node.op)
            executors[node.name] = ex
            self.plan.append((node, ex))
        # the pipeline timing, as pipeline-delays stored it (0 everywhere in a layerwise graph)
        self.first_step = {
            n.name: n.attrs.start for n in graph.nodes if n.op in ("population", "projection")
        }
        self._zeros: dict[str, Any] = {}

    def _unfused(self) -> Simulator:
        return Simulator(self.graph, fuse_products=False, backend=self.xp)
