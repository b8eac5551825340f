"""The op registry: every op declared once (attributes, type rule, kernel, equations).

The registry is one explicit dict built from the op lists of the level modules; there is no
registration by import side effect.
"""

from __future__ import annotations

from snncompile.diagnostics import error
from snncompile.ir.ops import fixed, network, tensor
from snncompile.ir.ops.base import OpDef, ShapeError

__all__ = ["OPS", "OpDef", "ShapeError", "get_op"]


def _registry(*groups: list[OpDef]) -> dict[str, OpDef]:
    table: dict[str, OpDef] = {}
    for group in groups:
        for op in group:
            assert op.name not in table, f"op {op.name} declared twice"
            table[op.name] = op
    return table


#: Every op of every IR level, by name.
OPS: dict[str, OpDef] = _registry(tensor.OPS, fixed.OPS, network.OPS)


def get_op(name: str, *, node: str | None = None) -> OpDef:
    """The op named ``name``; :class:`UnsupportedOpError` IR102 otherwise."""
    if name not in OPS:
        raise error("IR102", f"unknown op {name!r}; known ops: {', '.join(sorted(OPS))}", node=node)
    return OPS[name]
