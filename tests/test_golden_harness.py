"""The golden-file harness: a missing golden fails; --update-goldens writes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden import UPDATE_OPTION, check_golden

pytest_plugins = ["pytester"]


def test_missing_golden_fails_and_says_how_to_create_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.snnir"
    with pytest.raises(pytest.fail.Exception) as info:
        check_golden(path, "graph @g {}\n")
    assert UPDATE_OPTION in str(info.value) and str(path) in str(info.value)
    assert not path.exists()  # never written behind the test's back


def test_update_writes_and_then_the_golden_is_compared(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "g.snnir"
    check_golden(path, "one\n", update=True)
    assert path.read_text() == "one\n"
    check_golden(path, "one\n")
    with pytest.raises(AssertionError):
        check_golden(path, "two\n")


def test_option_through_pytest(pytester: pytest.Pytester) -> None:
    """A real pytest session with the project's conftest: fails without, passes with the flag."""
    root = Path(__file__).resolve().parents[1]
    pytester.makeconftest(
        f"import sys\nsys.path.insert(0, {str(root)!r})\n"
        "from tests.conftest import golden, pytest_addoption  # noqa: F401\n"
    )
    pytester.makepyfile(
        test_g="""
from pathlib import Path

def test_g(golden):
    golden.check(Path(__file__).parent / "g.golden", "text\\n")
"""
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1)
    pytester.runpytest("-p", "no:cacheprovider", UPDATE_OPTION).assert_outcomes(passed=1)
    assert (pytester.path / "g.golden").read_text() == "text\n"
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
