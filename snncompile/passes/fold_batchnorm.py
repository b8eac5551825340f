"""``fold-batchnorm``: fold eval-mode BatchNorm into the conv or linear that feeds it.

For a weighted op with output channel ``o`` followed by batch norm over that channel::

    y[o] = γ[o] · (Σ W[o, ·] x + b[o] - μ[o]) / sqrt(σ²[o] + ε) + β[o]
         = Σ W'[o, ·] x + b'[o]

    with  s[o]  = γ[o] / sqrt(σ²[o] + ε)
          W'[o] = s[o] · W[o]
          b'[o] = s[o] · (b[o] - μ[o]) + β[o]        (b = 0 when the op has no bias)

The batch norm may sit behind permutes that move the op's channel axis (Spikformer's CIFAR
attention: linear -> transpose -> BatchNorm1d) and reshapes that keep it (a Conv1d traced as a
height-1 conv2d: ``[C, 1, N] -> [C, N]``); they are kept, the batch norm is removed.
Folding happens only when every value on the way has a single reader, so no other consumer sees
the changed weights. The arithmetic is done in float64 and cast back to the weight's dtype.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from snncompile.ir.graph import Graph, Node
from snncompile.ir.ops.tensor import BatchNormAttrs
from snncompile.passes.manager import PassContext
from snncompile.passes.rewrite import Rewriter, apply_patterns

__all__ = ["FoldBatchNorm"]

#: Weighted ops whose output channel is axis 0 of their weight, and that channel's axis in
#: the op's (per-sample) output: ``None`` means the last axis.
_CHANNEL_AXIS: dict[str, int | None] = {"conv2d": 0, "linear": None}


def _reshape_source_axis(source: tuple[int, ...], target: tuple[int, ...], axis: int) -> int | None:
    """The axis of ``source`` that a reshape maps one to one onto ``target[axis]``.

    Axis ``j`` of the target is axis ``i`` of the source when both have the same size and the
    same number of elements before them (e.g. ``[C, 1, N] -> [C, N]`` keeps the channel axis).
    """
    before = math.prod(target[:axis])
    for i, size in enumerate(source):
        if size == target[axis] and math.prod(source[:i]) == before:
            return i
    return None


def _trace_channel(bn: Node, graph: Graph) -> Node | None:
    """Follow the BN's channel axis back through permutes to a weighted op.

    Returns the weighted op, or None if the axis does not land on the op's output channel axis
    or a value on the way has other readers.
    """
    axis = bn.attrs.axis
    value = bn.inputs[0]
    while True:
        producer = value.producer
        if producer is None or not graph.has_single_reader(value):
            return None
        if producer.op == "permute":
            axis = producer.attrs.perm[axis]
            value = producer.inputs[0]
            continue
        if producer.op == "reshape":
            source_axis = _reshape_source_axis(
                producer.inputs[0].type.shape, producer.output.type.shape, axis
            )
            if source_axis is None:
                return None
            axis = source_axis
            value = producer.inputs[0]
            continue
        if producer.op not in _CHANNEL_AXIS:
            return None
        rank = len(producer.output.type.shape)
        channel = _CHANNEL_AXIS[producer.op]
        if axis != (rank - 1 if channel is None else channel):
            return None
        return producer


def fold_into(
    weight: np.ndarray, bias: np.ndarray | None, bn: BatchNormAttrs
) -> tuple[np.ndarray, np.ndarray]:
    """``(W', b')`` of the module docstring, in the dtype of ``weight``."""
    scale = bn.weight.astype(np.float64) / np.sqrt(bn.running_var.astype(np.float64) + bn.eps)
    old_bias = np.zeros(weight.shape[0]) if bias is None else bias.astype(np.float64)
    new_weight = weight.astype(np.float64) * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    new_bias = scale * (old_bias - bn.running_mean.astype(np.float64)) + bn.bias
    return new_weight.astype(weight.dtype), new_bias.astype(weight.dtype)


class _FoldPattern:
    name = "batchnorm-into-weighted-op"

    def apply(self, node: Node, rewriter: Rewriter) -> None:
        if node.op != "batchnorm":
            return
        found = _trace_channel(node, rewriter.graph)
        if found is None:
            return
        weighted = found
        weight, bias = fold_into(weighted.attrs.weight, weighted.attrs.bias, node.attrs)
        rewriter.update_attrs(
            weighted, dataclasses.replace(weighted.attrs, weight=weight, bias=bias)
        )
        rewriter.replace_uses(node.output, node.inputs[0])


@dataclass(frozen=True)
class FoldBatchNorm:
    """Remove every foldable eval-mode batch norm (see the module docstring)."""

    name: ClassVar[str] = "fold-batchnorm"
    requires: ClassVar[frozenset[str]] = frozenset()
    ensures: ClassVar[frozenset[str]] = frozenset({"batchnorm-folded"})

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        result = apply_patterns(graph, [_FoldPattern()], pass_name=self.name)
        before, after = graph.op_counts(), result.op_counts()
        ctx.reports[self.name] = {
            "folded": before.get("batchnorm", 0) - after.get("batchnorm", 0),
            "remaining": after.get("batchnorm", 0),
        }
        return result
