"""Spike-domain rules: how each op maps its input domains to its output domain.

Every op declares one of these rules in the registry (``OpDef.domain``); the
``analyze-spike-domain`` pass (:mod:`snncompile.passes.analyze_spike_domain`) runs them as a
forward dataflow. A :class:`Flow` is a value's domain plus the *sources* of a count: the neuron
outputs whose spikes were summed into it. With ``k(binary) = 1``:

=====================  ==========================================================================
rule (ops)             output domain
=====================  ==========================================================================
neuron (lif,           binary (the value is its own source)
lif_fixed)
population             binary, or int for graded kinds (gated, relay)
recurrent              binary (the source neuron's spikes of the previous step; it is the source)
add                    count(k₁ + k₂) for binary/count operands; int if both integer; else real
mul (Hadamard)         binary·binary = binary (AND); binary·count(k) = count(k); count(a)·count(b)
                       = count(a·b); int·int = int; else real
matmul                 count(k₁·k₂·K) for binary/count operands with inner dimension K; int·int =
                       int; else real
sum over n elements    count(k·n) for binary/count; int for int; else real
scale by f             unchanged if f = 1; count(k·f) for a positive integer f; int for an integer
                       f and integer input; else real
weighted (conv2d,      int when the input, weights and bias are all integers; else real (a current)
linear)
integer (projection,   int (integer weights, gains and biases)
current_sum)
shift, round           int for integer input; else real
const (add_const,      int when the input and the constant are integers; else real
mul_const)
same (maxpool2d,       unchanged (max of binaries is OR, of counts a count; layout keeps sources)
reshape, permute,
slice, delay)
real (batchnorm,       real
averages)
=====================  ==========================================================================
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from snncompile.ir.graph import Node
from snncompile.ir.types import DomainKind, SpikeDomain

__all__ = [
    "Flow",
    "Rule",
    "add_rule",
    "arith",
    "const",
    "integer_currents",
    "matmul",
    "mul_rule",
    "neuron",
    "population",
    "real",
    "recurrent",
    "same",
    "scale",
    "shift",
    "sum_rule",
    "weighted",
]

BINARY, REAL, INT = SpikeDomain.binary(), SpikeDomain.real(), SpikeDomain.integer()


@dataclass(frozen=True)
class Flow:
    """A value's domain and the neuron outputs summed into it (for counts)."""

    domain: SpikeDomain
    sources: frozenset[str] = frozenset()


Rule = Callable[[Node, Sequence[Flow]], Flow]


def _k(domain: SpikeDomain) -> int | None:
    """The count bound of a binary (1) or count(k) domain, else None."""
    if domain.kind is DomainKind.BINARY:
        return 1
    if domain.kind is DomainKind.COUNT:
        return domain.bound
    return None


def _integer(domain: SpikeDomain) -> bool:
    return domain.kind is not DomainKind.REAL


def _count(bound: int, sources: frozenset[str]) -> Flow:
    return Flow(BINARY if bound == 1 else SpikeDomain.count(bound), sources)


def _union(flows: Sequence[Flow]) -> frozenset[str]:
    return frozenset().union(*(f.sources for f in flows))


def _integral(array: np.ndarray | None) -> bool:
    """Whether every entry is a finite integer (remembered per frozen array: the analysis runs
    in several passes over the same shared weights, tens of millions of them at ImageNet size)."""
    if array is None or np.issubdtype(array.dtype, np.integer):
        return True
    if array.flags.writeable:
        return _all_integers(array)
    known = _INTEGRAL.get(id(array))
    if known is not None and known[0]() is array:
        return known[1]
    result = _all_integers(array)
    _INTEGRAL[id(array)] = (weakref.ref(array, _forget(id(array))), result)
    return result


def _all_integers(array: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(array)) and np.all(array == np.round(array)))


_INTEGRAL: dict[int, tuple[weakref.ref[np.ndarray], bool]] = {}


def _forget(key: int) -> Callable[[object], None]:
    """The weakref callback that drops a dead array's entry."""

    def drop(_: object) -> None:
        _INTEGRAL.pop(key, None)

    return drop


