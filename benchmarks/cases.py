"""The measurements of ``make bench``: one function per kind, run in a child process.

Each function takes the case's source (a model file or ``zoo:NAME``) and returns a flat dict of
JSON numbers; ``seconds`` is the headline time of the case. The runner (``benchmarks.run``)
adds the child's peak RSS and load average. Short timings are the minimum of a few repeats
after a warm-up (the machines are shared: the minimum is the least disturbed run); every time
is wall-clock seconds of the work named, without imports.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["KINDS", "peak_rss_mb"]


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _network_config() -> Any:
    """The network compile of every case: what ``snncompile compile``/``run`` build."""
    from snncompile.config import CompileConfig

    return CompileConfig(expand_sew=True, allow_host_ops=True)


def _best(repeats: int, run: Callable[[], object]) -> float:
    """The minimum wall time of ``repeats`` calls of ``run``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _digits(source: str) -> bool:
    return "digits" in source or source.endswith(".pt")


def trace(source: str) -> dict[str, Any]:
    """Load and trace a model to the tensor IR."""
    from snncompile.frontend.load import load_model, to_graph

    start = time.perf_counter()
    graph = to_graph(load_model(source))
    return {"seconds": time.perf_counter() - start, "nodes": len(graph.nodes)}


def check(source: str) -> dict[str, Any]:
    """``snncompile check`` on 64 digits: trace, analyse, measure layerwise, count."""
    from snncompile.data.samples import sample_inputs
    from snncompile.frontend.load import load_model, to_graph
    from snncompile.frontend.simulate import time_major_inputs
    from snncompile.report.compliance import check_graph

    start = time.perf_counter()
    loaded = load_model(source)
    graph = to_graph(loaded)
    x = sample_inputs(graph.inputs[0].type.shape, samples=64, dataset="digits")
    check_graph(graph, time_major_inputs(graph, x, loaded.time_steps))
    return {"seconds": time.perf_counter() - start, "samples": 64}


def text(source: str) -> dict[str, Any]:
    """Print the traced IR with its weights as text and parse it back."""
    from snncompile.frontend.load import load_model, to_graph
    from snncompile.ir.parser import parse_graph
    from snncompile.ir.printer import print_graph

    graph = to_graph(load_model(source))
    start = time.perf_counter()
    printed = print_graph(graph)
    printed_s = time.perf_counter() - start
    parsed = parse_graph(printed)
    return {
        "seconds": time.perf_counter() - start,
        "print_seconds": printed_s,
        "chars": len(printed),
        "nodes": len(parsed.nodes),
    }


def simulate(source: str) -> dict[str, Any]:
    """The float IR simulator against the model's PyTorch forward on 64 digits."""
    import torch

    from snncompile.data.samples import sample_inputs
    from snncompile.frontend.load import load_model, to_graph
    from snncompile.frontend.simulate import simulate as run_float
    from snncompile.models import reset_net

    loaded = load_model(source)
    graph = to_graph(loaded)
    module = loaded.module
    assert module is not None
    x = sample_inputs(graph.inputs[0].type.shape, samples=64, dataset="digits")

    def ours() -> np.ndarray[Any, Any]:
        return np.asarray(run_float(graph, x, time_steps=loaded.time_steps))

    def reference() -> np.ndarray[Any, Any]:
        with torch.no_grad():
            reset_net(module)
            return np.asarray(module(torch.from_numpy(x)).numpy())

    diff = float(np.abs(ours() - reference()).max())  # also the warm-up of both
    repeats = 5
    sim_s, torch_s = _best(repeats, ours), _best(repeats, reference)
    return {
        "seconds": sim_s,
        "samples": len(x),
        "repeats": repeats,
        "torch_seconds": torch_s,
        "ratio": sim_s / torch_s,
        "max_abs_diff": diff,
    }


