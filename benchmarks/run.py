"""Run every benchmark and rewrite ``docs/benchmarks.md`` (``make bench``).

    .venv/bin/python -m benchmarks.run                 # every case; writes the JSON and the page
    .venv/bin/python -m benchmarks.run --quick         # without the ImageNet-size cases; prints
    .venv/bin/python -m benchmarks.run --render-only   # the page again from the JSON
    .venv/bin/python -m benchmarks.run --list          # the cases
    .venv/bin/python -m benchmarks.run --child SPEC [--threads N]   # one case, JSON on stdout

Each case runs in its own child process (``--child KIND:SOURCE``, one after the other, never
in parallel; the ImageNet-size compiles twice, keeping the faster run and the larger peak) so
that its peak memory is its own and a crash only fails that case: the case is
recorded as failed, with the end of its error output, and the run goes on. A full run writes
the raw results to ``benchmarks/results.json`` and renders ``docs/benchmarks.md`` from them
(:mod:`benchmarks.render`); ``--quick`` and ``--case`` runs print the page and write files only
when ``--output``/``--json`` name them.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.render import render_markdown

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.json"
DOC = ROOT / "docs" / "benchmarks.md"
#: Prefix of the child's result line on stdout (libraries may print too).
MARKER = "BENCHMARK-RESULT "
DIGITS = ("spikformer", "spikingformer", "sdt", "spikingresformer")


@dataclass(frozen=True)
class Case:
    """One benchmark: ``spec`` is ``KIND:SOURCE`` (see :data:`benchmarks.cases.KINDS`)."""

    id: str
    section: str
    title: str
    spec: str
    imagenet: bool = False
    threads: int = 2
    runs: int = 1


CASES: tuple[Case, ...] = (
    Case(
        "trace-spikformer-digits",
        "frontend",
        "trace spikformer_digits",
        "trace:zoo:spikformer_digits",
    ),
    Case(
        "trace-spikingresformer-digits",
        "frontend",
        "trace spikingresformer_digits",
        "trace:zoo:spikingresformer_digits",
    ),
    Case(
        "check-spikformer", "frontend", "check spikformer.pt", "check:examples/digits/spikformer.pt"
    ),
    Case(
        "text-spikformer-digits",
        "frontend",
        "print + parse IR, spikformer_digits",
        "text:zoo:spikformer_digits",
    ),
    Case(
        "float-sim-spikingformer",
        "float-sim",
        "spikingformer.pt (digits)",
        "simulate:examples/digits/spikingformer.pt",
        threads=1,
    ),
    *(
        Case(f"network-{name}", "network", f"{name}.pt", f"network:examples/digits/{name}.pt")
        for name in DIGITS
    ),
    Case(
        "sim-spikingformer",
        "sim",
        "spikingformer.pt (digits)",
        "sim:examples/digits/spikingformer.pt",
        threads=1,
    ),
    Case(
        "sim-spikformer-4-384",
        "sim",
        "spikformer_4_384 (CIFAR size, random weights)",
        "sim:zoo:spikformer_4_384",
        threads=1,
    ),
    Case(
        "lava-spikingformer",
        "lava",
        "spikingformer.pt (digits)",
        "lava:examples/digits/spikingformer.pt",
        threads=1,
    ),
    Case(
        "imagenet-spikformer-8-768",
        "imagenet",
        "spikformer_8_768",
        "network:zoo:spikformer_8_768",
        imagenet=True,
        runs=2,
    ),
    Case(
        "imagenet-spikingresformer-l",
        "imagenet",
        "spikingresformer_l",
        "network:zoo:spikingresformer_l",
        imagenet=True,
        runs=2,
    ),
    Case("gpu-check", "gpu", "digits models, numpy vs torch engine", "gpu:digits"),
    Case(
        "startup-spikingformer",
        "startup",
        "spikingformer.pt (digits)",
        "startup:examples/digits/spikingformer.pt",
    ),
)


# --- the child ----------------------------------------------------------------------------------
def child(spec: str, threads: int) -> dict[str, Any]:
    """Run one case in this process on ``threads`` CPU threads (torch's; the BLAS libraries'
    come from the environment the runner sets); the result with peak RSS and load averages."""
    load_start = os.getloadavg()[0]
    import torch

    import snncompile.api  # noqa: F401  (the imports every case pays, measured apart)
    from benchmarks.cases import KINDS, peak_rss_mb

    torch.set_num_threads(threads)
    imported = peak_rss_mb()
    kind, source = spec.split(":", 1)
    if kind not in KINDS:
        raise SystemExit(f"unknown benchmark kind {kind!r} (one of {', '.join(KINDS)})")
    result = KINDS[kind](source)
    result.update(
        peak_rss_mb=peak_rss_mb(),
        import_rss_mb=imported,
        load_start=load_start,
        load_end=os.getloadavg()[0],
        threads=torch.get_num_threads(),
    )
    return result


# --- the runner ---------------------------------------------------------------------------------
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def child_command(case: Case) -> list[str]:
    """The command that runs one case (tests replace it)."""
    return [
        sys.executable,
        "-m",
        "benchmarks.run",
        "--child",
        case.spec,
        "--threads",
        str(case.threads),
    ]


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _run_child(case: Case, timeout: float) -> tuple[dict[str, Any] | None, str, float]:
    """One child process of ``case``: its result (None when it failed), error text, seconds."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            child_command(case),
            cwd=ROOT,
            env={**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(case.threads))},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        error = _tail(f"{stderr}\ntimed out after {timeout:g} s")
        return None, error, time.perf_counter() - start
    wall_s = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARKER)]
    if proc.returncode != 0 or not lines:
        return None, _tail(f"{proc.stderr}\n{proc.stdout}\nexit code {proc.returncode}"), wall_s
    try:
        return json.loads(lines[-1][len(MARKER) :]), "", wall_s
    except json.JSONDecodeError as exc:
        return None, f"unreadable result ({exc}): {lines[-1][:200]}", wall_s


