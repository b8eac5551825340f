"""Before/after the chip-neutral core (issue 16): the same benchmark cases at two commits.

The acceptance of issue 16 asks that no benchmark case be slower by more than 10 % than at the
commit before the redesign (``023a7e6``). The cases are run interleaved in one session, each
case first at the old commit then at the new one, so that both see the same machine load::

    git archive 023a7e6 | tar -x -C /tmp/before   # OLD_PY: a venv over the shared one with
    git archive HEAD | tar -x -C /tmp/after       # numpy<2, networkx<=2.8.7,
    # spikingjelly==0.0.0.0.14 and ml_dtypes>=0.5.4,<0.6 (onnx needs it, 0.7 needs numpy 2)
    for c in CASES; do
      (cd /tmp/before && PYTHONPATH=. $OLD_PY -m benchmarks.run --case $c \\
          --json DIR/before_$c.json --output DIR/before_$c.md)
      (cd /tmp/after && PYTHONPATH=. $NEW_PY -m benchmarks.run --case $c \\
          --json DIR/after_$c.json --output DIR/after_$c.md)
    done
    python -m benchmarks.before_after DIR [DIR2 ...] --before 023a7e6 --after <commit>

which writes :data:`BEFORE_AFTER` (the raw per-case results of both commits);
:func:`render_section` renders it into ``docs/benchmarks.md``. The compared number is each
case's own measurement (``result["seconds"]``: the timed work without interpreter start-up).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["BEFORE_AFTER", "CASES", "LIMIT", "collect", "render_section"]

BEFORE_AFTER = Path(__file__).with_name("before_after.json")
#: The slowdown issue 16 allows: after / before at most 1.10.
LIMIT = 1.10
#: The cases compared: every case of ``--quick`` both commits have (not the GPU check; the
#: old commit has no ``startup-spikingformer``, so it has no row).
CASES = (
    "trace-spikformer-digits",
    "trace-spikingresformer-digits",
    "check-spikformer",
    "text-spikformer-digits",
    "float-sim-spikingformer",
    "network-spikformer",
    "network-spikingformer",
    "network-sdt",
    "network-spikingresformer",
    "sim-spikingformer",
    "sim-spikformer-4-384",
    "lava-spikingformer",
    "startup-spikingformer",
)


def _case(path: Path) -> dict[str, Any]:
    (case,) = json.loads(path.read_text())["cases"]
    return {
        "status": case["status"],
        "seconds": (case["result"] or {}).get("seconds"),
        "wall_s": case["wall_s"],
        "load": [(case["result"] or {}).get("load_start"), (case["result"] or {}).get("load_end")],
    }


def _fastest(paths: Sequence[Path]) -> dict[str, Any]:
    """The fastest ok run of one side (the least disturbed by the load), with every run's
    seconds kept in ``runs``."""
    runs = [_case(path) for path in paths]
    ok = [run for run in runs if run["status"] == "ok" and run["seconds"] is not None]
    best = dict(min(ok, key=lambda run: run["seconds"]) if ok else runs[0])
    best["runs"] = [run["seconds"] for run in runs]
    return best


def collect(directories: Sequence[Path], before: str, after: str) -> dict[str, Any]:
    """The per-case results of both commits from ``directories`` (each with ``before_<id>.json``
    and ``after_<id>.json`` of single-case runs, one interleaved pass each); per side the
    fastest run counts."""
    cases = []
    for case_id in CASES:
        pairs = [(d / f"before_{case_id}.json", d / f"after_{case_id}.json") for d in directories]
        pairs = [(old, new) for old, new in pairs if old.exists() and new.exists()]
        if pairs:
            cases.append(
                {
                    "id": case_id,
                    "before": _fastest([old for old, _ in pairs]),
                    "after": _fastest([new for _, new in pairs]),
                }
            )
    return {"schema": 1, "before": before, "after": after, "cases": cases}


def _ratio(case: Mapping[str, Any]) -> float | None:
    old, new = case["before"], case["after"]
    if old["status"] != "ok" or new["status"] != "ok" or not old["seconds"]:
        return None
    return float(new["seconds"]) / float(old["seconds"])


def render_section(data: Mapping[str, Any], notes: Mapping[str, str] | None = None) -> list[str]:
    """The "before/after the chip-neutral core" section of the page, from :func:`collect`'s
    dict; ``notes`` explains, per case id, a case over :data:`LIMIT`."""
    notes = notes or data.get("notes") or {}
    rows: list[Sequence[str]] = []
    over = []
    for case in data["cases"]:
        ratio = _ratio(case)
        verdict = "n/a" if ratio is None else ("yes" if ratio <= LIMIT else "**no**")
        if ratio is not None and ratio > LIMIT:
            over.append(case["id"])
        cells = [
            f"{case[side]['seconds']:.3f}" if case[side]["status"] == "ok" else case[side]["status"]
            for side in ("before", "after")
        ]
        rows.append([case["id"], *cells, "n/a" if ratio is None else f"{ratio:.2f}", verdict])
    passes = max((len(c["before"].get("runs", [0])) for c in data["cases"]), default=0)
    lines = [
        "## Before/after the chip-neutral core",
        "",
        f"Each case's own timed work (seconds) at `{data['before']}` (the commit before issue 16's "
        f"redesign, numpy 1) and at `{data['after']}`, run interleaved in one session (case by "
        "case, old commit first) so that both see the same load, the fastest of "
        f"{passes} passes per side; raw numbers in "
        "`benchmarks/before_after.json`, method in `benchmarks/before_after.py`. Issue 16 allows "
        f"after/before up to {LIMIT:.2f}.",
        "",
        "| case | before (s) | after (s) | after/before | within 10 % |",
        "|---|---|---|---|---|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]
    if over:
        lines += [f"Over the limit: {', '.join(over)}.", ""]
        lines += [f"- `{case_id}`: {notes[case_id]}" for case_id in over if case_id in notes]
    else:
        lines.append("No case is slower by more than 10 %.")
    return [*lines, ""]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "directory", type=Path, nargs="+", help="single-case results of both commits, per pass"
    )
    parser.add_argument("--before", required=True, help="the old commit")
    parser.add_argument("--after", required=True, help="the new commit")
    parser.add_argument("--json", type=Path, default=BEFORE_AFTER, help="where to write")
    args = parser.parse_args(argv)
    data = collect(args.directory, args.before, args.after)
    if args.json.exists():  # keep the explanations written for this comparison
        data["notes"] = json.loads(args.json.read_text()).get("notes", {})
    args.json.write_text(json.dumps(data, indent=1) + "\n")
    print("\n".join(render_section(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