class _PassTimes(logging.Handler):
    """Collects the pass manager's per-pass timings (its DEBUG records ``pass NAME: S s``)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 2 and isinstance(args[1], float):
            name = str(args[0])
            self.seconds[name] = self.seconds.get(name, 0.0) + args[1]


def network(source: str) -> dict[str, Any]:
    """Trace and compile to the pipelined network IR: every pass (quantize, lower-to-network,
    pipeline-delays) with the default per-pass verification; random weights for ``zoo:``."""
    from snncompile.api import compile_config

    logger = logging.getLogger("snncompile.passes.manager")
    handler, level = _PassTimes(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    start = time.perf_counter()
    try:
        compiled = compile_config(source, _network_config())
        traced = time.perf_counter() - start
        trace_peak = peak_rss_mb()
        program = compiled.program
        seconds = time.perf_counter() - start
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    from snncompile.targets.fixed import quantize_passes

    totals = program.reports["lower-to-network"]["totals"]
    passes = handler.seconds
    quantize = sum(passes.get(p.name, 0.0) for p in quantize_passes())
    slowest = max(passes.items(), key=lambda item: item[1], default=("", 0.0))
    return {
        "seconds": seconds,
        "trace_seconds": traced,
        "passes_seconds": seconds - traced,
        "quantize_seconds": quantize,
        "lower_seconds": passes.get("lower-to-network", 0.0),
        "pipeline_seconds": passes.get("pipeline-delays", 0.0),
        "passes_run": len(passes),
        "slowest_pass": slowest[0],
        "slowest_pass_seconds": slowest[1],
        "trace_peak_rss_mb": trace_peak,
        "nodes": len(compiled.graph.nodes),
        "input_shape": [int(d) for d in compiled.graph.inputs[0].type.shape],
        "time_steps": compiled.time_steps,
        "populations": int(totals["populations"]),
        "neurons": int(totals["neurons"]),
        "projections": int(totals["projections"]),
        "depth": int(program.depth),
    }


def _sim_source(source: str) -> tuple[str, dict[str, int]]:
    """``MODEL[@batch=N,T=M]``: the model and the scaling row's batch size and time steps."""
    model, _, options = source.partition("@")
    settings = {}
    for item in filter(None, options.split(",")):
        key, _, value = item.partition("=")
        if key not in ("batch", "T"):
            raise SystemExit(f"unknown sim option {key!r} in {source!r} (batch, T)")
        settings[key] = int(value)
    return model, settings


def sim(source: str) -> dict[str, Any]:
    """The bit-accurate simulator (layerwise, pipelined, pipelined with statistics) against
    PyTorch's eager forward on the same batch in the same process (issue 21's ratio).

    ``source`` is a model, optionally with ``@batch=N,T=M`` (a scaling row)."""
    import dataclasses

    import torch

    from snncompile.api import compile_config
    from snncompile.data.samples import sample_inputs
    from snncompile.models import reset_net

    model, settings = _sim_source(source)
    config = _network_config()
    if "T" in settings:
        config = dataclasses.replace(config, time_steps=settings["T"])
    source_model: Any = model
    if "T" in settings:  # a zoo module repeats its image over its own T: build it with ours
        from snncompile.models import get_spec

        spec = get_spec(model.removeprefix("zoo:"))
        torch.manual_seed(0)
        source_model = spec.build(T=settings["T"]).eval()
        config = dataclasses.replace(
            config, input_shape=(spec.in_channels, spec.image_size, spec.image_size)
        )
    compiled = compile_config(source_model, config)
    digits = _digits(model)
    samples, repeats = (64, 5) if digits else (16, 2)
    samples = settings.get("batch", samples)
    shape = compiled.graph.inputs[0].type.shape
    x = sample_inputs(shape, samples=samples, dataset="digits" if shape == (1, 16, 16) else None)
    module = compiled.loaded.module
    assert module is not None
    module = module.float()
    batch = torch.from_numpy(x).float()

    def reference() -> None:
        with torch.no_grad():
            reset_net(module)
            module(batch)

    reference()  # warm-up
    torch_s = _best(max(repeats, 3), reference)
    torch_peak = peak_rss_mb()
    compiled.run(x[:2], mode="layerwise")  # builds the simulators
    compiled.run(x[:2], mode="pipelined")
    outputs: dict[str, np.ndarray[Any, Any]] = {}

    def run(mode: str, stats: bool) -> Callable[[], None]:
        def go() -> None:
            outputs[mode] = compiled.run(x, mode=mode, stats=stats).logits

        return go

    layerwise_s = _best(repeats, run("layerwise", False))
    pipelined_s = _best(repeats, run("pipelined", False))
    stats_s = _best(repeats, run("pipelined", True))
    return {
        "seconds": layerwise_s,
        "samples": len(x),
        "time_steps": compiled.time_steps,
        "repeats": repeats,
        "torch_seconds": torch_s,
        "torch_peak_rss_mb": torch_peak,
        "layerwise_seconds": layerwise_s,
        "pipelined_seconds": pipelined_s,
        "pipelined_stats_seconds": stats_s,
        "layerwise_ms_per_sample": 1000 * layerwise_s / len(x),
        "ratio_layerwise": layerwise_s / torch_s,
        "ratio_pipelined": pipelined_s / torch_s,
        "ratio_pipelined_stats": stats_s / torch_s,
        "modes_agree": bool(np.array_equal(outputs["layerwise"], outputs["pipelined"])),
        "depth": compiled.depth,
        "neurons": sum(int(n.output.type.numel) for n in compiled.program.populations()),
    }


