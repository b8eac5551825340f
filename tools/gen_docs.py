"""Regenerate the reference pages that are derived from code.

    .venv/bin/python tools/gen_docs.py

writes ``docs/diagnostics.md`` (every code, with a real example produced by triggering it
through the public API, as the test suite does) and ``docs/ir.md`` (every op with its
attributes, stages and equations). ``tests/test_docs.py`` fails when they are stale.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

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
    ]
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
            "",
            "```",
            op.doc,
            "```",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "diagnostics.md").write_text(diagnostics_markdown())
    (ROOT / "docs" / "ir.md").write_text(ir_markdown())


if __name__ == "__main__":
    main()