def run_case(case: Case, *, timeout: float) -> dict[str, Any]:
    """Run ``case`` in ``case.runs`` child processes, one after the other; its record (``status``
    ok, failed or skipped). With several runs the result is the fastest run's, with the
    largest peaks (RSS, and after tracing) of the runs and every run's result in ``runs``."""
    record: dict[str, Any] = {
        "id": case.id,
        "section": case.section,
        "title": case.title,
        "spec": case.spec,
        "threads": case.threads,
        "status": "failed",
        "result": {},
        "error": "",
        "wall_s": 0.0,
    }
    results = []
    for _ in range(case.runs):
        result, error, wall_s = _run_child(case, timeout)
        record["wall_s"] += wall_s
        if result is None:
            record["error"] = error
            return record
        if "skipped" in result:
            record.update(status="skipped", error=str(result["skipped"]), result=result)
            return record
        results.append(result)
    best = dict(min(results, key=lambda r: float(r["seconds"])))
    if len(results) > 1:
        for peak in ("peak_rss_mb", "trace_peak_rss_mb"):
            if all(peak in r for r in results):
                best[peak] = max(r[peak] for r in results)
        best["runs"] = results
    record.update(status="ok", result=best)
    return record


def _command_output(command: Sequence[str]) -> str:
    try:
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    for key in ("model name", "Model", "Hardware", "cpu model"):
        for line in text.splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key and value.strip():
                return value.strip()
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """Hardware, versions and the git commit of this checkout."""
    torch_build = _command_output(
        [sys.executable, "-c", "import torch; print(torch.__version__, torch.version.cuda)"]
    ).split()
    changed = _command_output(["git", "diff", "--name-only", "HEAD"]).splitlines()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "arch": platform.machine(),
        "cores": cores,
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch_build[0] if torch_build else _version("torch"),
        "torch_cuda": torch_build[1] if len(torch_build) > 1 and torch_build[1] != "None" else None,
        "numpy": _version("numpy"),
        "lava-nc": _version("lava-nc"),
        "snncompile": _version("snncompile"),
        "commit": _command_output(["git", "rev-parse", "--short=12", "HEAD"]) or "unknown",
        "uncommitted": changed,
    }


