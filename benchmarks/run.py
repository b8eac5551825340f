"""Run the benchmarks and print a markdown table (``make bench``; ``--full`` adds ImageNet size).

Each case runs in its own subprocess so that its peak memory (max RSS) is its own. Times are
wall-clock seconds on this machine; compare ratios within one run, not across machines.

    .venv/bin/python -m benchmarks.run [--full] [--output docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

CASES: dict[str, str] = {
    "trace spikformer_digits": "trace:zoo:spikformer_digits",
    "trace spikingresformer_digits": "trace:zoo:spikingresformer_digits",
    "check spikformer.pt (64 digits)": "check:examples/digits/spikformer.pt",
    "print+parse spikformer_digits IR": "text:zoo:spikformer_digits",
    "float IR sim vs PyTorch (spikingformer.pt, 64 digits)": (
        "simulate:examples/digits/spikingformer.pt"
    ),
    "compile network spikingformer.pt": "network:examples/digits/spikingformer.pt",
    "bit-accurate sim vs PyTorch (spikingformer.pt, 64 digits)": (
        "sim:examples/digits/spikingformer.pt"
    ),
    "bit-accurate sim vs PyTorch (spikformer_4_384, CIFAR 32x32, 16 samples)": (
        "sim:zoo:spikformer_4_384"
    ),
    "Lava vs sim (spikingformer.pt, 1 sample)": "lava:examples/digits/spikingformer.pt",
}
FULL_CASES: dict[str, str] = {
    "trace spikformer_8_768 (224x224, T=4)": "trace:zoo:spikformer_8_768",
    "trace spikingresformer_l (224x224, T=4)": "trace:zoo:spikingresformer_l",
    "compile --target fixed spikformer_8_768": "compile:zoo:spikformer_8_768",
    "compile --target fixed spikingresformer_l": "compile:zoo:spikingresformer_l",
    "compile network IR spikformer_8_768 (all passes)": "network:zoo:spikformer_8_768",
    "compile network IR spikingresformer_l (all passes)": "network:zoo:spikingresformer_l",
}


def _trace(source: str) -> dict[str, Any]:
    from snncompile.frontend.load import load_model, to_graph

    start = time.perf_counter()
    graph = to_graph(load_model(source))
    return {"seconds": time.perf_counter() - start, "nodes": len(graph.nodes)}


def _compile(source: str) -> dict[str, Any]:
    """Trace and run the ``fixed`` target's passes (no file written)."""
    from snncompile.config import CompileConfig
    from snncompile.driver import compile_graph, read_model

    start = time.perf_counter()
    graph, config = read_model(source, CompileConfig(target="fixed"))
    traced = time.perf_counter() - start
    result = compile_graph(graph, config)
    return {
        "seconds": time.perf_counter() - start,
        "trace_seconds": traced,
        "passes_seconds": result.pipeline.total_seconds,
        "nodes": len(result.pipeline.graph.nodes),
    }


def _check(source: str) -> dict[str, Any]:
    from snncompile.data.samples import sample_inputs
    from snncompile.frontend.load import load_model, to_graph
    from snncompile.frontend.simulate import time_major_inputs
    from snncompile.report.compliance import check_graph

    start = time.perf_counter()
    loaded = load_model(source)
    graph = to_graph(loaded)
    x = sample_inputs(graph.inputs[0].type.shape, samples=64, dataset="digits")
    check_graph(graph, time_major_inputs(graph, x, loaded.time_steps))
    return {"seconds": time.perf_counter() - start}


def _text(source: str) -> dict[str, Any]:
    from snncompile.frontend.load import load_model, to_graph
    from snncompile.ir.parser import parse_graph
    from snncompile.ir.printer import print_graph

    graph = to_graph(load_model(source))
    start = time.perf_counter()
    text = print_graph(graph)
    parse_graph(text)
    return {"seconds": time.perf_counter() - start, "chars": len(text)}


def _simulate(source: str) -> dict[str, Any]:
    import numpy as np
    import torch

    from snncompile.data.samples import sample_inputs
    from snncompile.frontend.load import load_model, to_graph
    from snncompile.frontend.simulate import simulate
    from snncompile.models import reset_net

    loaded = load_model(source)
    graph = to_graph(loaded)
    x = sample_inputs(graph.inputs[0].type.shape, samples=64, dataset="digits")
    start = time.perf_counter()
    ours = simulate(graph, x, time_steps=loaded.time_steps)
    sim_seconds = time.perf_counter() - start
    assert loaded.module is not None
    start = time.perf_counter()
    with torch.no_grad():
        reset_net(loaded.module)
        reference = loaded.module(torch.from_numpy(x)).numpy()
    torch_seconds = time.perf_counter() - start
    return {
        "seconds": sim_seconds,
        "torch_seconds": torch_seconds,
        "ratio": sim_seconds / torch_seconds,
        "max_abs_diff": float(np.abs(ours - reference).max()),
    }


