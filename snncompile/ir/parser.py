"""Parse the IR text form (see :mod:`snncompile.ir.printer` for the grammar by example).

Every syntax error is an IR101 diagnostic naming the line and column; unknown ops raise IR102,
wrong attributes IR103, undefined or duplicate values IR104/IR105, missing array data IR108.
The parser checks syntax and names; types are checked by the verifier.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from snncompile.diagnostics import SnnCompileError, error
from snncompile.ir.attrs import AttrKind, AttrTypeError, field_kinds
from snncompile.ir.graph import STAGES, Graph, Node, SourceLoc, Value
from snncompile.ir.ops import get_op
from snncompile.ir.types import DTYPES, DomainKind, FixedPoint, SpikeDomain, TensorType

__all__ = ["parse_graph"]

_NAME = re.compile(r"[\w.]+")
_WORD = re.compile(r"[A-Za-z_][\w]*")
_INT = re.compile(r"[-+]?\d+(?![\w.])")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+|inf|nan)(?![\w.])")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_DIMS_DTYPE = re.compile(r"((?:\d+x)*)(" + "|".join(sorted(DTYPES, key=len, reverse=True)) + r")\b")


@dataclass(frozen=True)
class _ArrayRef:
    name: str
    line: int


@dataclass(frozen=True)
class _Elided:
    """An array printed without its data (``elided sha256:...``)."""

    line: int


@dataclass
class _PendingNode:
    results: list[str]
    op: str
    args: list[str]
    attrs: dict[str, Any]
    types: list[TensorType]
    loc: SourceLoc | None
    line: int


class _Cursor:
    """A position in the text with helpers that raise IR101 on mismatch."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.context: str | None = None  # the node being parsed, for messages

    # position -------------------------------------------------------------------------------
    def line_col(self, pos: int | None = None) -> tuple[int, int]:
        pos = self.pos if pos is None else pos
        line = self.text.count("\n", 0, pos) + 1
        col = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return line, col

    def fail(self, expected: str) -> SnnCompileError:
        line, col = self.line_col()
        found = self.text[self.pos : self.pos + 20].split("\n")[0] or "end of line"
        if self.pos >= len(self.text):
            found = "end of input"
        inside = f" (in {self.context})" if self.context else ""
        return error(
            "IR101",
            f"line {line}, column {col}{inside}: expected {expected}, found {found!r}",
            node=self.context,
        )

    # scanning -------------------------------------------------------------------------------
    def skip(self) -> None:
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t\r\n":
                self.pos += 1
            elif ch == "#":  # comment to end of line
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def peek(self, literal: str) -> bool:
        self.skip()
        return self.text.startswith(literal, self.pos)

    def accept(self, literal: str) -> bool:
        if self.peek(literal):
            self.pos += len(literal)
            return True
        return False

    def expect(self, literal: str) -> None:
        if not self.accept(literal):
            raise self.fail(repr(literal))

    def regex(self, pattern: re.Pattern[str], what: str) -> str:
        self.skip()
        match = pattern.match(self.text, self.pos)
        if not match:
            raise self.fail(what)
        self.pos = match.end()
        return match.group(0)

    def keyword(self, word: str) -> None:
        self.skip()
        match = _WORD.match(self.text, self.pos)
        if not match or match.group(0) != word:
            raise self.fail(repr(word))
        self.pos = match.end()

    def sigil_name(self, sigil: str) -> str:
        self.expect(sigil)
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise self.fail(f"a name after {sigil!r}")
        self.pos = match.end()
        return match.group(0)

    def string(self) -> str:
        token = self.regex(_STRING, "a string")
        try:
            result = json.loads(token)
        except json.JSONDecodeError as exc:
            raise self.fail(f"a valid string ({exc.msg})") from exc
        assert isinstance(result, str)
        return result

    def integer(self) -> int:
        return int(self.regex(_INT, "an integer"))

    def int_list(self) -> list[int]:
        self.expect("[")
        items: list[int] = []
        if not self.accept("]"):
            items.append(self.integer())
            while self.accept(","):
                items.append(self.integer())
            self.expect("]")
        return items


