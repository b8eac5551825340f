"""Golden files: expected text output committed next to the tests, compared exactly.

A missing golden is a failure, never silently written: a test that writes its own expectation
and passes proves nothing. ``pytest --update-goldens`` (re)writes the goldens the selected tests
compare with; review the diff and commit it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["UPDATE_OPTION", "Goldens", "check_golden"]

UPDATE_OPTION = "--update-goldens"


def check_golden(path: Path, text: str, *, update: bool = False) -> None:
    """Fail unless ``path`` holds exactly ``text``; with ``update``, write ``text`` there."""
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    if not path.exists():
        pytest.fail(
            f"golden file {path} is missing; create it with `pytest {UPDATE_OPTION}` "
            "(then review and commit it)",
            pytrace=False,
        )
    expected = path.read_text()
    assert text == expected, f"output differs from golden {path} (`pytest {UPDATE_OPTION}`)"


@dataclass(frozen=True)
class Goldens:
    """The ``golden`` fixture: :func:`check_golden` with the session's update flag."""

    update: bool

    def check(self, path: Path, text: str) -> None:
        check_golden(path, text, update=self.update)
