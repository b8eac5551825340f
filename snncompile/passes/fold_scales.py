"""``fold-scales``: move constant multipliers into weights or neuron thresholds.

Attention scales (Spikformer's ``0.125``, SDT's ``0.25``) and other constant factors make
otherwise integer attention real. Scaling is linear, so a factor can travel:

- ``mul_const`` by a uniform constant becomes ``scale``; ``scale`` by 1 disappears; two scales
  merge: ``s_b(s_a(x)) = s_{ab}(x)``;
- through linear ops it moves to the output: ``op(s_f(x), y) = s_f(op(x, y))`` for ``matmul``,
  ``mul``, ``sum``, ``mean``, average pools and layout ops (``reshape``, ``permute``, ``slice``);
  through ``maxpool2d`` when ``f > 0``;
- into the weights that produce it: ``s_f(W x + b) = (f W) x + f b`` (``conv2d``, ``linear``);
- into the neuron that consumes it, for ``f > 0``: a LIF fed ``f · X`` behaves exactly like a LIF
  fed ``X`` whose state is divided by ``f``, so ``v_threshold`` and ``v_reset`` become
  ``v_threshold / f`` and ``v_reset / f`` (spikes unchanged).

Per-element positive constants (``mul_const``, e.g. SpikingResformer's per-head ``c1``/``c2``
from its firing-rate buffers) move through layout ops and into the consuming neuron as
per-neuron thresholds: ``lif(c ⊙ X)`` spikes exactly like ``lif(X)`` with
``v_threshold_map = v_threshold / c`` (for a reset to 0, or a soft reset).

A factor is only moved when the value it scales has a single reader. In exact arithmetic every
rewrite preserves the function; in floating point the rounding can change, so the equivalence
tests compare with a tolerance and spikes away from the threshold. Constants that cannot move
stay as ``mul_const``; the pass reports how many remain.
The neurons' ``1/tau`` input factor is folded when lowering to Loihi's LIF, where it is part of
the integer format.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from snncompile.ir.graph import Graph, Node, Value
from snncompile.ir.ops import Trait, has_trait, ops_with
from snncompile.ir.ops.tensor import ScaleAttrs
from snncompile.passes.manager import PassContext
from snncompile.passes.rewrite import Rewriter, apply_patterns

__all__ = ["FoldScales"]

#: Ops through which a positive or negative factor moves to the output (op traits).
LINEAR_OPS = ops_with(Trait.LINEAR)
#: Ops that commute with positive factors only.
MONOTONE_OPS = ops_with(Trait.MONOTONE)
#: Ops whose weights and bias absorb a factor on their output.
WEIGHTED_OPS = ops_with(Trait.WEIGHTED)


def _scale_input(value: Value, graph: Graph) -> Node | None:
    """The ``scale`` producing ``value`` if ``value`` is read only once, else None."""
    producer = value.producer
    if producer is None or producer.op != "scale" or not graph.has_single_reader(value):
        return None
    return producer


class _ConstToScale:
    name = "uniform-mul-const-to-scale"

    def apply(self, node: Node, rewriter: Rewriter) -> None:
        if node.op != "mul_const" or node.attrs.value.size == 0:
            return
        values = node.attrs.value
        if not np.all(values == values.flat[0]):
            return
        factor = float(values.flat[0])
        # broadcasting a uniform constant may not change the shape (checked by the type rule)
        new = rewriter.insert_before(
            node, "scale", node.inputs, ScaleAttrs(factor=factor), name=node.name, loc=node.loc
        )
        rewriter.replace_uses(node.output, new)


class _DropUnitAndMerge:
    name = "merge-scales"

    def apply(self, node: Node, rewriter: Rewriter) -> None:
        if node.op != "scale":
            return
        if node.attrs.factor == 1.0 and node.output not in rewriter.graph.outputs:
            rewriter.replace_uses(node.output, node.inputs[0])
            return
        inner = _scale_input(node.inputs[0], rewriter.graph)
        if inner is None:
            return
        merged = rewriter.insert_before(
            node,
            "scale",
            inner.inputs,
            ScaleAttrs(factor=inner.attrs.factor * node.attrs.factor),
            name=node.name,
            loc=node.loc,
        )
        rewriter.replace_uses(node.output, merged)


class _SinkScale:
    name = "scale-through-linear-op"

    def apply(self, node: Node, rewriter: Rewriter) -> None:
        if node.op not in LINEAR_OPS and node.op not in MONOTONE_OPS:
            return
        for index, value in enumerate(node.inputs):
            scale = _scale_input(value, rewriter.graph)
            if scale is None:
                continue
            factor = scale.attrs.factor
            if node.op in MONOTONE_OPS and factor <= 0:
                return
            rewriter.replace_input(node, index, scale.inputs[0])
            rescaled = rewriter.insert_after(
                node,
                "scale",
                [node.output],
                ScaleAttrs(factor=factor),
                name=scale.name,
                loc=scale.loc,
            )
            rewriter.replace_uses(node.output, rescaled, skip=rescaled.producer)
            return


class _ScaleIntoWeights:
    name = "scale-into-weights"

    def apply(self, node: Node, rewriter: Rewriter) -> None:
        if node.op != "scale":
            return
        weighted = node.inputs[0].producer
        if weighted is None or weighted.op not in WEIGHTED_OPS:
            return
        if not rewriter.graph.has_single_reader(node.inputs[0]):
            return
        factor = node.attrs.factor
        attrs = weighted.attrs
        bias = None if attrs.bias is None else attrs.bias * attrs.bias.dtype.type(factor)
        weight = attrs.weight * attrs.weight.dtype.type(factor)
        rewriter.update_attrs(weighted, dataclasses.replace(attrs, weight=weight, bias=bias))
        rewriter.replace_uses(node.output, node.inputs[0])


class _ScaleIntoNeuron:
    name = "scale-into-threshold"

    def apply(self, node: Node, rewriter: Rewriter) -> None:
        if node.op != "lif":
            return
        scale = _scale_input(node.inputs[0], rewriter.graph)
        if scale is None or scale.attrs.factor <= 0:
            return
        factor = scale.attrs.factor
        attrs = node.attrs
        v_reset = None if attrs.v_reset is None else attrs.v_reset / factor
        threshold_map = None if attrs.v_threshold_map is None else attrs.v_threshold_map / factor
        new_attrs = dataclasses.replace(
            attrs,
            v_threshold=attrs.v_threshold / factor,
            v_reset=v_reset,
            v_threshold_map=threshold_map,
        )
        rewriter.replace_input(node, 0, scale.inputs[0])
        rewriter.update_attrs(node, new_attrs)


class _ConstThroughLayout:
    """``layout(c ⊙ x) = layout(c) ⊙ layout(x)`` for reshape, permute and slice."""

    name = "const-through-layout"

    def apply(self, node: Node, rewriter: Rewriter) -> None:
        if not has_trait(node, Trait.LAYOUT):
            return
        const = node.inputs[0].producer
        if const is None or const.op != "mul_const":
            return
        if not rewriter.graph.has_single_reader(node.inputs[0]):
            return
        from snncompile.ir.ops import get_op
        from snncompile.ir.ops.tensor import ConstAttrs

        full = np.broadcast_to(const.attrs.value, const.output.type.shape)
        (moved,) = get_op(node.op).kernel(node.attrs, [np.ascontiguousarray(full)[None]], None)
        rewriter.replace_input(node, 0, const.inputs[0])
        gained = rewriter.insert_after(
            node, "mul_const", [node.output], ConstAttrs(value=moved[0]), name=const.name
        )
        rewriter.replace_uses(node.output, gained, skip=gained.producer)


class _ConstIntoNeuron:
    """``lif(c ⊙ X)`` -> ``lif(X)`` with per-neuron thresholds ``v_threshold / c`` (c > 0)."""

    name = "const-into-threshold-map"

    def apply(self, node: Node, rewriter: Rewriter) -> None:
        if node.op != "lif":
            return
        const = node.inputs[0].producer
        if const is None or const.op != "mul_const" or node.attrs.v_reset not in (0.0, None):
            return
        if not rewriter.graph.has_single_reader(node.inputs[0]) or not np.all(
            const.attrs.value > 0
        ):
            return
        attrs = node.attrs
        shape = node.output.type.shape
        current = np.broadcast_to(attrs.thresholds(np.dtype(np.float64)), shape)
        thresholds = current / np.broadcast_to(const.attrs.value, shape)
        rewriter.replace_input(node, 0, const.inputs[0])
        rewriter.update_attrs(node, dataclasses.replace(attrs, v_threshold_map=thresholds))


PATTERNS = (
    _ConstToScale(),
    _DropUnitAndMerge(),
    _SinkScale(),
    _ScaleIntoWeights(),
    _ScaleIntoNeuron(),
    _ConstThroughLayout(),
    _ConstIntoNeuron(),
)


@dataclass(frozen=True)
class FoldScales:
    """Fold constant factors into weights and thresholds (see the module docstring)."""

    name: ClassVar[str] = "fold-scales"
    requires: ClassVar[frozenset[str]] = frozenset()
    ensures: ClassVar[frozenset[str]] = frozenset({"scales-folded"})

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        result = apply_patterns(graph, PATTERNS, pass_name=self.name)
        before, after = graph.op_counts(), result.op_counts()
        ctx.reports[self.name] = {
            "scales_before": before.get("scale", 0) + before.get("mul_const", 0),
            "scales_remaining": after.get("scale", 0),
            "mul_const_remaining": after.get("mul_const", 0),
        }
        return result
