"""Overflow analysis of the quantized tensor IR: can a current wrap or a voltage saturate?

Interval arithmetic on magnitudes, one bound per value (the largest ``|x|`` it can reach),
forward through the graph from a bound on the graph inputs:

=========================  ===============================================================
op                         bound of the result
=========================  ===============================================================
neuron (lif, lif_fixed)    1 (a spike)
conv2d, linear             ``max_o Σ_i |W[o, i]| · B(x) + |b[o]|`` (per output channel)
shift by e                 ``B(x) · 2^e`` (+1 for the floor of a negative sum when e < 0)
add                        ``B(a) + B(b)``;  mul: ``B(a) · B(b)``;  sum over n: ``n · B(x)``
scale by f, mul_const c    ``|f| · B(x)``, ``max|c| · B(x)``
layout, pools, round       ``B(x)`` (+1 for round)
=========================  ===============================================================

For every ``lif_fixed`` with input bound ``A`` (integer current per step), on its chip's neuron
(:class:`snncompile.chip.NeuronArithmetic`: input shift ``i``, decay scale ``D``, current limit
``L_u``, voltage limit ``L_v``; Loihi 2: ``2^6``, 4096, ``2^23``, ``2^23 - 1``): ``u = a << i``
wraps when ``2^i·A > L_u``; ``v`` accumulates at most ``2^i·A + |bias|`` per step with decay
``(D - dv)/D``, so ``|v| <= (2^i·A + |bias|) · D/dv`` and saturates when that exceeds ``L_v``.
The bounds are worst cases: every input spiking against the largest weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snncompile.chip import DEFAULT_CHIP, NeuronArithmetic, get_chip
from snncompile.ir.dataflow import forward
from snncompile.ir.graph import Graph, Node

__all__ = ["PopulationRange", "population_ranges", "value_bounds"]


def _weighted_bound(node: Node, x: float) -> float:
    weight = np.abs(node.attrs.weight)
    per_output = weight.reshape(weight.shape[0], -1).sum(axis=1) * x
    if node.attrs.bias is not None:
        per_output = per_output + np.abs(node.attrs.bias)
    return float(per_output.max()) if per_output.size else 0.0


def _bound(node: Node, inputs: Sequence[float]) -> float:
    op = node.op
    if op in ("lif", "lif_fixed", "population", "recurrent"):
        return 1.0  # spikes (a recurrent edge carries its neuron's spikes of the last step)
    if op in ("conv2d", "linear"):
        return _weighted_bound(node, inputs[0])
    if op == "shift":
        exponent = node.attrs.exponent
        return inputs[0] * 2.0**exponent + (1.0 if exponent < 0 else 0.0)
    if op == "add":
        return inputs[0] + inputs[1]
    if op in ("mul", "matmul"):
        inner = node.inputs[0].type.shape[-1] if op == "matmul" else 1
        return inputs[0] * inputs[1] * inner
    if op == "sum":
        shape = node.inputs[0].type.shape
        return inputs[0] * math.prod(shape[d] for d in node.attrs.axes)
    if op == "scale":
        return abs(node.attrs.factor) * inputs[0]
    if op in ("mul_const", "add_const"):
        constant = float(np.abs(node.attrs.value).max()) if node.attrs.value.size else 0.0
        return constant * inputs[0] if op == "mul_const" else inputs[0] + constant
    if op == "round":
        return inputs[0] + 1.0
    if op == "batchnorm":
        attrs = node.attrs
        gain = np.abs(attrs.weight) / np.sqrt(attrs.running_var + attrs.eps)
        shift = np.abs(attrs.bias) + gain * np.abs(attrs.running_mean)
        return float((gain * inputs[0] + shift).max())
    return max(inputs) if inputs else 0.0  # layout ops, pools, means: no growth


def value_bounds(graph: Graph, input_bound: float = 1.0) -> dict[str, float]:
    """The largest magnitude every value can reach, by name."""
    return forward(graph, input_bound, _bound)


@dataclass(frozen=True)
class PopulationRange:
    """Worst-case integer ranges of one ``lif_fixed`` population."""

    node: str
    current: float  # largest |a| per step
    voltage: float  # largest |v|
    neuron: NeuronArithmetic = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.neuron is None:
            object.__setattr__(self, "neuron", get_chip(DEFAULT_CHIP).neuron)

    @property
    def current_wraps(self) -> bool:
        return self.neuron.input_scale * self.current > self.neuron.current_limit

    @property
    def voltage_saturates(self) -> bool:
        return self.voltage > self.neuron.voltage_limit

    @property
    def margin_bits(self) -> float:
        """Bits of headroom left before the first limit (negative: overflow possible)."""
        n = self.neuron
        worst = max(
            n.input_scale * self.current / n.current_limit, self.voltage / n.voltage_limit, 1e-30
        )
        return -math.log2(worst)

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "max_current": self.current,
            "max_voltage": self.voltage,
            "current_wraps": self.current_wraps,
            "voltage_saturates": self.voltage_saturates,
            "margin_bits": round(self.margin_bits, 2),
        }


def population_ranges(graph: Graph, input_bound: float = 1.0) -> list[PopulationRange]:
    """The worst-case range of every ``lif_fixed`` (see the module docstring)."""
    bounds = value_bounds(graph, input_bound)
    ranges = []
    for node in graph.nodes:
        if node.op != "lif_fixed":
            continue
        current = bounds[node.inputs[0].name]
        bias = 0.0
        if node.attrs.bias_mant is not None:
            bias = float(np.abs(node.attrs.bias_mant).max()) * 2.0**node.attrs.bias_exp
        neuron = get_chip(node.attrs.chip).neuron
        per_step = neuron.input_scale * current + bias
        voltage = per_step * neuron.scale / max(node.attrs.dv, 1)
        ranges.append(PopulationRange(node.name, current, voltage, neuron))
    return ranges
