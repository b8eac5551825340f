"""The IR text form: print a graph so that :mod:`snncompile.ir.parser` reads it back.

Example::

    graph @net stage=tensor {
      input %x : tensor<1x8x8xf32, real>
      %conv = conv2d(%x) {weight=@conv.weight, bias=none, stride=[1, 1], padding=[1, 1],
                          dilation=[1, 1], groups=1} : tensor<4x8x8xf32> loc("conv", "m.py:3")
      %lif = lif(%conv) {tau=2.0, v_threshold=1.0, v_reset=0.0, decay_input=true}
             : tensor<4x8x8xf32, binary>
      output %lif
    }
    resources {
      @conv.weight = array<f32, [4, 1, 3, 3]> "base64 of the little-endian bytes"
    }

(each node is one line). Arrays are printed once in the ``resources`` section and referenced as
``@name``; the same array object shared by several nodes is printed once. With
``elide_arrays=True`` the resources show a digest instead of the data: easier to read and diff,
not parseable.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from typing import Any

import numpy as np

from snncompile.ir.attrs import AttrKind, field_kinds
from snncompile.ir.graph import Graph, Node
from snncompile.ir.types import DTYPES

__all__ = ["format_float", "print_graph"]

_NUMPY_TO_TEXT = {v: k for k, v in DTYPES.items()}


def format_float(value: float) -> str:
    """Shortest text that parses back to the same float (``repr``; ``inf``, ``nan``)."""
    return repr(float(value))


def _format_scalar(kind: str, value: Any) -> str:
    if kind == "bool":
        return "true" if value else "false"
    if kind == "int":
        return str(int(value))
    if kind == "float":
        return format_float(value)
    if kind == "str":
        return json.dumps(value, ensure_ascii=False)
    raise AssertionError(kind)


class _ArrayNames:
    """Assigns each distinct array object one ``@name`` in print order."""

    def __init__(self) -> None:
        self.by_id: dict[int, str] = {}
        self.arrays: list[tuple[str, np.ndarray]] = []
        self.taken: set[str] = set()

    def name(self, array: np.ndarray, hint: str) -> str:
        key = id(array)
        if key not in self.by_id:
            name, i = hint, 1
            while name in self.taken:
                name, i = f"{hint}_{i}", i + 1
            self.taken.add(name)
            self.by_id[key] = name
            self.arrays.append((name, array))
        return self.by_id[key]


def _format_attr(kind: AttrKind, value: Any, hint: str, names: _ArrayNames) -> str:
    if value is None:
        return "none"
    if kind.base == "array":
        return "@" + names.name(value, hint)
    if kind.base in ("ints", "floats"):
        item = "int" if kind.base == "ints" else "float"
        return "[" + ", ".join(_format_scalar(item, v) for v in value) + "]"
    return _format_scalar(kind.base, value)


def _elided(attrs: Any) -> frozenset[str]:
    """Attributes marked ``elide_default`` in their field metadata that hold their default
    (none, or a scalar equal to it): left out of the text, the parser restores them."""
    out = set()
    for f in dataclasses.fields(attrs):
        if not f.metadata.get("elide_default"):
            continue
        value = getattr(attrs, f.name)
        if value is None or isinstance(value, np.ndarray):
            default = value is None and f.default is None
        else:
            default = bool(value == f.default)
        if default:
            out.add(f.name)
    return frozenset(out)


def _format_node(node: Node, names: _ArrayNames) -> str:
    results = ", ".join(f"%{v.name}" for v in node.outputs)
    args = ", ".join(f"%{v.name}" for v in node.inputs)
    kinds = field_kinds(type(node.attrs))
    attrs = ", ".join(
        f"{key}={_format_attr(kind, getattr(node.attrs, key), f'{node.name}.{key}', names)}"
        for key, kind in kinds.items()
        if key not in _elided(node.attrs)
    )
    types = ", ".join(str(v.type) for v in node.outputs)
    text = f"  {results} = {node.op}({args})"
    if attrs:
        text += f" {{{attrs}}}"
    text += f" : {types}"
    if node.loc is not None and (node.loc.module or node.loc.line):
        module = json.dumps(node.loc.module) if node.loc.module is not None else "none"
        line = json.dumps(node.loc.line) if node.loc.line is not None else "none"
        text += f" loc({module}, {line})"
    return text


def _format_array(name: str, array: np.ndarray, elide: bool) -> str:
    dtype = _NUMPY_TO_TEXT.get(array.dtype.name)
    if dtype is None:
        raise TypeError(f"array @{name} has dtype {array.dtype} that the IR cannot print")
    shape = "[" + ", ".join(str(d) for d in array.shape) + "]"
    data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    if elide:
        digest = hashlib.sha256(data).hexdigest()[:16]
        stats = ""
        if array.size and array.dtype.kind in "fiub":
            # str(): numpy 2's repr of a scalar is ``np.float64(1.0)``; str is ``1.0`` in both
            stats = f" min={array.min()!s} max={array.max()!s}"
        return f"  @{name} = array<{dtype}, {shape}> elided sha256:{digest}{stats}"
    return f'  @{name} = array<{dtype}, {shape}> "{base64.b64encode(data).decode("ascii")}"'


def print_graph(graph: Graph, *, elide_arrays: bool = False) -> str:
    """The text form of ``graph`` (see the module docstring); ends with a newline."""
    names = _ArrayNames()
    lines = [f"graph @{graph.name} stage={graph.stage} {{"]
    lines += [f"  input %{v.name} : {v.type}" for v in graph.inputs]
    if graph.once_per_inference:
        once = ", ".join(f"%{n}" for n in sorted(graph.once_per_inference))
        lines.append(f"  once_per_inference {once}")
    lines += [_format_node(node, names) for node in graph.nodes]
    lines.append("  output " + ", ".join(f"%{v.name}" for v in graph.outputs))
    lines.append("}")
    if names.arrays:
        lines.append("resources {")
        lines += [_format_array(name, array, elide_arrays) for name, array in names.arrays]
        lines.append("}")
    return "\n".join(lines) + "\n"
