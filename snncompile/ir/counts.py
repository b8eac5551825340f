"""Operation counts: the synaptic operations of one op per sample and time step.

Every op declares its count in the registry (``OpDef.count``); the energy report
(:mod:`snncompile.report.energy`) multiplies it by the firing rate and the number of time steps
the op runs. The convention is the spiking-transformer papers' (weights × outputs, biases and
neuron updates not counted):

- ``conv2d``: ``|y| · C_in/g · k_h · k_w`` (padding taps included);
- ``linear``: ``|y| · F_in``;
- ``matmul``: ``|y| · K`` (inner dimension K);
- ``mul``: ``|y|`` (one product per output element);
- ``projection``: its synapse count (one event per synapse when every source spikes);
- every other op: :func:`no_synaptic_ops`, an explicit zero (a declaration, not a default).
"""

from __future__ import annotations

import math

from snncompile.ir.graph import Node

__all__ = [
    "conv2d_count",
    "elementwise_product_count",
    "linear_count",
    "matmul_count",
    "no_synaptic_ops",
    "projection_count",
]


def _outputs(node: Node) -> int:
    return math.prod(node.output.type.shape)


def conv2d_count(node: Node) -> int:
    """``|y| · C_in/g · k_h · k_w``."""
    return _outputs(node) * math.prod(node.attrs.weight.shape[1:])


def linear_count(node: Node) -> int:
    """``|y| · F_in``."""
    return _outputs(node) * int(node.attrs.weight.shape[1])


def matmul_count(node: Node) -> int:
    """``|y| · K`` for ``[..., M, K] @ [..., K, N]``."""
    return _outputs(node) * node.inputs[0].type.shape[-1]


def elementwise_product_count(node: Node) -> int:
    """``|y|``: one product per output element."""
    return _outputs(node)


def projection_count(node: Node) -> int:
    """The projection's synapses (one accumulate each when every source spikes)."""
    return int(node.attrs.synapses(node.inputs[0].type.shape))


def no_synaptic_ops(node: Node) -> int:
    """Zero: the op does no synaptic operation (neurons, layout, adds, pools, averages)."""
    return 0