def neuron(node: Node, flows: Sequence[Flow]) -> Flow:
    """Spikes: binary, the value is its own source."""
    return Flow(BINARY, frozenset({node.output.name}))


def recurrent(node: Node, flows: Sequence[Flow]) -> Flow:
    """Spikes of the previous step: binary, sourced by the neuron the edge reads."""
    return Flow(BINARY, frozenset({node.attrs.source}))


def population(node: Node, flows: Sequence[Flow]) -> Flow:
    """A population's spikes (binary), or graded integer payloads for the gated and relay kinds."""
    if node.attrs.kind in ("gated", "relay"):  # graded payloads
        return Flow(INT)
    return neuron(node, flows)


def same(node: Node, flows: Sequence[Flow]) -> Flow:
    """Unchanged: the input's domain and sources (layout, max, delay)."""
    return flows[0]


def real(node: Node, flows: Sequence[Flow]) -> Flow:
    """Real: the op leaves the integers (averages, BatchNorm)."""
    return Flow(REAL)


def arith(combine: Callable[[int, int], int]) -> Rule:
    """A binary op on counts whose bound is ``combine(k₁, k₂)``; int·int = int; else real."""

    def rule(node: Node, flows: Sequence[Flow]) -> Flow:
        a, b = (f.domain for f in flows)
        ka, kb = _k(a), _k(b)
        if ka is not None and kb is not None:
            return _count(combine(ka, kb), _union(flows))
        return Flow(INT if _integer(a) and _integer(b) else REAL)

    return rule


def matmul(node: Node, flows: Sequence[Flow]) -> Flow:
    """``matmul``: count(k₁·k₂·K) with inner dimension K."""
    inner = node.inputs[0].type.shape[-1]
    return arith(lambda a, b: a * b * inner)(node, flows)


def sum_rule(node: Node, flows: Sequence[Flow]) -> Flow:
    """``sum`` over n elements: count(k·n)."""
    (flow,) = flows
    shape = node.inputs[0].type.shape
    n = math.prod(shape[d] for d in node.attrs.axes)
    k = _k(flow.domain)
    if k is not None:
        return _count(k * n, flow.sources)
    return Flow(INT if _integer(flow.domain) else REAL)


def scale(node: Node, flows: Sequence[Flow]) -> Flow:
    """``scale`` by f: unchanged if f = 1, count(k·f) for a positive integer f."""
    (flow,) = flows
    factor = node.attrs.factor
    if factor == 1.0:
        return flow
    k = _k(flow.domain)
    if k is not None and factor > 0 and float(factor).is_integer():
        return _count(k * int(factor), flow.sources)
    integer = _integer(flow.domain) and math.isfinite(factor) and float(factor).is_integer()
    return Flow(INT if integer else REAL)


def shift(node: Node, flows: Sequence[Flow]) -> Flow:
    """Integer in, integer out (shift, round); else real."""
    (flow,) = flows
    return Flow(INT if _integer(flow.domain) else REAL)


def weighted(node: Node, flows: Sequence[Flow]) -> Flow:
    """Synapses: an integer current when input, weights and bias are integers; else real."""
    attrs = node.attrs
    integer = _integral(attrs.weight) and _integral(getattr(attrs, "bias", None))
    return Flow(INT if integer and all(_integer(f.domain) for f in flows) else REAL)


def const(node: Node, flows: Sequence[Flow]) -> Flow:
    """A constant operand: integer when the input and the constant are integers."""
    integer = _integer(flows[0].domain) and _integral(node.attrs.value)
    return Flow(INT if integer else REAL)


def integer_currents(node: Node, flows: Sequence[Flow]) -> Flow:
    """Integer currents (network-level ops: integer weights, gains and biases)."""
    return Flow(INT)


def add_rule(node: Node, flows: Sequence[Flow]) -> Flow:
    """``add``: counts add their bounds."""
    return arith(lambda a, b: a + b)(node, flows)


def mul_rule(node: Node, flows: Sequence[Flow]) -> Flow:
    """``mul``: counts multiply their bounds (binary·binary is an AND)."""
    return arith(lambda a, b: a * b)(node, flows)
