"""``decompose-attention``: products of two activations become neurons and unit synapses.

There are no dynamic weights on a neuromorphic chip, so a product of two activations is built
from neurons and static synapses (SEMANTICS.md section 4). For ``Y = A @ B`` with
``A: [..., N, K]`` and ``B: [..., K, M]``::

    Y[n, m] = Σ_k A[n, k] · B[k, m]
            = sum_k( mul( reshape(A)[n, k, 1], reshape(B)[1, k, m] ) )[n, m]

The broadcast ``mul`` is one neuron per ``(n, k, m)``, the ``sum`` over ``k`` is a projection of
unit synapses into the consumer. When both operands are binary the neuron is a *coincidence*
neuron (AND: no memory, two unit synapses, threshold between 1 and 2); when one operand is
binary and the other graded (a count, or a real current) it is a *gated* neuron that passes the
graded value when the spike is present (graded spikes). All values are integers for counts, so
the decomposition is exact; a product of two graded values is left alone (host only, SD204).

Chains ``(A @ B) @ C`` with binary ``A, B, C`` are reassociated to ``A @ (B @ C)`` when that
needs fewer neurons: for ``A: [N, K]``, ``B: [K, M]``, ``C: [M, J]``,

    cost((AB)C) = N·K·M (coincidence) + N·M·J (gated)
    cost(A(BC)) = K·M·J (coincidence) + N·K·J (gated)

(per batch element of the leading dims). ``ctx.reports["decompose-attention"]`` lists every
product with its kind, neurons, synapses and, for chains, the cost of both orders. Connectivity
stays structured (reshape, broadcast and reduction axes), never a dense matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, Node, Value
from snncompile.ir.ops.tensor import ReduceAttrs, ReshapeAttrs
from snncompile.ir.types import DomainKind
from snncompile.passes.analyze_spike_domain import Flow, analyze
from snncompile.passes.manager import PassContext
from snncompile.passes.rewrite import Rewriter, apply_patterns

__all__ = ["DecomposeAttention", "chain_costs"]


def _batch(shape: tuple[int, ...]) -> int:
    return math.prod(shape[:-2])


def chain_costs(a: tuple[int, ...], b: tuple[int, ...], c: tuple[int, ...]) -> dict[str, int]:
    """Neurons of ``(A @ B) @ C`` and ``A @ (B @ C)`` (see the module docstring)."""
    n, k = a[-2:]
    m, j = b[-1], c[-1]
    batch = max(_batch(a), _batch(b), _batch(c))
    return {"(AB)C": batch * (n * k * m + n * m * j), "A(BC)": batch * (k * m * j + n * k * j)}


class _Reassociate:
    """``(A @ B) @ C -> A @ (B @ C)`` for binary A, B, C when it needs fewer neurons."""

    name = "reassociate-matmul-chain"

    def __init__(self, flows: dict[str, Flow], chains: list[dict[str, Any]]) -> None:
        self.flows = flows
        self.chains = chains

    def apply(self, node: Node, rewriter: Rewriter) -> None:
        if node.op != "matmul":
            return
        inner = node.inputs[0].producer
        if inner is None or inner.op != "matmul":
            return
        if not rewriter.graph.has_single_reader(inner.output):
            return
        a, b = inner.inputs
        c = node.inputs[1]
        if not all(self._binary(v) for v in (a, b, c)):
            return
        costs = chain_costs(a.type.shape, b.type.shape, c.type.shape)
        self.chains.append({"node": node.name, **costs})
        if costs["A(BC)"] >= costs["(AB)C"]:
            self.chains[-1]["chosen"] = "(AB)C"
            return
        self.chains[-1]["chosen"] = "A(BC)"
        right = rewriter.insert_before(node, "matmul", [b, c], NoAttrs(), name=f"{node.name}_bc")
        result = rewriter.insert_before(node, "matmul", [a, right], NoAttrs(), name=node.name)
        rewriter.replace_uses(node.output, result)

    def _binary(self, value: Value) -> bool:
        flow = self.flows.get(value.name)
        return flow is not None and flow.domain.kind is DomainKind.BINARY


@dataclass(frozen=True)
class _Product:
    node: str
    module: str | None
    kind: str  # coincidence | gated
    neurons: int
    synapses: int


class _Decompose:
    """``matmul(A, B) -> sum_k(mul(A[..., n, k, 1], B[..., 1, k, m]))``."""

    name = "matmul-to-neurons"

    def __init__(self, flows: dict[str, Flow], products: list[_Product]) -> None:
        self.flows = flows
        self.products = products

    def apply(self, node: Node, rewriter: Rewriter) -> None:
        if node.op != "matmul":
            return
        a, b = node.inputs
        kinds = [self.flows[v.name].domain.kind for v in (a, b)]
        if DomainKind.BINARY not in kinds:
            return  # graded x graded: not spike-driven, stays a host product
        kind = "coincidence" if kinds == [DomainKind.BINARY] * 2 else "gated"
        n, k = a.type.shape[-2:]
        m = b.type.shape[-1]
        left = rewriter.insert_before(
            node, "reshape", [a], ReshapeAttrs(shape=(*a.type.shape, 1)), name=f"{node.name}_a"
        )
        right = rewriter.insert_before(
            node,
            "reshape",
            [b],
            ReshapeAttrs(shape=(*b.type.shape[:-2], 1, k, m)),
            name=f"{node.name}_b",
        )
        neurons = rewriter.insert_before(
            node, "mul", [left, right], NoAttrs(), name=f"{node.name}_{kind}"
        )
        axis = len(neurons.type.shape) - 2
        total = rewriter.insert_before(
            node, "sum", [neurons], ReduceAttrs(axes=(axis,)), name=node.name
        )
        rewriter.replace_uses(node.output, total)
        self.flows[total.name] = self.flows[node.output.name]  # same values, new name
        count = math.prod(neurons.type.shape)
        module = node.loc.module if node.loc else None
        # two input synapses per product neuron, one unit synapse into the sum
        self.products.append(_Product(node.name, module, kind, count, 3 * count))


@dataclass(frozen=True)
class DecomposeAttention:
    """Decompose products of activations into neurons and unit synapses (module docstring)."""

    name: ClassVar[str] = "decompose-attention"
    requires: ClassVar[frozenset[str]] = frozenset({"scales-folded"})
    ensures: ClassVar[frozenset[str]] = frozenset({"attention-decomposed"})

    reassociate: bool = True

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        chains: list[dict[str, Any]] = []
        if self.reassociate:
            graph = apply_patterns(
                graph, [_Reassociate(analyze(graph), chains)], pass_name=self.name
            )
        products: list[_Product] = []
        flows = analyze(graph)
        hadamard = [
            n.name
            for n in graph.nodes
            if n.op == "mul"
            and any(flows[v.name].domain.kind is DomainKind.BINARY for v in n.inputs)
        ]
        result = apply_patterns(graph, [_Decompose(flows, products)], pass_name=self.name)
        ctx.reports[self.name] = {
            "chains": chains,
            "products": [p.__dict__ for p in products],
            "neurons": sum(p.neurons for p in products),
            "synapses": sum(p.synapses for p in products),
            "hadamard_products": hadamard,  # already one coincidence/gated neuron per element
        }
        return result
