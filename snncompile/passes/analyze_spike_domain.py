"""``analyze-spike-domain``: give every value its spike domain (SEMANTICS.md section 3).

A forward dataflow over the graph in topological order. Each op has one rule in
:data:`DOMAIN_RULES` mapping its input domains to its output domain and the *sources* of a count:
the neuron outputs whose spikes were summed into it. The rules, with ``k(binary) = 1``:

=====================  ==========================================================================
op                     output domain
=====================  ==========================================================================
lif, lif_fixed,        binary (the value is its own source)
population
add                    count(k₁ + k₂) for binary/count operands; int if both integer; else real
mul (Hadamard)         binary·binary = binary (AND); binary·count(k) = count(k); count(a)·count(b)
                       = count(a·b); int·int = int; else real
matmul                 count(k₁·k₂·K) for binary/count operands with inner dimension K; int·int =
                       int; else real
sum over n elements    count(k·n) for binary/count; int for int; else real
scale by f             unchanged if f = 1; count(k·f) for a positive integer f; int for an integer
                       f and integer input; else real
conv/linear/dense      int when the input, weights and bias are all integers; else real (a current)
shift                  int for integer input; else real
add_const, mul_const   int when the input and the constant are integers; else real
maxpool2d              unchanged (max of binaries is OR, of counts a count)
layout (reshape,       unchanged, sources kept
permute, slice)
batchnorm, averages    real
=====================  ==========================================================================

The result graph carries the domains in its value types; ``ctx.reports["spike-domain"]`` maps
each count value to its sorted sources.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from snncompile.diagnostics import error
from snncompile.ir.dataflow import forward
from snncompile.ir.graph import Graph, Node
from snncompile.ir.types import DomainKind, SpikeDomain
from snncompile.passes.manager import PassContext

__all__ = ["DOMAIN_RULES", "AnalyzeSpikeDomain", "Flow"]

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


def _neuron(node: Node, flows: Sequence[Flow]) -> Flow:
    return Flow(BINARY, frozenset({node.output.name}))


def _population(node: Node, flows: Sequence[Flow]) -> Flow:
    if node.attrs.kind in ("gated", "relay"):  # graded payloads
        return Flow(INT)
    return _neuron(node, flows)


def _same(node: Node, flows: Sequence[Flow]) -> Flow:
    return flows[0]


def _real(node: Node, flows: Sequence[Flow]) -> Flow:
    return Flow(REAL)


def _arith(combine: Callable[[int, int], int]) -> Rule:
    def rule(node: Node, flows: Sequence[Flow]) -> Flow:
        a, b = (f.domain for f in flows)
        ka, kb = _k(a), _k(b)
        if ka is not None and kb is not None:
            return _count(combine(ka, kb), _union(flows))
        return Flow(INT if _integer(a) and _integer(b) else REAL)

    return rule


def _matmul(node: Node, flows: Sequence[Flow]) -> Flow:
    inner = node.inputs[0].type.shape[-1]
    return _arith(lambda a, b: a * b * inner)(node, flows)


def _sum(node: Node, flows: Sequence[Flow]) -> Flow:
    (flow,) = flows
    shape = node.inputs[0].type.shape
    n = math.prod(shape[d] for d in node.attrs.axes)
    k = _k(flow.domain)
    if k is not None:
        return _count(k * n, flow.sources)
    return Flow(INT if _integer(flow.domain) else REAL)


def _scale(node: Node, flows: Sequence[Flow]) -> Flow:
    (flow,) = flows
    factor = node.attrs.factor
    if factor == 1.0:
        return flow
    k = _k(flow.domain)
    if k is not None and factor > 0 and float(factor).is_integer():
        return _count(k * int(factor), flow.sources)
    integer = _integer(flow.domain) and math.isfinite(factor) and float(factor).is_integer()
    return Flow(INT if integer else REAL)


def _shift(node: Node, flows: Sequence[Flow]) -> Flow:
    (flow,) = flows
    return Flow(INT if _integer(flow.domain) else REAL)


def _weighted(node: Node, flows: Sequence[Flow]) -> Flow:
    attrs = node.attrs
    integer = _integral(attrs.weight) and _integral(getattr(attrs, "bias", None))
    return Flow(INT if integer and all(_integer(f.domain) for f in flows) else REAL)


def _const(node: Node, flows: Sequence[Flow]) -> Flow:
    integer = _integer(flows[0].domain) and _integral(node.attrs.value)
    return Flow(INT if integer else REAL)


#: One rule per op; ``tests/passes`` checks that every registered op has one.
DOMAIN_RULES: dict[str, Rule] = {
    "lif": _neuron,
    "lif_fixed": _neuron,
    "population": _population,
    "projection": lambda node, flows: Flow(INT),  # integer weights, gains and biases
    "current_sum": lambda node, flows: Flow(INT),
    "add": _arith(lambda a, b: a + b),
    "mul": _arith(lambda a, b: a * b),
    "matmul": _matmul,
    "sum": _sum,
    "scale": _scale,
    "conv2d": _weighted,
    "linear": _weighted,
    "dense": _weighted,
    "add_const": _const,
    "mul_const": _const,
    "maxpool2d": _same,
    "reshape": _same,
    "permute": _same,
    "slice": _same,
    "batchnorm": _real,
    "avgpool2d": _real,
    "adaptive_avgpool2d": _real,
    "mean": _real,
    "shift": _shift,
    "round": _shift,
    "delay": _same,
}


def _transfer(node: Node, flows: Sequence[Flow]) -> Flow:
    rule = DOMAIN_RULES.get(node.op)
    if rule is None:
        raise error(
            "IR102",
            f"{node.op} has no spike-domain rule; add one to DOMAIN_RULES",
            node=node.describe(),
        )
    return rule(node, flows)


def analyze(graph: Graph) -> dict[str, Flow]:
    """The flow of every value of ``graph``, by value name. Graph inputs are real."""
    return forward(graph, Flow(REAL), _transfer)


@dataclass(frozen=True)
class AnalyzeSpikeDomain:
    """Annotate every value's type with its spike domain (see the module docstring)."""

    name: ClassVar[str] = "analyze-spike-domain"
    requires: ClassVar[frozenset[str]] = frozenset()
    ensures: ClassVar[frozenset[str]] = frozenset({"spike-domains"})

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        flows = analyze(graph)
        result = graph.copy()
        for value in result.values():
            value.type = value.type.with_domain(flows[value.name].domain)
        ctx.reports[self.name] = {
            name: sorted(flow.sources)
            for name, flow in flows.items()
            if flow.domain.kind is DomainKind.COUNT
        }
        return result
