"""Per-category counts of the hostile corpus, printed at the end of the run."""

from __future__ import annotations

from collections import Counter
from typing import Any

#: (category, outcome) -> number of cases run in this session.
COUNTS: Counter[tuple[str, str]] = Counter()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not COUNTS:
        return
    categories = sorted({c for c, _ in COUNTS})
    terminalreporter.section("hostile corpus")
    total = 0
    for category in categories:
        row = {kind: n for (c, kind), n in COUNTS.items() if c == category}
        total += sum(row.values())
        parts = ", ".join(f"{kind} {n}" for kind, n in sorted(row.items()))
        terminalreporter.write_line(f"{category:>10}: {sum(row.values()):4d} cases ({parts})")
    terminalreporter.write_line(f"{'total':>10}: {total:4d} cases")
