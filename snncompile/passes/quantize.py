"""``quantize-fixed-point``: the chip partition becomes Loihi integer arithmetic.

First increment (see ``docs/lowering.md`` for the whole plan): ONE current scale for the
network. With ``s`` a power of two and ``k = s / tau`` (an integer), every *current* on chip (a
weighted op's output and linear combinations of them) is represented in units of ``1/k``, and
every LIF becomes Lava's integer LIF with ``v ≈ 64·s·H``::

    lif(tau, vth)            -> lif_fixed(du=4095, dv=round(4096/tau), vth=round(s·vth))
    W x + b   (spike input)  -> shift(W_m x + b_m, e)   with W_m·2^e ≈ k·W  (8-bit mantissas)
    W x + b   (current in)   -> shift(W_m x + b_m, e)   with W_m·2^e ≈ W    (input already ·k)
    count C into a neuron    -> k · C                   (unit synapses of weight k)
    host -> chip current X   -> round(k · X)            (the host sends integers)
    chip -> host current a   -> a / k                   (the readout stays float)
    averages on chip         -> round(...)              (to be folded into the next weights)

``b_m`` is the bias in pre-shift units (``b_m = round(k·b / 2^e)·2^e``), so the shift adds it
exactly. Conv has no weight exponent in Lava, so conv weights use ``e = 0`` and bound ``s``:
``s`` is the largest power of two with ``k·max|W_conv| <= 254`` (at most ``max_scale``).

Requirements: neurons with ``decay_input`` and a hard reset to 0 (all four seed families);
anything else raises QZ901 naming the neuron. The result is the integer reference that the
simulator and Lava must match bit for bit; float vs quantized is compared statistically.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from snncompile.diagnostics import error
from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, GraphBuilder, Node, Value
from snncompile.ir.loihi import quantize_weights
from snncompile.ir.ops.fixed import LifFixedAttrs, ShiftAttrs
from snncompile.ir.ops.tensor import ScaleAttrs
from snncompile.ir.types import DomainKind
from snncompile.passes.analyze_spike_domain import Flow, analyze
from snncompile.passes.manager import PassContext
from snncompile.passes.partition_host import partition

__all__ = ["QuantizeFixedPoint", "choose_scale"]

WEIGHTED = frozenset({"conv2d", "linear"})
AVERAGES = frozenset({"avgpool2d", "adaptive_avgpool2d", "mean", "mul_const", "scale"})


def _unitless(flow: Flow) -> bool:
    """Spikes and spike counts carry no current unit."""
    return flow.domain.kind in (DomainKind.BINARY, DomainKind.COUNT)


def _tau(node: Node) -> float:
    attrs = node.attrs
    return 1.0 / attrs.decay if attrs.decay is not None else attrs.tau


def choose_scale(graph: Graph, chip: set[str], max_scale: int) -> int:
    """The largest power of two ``s <= max_scale`` with ``k = s/tau`` an integer and conv
    weights representable without an exponent (``k·max|W| <= 254``)."""
    taus = {_tau(n) for n in graph.nodes if n.op == "lif" and n.name in chip}
    tau = max(taus) if taus else 1.0
    scale = max_scale
    for node in graph.nodes:
        if node.op == "conv2d" and node.name in chip and node.attrs.weight.size:
            largest = float(np.abs(node.attrs.weight).max())
            if largest > 0:
                scale = min(scale, 2 ** math.floor(math.log2(254.0 * tau / largest)))
    return max(scale, 2 ** math.ceil(math.log2(tau)))


@dataclass
class _Builder:
    """Rebuilds the graph node by node with the quantized ops."""

    source: Graph
    flows: dict[str, Flow]
    chip: set[str]
    readout: set[str]
    scale: int
    builder: GraphBuilder = dataclasses.field(init=False)
    mapping: dict[Value, Value] = dataclasses.field(init=False, default_factory=dict)
    report: dict[str, Any] = dataclasses.field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.builder = GraphBuilder(self.source.name, self.source.stage)
        self.report = {"scale": self.scale, "projections": {}, "neurons": {}}

    def k(self, tau: float) -> float:
        return self.scale / tau

    def run(self) -> Graph:
        taus = {_tau(n) for n in self.source.nodes if n.op == "lif"}
        if len(taus) > 1:
            raise error(
                "QZ901",
                f"neurons with different time constants {sorted(taus)} need one scale each; "
                "this quantizer uses one network scale",
                node=f"@{self.source.name}",
            )
        self.tau = taus.pop() if taus else 1.0
        for value in self.source.inputs:
            self.mapping[value] = self.builder.input(value.name, value.type)
        for node in self.source.nodes:
            self._node(node)
        return self.builder.finish([self._host_view(v, None) for v in self.source.outputs])

    # --- values crossing partitions -----------------------------------------------------------
    def _is_chip_value(self, value: Value) -> bool:
        return value.producer is not None and value.producer.name in self.chip

    def _input(self, value: Value, reader: Node) -> Value:
        """The quantized value ``reader`` sees for ``value`` (boundary conversions added)."""
        new = self.mapping[value]
        if reader.name in self.chip and not self._is_chip_value(value):
            if not _unitless(self.flows[value.name]):  # a host current enters the chip
                scaled = self._add("scale", [new], ScaleAttrs(factor=self.k(self.tau)), value)
                return self._add("round", [scaled], NoAttrs(), value)
            return new
        if reader.name not in self.chip:
            return self._host_view(value, reader)
        return new

    def _host_view(self, value: Value, reader: Node | None) -> Value:
        new = self.mapping[value]
        if self._is_chip_value(value) and not _unitless(self.flows[value.name]):
            return self._add("scale", [new], ScaleAttrs(factor=1.0 / self.k(self.tau)), value)
        return new

    def _add(self, op: str, inputs: list[Value], attrs: Any, like: Value | Node) -> Value:
        node = like if isinstance(like, Node) else like.producer
        name = f"{like.name}_{op}"
        return self.builder.add_node(op, inputs, attrs, name=name, loc=node.loc if node else None)

    # --- nodes --------------------------------------------------------------------------------
    def _node(self, node: Node) -> None:
        inputs = [self._input(v, node) for v in node.inputs]
        if node.name not in self.chip:
            outputs = self.builder.add_node_multi(
                node.op, inputs, node.attrs, name=node.name, loc=node.loc
            )
        elif node.op == "lif":
            outputs = (self._neuron(node, inputs[0]),)
        elif node.op in WEIGHTED:
            outputs = (self._weighted(node, inputs[0]),)
        elif node.op == "batchnorm":
            raise error(
                "QZ902",
                f"{node.describe()} could not be folded into the synapses before it and would "
                "scale integer currents in float",
                node=node.describe(),
            )
        else:
            outputs = self.builder.add_node_multi(
                node.op, inputs, node.attrs, name=node.name, loc=node.loc
            )
            if node.op in AVERAGES and not _unitless(self.flows[node.output.name]):
                outputs = (self._add("round", [outputs[0]], NoAttrs(), node),)
        for old, new in zip(node.outputs, outputs, strict=True):
            self.mapping[old] = new

    def _neuron(self, node: Node, current: Value) -> Value:
        attrs = node.attrs
        if not attrs.decay_input or attrs.v_reset != 0.0:
            raise error(
                "QZ901",
                f"{node.describe()} has decay_input={attrs.decay_input} and v_reset="
                f"{attrs.v_reset}; Lava's LIF needs decay_input and a hard reset to 0",
                node=node.describe(),
            )
        if _unitless(self.flows[node.inputs[0].name]):  # a count: unit synapses of weight k
            current = self._add("scale", [current], ScaleAttrs(factor=self.k(self.tau)), node)
        decay = 1.0 / attrs.tau if attrs.decay is None else attrs.decay
        vth_map = None
        if attrs.v_threshold_map is not None:
            vth_map = np.rint(attrs.v_threshold_map * self.scale)
        fixed = LifFixedAttrs(
            du=4095,
            dv=round(4096 * decay),
            vth=round(attrs.v_threshold * self.scale),
            vth_map=vth_map,
        )
        self.report["neurons"][node.name] = {"dv": fixed.dv, "vth": fixed.vth}
        return self.builder.add_node("lif_fixed", [current], fixed, name=node.name, loc=node.loc)

    def _weighted(self, node: Node, value: Value) -> Value:
        attrs = node.attrs
        factor = self.k(self.tau) if _unitless(self.flows[node.inputs[0].name]) else 1.0
        exponent = 0 if node.op == "conv2d" else None
        mantissa, exponent = quantize_weights(attrs.weight * factor, exponent=exponent)
        bias = None
        if attrs.bias is not None:  # in pre-shift units, so that the shift adds it exactly
            if exponent <= 0:
                bias = np.rint(attrs.bias * factor) * 2.0**-exponent
            else:
                bias = np.rint(attrs.bias * factor / 2.0**exponent)
        new_attrs = dataclasses.replace(
            attrs, weight=mantissa.astype(np.float64), bias=None if bias is None else bias
        )
        out = self.builder.add_node(node.op, [value], new_attrs, name=node.name, loc=node.loc)
        self.report["projections"][node.name] = {
            "exponent": exponent,
            "max_mantissa": int(np.abs(mantissa).max()) if mantissa.size else 0,
        }
        if exponent != 0:
            out = self._add("shift", [out], ShiftAttrs(exponent=exponent), node)
        return out


@dataclass(frozen=True)
class QuantizeFixedPoint:
    """Quantize the chip partition to Loihi's integer formats (module docstring)."""

    name: ClassVar[str] = "quantize-fixed-point"
    requires: ClassVar[frozenset[str]] = frozenset(
        {"batchnorm-folded", "scales-folded", "attention-decomposed"}
    )
    ensures: ClassVar[frozenset[str]] = frozenset({"quantized"})

    max_scale: int = 2**10

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        parts = partition(graph)
        chip = set(parts.chip)
        scale = choose_scale(graph, chip, self.max_scale)
        builder = _Builder(graph, analyze(graph), chip, set(parts.host_readout), scale)
        result = builder.run()
        ctx.reports[self.name] = builder.report
        return result
