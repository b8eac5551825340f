"""Render ``docs/benchmarks.md`` from the results of ``benchmarks.run`` (a JSON-able dict).

Every number of the page comes from ``results``; the prose around the tables explains what the
cases measure and holds no measurements of its own (only the targets the issues set). A case
that failed or was skipped keeps its row, with the reason in place of numbers.

``results`` has ``machine`` (see ``benchmarks.run.machine``), ``started``/``finished``
(ISO times), ``total_seconds``, ``load_average`` (``start``/``end``: the 1, 5 and 15 minute
averages), ``quick`` and ``cases``: a list of ``{id, section, title, spec, status, result,
error, wall_s}`` with ``status`` one of ``ok``, ``failed`` or ``skipped`` and ``result`` the
child's dict (``seconds``, ``peak_rss_mb``, ``import_rss_mb``, ``load_start``, ``load_end``
and the numbers of its kind, see ``benchmarks.cases``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["SECTIONS", "TARGET_BYTES", "TARGET_RATIO", "TARGET_SECONDS", "render_markdown"]

#: Issue 6: compiling an ImageNet-size model to the pipelined network under 30 s and 4 GB.
TARGET_SECONDS = 30.0
TARGET_BYTES = 4e9  # 4 GB, decimal: the strict reading (4 GiB would be 4,294,967,296 bytes)
TARGET_MIB = TARGET_BYTES / 2**20
#: Issue 7: the bit-exact simulator at most 3x PyTorch's eager time.
TARGET_RATIO = 3.0

Case = Mapping[str, Any]
Column = tuple[str, Callable[[Mapping[str, Any]], str]]


def _s(value: float) -> str:
    """Seconds: three decimals under 0.1 s, two under 100 s, one above."""
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}" if value < 100 else f"{value:.1f}"


def _mib(value: float) -> str:
    return f"{value:,.0f}"


def _x(value: float) -> str:
    return f"{value:.2f}×" if value < 10 else f"{value:.1f}×"


def _int(value: float) -> str:
    return f"{int(value):,}"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _rate(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _input(r: Mapping[str, Any]) -> str:
    return "×".join(str(d) for d in r["input_shape"]) + f", T = {r['time_steps']}"


def _each_run(r: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{_s(run['seconds'])} s, {_mib(run['peak_rss_mb'])} MiB" for run in r.get("runs", [r])
    )


def _gb(mib: float) -> str:
    return f"{mib * 2**20 / 1e9:.2f} GB"


def _meets_compile_target(r: Mapping[str, Any]) -> tuple[bool, bool]:
    return r["seconds"] < TARGET_SECONDS, r["peak_rss_mb"] < TARGET_MIB


@dataclass(frozen=True)
class Section:
    """One table of the page: its cases are those whose ``section`` is ``key``."""

    key: str
    heading: str
    columns: tuple[Column, ...]
    notes: str
    first_column: str = "case"


INTRO = """
Each case runs in its own child process, one after the other (never in parallel), so its peak
RSS is its own; importing torch and snncompile is part of it (the run log shows how much).
Times are wall-clock seconds of the work named, without imports. The raw numbers, with more
detail than the tables, are in `benchmarks/results.json`; this page is rendered from them.
"""

RUN_LOG = """
Every case as the runner saw it: the child's command (`python -m benchmarks.run --child SPEC
--threads N` reruns one), the CPU threads it ran on (torch's and the BLAS libraries'), its
status, the child process's wall time (imports and set-up included), its peak RSS, its RSS
after importing torch and snncompile, and the 1-minute load average when it started and ended.
"""

#: The prose under each table (no measurements: those come from the results).
NOTES: dict[str, str] = {
    "frontend": """
Tracing loads the model and runs it once on a small probe batch (time-major, T steps) to
learn every value's layout and constant; that forward dominates the time of a trace. `check`
is what `snncompile check` does: trace, the analysis passes, a layerwise run of the samples
and the operation counts. The text IR case prints the traced graph with its weights and
parses it back (the time excludes tracing).
""",
    "float-sim": """
The float IR simulator runs the reference kernels op by op in numpy/torch: it is the float
meaning of the traced IR (what `snncompile run --backend float` runs), not the bit-accurate
simulator below. Both sides run the same digits batch in the same process on the same CPU
threads (the run log's threads) after a warm-up; each time is the best of several runs
(`repeats` in the JSON). The difference is the largest absolute difference of the logits.
""",
    "network": """
What `snncompile compile`/`run` build: trace, then every pass (folding, quantization to
Loihi's fixed point, lowering to populations and projections, pipeline delays), with the IR
verifier after each pass (the default). Depth is the pipeline's latency in steps.
""",
    "sim": """
The integer simulator of the compiled network (bit-exact with the chip's arithmetic) against
the model's PyTorch eager forward (float32, no autograd) on the same batch, both on the same
CPU threads (the run log's threads column: a single thread keeps the ratios stable on a
shared machine, where with two threads every parallel PyTorch kernel waits for its slower
thread and the ratios scatter). Layerwise runs every population in the same step (what
PyTorch computes); pipelined adds one step per projection hop as the chip runs it (T + depth
steps); statistics add spike and synaptic-event counts per step. Each time is the best of a
few runs after a warm-up (`repeats` in the JSON); compare the ratios within one run.
""",
    "lava": """
One digits sample for T + depth steps on Lava's CPU simulation
(`Loihi2SimCfg(select_tag="fixed_pt")`) in both emitted forms: *fused* (one custom process
runs the whole chip partition with the reference kernels) and *stock* (Lava's library
processes, what deploys to the chip), against the pipelined simulator on the same input;
every population's spikes must be identical. Lava's rate counts the time inside its `run`
calls; its wall time adds building, compiling and stopping the processes. Lava's processes
are separate OS processes, so the peak RSS shown is the benchmark process's alone.
""",
    "imagenet": """
Random weights, compiled like the digits models above: trace, every pass, the pipelined
network. Each model is compiled in more than one child process, one after the other (each
run's time and peak in the table): the row shows the fastest run with its split and counts,
and the largest peak RSS (and peak after tracing) of the runs; the verdicts are those of
these two numbers, so a compile that only sometimes fits counts as not fitting. Passes are
split into the quantization pipeline (folding, attention decomposition, fixed-point
quantization), `lower-to-network` and `pipeline-delays`; the rest of the passes time is the
IR verifier after each pass. Peak RSS is the whole process (imports, model, trace, passes);
the peak after tracing is the same counter read when tracing ended, so the difference is
what the passes added. Tracing runs the PyTorch model once (in float64) on a probe batch at
full resolution, which is most of the trace's time and memory; that forward is memory-bound
and slows down most when other jobs share the machine. MiB are 2²⁰ bytes; 4 GB is read
strictly as 4×10⁹ bytes (GB in the peak column are 10⁹ bytes); the machine line gives the
core count.
""",
    "startup": """
What a user waits for at the command line, each command in a fresh process with its imports
(the best of a few runs): `snncompile --help`, `snncompile info` (without `--run-lava`, which
also starts a tiny Lava network), the first line `snncompile run MODEL` prints (it reports
that it is reading and compiling before the first batch; in a terminal a spinner appears) and
`snncompile MODEL --target loihi -o OUT` from start to exit. Wall times grow with the machine's
load (see the run log); CPU seconds (user + system of the process) much less. Targets (issue
23), on wall time: help < 0.5 s, info < 2 s, the Loihi compile of the digits Spikingformer < 4 s,
the first line of `run` < 1 s.
""",
    "gpu": """
`python -m benchmarks.gpu_check` runs the four digits models on the numpy engine and on the
torch engine on CUDA and checks outputs, spikes and statistics bit for bit (its own table
has the per-batch times, also in the JSON). It needs a CUDA device and is skipped where
torch sees none.
""",
}


_PEAK: Column = ("peak RSS (MiB)", lambda r: _mib(r["peak_rss_mb"]))

SECTIONS: tuple[Section, ...] = (
    Section(
        "frontend",
        "Tracing, checking and the text IR (digits models)",
        (
            ("seconds", lambda r: _s(r["seconds"])),
            _PEAK,
            (
                "result",
                lambda r: ", ".join(
                    part
                    for part in (
                        f"{_int(r['nodes'])} nodes" if "nodes" in r else "",
                        f"{_int(r['chars'])} characters with weights" if "chars" in r else "",
                        f"{r['samples']} samples measured" if "samples" in r else "",
                    )
                    if part
                ),
            ),
        ),
        NOTES["frontend"],
    ),
    Section(
        "float-sim",
        "Float IR simulator vs PyTorch",
        (
            ("samples", lambda r: str(r["samples"])),
            ("IR simulator s", lambda r: _s(r["seconds"])),
            ("PyTorch s", lambda r: _s(r["torch_seconds"])),
            ("simulator ÷ PyTorch", lambda r: _x(r["ratio"])),
            ("max abs diff", lambda r: f"{r['max_abs_diff']:.1e}"),
            _PEAK,
        ),
        NOTES["float-sim"],
        first_column="model",
    ),
    Section(
        "network",
        "Compiling to the network IR (digits models)",
        (
            ("input", _input),
            ("total s", lambda r: _s(r["seconds"])),
            ("trace s", lambda r: _s(r["trace_seconds"])),
            ("passes s", lambda r: _s(r["passes_seconds"])),
            ("populations", lambda r: _int(r["populations"])),
            ("neurons", lambda r: _int(r["neurons"])),
            ("projections", lambda r: _int(r["projections"])),
            ("depth", lambda r: str(r["depth"])),
            _PEAK,
        ),
        NOTES["network"],
        first_column="model",
    ),
    Section(
        "sim",
        f"Bit-accurate simulator vs PyTorch (issue 7: at most {TARGET_RATIO:g}× PyTorch)",
        (
            ("samples × T", lambda r: f"{r['samples']} × {r['time_steps']}"),
            ("PyTorch s", lambda r: _s(r["torch_seconds"])),
            (
                "layerwise s (÷ PyTorch)",
                lambda r: f"{_s(r['layerwise_seconds'])} ({_x(r['ratio_layerwise'])})",
            ),
            (
                "pipelined s (÷ PyTorch)",
                lambda r: f"{_s(r['pipelined_seconds'])} ({_x(r['ratio_pipelined'])})",
            ),
            (
                "pipelined with statistics s (÷ PyTorch)",
                lambda r: f"{_s(r['pipelined_stats_seconds'])} ({_x(r['ratio_pipelined_stats'])})",
            ),
            ("depth", lambda r: str(r["depth"])),
            (
                f"≤ {TARGET_RATIO:g}× (layerwise / pipelined)",
                lambda r: (
                    f"{_yes(r['ratio_layerwise'] <= TARGET_RATIO)} / "
                    f"{_yes(r['ratio_pipelined'] <= TARGET_RATIO)}"
                ),
            ),
            _PEAK,
        ),
        NOTES["sim"],
        first_column="model",
    ),
    Section(
        "lava",
        "Lava vs the simulator",
        (
            ("steps", lambda r: f"{r['samples']} × {r['steps']}"),
            ("simulator steps/s", lambda r: _rate(r["simulator_steps_per_s"])),
            (
                "Lava fused steps/s (processes)",
                lambda r: f"{_rate(r['fused_steps_per_s'])} ({r['fused_processes']})",
            ),
            (
                "Lava stock steps/s (processes)",
                lambda r: f"{_rate(r['stock_steps_per_s'])} ({r['stock_processes']})",
            ),
            ("simulator ÷ fused", lambda r: _x(r["simulator_over_fused"])),
            ("simulator ÷ stock", lambda r: _x(r["simulator_over_stock"])),
            ("spikes identical", lambda r: _yes(r["exact"])),
            (
                "Lava wall s (fused / stock)",
                lambda r: f"{_s(r['fused_wall_s'])} / {_s(r['stock_wall_s'])}",
            ),
            _PEAK,
        ),
        NOTES["lava"],
        first_column="model",
    ),
    Section(
        "imagenet",
        f"Compiling at ImageNet size (issue 6: under {TARGET_SECONDS:g} s and 4 GB on 2 cores)",
        (
            ("input", _input),
            ("total s", lambda r: _s(r["seconds"])),
            ("each run (time, peak)", _each_run),
            ("trace s", lambda r: _s(r["trace_seconds"])),
            (
                "passes s (quantize / lower / pipeline)",
                lambda r: (
                    f"{_s(r['passes_seconds'])} ({_s(r['quantize_seconds'])} / "
                    f"{_s(r['lower_seconds'])} / {_s(r['pipeline_seconds'])})"
                ),
            ),
            ("peak RSS (MiB)", lambda r: f"{_mib(r['peak_rss_mb'])} ({_gb(r['peak_rss_mb'])})"),
            ("peak after tracing (MiB)", lambda r: _mib(r["trace_peak_rss_mb"])),
            (
                "network",
                lambda r: (
                    f"{_int(r['populations'])} populations, "
                    f"{r['neurons'] / 1e6:,.1f} M neurons, {_int(r['projections'])} projections, "
                    f"depth {r['depth']}"
                ),
            ),
            (f"< {TARGET_SECONDS:g} s", lambda r: _yes(_meets_compile_target(r)[0])),
            ("< 4 GB", lambda r: _yes(_meets_compile_target(r)[1])),
        ),
        NOTES["imagenet"],
        first_column="model",
    ),
    Section(
        "startup",
        "Start-up at the command line",
        (
            ("--help: wall / CPU (s)", lambda r: f"{_s(r['help_s'])} / {_s(r['help_cpu_s'])}"),
            ("info: wall / CPU (s)", lambda r: f"{_s(r['info_s'])} / {_s(r['info_cpu_s'])}"),
            ("run: first line (s)", lambda r: _s(r["run_first_output_s"])),
            (
                "--target loihi: wall / CPU (s)",
                lambda r: f"{_s(r['loihi_compile_s'])} / {_s(r['loihi_compile_cpu_s'])}",
            ),
            ("help < 0.5 s", lambda r: _yes(r["help_s"] < 0.5)),
            ("info < 2 s", lambda r: _yes(r["info_s"] < 2.0)),
            ("loihi < 4 s", lambda r: _yes(r["loihi_compile_s"] < 4.0)),
            ("run < 1 s", lambda r: _yes(r["run_first_output_s"] < 1.0)),
        ),
        NOTES["startup"],
    ),
    Section(
        "gpu",
        "Torch simulator engine on CUDA",
        (
            ("device", lambda r: str(r["device"])),
            ("seconds", lambda r: _s(r["seconds"])),
            ("bit-identical to numpy", lambda r: _yes(r["identical"])),
        ),
        NOTES["gpu"],
    ),
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _reason(case: Case) -> str:
    if case["status"] == "skipped":
        return f"skipped: {case.get('error') or 'no reason given'}"
    error = (case.get("error") or "no output").strip().splitlines()
    return f"**FAILED**: {error[-1] if error else 'no output'}"


def _row(section: Section, case: Case) -> list[str]:
    result = case.get("result") or {}
    if case["status"] == "ok":
        try:
            return [case["title"], *(column(result) for _, column in section.columns)]
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            reason = f"**FAILED**: result without {exc}"
    else:
        reason = _reason(case)
    return [case["title"], reason, *("—" for _ in section.columns[1:])]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def machine_line(machine: Mapping[str, Any]) -> str:
    """One line: hardware, versions and commit."""
    torch = f"torch {machine.get('torch', '?')}"
    if machine.get("torch_cuda"):
        torch += f" (CUDA {machine['torch_cuda']} build, run on CPU)"
    commit = f"commit {machine.get('commit', '?')}"
    changed = machine.get("uncommitted") or []
    if changed:
        compiler = sum(str(path).startswith("snncompile/") for path in changed)
        commit += (
            f" with uncommitted changes in {len(changed)} tracked files "
            f"({compiler or 'none'} of them under snncompile/)"
        )
    return (
        f"Machine: {machine.get('arch', '?')}, {machine.get('cores', '?')} cores "
        f"({machine.get('cpu_model', '?')}), {machine.get('memory_gib', 0):.1f} GiB memory; "
        f"Python {machine.get('python', '?')}, {torch}, numpy {machine.get('numpy', '?')}, "
        f"lava-nc {machine.get('lava-nc', '?')}, snncompile {machine.get('snncompile', '?')}; "
        f"{commit}."
    )


def _loads(results: Mapping[str, Any]) -> list[float]:
    loads = [*results["load_average"]["start"][:1], *results["load_average"]["end"][:1]]
    for case in results["cases"]:
        result = case.get("result") or {}
        loads += [result[k] for k in ("load_start", "load_end") if k in result]
    return loads


def load_sentence(results: Mapping[str, Any]) -> str:
    """Whether the machine was shared, from the load averages recorded during the run."""
    start, end = results["load_average"]["start"], results["load_average"]["end"]
    cores = results["machine"].get("cores") or 1
    peak = max(_loads(results))
    text = (
        f"Load average (1/5/15 min) {start[0]:.2f}/{start[1]:.2f}/{start[2]:.2f} at the start, "
        f"{end[0]:.2f}/{end[1]:.2f}/{end[2]:.2f} at the end, 1-minute load up to {peak:.2f} "
        f"during the cases (the benchmark itself adds up to about 2). "
    )
    if peak > cores or start[0] > 0.5 * cores:
        return text + (
            f"The machine was shared: other jobs ran on its {cores} cores during the run, so "
            "absolute times are pessimistic and ratios within one case are what to compare."
        )
    return text + (
        "The load stayed within what the benchmark itself adds: the machine was quiet during "
        "the run."
    )


def _summary(results: Mapping[str, Any]) -> list[str]:
    """Bullets with the ratios and verdicts that matter, from the cases that ran."""
    ok = {c["id"]: c["result"] for c in results["cases"] if c["status"] == "ok"}
    lines: list[str] = []
    for case in results["cases"]:
        r = ok.get(case["id"])
        if r is None:
            continue
        try:
            if case["section"] == "sim":
                lines.append(
                    f"- bit-accurate simulator, {case['title']}: layerwise "
                    f"{_x(r['ratio_layerwise'])}, pipelined {_x(r['ratio_pipelined'])} of "
                    f"PyTorch's time (issue 7's target ≤ {TARGET_RATIO:g}×: layerwise "
                    f"{_yes(r['ratio_layerwise'] <= TARGET_RATIO)}, pipelined "
                    f"{_yes(r['ratio_pipelined'] <= TARGET_RATIO)})"
                )
            elif case["section"] == "lava":
                lines.append(
                    f"- Lava, {case['title']}: the simulator runs "
                    f"{_rate(r['simulator_steps_per_s'])} steps/s, "
                    f"{_x(r['simulator_over_fused'])} Lava fused "
                    f"({_rate(r['fused_steps_per_s'])}) and {_x(r['simulator_over_stock'])} "
                    f"Lava stock ({_rate(r['stock_steps_per_s'])}); spikes identical: "
                    f"{_yes(r['exact'])}"
                )
            elif case["section"] == "imagenet":
                fast, small = _meets_compile_target(r)
                lines.append(
                    f"- compiling {case['title']} to the pipelined network: "
                    f"{_s(r['seconds'])} s, peak {_mib(r['peak_rss_mb'])} MiB = "
                    f"{_gb(r['peak_rss_mb'])} (runs: {_each_run(r)}; issue 6's "
                    f"target: time {_yes(fast)}, memory {_yes(small)})"
                )
            elif case["section"] == "float-sim":
                lines.append(
                    f"- float IR simulator, {case['title']}: {_x(r['ratio'])} of PyTorch's "
                    f"time, max abs diff {r['max_abs_diff']:.1e}"
                )
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            continue
    failed = [c["title"] for c in results["cases"] if c["status"] == "failed"]
    if failed:
        lines.append(f"- **failed**: {', '.join(failed)} (see the run log)")
    return lines


def _run_log(results: Mapping[str, Any]) -> list[str]:
    rows = []
    for case in results["cases"]:
        r = case.get("result") or {}
        load = (
            f"{r['load_start']:.2f} → {r['load_end']:.2f}"
            if "load_start" in r and "load_end" in r
            else "—"
        )
        status = case["status"] if case["status"] == "ok" else _reason(case)
        rows.append(
            [
                case["title"],
                f"`{case['spec']}`",
                str(r.get("threads", case.get("threads", "—"))),
                status,
                _s(case["wall_s"]) if case.get("wall_s") is not None else "—",
                _mib(r["peak_rss_mb"]) if "peak_rss_mb" in r else "—",
                _mib(r["import_rss_mb"]) if "import_rss_mb" in r else "—",
                load,
            ]
        )
    header = (
        "case",
        "child spec",
        "threads",
        "status",
        "process s",
        "peak RSS (MiB)",
        "after imports (MiB)",
        "1-min load",
    )
    return _table(header, rows)


def _rerun_sentence(case: Case) -> str:
    """When a case was rerun alone (``benchmarks.run --case ID --update``), and where."""
    rerun = case["rerun"]
    load = rerun["load_average"]
    changed = f" with {rerun['uncommitted']} uncommitted files" if rerun["uncommitted"] else ""
    return (
        f"{case['title']}: rerun alone on {str(rerun['started'])[:10]} (started "
        f"{rerun['started']}) at commit {rerun['commit']}{changed}, 1-minute load "
        f"{load['start'][0]:.2f} → {load['end'][0]:.2f}; the other cases are from the run above."
    )


def render_markdown(results: Mapping[str, Any]) -> str:
    """The whole ``docs/benchmarks.md`` for ``results``."""
    cases = results["cases"]
    started = str(results["started"])
    peaks = [c["result"]["peak_rss_mb"] for c in cases if "peak_rss_mb" in (c["result"] or {})]
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python -m benchmarks.run` from benchmarks/results.json: "
        "do not edit by hand. -->",
        "",
        "Reproduce:",
        "",
        "```sh",
        "make bench                                         # runs all, rewrites this page",
        ".venv/bin/python -m benchmarks.run --quick         # without the ImageNet-size cases",
        ".venv/bin/python -m benchmarks.run --render-only   # this page from results.json",
        ".venv/bin/python -m benchmarks.run --case ID --update  # one case again, the rest kept",
        "```",
        "",
        INTRO.strip(),
        "",
        f"Run: {started[:10]} (started {started}, {_s(results['total_seconds'])} s in all, "
        f"the largest peak RSS of a case {_mib(max(peaks, default=0.0))} MiB"
        + (", quick: without the ImageNet-size cases" if results.get("quick") else "")
        + ").",
        "",
        machine_line(results["machine"]),
        "",
        load_sentence(results),
        "",
    ]
    summary = _summary(results)
    if summary:
        lines += ["## Summary", "", *summary, ""]
    for section in SECTIONS:
        members = [c for c in cases if c["section"] == section.key]
        if not members:
            continue
        header = [section.first_column, *(name for name, _ in section.columns)]
        lines += [f"## {section.heading}", ""]
        lines += _table(header, [_row(section, c) for c in members])
        lines += ["", section.notes.strip(), ""]
        lines += [_rerun_sentence(c) + "\n" for c in members if c.get("rerun")]
    known = {s.key for s in SECTIONS}
    others = [c for c in cases if c["section"] not in known]
    if others:
        lines += ["## Other cases", ""]
        lines += _table(("case", "status"), [[c["title"], c["status"]] for c in others])
        lines += [""]
    lines += [
        "## Run log",
        "",
        RUN_LOG.strip(),
        "",
        *_run_log(results),
        "",
    ]
    errors = [c for c in cases if c["status"] == "failed" and c.get("error")]
    if errors:
        lines += ["### Failures", ""]
        for case in errors:
            tail = "\n".join(str(case["error"]).strip().splitlines()[-15:])
            lines += [f"{case['title']} (`{case['spec']}`):", "", "```text", tail, "```", ""]
    return "\n".join(lines).rstrip() + "\n"