def lava(source: str) -> dict[str, Any]:
    """Lava's CPU simulation (fused and stock processes) against the simulator, one sample."""
    from pathlib import Path

    from benchmarks.lava_vs_sim import lava_vs_sim

    result = lava_vs_sim(Path(source).stem)
    fused, stock = result["fused"], result["stock"]
    simulator = result["simulator_steps_per_s"]
    return {
        "seconds": fused["wall_s"] + stock["wall_s"],
        "steps": result["steps"],
        "samples": result["samples"],
        "simulator_steps_per_s": simulator,
        "run_layerwise_steps_per_s": result["run_layerwise_steps_per_s"],
        "fused_steps_per_s": fused["steps_per_s"],
        "fused_processes": fused["processes"],
        "fused_wall_s": fused["wall_s"],
        "stock_steps_per_s": stock["steps_per_s"],
        "stock_processes": stock["processes"],
        "stock_wall_s": stock["wall_s"],
        "simulator_over_fused": simulator / fused["steps_per_s"],
        "simulator_over_stock": simulator / stock["steps_per_s"],
        "exact": bool(fused["exact"] and stock["exact"]),
    }


def gpu(source: str) -> dict[str, Any]:
    """``benchmarks.gpu_check`` on CUDA (the torch engine bit for bit against numpy): skipped
    where torch sees no CUDA device."""
    import torch

    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device visible to torch"}
    from benchmarks.gpu_check import compare

    start = time.perf_counter()
    rows = compare(samples=450, batch=256, device="cuda")
    result: dict[str, Any] = {
        "seconds": time.perf_counter() - start,
        "device": torch.cuda.get_device_name(0),
        "identical": all(not row["differences"] for row in rows),
    }
    for row in rows:
        key = f"{row['family']}_{row['mode']}"
        result[f"{key}_numpy_s"] = row["numpy_s"]
        result[f"{key}_torch_s"] = row["torch_s"]
    return result


def _cli_seconds(args: list[str], *, first_output: bool = False) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of ``snncompile ARGS`` in a fresh interpreter
    (imports included), or, with ``first_output``, the wall seconds until its first byte on
    standard error (what a user waits for). CPU time is what a shared machine does not
    inflate."""
    import resource
    import subprocess
    import sys

    command = [sys.executable, "-m", "snncompile.cli", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as child:
        assert child.stderr is not None
        if first_output:
            child.stderr.read(1)
            seconds = time.perf_counter() - start
        child.stderr.read()
        if child.wait() != 0:
            raise RuntimeError(f"snncompile {' '.join(args)} failed")
    if not first_output:
        seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def _best_of(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(r[0] for r in runs), min(r[1] for r in runs)


def startup(source: str) -> dict[str, Any]:
    """What a user waits for at the command line, each in a fresh process (imports included;
    the best of a few runs): ``snncompile --help``, ``snncompile info``, the first line of
    ``snncompile run SOURCE`` and ``snncompile SOURCE --target loihi -o OUT`` whole; wall and
    CPU seconds."""
    import tempfile

    help_s, help_cpu = _best_of([_cli_seconds(["--help"]) for _ in range(3)])
    info_s, info_cpu = _best_of([_cli_seconds(["info"]) for _ in range(3)])
    run_args = ["run", source, "--limit", "8"]
    run_first_s, _ = _best_of([_cli_seconds(run_args, first_output=True) for _ in range(2)])
    with tempfile.TemporaryDirectory() as tmp:
        loihi_s, loihi_cpu = _best_of(
            [_cli_seconds([source, "--target", "loihi", "-o", f"{tmp}/out{i}"]) for i in range(2)]
        )
    return {
        "seconds": loihi_s,
        "help_s": help_s,
        "help_cpu_s": help_cpu,
        "info_s": info_s,
        "info_cpu_s": info_cpu,
        "run_first_output_s": run_first_s,
        "loihi_compile_s": loihi_s,
        "loihi_compile_cpu_s": loihi_cpu,
    }


def boards(source: str) -> dict[str, Any]:
    """Cores, chips and latency under each ``--objective`` (issue 20): ``before`` is
    ``latency`` (fan-in everywhere, the only mapping before the cost-chosen lowering)."""
    from benchmarks.board_fit import measure

    model = source.removeprefix("zoo:")
    out: dict[str, Any] = {}
    for objective in ("latency", "cores"):
        row = measure(model, objective)
        out[objective] = row
    out["seconds"] = sum(out[o]["seconds"] for o in ("latency", "cores"))
    out["peak_rss_mb"] = peak_rss_mb()
    return out


KINDS: dict[str, Callable[[str], dict[str, Any]]] = {
    "trace": trace,
    "check": check,
    "text": text,
    "simulate": simulate,
    "network": network,
    "sim": sim,
    "lava": lava,
    "gpu": gpu,
    "startup": startup,
    "boards": boards,
}