def _network(source: str) -> dict[str, Any]:
    """Trace and compile to the pipelined network IR (every pass up to pipeline-delays)."""
    from snncompile.api import compile_config
    from snncompile.config import CompileConfig

    start = time.perf_counter()
    compiled = compile_config(source, CompileConfig(expand_sew=True, allow_host_ops=True))
    traced = time.perf_counter() - start
    program = compiled.program
    totals = program.reports["lower-to-network"]["totals"]
    return {
        "seconds": time.perf_counter() - start,
        "trace_seconds": traced,
        "populations": totals["populations"],
        "neurons": totals["neurons"],
        "projections": totals["projections"],
        "depth": program.depth,
    }


def _sim(source: str) -> dict[str, Any]:
    """The bit-accurate simulator (layerwise and pipelined) against PyTorch's eager forward
    on the same batch in the same process; the ratios are what issue 7's target is about."""
    import numpy as np
    import torch

    from snncompile.api import compile_config
    from snncompile.config import CompileConfig
    from snncompile.data.samples import sample_inputs
    from snncompile.models import reset_net

    compiled = compile_config(source, CompileConfig(expand_sew=True, allow_host_ops=True))
    samples = 64 if "digits" in source or source.endswith(".pt") else 16
    shape = compiled.graph.inputs[0].type.shape
    dataset = "digits" if shape == (1, 16, 16) else None
    x = sample_inputs(shape, samples=samples, dataset=dataset)
    module = compiled.loaded.module
    assert module is not None
    module = module.float()
    with torch.no_grad():
        reset_net(module)
        module(torch.from_numpy(x[:2]).float())  # warm-up
        start = time.perf_counter()
        reset_net(module)
        module(torch.from_numpy(x).float())
        torch_seconds = time.perf_counter() - start
    compiled.run(x[:2], mode="layerwise")  # builds the simulators
    compiled.run(x[:2], mode="pipelined")
    start = time.perf_counter()
    layerwise = compiled.run(x, mode="layerwise", stats=False)
    layerwise_seconds = time.perf_counter() - start
    start = time.perf_counter()
    pipelined = compiled.run(x, mode="pipelined", stats=False)
    pipelined_seconds = time.perf_counter() - start
    start = time.perf_counter()
    compiled.run(x, mode="pipelined", stats=True)
    stats_seconds = time.perf_counter() - start
    assert np.array_equal(layerwise.logits, pipelined.logits)
    return {
        "seconds": layerwise_seconds,
        "samples": samples,
        "torch_seconds": torch_seconds,
        "ratio_layerwise": layerwise_seconds / torch_seconds,
        "pipelined_seconds": pipelined_seconds,
        "ratio_pipelined": pipelined_seconds / torch_seconds,
        "ratio_pipelined_with_stats": stats_seconds / torch_seconds,
        "depth": compiled.depth,
    }


def _lava(source: str) -> dict[str, Any]:
    """Lava's CPU simulation vs the reference simulator on one digits sample."""
    from pathlib import Path

    from benchmarks.lava_vs_sim import lava_vs_sim

    result = lava_vs_sim(Path(source).stem)
    fused, stock = result["fused"], result["stock"]
    return {
        "seconds": fused["wall_s"] + stock["wall_s"],
        "simulator_steps_per_s": result["simulator_steps_per_s"],
        "fused_steps_per_s": fused["steps_per_s"],
        "stock_steps_per_s": stock["steps_per_s"],
        "simulator_over_fused": result["simulator_steps_per_s"] / fused["steps_per_s"],
        "exact": fused["exact"] and stock["exact"],
    }


KINDS: dict[str, Callable[[str], dict[str, Any]]] = {
    "network": _network,
    "sim": _sim,
    "lava": _lava,
    "trace": _trace,
    "compile": _compile,
    "check": _check,
    "text": _text,
    "simulate": _simulate,
}


def _child(spec: str) -> None:
    import torch

    torch.set_num_threads(2)
    kind, source = spec.split(":", 1)
    result = KINDS[kind](source)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _machine() -> str:
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("torch", "numpy", "snncompile")
    )
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{versions}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="add the ImageNet-size cases")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--output", help="also write the markdown table to this file")
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    cases = {**CASES, **(FULL_CASES if args.full else {})}
    lines = [
        "| case | seconds | peak RSS (MB) | notes |",
        "|---|---|---|---|",
    ]
    for name, spec in cases.items():
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.run", "--child", spec],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        notes = ", ".join(
            f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in result.items()
            if k not in ("seconds", "peak_rss_mb")
        )
        lines.append(
            f"| {name} | {result['seconds']:.2f} | {result['peak_rss_mb']:.0f} | {notes} |"
        )
        print(lines[-1], flush=True)
    table = "\n".join([f"Machine: {_machine()}", "", *lines])
    if args.output:
        with open(args.output, "a") as handle:
            handle.write("\n" + table + "\n")


if __name__ == "__main__":
    main()
