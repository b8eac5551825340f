"""The reference cycle simulator on torch tensors (CPU or CUDA): the torch array backend.

:class:`TorchSimulator` is :class:`snncompile.targets.sim.engine.Simulator` (the one set of
executors, the one neuron step of the chip model, the one delay line) on :class:`TorchBackend`,
and returns the same :class:`SimResult` (numpy outputs, recorded spikes and :class:`SimStats`),
so either can serve ``Compiled.run`` (``RunConfig.sim_backend``, ``RunConfig.device``).
Everything stays on the device between steps. What the backend does differently:

- synapses as float32 products where the executor's bound proves every partial sum below
  2^24, float64 otherwise (exact below 2^53). Sums of integers that stay below these limits
  are exact in any order, which is why a GPU's reductions give the numpy engine's bits. On
  CUDA, TF32 is switched off for the run (``torch.set_float32_matmul_precision("highest")``)
  and convolutions run as im2col + matmul (cuDNN may pick Winograd or FFT algorithms, which
  are not exact);
- the neuron step's wrap/saturation without data-dependent indexing (no host synchronisation);
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
from snncompile.ir.ops.network import ProjectionAttrs
from snncompile.ir.views import View
from snncompile.targets.sim.arrays import Backend
from snncompile.targets.sim.engine import Simulator

__all__ = ["DEVICES", "TorchBackend", "TorchSimulator", "resolve_device"]

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


_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


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


class TorchBackend(Backend):
    """torch tensors on ``device``; host ops cross to numpy on the CPU."""

    ops = TORCH

    def __init__(self, device: torch.device) -> None:
        self.device = device
        # torch._int_mm on CUDA needs sizes in multiples of 8: float products there
        self.int8_products = device.type == "cpu"
        self.block_elements = Backend.block_elements if device.type == "cpu" else None

    def inputs(self, inputs: Sequence[Any]) -> list[torch.Tensor]:
        return [
            (
                x.detach().to(self.device, torch.float64)
                if isinstance(x, torch.Tensor)
                else torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).to(self.device)
            )
            for x in inputs
        ]

    def constant(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(array)).to(self.device)

    def tensor(self, t: torch.Tensor) -> torch.Tensor:
        return t.to(self.device)

    def zeros(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        return torch.zeros(shape, dtype=dtype, device=self.device)

    def numpy(self, x: torch.Tensor) -> np.ndarray:
        return x.cpu().numpy()

    def stack(self, xs: list[torch.Tensor]) -> np.ndarray:
        return torch.stack(xs).cpu().numpy()

    def concat(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(xs)

    def view(self, view: View, x: torch.Tensor) -> torch.Tensor:
        return apply_view(view, x)

    def contiguous(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous()

    def float64(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float64)

    def rint_int64(self, x: torch.Tensor) -> torch.Tensor:
        """``np.rint(x).astype(np.int64)`` (round half to even, as numpy)."""
        if not x.is_floating_point():
            return x.to(torch.int64)
        return torch.round(x).to(torch.int64)

    def binary(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.dtype == torch.int8 else (x != 0).view(torch.int8)

    def spikes(self, fired: torch.Tensor) -> torch.Tensor:
        return fired.view(torch.int8)

    def shift_rint(
        self, x: torch.Tensor, exponent: int, dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        out_dtype = x.dtype if dtype is None else dtype
        if not x.is_floating_point() and out_dtype == x.dtype:  # integers: the shift alone
            return _shift(x, exponent)
        return _shift(self.rint_int64(x), exponent).to(out_dtype)

    def to_torch(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        return x.to(dtype).contiguous()

    def from_torch(self, y: torch.Tensor) -> torch.Tensor:
        return y

    def conv(
        self, t: torch.Tensor, weight: torch.Tensor, a: ProjectionAttrs, core_out: tuple[int, ...]
    ) -> torch.Tensor:
        """On CUDA as im2col + matmul (cuDNN may pick inexact Winograd/FFT algorithms)."""
        if self.device.type != "cuda":
            return super().conv(t, weight, a, core_out)
        c_out, c_in_g, kh, kw = weight.shape
        cols = F.unfold(t, (kh, kw), dilation=a.dilation, padding=a.padding, stride=a.stride)
        batch, _, positions = cols.shape
        cols = cols.reshape(batch, a.groups, c_in_g * kh * kw, positions)
        w = weight.reshape(a.groups, c_out // a.groups, c_in_g * kh * kw)
        y = torch.matmul(w.unsqueeze(0), cols)  # [B, groups, C_out/groups, L]
        return y.reshape(batch, c_out, *core_out[1:])

    def einsum(self, spec: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # numpy's einsum computes in the operands' common dtype; exact results agree
        dtype = torch.promote_types(a.dtype, b.dtype)
        return torch.einsum(spec, a.to(torch.float64), b.to(torch.float64)).to(dtype)

    def product_count(self, spec: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ones_a, ones_b = (a != 0).to(torch.float64), (b != 0).to(torch.float64)
        return torch.einsum(spec, ones_a, ones_b).sum()

    def events(self, x: torch.Tensor, fanout: torch.Tensor) -> torch.Tensor:
        active = (x != 0).reshape(x.shape[0], -1).sum(dim=0, dtype=torch.float64)
        return active @ fanout

    def count(self, out: torch.Tensor) -> torch.Tensor:
        return (out != 0).sum(dtype=torch.float64)

    def counter(self, steps: int) -> torch.Tensor:
        return torch.zeros(steps, dtype=torch.float64, device=self.device)

    def running(self) -> AbstractContextManager[Any]:
        stack = ExitStack()
        stack.enter_context(_exact_matmuls(self.device))
        stack.enter_context(torch.inference_mode())
        return stack

    def host(self, node: Node, op: Any, xs: list[torch.Tensor], state: Any) -> list[torch.Tensor]:
        """The numpy reference kernel on the CPU, tensors moved across."""
        arrays = [x.detach().to("cpu", torch.float64).numpy() for x in xs]
        results = op.kernel(node.attrs, arrays, state)
        return [torch.from_numpy(np.ascontiguousarray(r)).to(self.device) for r in results]


class TorchSimulator(Simulator):
    """:class:`~snncompile.targets.sim.engine.Simulator` on torch tensors (the same executors
    on :class:`TorchBackend`); ``run`` is :meth:`Engine.run
    <snncompile.targets.sim.loop.Engine.run>` (inputs may be tensors).

    Args:
        graph: a network-stage graph (layerwise or pipelined).
        device: ``cpu`` or ``cuda`` (or a :class:`torch.device`).
        fuse_products: evaluate attention products structurally (see ``Simulator``).
    """

    def __init__(
        self, graph: Graph, *, device: str | torch.device = "cpu", fuse_products: bool = True
    ) -> None:
        self.device = resolve_device(device)
        super().__init__(graph, fuse_products=fuse_products, backend=TorchBackend(self.device))

    def _unfused(self) -> TorchSimulator:
        return TorchSimulator(self.graph, device=self.device, fuse_products=False)