def run_all(cases: Sequence[Case], *, timeout: float, quick: bool) -> dict[str, Any]:
    """Run ``cases`` one after the other; the results dict :func:`render_markdown` reads."""
    started = datetime.datetime.now().astimezone()
    load_start = os.getloadavg()
    start = time.perf_counter()
    info = machine()
    records = []
    for number, case in enumerate(cases, 1):
        print(f"[{number}/{len(cases)}] {case.title} ({case.spec}) ...", end=" ", flush=True)
        record = run_case(case, timeout=timeout)
        records.append(record)
        result = record["result"]
        if record["status"] == "ok":
            print(f"{result['seconds']:.2f} s, peak {result['peak_rss_mb']:,.0f} MiB", flush=True)
        else:
            reason = (record["error"].splitlines() or [""])[-1]
            print(f"{record['status'].upper()}: {reason}", flush=True)
    return {
        "schema": 1,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "total_seconds": time.perf_counter() - start,
        "quick": quick,
        "load_average": {"start": list(load_start), "end": list(os.getloadavg())},
        "machine": info,
        "cases": records,
    }


def merge_rerun(previous: dict[str, Any], rerun: dict[str, Any]) -> dict[str, Any]:
    """``previous`` with the cases of ``rerun`` replaced (or added) by id; each replaced record
    carries ``rerun``: when and at which commit it ran, and the load (the page says so)."""
    merged = {**previous, "cases": list(previous["cases"])}
    ids = [case["id"] for case in merged["cases"]]
    for record in rerun["cases"]:
        record = {
            **record,
            "rerun": {
                "started": rerun["started"],
                "commit": rerun["machine"].get("commit"),
                "uncommitted": len(rerun["machine"].get("uncommitted") or []),
                "load_average": rerun["load_average"],
            },
        }
        if record["id"] in ids:
            merged["cases"][ids.index(record["id"])] = record
        else:
            merged["cases"].append(record)
    return merged


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the ImageNet-size cases")
    parser.add_argument("--case", action="append", metavar="ID", help="run only this case")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument(
        "--render-only", action="store_true", help="render the page from the JSON, run nothing"
    )
    parser.add_argument("--json", type=Path, help=f"results file (full run: {RESULTS})")
    parser.add_argument("--output", type=Path, help=f"markdown page (full run: {DOC})")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per case")
    parser.add_argument(
        "--update",
        action="store_true",
        help="with --case: put those cases' new results into the results file (the other "
        "cases keep theirs) and rewrite the page",
    )
    parser.add_argument("--child", metavar="SPEC", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of a --child")
    args = parser.parse_args(argv)
    if args.child:
        print(MARKER + json.dumps(child(args.child, args.threads)), flush=True)
        return 0
    if args.list:
        for case in CASES:
            size = " (ImageNet size)" if case.imagenet else ""
            runs = f", {case.runs} runs" if case.runs > 1 else ""
            print(f"{case.id:32} {case.spec} ({case.threads} threads{runs}){size}")
        return 0
    if args.render_only:
        results = json.loads((args.json or RESULTS).read_text())
        _write(args.output or DOC, render_markdown(results))
        return 0
    if args.update and not args.case:
        parser.error("--update needs --case ID (the cases to rerun)")
    cases = [c for c in CASES if not (args.quick and c.imagenet)]
    if args.case:
        unknown = sorted(set(args.case) - {c.id for c in CASES})
        if unknown:
            parser.error(f"unknown case(s) {', '.join(unknown)}; see --list")
        cases = [c for c in CASES if c.id in args.case]
    full = not args.quick and not args.case
    results = run_all(cases, timeout=args.timeout, quick=args.quick)
    if args.update:
        results = merge_rerun(json.loads((args.json or RESULTS).read_text()), results)
        full = True
    json_path = args.json or (RESULTS if full else None)
    doc_path = args.output or (DOC if full else None)
    page = render_markdown(results)
    if json_path is not None:
        _write(json_path, json.dumps(results, indent=1) + "\n")
    if doc_path is not None:
        _write(doc_path, page)
    else:
        print(page)
    failed = [r["title"] for r in results["cases"] if r["status"] == "failed"]
    if failed:
        print(f"{len(failed)} case(s) failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
