"""The op registry: every op declared once (attributes, type rule, kernel, equations, traits).

The registry is one explicit dict built from the op lists of the level modules; there is no
registration by import side effect. :func:`build_registry` refuses an op that lacks a
spike-domain rule (IR112) or an operation count (IR113), or whose count disagrees with its
traits (IR114), so that no analysis or report can skip it silently. Every table of ops
(weighted ops, neurons, products, layout ops, ...) is derived from the registry by
:func:`ops_with`.
"""

from __future__ import annotations

from collections.abc import Iterable

from snncompile.diagnostics import error
from snncompile.ir.counts import no_synaptic_ops
from snncompile.ir.graph import Node
from snncompile.ir.ops import fixed, network, recurrent, tensor
from snncompile.ir.ops.base import OpDef, ShapeError, Trait

__all__ = [
    "OPS",
    "OpDef",
    "ShapeError",
    "Trait",
    "build_registry",
    "get_op",
    "has_trait",
    "ops_with",
]

#: Traits whose ops do synaptic operations (and so must count them).
_COUNTED = frozenset({Trait.WEIGHTED, Trait.PRODUCT})


def _check(op: OpDef) -> None:
    if op.domain is None:
        raise error("IR112", f"op {op.name!r} declares no spike-domain rule (OpDef.domain)")
    if op.count is None:
        raise error("IR113", f"op {op.name!r} declares no operation count (OpDef.count)")
    counted = bool(op.traits & _COUNTED)
    if counted == (op.count is no_synaptic_ops):
        what = "is weighted or a product but counts no" if counted else "counts"
        raise error(
            "IR114",
            f"op {op.name!r} {what} synaptic operations; traits: "
            f"{sorted(t.value for t in op.traits) or 'none'}",
        )


def build_registry(*groups: Iterable[OpDef]) -> dict[str, OpDef]:
    """The registry of ``groups``' ops by name, every op checked (IR112-IR114)."""
    table: dict[str, OpDef] = {}
    for group in groups:
        for op in group:
            assert op.name not in table, f"op {op.name} declared twice"
            _check(op)
            table[op.name] = op
    return table


#: Every op of every IR level, by name.
OPS: dict[str, OpDef] = build_registry(tensor.OPS, fixed.OPS, recurrent.OPS, network.OPS)


def get_op(name: str, *, node: str | None = None) -> OpDef:
    """The op named ``name``; :class:`UnsupportedOpError` IR102 otherwise."""
    if name not in OPS:
        raise error("IR102", f"unknown op {name!r}; known ops: {', '.join(sorted(OPS))}", node=node)
    return OPS[name]


def ops_with(*traits: Trait) -> frozenset[str]:
    """The names of the registered ops that declare any of ``traits``."""
    return frozenset(name for name, op in OPS.items() if op.traits & set(traits))


def has_trait(node: Node | str, *traits: Trait) -> bool:
    """Whether ``node``'s op (or the op named so) declares any of ``traits``."""
    name = node if isinstance(node, str) else node.op
    op = OPS.get(name)
    return op is not None and bool(op.traits & set(traits))