# --- types --------------------------------------------------------------------------------


def _parse_type(cur: _Cursor) -> TensorType:
    cur.keyword("tensor")
    cur.expect("<")
    cur.skip()
    match = _DIMS_DTYPE.match(cur.text, cur.pos)
    if not match:
        raise cur.fail(f"dimensions and a dtype like 4x8xf32 (dtypes: {', '.join(DTYPES)})")
    cur.pos = match.end()
    shape = tuple(int(d) for d in match.group(1).split("x") if d)
    domain: SpikeDomain | None = None
    fixed: FixedPoint | None = None
    while cur.accept(","):
        word = cur.regex(_WORD, "a spike domain or fixp<...>")
        if word == "fixp":
            fixed = _parse_fixp(cur)
        elif word == "count":
            cur.expect("(")
            bound = cur.integer()
            cur.expect(")")
            domain = _make(cur, SpikeDomain.count, bound)
        elif word in {k.value for k in DomainKind} - {"count"}:
            domain = SpikeDomain(DomainKind(word))
        else:
            raise cur.fail("binary, count(k), int, real or fixp<bits, frac>")
    cur.expect(">")
    return _make(cur, TensorType, shape, match.group(2), domain, fixed)


def _parse_fixp(cur: _Cursor) -> FixedPoint:
    cur.expect("<")
    bits = cur.integer()
    cur.expect(",")
    frac = cur.integer()
    signed = True
    if cur.accept(","):
        cur.keyword("unsigned")
        signed = False
    cur.expect(">")
    return _make(cur, FixedPoint, bits, frac, signed)


def _make(cur: _Cursor, build: Any, *args: Any) -> Any:
    try:
        return build(*args)
    except ValueError as exc:
        raise cur.fail(f"a valid type ({exc})") from exc


# --- attributes ---------------------------------------------------------------------------


def _parse_attr_value(cur: _Cursor) -> Any:
    cur.skip()
    if cur.peek("@"):
        line, _ = cur.line_col()
        return _ArrayRef(cur.sigil_name("@"), line)
    if cur.peek('"'):
        return cur.string()
    if cur.peek("["):
        cur.expect("[")
        items: list[str] = []
        if not cur.accept("]"):
            items.append(cur.regex(_NUMBER, "a number"))
            while cur.accept(","):
                items.append(cur.regex(_NUMBER, "a number"))
            cur.expect("]")
        return items
    for word, value in (("none", None), ("true", True), ("false", False)):
        match = _WORD.match(cur.text, cur.pos)
        if match and match.group(0) == word:
            cur.pos = match.end()
            return value
    return _RawNumber(cur.regex(_NUMBER, "an attribute value"))


@dataclass(frozen=True)
class _RawNumber:
    text: str


def _convert(
    kind: AttrKind, raw: Any, key: str, arrays: dict[str, np.ndarray | _Elided], node: str
) -> Any:
    """Turn a parsed token into the field's Python value (type errors surface in OpAttrs)."""
    if raw is None:
        return None
    if isinstance(raw, _ArrayRef):
        array = arrays.get(raw.name)
        if not isinstance(array, np.ndarray):
            why = (
                f"was printed with its data elided (line {array.line})"
                if isinstance(array, _Elided)
                else "has no data in the resources section"
            )
            raise error(
                "IR108",
                f"line {raw.line}: attribute {key!r} of {node} refers to @{raw.name}, which {why}",
                node=node,
            )
        return array
    if isinstance(raw, _RawNumber):
        return _number(raw.text, kind.base)
    if isinstance(raw, list):
        item = "int" if kind.base == "ints" else "float"
        return [_number(t, item) for t in raw]
    return raw


