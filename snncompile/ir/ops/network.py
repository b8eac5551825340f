"""Network-level ops: the chip's words. A population of neurons and projections of synapses.

At this level every value is either the spike output of a population (or of the graph input)
or the synaptic current a projection delivers. A population sums all its inputs (dendritic
fan-in), so a residual add or an attention stage is a population with several projections.
The fixed-point details (exponents, 24-bit limits) belong to the quantizer and the simulator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from snncompile.ir.attrs import Array, OpAttrs
from snncompile.ir.ops.base import OpDef, ShapeError, State
from snncompile.ir.ops.tensor import LifAttrs, _lif, _lif_state
from snncompile.ir.types import TensorType

NETWORK = frozenset({"network"})


@dataclass(frozen=True, eq=False)
class PopulationAttrs(LifAttrs):
    """A LIF population; ``bias`` (per neuron, or none) is added to the summed input current."""

    bias: Array | None = None


def _infer_population(types: Sequence[TensorType], a: PopulationAttrs) -> tuple[TensorType, ...]:
    shape = types[0].shape
    for t in types[1:]:
        if t.shape != shape:
            raise ShapeError(f"population inputs differ in shape: {shape} vs {t.shape}")
    if a.bias is not None and a.bias.shape not in ((), shape):
        raise ShapeError(f"population bias shape {a.bias.shape} != neuron shape {shape}")
    return (TensorType(shape, types[0].dtype),)


def _population(
    a: PopulationAttrs, xs: Sequence[np.ndarray], state: State | None
) -> tuple[np.ndarray]:
    """``X = Σ_i in_i + bias``, then one LIF step on ``X`` (see ``lif``)."""
    current = np.sum(xs, axis=0) if len(xs) > 1 else xs[0]
    if a.bias is not None:
        current = current + a.bias.astype(current.dtype)
    return _lif(a, [current], state)


@dataclass(frozen=True, eq=False)
class DenseAttrs(OpAttrs):
    """Static synapses ``weight[out, in]`` scaled by ``2**weight_exp``, after ``delay`` steps."""

    weight: Array
    weight_exp: int = 0
    delay: int = 0


def _infer_dense(types: Sequence[TensorType], a: DenseAttrs) -> tuple[TensorType, ...]:
    (x,) = types
    if x.rank != 1 or a.weight.ndim != 2 or a.weight.shape[1] != x.shape[0]:
        raise ShapeError(f"dense weight {a.weight.shape} does not take input {x.shape}")
    if a.delay < 0:
        raise ShapeError(f"dense delay must be >= 0, got {a.delay}")
    return (TensorType((a.weight.shape[0],), x.dtype),)


def _dense(a: DenseAttrs, xs: Sequence[np.ndarray], state: State | None) -> tuple[np.ndarray]:
    """``I[o] = 2**weight_exp · Σ_i W[o, i] · s[i]`` (the delay is applied by the simulator)."""
    x = xs[0]
    return ((x @ a.weight.astype(x.dtype).T) * x.dtype.type(2.0**a.weight_exp),)


OPS: list[OpDef] = [
    OpDef(
        "population",
        PopulationAttrs,
        _infer_population,
        _population,
        NETWORK,
        arity=None,
        init_state=_lif_state,
        doc=(_population.__doc__ or "").strip(),
    ),
    OpDef("dense", DenseAttrs, _infer_dense, _dense, NETWORK, doc=(_dense.__doc__ or "").strip()),
]

__all__ = ["OPS", "DenseAttrs", "PopulationAttrs"]
