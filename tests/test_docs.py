"""Generated reference pages are up to date (regenerate with `python tools/gen_docs.py`)."""

from __future__ import annotations

from pathlib import Path

from tools.gen_docs import ROOT, ir_markdown


def test_ir_reference_is_current() -> None:
    assert (ROOT / "docs" / "ir.md").read_text() == ir_markdown(), (
        "docs/ir.md is stale: run `.venv/bin/python tools/gen_docs.py`"
    )


def test_readme_has_the_two_commands() -> None:
    readme = (Path(ROOT) / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    ci = (Path(ROOT) / ".ci" / "run").read_text()
    assert "make test" in ci