def _number(text: str, base: str) -> Any:
    if base == "int" or base == "ints":
        if _INT.fullmatch(text):
            return int(text)
        return float(text)  # rejected by the attrs class with a clear message
    return float(text)


# --- graph --------------------------------------------------------------------------------


def _parse_node(cur: _Cursor) -> _PendingNode:
    line, _ = cur.line_col()
    results = [cur.sigil_name("%")]
    cur.context = f"%{results[0]}"
    while cur.accept(","):
        results.append(cur.sigil_name("%"))
    cur.expect("=")
    op = cur.regex(_WORD, "an op name")
    cur.expect("(")
    args: list[str] = []
    if not cur.accept(")"):
        args.append(cur.sigil_name("%"))
        while cur.accept(","):
            args.append(cur.sigil_name("%"))
        cur.expect(")")
    attrs: dict[str, Any] = {}
    if cur.accept("{") and not cur.accept("}"):
        while True:
            key = cur.regex(_WORD, "an attribute name")
            if key in attrs:
                raise error(
                    "IR103", f"line {line}: attribute {key!r} given twice", node=cur.context
                )
            cur.expect("=")
            attrs[key] = _parse_attr_value(cur)
            if cur.accept("}"):
                break
            cur.expect(",")
    cur.expect(":")
    types = [_parse_type(cur)]
    while cur.accept(","):
        types.append(_parse_type(cur))
    loc = None
    if cur.peek("loc"):
        cur.keyword("loc")
        cur.expect("(")
        module = None if cur.accept("none") else cur.string()
        cur.expect(",")
        source_line = None if cur.accept("none") else cur.string()
        cur.expect(")")
        loc = SourceLoc(module, source_line)
    cur.context = None
    return _PendingNode(results, op, args, attrs, types, loc, line)


def _parse_resources(cur: _Cursor) -> dict[str, np.ndarray | _Elided]:
    arrays: dict[str, np.ndarray | _Elided] = {}
    cur.keyword("resources")
    cur.expect("{")
    while not cur.accept("}"):
        name = cur.sigil_name("@")
        cur.expect("=")
        cur.keyword("array")
        cur.expect("<")
        dtype_text = cur.regex(_WORD, "an array dtype")
        if dtype_text not in DTYPES:
            raise cur.fail(f"an array dtype ({', '.join(DTYPES)})")
        cur.expect(",")
        shape = cur.int_list()
        cur.expect(">")
        if name in arrays:
            raise error("IR105", f"array @{name} is defined twice in resources", node=f"@{name}")
        if cur.peek("elided"):
            arrays[name] = _Elided(cur.line_col()[0])
            end = cur.text.find("\n", cur.pos)
            cur.pos = len(cur.text) if end < 0 else end
            continue
        data = cur.string()
        dtype = np.dtype(DTYPES[dtype_text]).newbyteorder("<")
        try:
            raw = base64.b64decode(data, validate=True)
            array = np.frombuffer(raw, dtype=dtype).reshape(shape)
        except (binascii.Error, ValueError) as exc:
            raise cur.fail(f"base64 data of {shape} {dtype_text} values for @{name}") from exc
        native = array.astype(dtype.newbyteorder("="))
        native.flags.writeable = False
        arrays[name] = native
    return arrays


