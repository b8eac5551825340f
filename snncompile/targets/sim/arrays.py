"""The array namespaces the one simulator executor runs on: numpy here, torch (CPU or CUDA) in
:mod:`snncompile.targets.sim.torch_engine`.

The executors (:mod:`snncompile.targets.sim.engine`) are written once; everything they do that
numpy and torch spell differently is one method of a :class:`Backend`. Synapse products run in
torch for both (BLAS convolutions and matmuls); the neuron step is the chip model's
(:meth:`snncompile.chip.NeuronArithmetic.step` with :attr:`Backend.ops`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from snncompile.chip import NUMPY, ArrayOps, shift
from snncompile.ir.graph import Node
from snncompile.ir.ops.network import ProjectionAttrs
from snncompile.ir.views import View

__all__ = ["Array", "Backend", "NumpyBackend"]

Array = Any  # numpy arrays or torch tensors


class Backend(ABC):
    """One array namespace: where the executors' arrays live and the operations that differ."""

    #: the neuron step's in-place operations
    ops: ArrayOps
    #: whether :meth:`int_matmul` is available (int8 products with int32 sums)
    int8_products: bool = True
    #: elements of one block of neuron state (None: the whole batch at once)
    block_elements: int | None = 1 << 16

    def row_blocks(self, batch: int, neurons: int) -> list[slice]:
        """Batch rows in blocks of about :attr:`block_elements` neuron states (at least one
        row each)."""
        if self.block_elements is None or batch == 0:
            return [slice(0, batch)]
        rows = max(1, self.block_elements // max(neurons, 1))
        return [slice(r, min(r + rows, batch)) for r in range(0, batch, rows)]

    # --- data in and out ---------------------------------------------------------------------
    @abstractmethod
    def inputs(self, inputs: Sequence[Any]) -> list[Array]:
        """The run's inputs as float64 arrays."""

    @abstractmethod
    def constant(self, array: np.ndarray) -> Array:
        """A constant (int64 or float64 numpy array) on this backend."""

    @abstractmethod
    def tensor(self, t: torch.Tensor) -> torch.Tensor:
        """A CPU torch constant (weights, biases) where this backend's products run."""

    @abstractmethod
    def zeros(self, shape: tuple[int, ...], dtype: torch.dtype) -> Array:
        """Zeros of ``dtype`` (torch float32/float64/int64)."""

    @abstractmethod
    def numpy(self, x: Array) -> np.ndarray: ...

    @abstractmethod
    def stack(self, xs: list[Array]) -> np.ndarray: ...

    @abstractmethod
    def concat(self, xs: list[Array]) -> Array:
        """Arrays joined along the batch axis (on this backend)."""

    # --- elementwise ---------------------------------------------------------------------------
    @abstractmethod
    def view(self, view: View, x: Array) -> Array:
        """:meth:`View.apply` on a batch."""

    @abstractmethod
    def contiguous(self, x: Array) -> Array: ...

    @abstractmethod
    def float64(self, x: Array) -> Array: ...

    @abstractmethod
    def rint_int64(self, x: Array) -> Array:
        """Round half to even, then int64 (integer arrays: only the cast)."""

    @abstractmethod
    def binary(self, x: Array) -> Array:
        """``[x ≠ 0]`` as int8 0/1 (``x`` itself when it is int8 already: binary spikes)."""

    @abstractmethod
    def spikes(self, fired: Array) -> Array:
        """A boolean spike array as int8 0/1 (a view: no copy)."""

    @abstractmethod
    def shift_rint(self, x: Array, exponent: int, dtype: torch.dtype | None = None) -> Array:
        """``shift(rint(x), e)`` back in ``dtype`` (default: ``x``'s)."""

    # --- synapses ----------------------------------------------------------------------------
    @abstractmethod
    def to_torch(self, x: Array, dtype: torch.dtype) -> torch.Tensor:
        """``x`` as a contiguous torch tensor of ``dtype`` for a synapse product."""

    @abstractmethod
    def from_torch(self, y: torch.Tensor) -> Array: ...

    def conv(
        self, t: torch.Tensor, weight: torch.Tensor, a: ProjectionAttrs, core_out: tuple[int, ...]
    ) -> torch.Tensor:
        """A projection's convolution (exact: integer operands, bounded sums)."""
        return F.conv2d(t, weight, None, a.stride, a.padding, a.dilation, a.groups)

    def int_matmul(
        self, s: torch.Tensor, weight: torch.Tensor, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``s @ weight`` of int8 matrices, accumulated exactly in int32 (the caller bounds
        the sums below 2^31), into ``out`` when given."""
        if out is None:
            return torch._int_mm(s, weight)
        return torch._int_mm(s, weight, out=out)

    @abstractmethod
    def einsum(self, spec: str, a: Array, b: Array) -> Array:
        """A fused product's ``einsum`` (the result in the operands' common dtype)."""

    @abstractmethod
    def product_count(self, spec: str, a: Array, b: Array) -> Any:
        """``Σ einsum(spec, [a ≠ 0], [b ≠ 0])``: a fused product's non-zero neurons."""

    # --- statistics --------------------------------------------------------------------------
    @abstractmethod
    def events(self, x: Array, fanout: Array) -> Any:
        """``Σ_b Σ_i [x_bi ≠ 0] · fanout_i`` for one step of a batch."""

    @abstractmethod
    def count(self, out: Array) -> Any:
        """Non-zero elements of ``out``."""

    @abstractmethod
    def counter(self, steps: int) -> Array:
        """``[steps]`` float64 zeros, a statistics row."""

    # --- the run -----------------------------------------------------------------------------
    def running(self) -> AbstractContextManager[Any]:
        """The context a run's steps execute in."""
        return nullcontext()

    @abstractmethod
    def host(self, node: Node, op: Any, xs: list[Array], state: Any) -> Sequence[Array]:
        """A host op's outputs: its numpy reference kernel on ``xs`` in float64."""


_NUMPY_DTYPES = {
    torch.float32: np.float32,
    torch.float64: np.float64,
    torch.int64: np.int64,
    torch.int32: np.int32,
    torch.int8: np.int8,
    torch.bool: np.bool_,
}


class NumpyBackend(Backend):
    """numpy arrays on the CPU; synapse products in torch on views of the same memory."""

    ops = NUMPY

    def inputs(self, inputs: Sequence[Any]) -> list[np.ndarray]:
        return [np.asarray(x, dtype=np.float64) for x in inputs]

    def constant(self, array: np.ndarray) -> np.ndarray:
        return array

    def tensor(self, t: torch.Tensor) -> torch.Tensor:
        return t

    def zeros(self, shape: tuple[int, ...], dtype: torch.dtype) -> np.ndarray:
        return np.zeros(shape, _NUMPY_DTYPES[dtype])

    def numpy(self, x: np.ndarray) -> np.ndarray:
        return x

    def stack(self, xs: list[np.ndarray]) -> np.ndarray:
        return np.stack(xs)

    def concat(self, xs: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(xs)

    def view(self, view: View, x: np.ndarray) -> np.ndarray:
        return view.apply(x)

    def contiguous(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x)

    def float64(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    def rint_int64(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind in "iu":
            return x.astype(np.int64)
        return np.rint(x).astype(np.int64)

    def binary(self, x: np.ndarray) -> np.ndarray:
        return x if x.dtype == np.int8 else (x != 0).view(np.int8)

    def spikes(self, fired: np.ndarray) -> np.ndarray:
        return fired.view(np.int8)

    def shift_rint(self, x: np.ndarray, exponent: int, dtype: torch.dtype | None = None) -> Any:
        out_dtype = x.dtype if dtype is None else _NUMPY_DTYPES[dtype]
        if x.dtype.kind in "iu" and out_dtype == x.dtype:  # integers: the shift alone
            return shift(x, exponent)
        return shift(np.rint(x).astype(np.int64), exponent).astype(out_dtype)

    def to_torch(self, x: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.from_numpy(np.require(x, requirements=["C", "W"])).to(dtype)

    def from_torch(self, y: torch.Tensor) -> np.ndarray:
        return y.numpy()

    def einsum(self, spec: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.einsum(spec, a, b, optimize=True)

    def product_count(self, spec: str, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.einsum(spec, (a != 0).astype(np.float64), (b != 0)).sum())

    def events(self, x: np.ndarray, fanout: np.ndarray) -> float:
        active = np.count_nonzero(x.reshape(x.shape[0], -1), axis=0)
        return float(active @ fanout)

    def count(self, out: np.ndarray) -> float:
        return float(np.count_nonzero(out))

    def counter(self, steps: int) -> np.ndarray:
        return np.zeros(steps)

    def host(self, node: Node, op: Any, xs: list[np.ndarray], state: Any) -> Sequence[np.ndarray]:
        # host ops compute in float64, as the reference kernels do
        return op.kernel(node.attrs, [np.asarray(x, dtype=np.float64) for x in xs], state)
