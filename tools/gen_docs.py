"""Regenerate the reference pages that are derived from code.

    .venv/bin/python tools/gen_docs.py

writes ``docs/diagnostics.md`` (every code, with a real example produced by triggering it
through the public API, as the test suite does) and ``docs/ir.md`` (every op with its
attributes, stages and equations), and fills the key tables of ``docs/schemas.md`` (between
``<!-- schema:NAME -->`` and ``<!-- /schema:NAME -->``) from ``snncompile/report/schemas`` and
the NIR tool table of ``docs/nir.md`` (between ``<!-- nir-tools -->`` markers) from
``tests/frontend/nir_tools.py``.
``tests/test_docs.py`` and ``tests/report/test_schemas.py`` fail when they are stale.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from snncompile.diagnostics import CODES, SnnCompileError  # noqa: E402
from snncompile.ir.attrs import field_kinds  # noqa: E402
from snncompile.ir.ops import OPS  # noqa: E402


def diagnostics_markdown() -> str:
    from tests.test_diagnostics import TRIGGERS, _call

    lines = [
        "# Diagnostics",
        "",
        "Every error snncompile shows has a stable code, names the node (or file, field, pass)",
        "it is about and says how to fix it. The CLI prints one paragraph and exits 1 (2 for",
        "internal errors); `--debug` adds the traceback. The examples below are real messages,",
        "produced by triggering each code the way `tests/test_diagnostics.py` does.",
        "",
        "| code | title | class |",
        "|---|---|---|",
    ]
    lines += [f"| `{c.code}` | {c.title} | `{c.category}` |" for c in CODES.values()]
    lines.append("")
    with tempfile.TemporaryDirectory() as tmp:
        for code, entry in CODES.items():
            monkeypatch = pytest.MonkeyPatch()
            try:
                _call(TRIGGERS[code][0], Path(tmp), monkeypatch)
                example = "(no error raised)"
            except SnnCompileError as exc:
                example = exc.render().replace(tmp, "/tmp/work")
            finally:
                monkeypatch.undo()
            lines += [
                f"## `{code}` {entry.title}",
                "",
                f"Raised as `{entry.category}`. **Fix:** {entry.fix}",
                "",
                "```",
                example,
                "```",
                "",
            ]
    return "\n".join(lines)


def ir_markdown() -> str:
    lines = [
        "# IR op reference",
        "",
        "Generated from the op registry (`snncompile/ir/ops`). Shapes are per sample and per",
        "time step; kernels run one step on a batch. The text form of a node is",
        "`%out = op(%in, ...) {attr=value, ...} : tensor<shape x dtype, domain>`.",
        "",
        "Each op also declares its traits (`snncompile/ir/ops/base.py` `Trait`), its spike-domain",
        "rule (`snncompile/ir/domains.py`) and its operation count (`snncompile/ir/counts.py`);",
        "see docs/architecture.md, 'Op traits'.",
        "",
        "| op | traits | spike-domain rule | operation count |",
        "| --- | --- | --- | --- |",
    ]
    for op in OPS.values():
        traits = ", ".join(sorted(t.value for t in op.traits)) or "-"
        domain = getattr(op.domain, "__name__", "?")
        count = getattr(op.count, "__name__", "?")
        lines.append(f"| `{op.name}` | {traits} | `{domain}` | `{count}` |")
    lines.append("")
    for op in OPS.values():
        kinds = field_kinds(op.attrs)
        attrs = ", ".join(
            f"`{name}`: {kind.base}{'?' if kind.optional else ''}" for name, kind in kinds.items()
        )
        arity = "one or more (summed fan-in)" if op.arity is None else str(op.arity)
        lines += [
            f"## `{op.name}`",
            "",
            f"- stages: {', '.join(sorted(op.stages))}; inputs: {arity}; "
            f"stateful: {'yes' if op.stateful else 'no'}",
            f"- attributes: {attrs or 'none'}",
            f"- traits: {', '.join(sorted(t.value for t in op.traits)) or 'none'}; "
            f"spike domain: `{getattr(op.domain, '__name__', '?')}`; "
            f"count: `{getattr(op.count, '__name__', '?')}`",
            "",
            "```",
            op.doc,
            "```",
            "",
        ]
    return "\n".join(lines)


def _schema_type(node: dict[str, Any], defs: dict[str, Any]) -> str:
    """A short type of a schema node: ``string``, ``integer | null``, ``"a" | "b"``, ..."""
    if "$ref" in node:
        return _schema_type(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in node:
        return f"`{node['const']!r}`".replace("'", '"').replace("None", "null")
    if "enum" in node:
        return " \\| ".join("null" if v is None else f"`{v}`" for v in node["enum"])
    if "oneOf" in node:
        return " or ".join(_schema_type(alt, defs) for alt in node["oneOf"])
    kinds = node.get("type", "any")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    out = []
    for kind in kinds:
        if kind == "array":
            out.append(f"array of {_schema_type(node.get('items', {}), defs)}")
        elif kind == "object" and "properties" not in node and "additionalProperties" in node:
            values = node["additionalProperties"]
            out.append(f"object of {_schema_type(values, defs)}" if values else "object")
        else:
            out.append(kind)
    return " \\| ".join(out)


def _schema_rows(
    node: dict[str, Any], defs: dict[str, Any], prefix: str, required: bool
) -> list[str]:
    """Table rows of the keys under ``node`` (objects, array items, maps), depth first."""
    if "$ref" in node:
        node = {
            **defs[node["$ref"].rsplit("/", 1)[-1]],
            **{k: v for k, v in node.items() if k != "$ref"},
        }
    rows: list[str] = []
    if node.get("type") == "array" or node.get("type") == ["array"]:
        return _schema_rows(node.get("items", {}), defs, f"{prefix}[]", required)
    for alt in node.get("oneOf", []):
        rows += _schema_rows(alt, defs, prefix, required)
    values = node.get("additionalProperties")
    if isinstance(values, dict) and values:
        rows += _schema_rows(values, defs, f"{prefix}.<key>" if prefix else "<key>", required)
    needed = set(node.get("required", []))
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if "$ref" in child:
            child = {**defs[child["$ref"].rsplit("/", 1)[-1]], **child}
        meaning = " ".join(child.get("description", "").split()).replace("|", "\\|")
        rows.append(
            f"| `{path}` | {_schema_type(child, defs)} | {'yes' if key in needed else 'no'} | "
            f"{meaning} |"
        )
        rows += _schema_rows(child, defs, path, key in needed)
    return rows


def schema_table(name: str) -> str:
    """The key table of the schema ``name`` (every key path, type, required, meaning)."""
    from snncompile.report.schemas import load_schema

    schema = load_schema(name)
    lines = ["| key | type | required | meaning |", "|---|---|---|---|"]
    lines += _schema_rows(schema, schema.get("$defs", {}), "", True)
    return "\n".join(lines)


def schemas_markdown(text: str) -> str:
    """``text`` (docs/schemas.md) with every ``<!-- schema:NAME -->`` table regenerated."""

    def table(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"<!-- schema:{name} -->\n{schema_table(name)}\n<!-- /schema:{name} -->"

    return re.sub(r"<!-- schema:([\w-]+) -->.*?<!-- /schema:\1 -->", table, text, flags=re.DOTALL)


def nir_markdown(text: str) -> str:
    """``text`` (docs/nir.md) with the tool × neuron × option table between
    ``<!-- nir-tools -->`` markers regenerated from ``tests/frontend/nir_tools.py``."""
    from tests.frontend.nir_tools import table_markdown

    start, end = "<!-- nir-tools -->\n", "\n<!-- /nir-tools -->"
    head, rest = text.split(start, 1)
    return head + start + table_markdown() + end + rest.split(end, 1)[1]


def main() -> None:
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "diagnostics.md").write_text(diagnostics_markdown())
    (ROOT / "docs" / "ir.md").write_text(ir_markdown())
    schemas = ROOT / "docs" / "schemas.md"
    schemas.write_text(schemas_markdown(schemas.read_text()))
    nir_page = ROOT / "docs" / "nir.md"
    nir_page.write_text(nir_markdown(nir_page.read_text()))


if __name__ == "__main__":
    main()