def parse_graph(text: str) -> Graph:
    """Parse one graph (and its resources) from its text form."""
    cur = _Cursor(text)
    cur.keyword("graph")
    name = cur.sigil_name("@")
    cur.keyword("stage")
    cur.expect("=")
    stage = cur.regex(_WORD, "a stage name")
    if stage not in STAGES:
        raise cur.fail(f"a stage ({', '.join(STAGES)})")
    cur.expect("{")
    inputs: list[tuple[str, TensorType, int]] = []
    pending: list[_PendingNode] = []
    outputs: list[str] = []
    once: list[str] = []
    output_line = 0
    while not cur.accept("}"):
        if cur.peek("input ") or cur.peek("input\t"):
            line, _ = cur.line_col()
            cur.keyword("input")
            value_name = cur.sigil_name("%")
            cur.expect(":")
            inputs.append((value_name, _parse_type(cur), line))
        elif cur.peek("once_per_inference"):
            cur.keyword("once_per_inference")
            once.append(cur.sigil_name("%"))
            while cur.accept(","):
                once.append(cur.sigil_name("%"))
        elif cur.peek("output"):
            output_line, _ = cur.line_col()
            cur.keyword("output")
            outputs.append(cur.sigil_name("%"))
            while cur.accept(","):
                outputs.append(cur.sigil_name("%"))
        elif cur.peek("%"):
            pending.append(_parse_node(cur))
        else:
            raise cur.fail("'input', 'output', a node '%name = op(...)' or '}'")
    arrays = _parse_resources(cur) if not cur.at_end() else {}
    if not cur.at_end():
        raise cur.fail("end of input")
    graph = _build(name, stage, inputs, pending, outputs, output_line, arrays)
    graph.once_per_inference = frozenset(once)
    return graph


def _build(
    name: str,
    stage: str,
    inputs: list[tuple[str, TensorType, int]],
    pending: list[_PendingNode],
    outputs: list[str],
    output_line: int,
    arrays: dict[str, np.ndarray | _Elided],
) -> Graph:
    scope: dict[str, Value] = {}

    def define(value_name: str, type_: TensorType, line: int) -> Value:
        if value_name in scope:
            raise error(
                "IR105", f"line {line}: %{value_name} is defined twice", node=f"%{value_name}"
            )
        scope[value_name] = Value(value_name, type_)
        return scope[value_name]

    def use(value_name: str, line: int, user: str) -> Value:
        if value_name not in scope:
            raise error(
                "IR104",
                f"line {line}: {user} uses %{value_name} before it is defined",
                node=f"%{value_name}",
            )
        return scope[value_name]

    graph = Graph(name, stage)
    graph.inputs = [define(n, t, line) for n, t, line in inputs]
    for p in pending:
        node_name = f"%{p.results[0]}"
        op = get_op(p.op, node=node_name)
        node_inputs = [use(a, p.line, f"{node_name} ({p.op})") for a in p.args]
        attrs = _build_attrs(op.attrs, p, arrays)
        if len(p.types) != len(p.results):
            raise error(
                "IR101",
                f"line {p.line}: {len(p.results)} results but {len(p.types)} types",
                node=node_name,
            )
        node_outputs = [define(r, t, p.line) for r, t in zip(p.results, p.types, strict=True)]
        graph.nodes.append(Node(p.op, node_inputs, attrs, node_outputs, p.loc))
    graph.outputs = [use(o, output_line, "the graph output") for o in outputs]
    return graph


def _build_attrs(cls: type, p: _PendingNode, arrays: dict[str, np.ndarray | _Elided]) -> Any:
    kinds = field_kinds(cls)
    node_name = f"%{p.results[0]}"
    unknown = sorted(set(p.attrs) - set(kinds))
    if unknown:
        raise error(
            "IR103",
            f"line {p.line}: {p.op} has no attribute(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(kinds) or 'none'}",
            node=node_name,
        )
    required = {f.name for f in dataclasses.fields(cls) if _required(f)}
    missing = sorted(required - set(p.attrs))
    if missing:
        raise error(
            "IR103",
            f"line {p.line}: {p.op} needs attribute(s) {', '.join(missing)}",
            node=node_name,
        )
    values = {k: _convert(kinds[k], raw, k, arrays, node_name) for k, raw in p.attrs.items()}
    try:
        return cls(**values)
    except AttrTypeError as exc:
        raise error("IR103", f"line {p.line}: {p.op}: {exc}", node=node_name) from exc


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
