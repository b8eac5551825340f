"""Where the bit-accurate simulator's time goes, per kind of executor, next to PyTorch.

    .venv/bin/python -m benchmarks.profile_sim zoo:spikformer_4_384 [--mode pipelined]
        [--samples 16] [--threads 1]

Runs the model's PyTorch eager forward and one simulator run (after a warm-up) on the same
batch in this process, with a timer around every executor call: projections by kind and
product (``int8 dense``, ``float32 conv``, ...), LIF and other populations, fused attention
products and host ops by op. The shares are of the simulator's run; the rest is the step
loop's own bookkeeping. A measurement aid for docs/simulator.md, not a benchmark case.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import torch


def _timed(table: dict[str, float], key: Callable[..., str], method: Any) -> Any:
    def wrapper(self: Any, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(self, *args)
        finally:
            table[key(self, *args)] += time.perf_counter() - start

    return wrapper


def profile(source: str, mode: str, samples: int) -> tuple[float, float, dict[str, float]]:
    """(PyTorch seconds, simulator seconds, seconds by executor kind) of one run each."""
    from benchmarks.cases import _network_config
    from snncompile.api import compile_config
    from snncompile.data.samples import sample_inputs
    from snncompile.models import reset_net
    from snncompile.targets.sim import engine
    from snncompile.targets.sim.arrays import NumpyBackend

    compiled = compile_config(source, _network_config())
    shape = compiled.graph.inputs[0].type.shape
    x = sample_inputs(shape, samples=samples, dataset="digits" if shape == (1, 16, 16) else None)
    module = compiled.loaded.module
    assert module is not None
    module = module.float()
    batch = torch.from_numpy(x).float()
    with torch.no_grad():
        reset_net(module)
        module(batch)
        start = time.perf_counter()
        reset_net(module)
        module(batch)
        torch_s = time.perf_counter() - start
    compiled.run(x, mode=mode, stats=False)  # builds the simulator, warms up
    table: dict[str, float] = defaultdict(float)

    def projection(p: Any, x: Any) -> str:
        dtype = "int8" if p.int8 is not None else str(p.dtype).removeprefix("torch.")
        return f"projection {p.a.kind} ({dtype})"

    patches = [
        (engine._Projection, "current", projection),
        (engine._Population, "run", lambda p, xs: f"population {p.a.kind}"),
        (engine._Product, "current", lambda p, xs: "attention product (einsum)"),
        (engine._HostDelay, "kernel", lambda p, *a: "host delay"),
        (NumpyBackend, "host", lambda b, node, *a: f"host {node.op}"),
    ]
    saved = [(cls, name, getattr(cls, name)) for cls, name, _ in patches]
    try:
        for cls, name, key in patches:
            setattr(cls, name, _timed(table, key, getattr(cls, name)))
        start = time.perf_counter()
        compiled.run(x, mode=mode, stats=False)
        sim_s = time.perf_counter() - start
    finally:
        for cls, name, method in saved:
            setattr(cls, name, method)
    return torch_s, sim_s, dict(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model file or zoo:NAME")
    parser.add_argument("--mode", choices=("layerwise", "pipelined"), default="layerwise")
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch_s, sim_s, table = profile(args.model, args.mode, args.samples)
    print(f"{args.model}, {args.mode}, {args.samples} samples, {args.threads} thread(s)")
    print(f"PyTorch eager {torch_s:.3f} s; simulator {sim_s:.3f} s ({sim_s / torch_s:.2f}×)")
    for name, seconds in sorted(table.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds:8.3f} s {100 * seconds / sim_s:5.1f} %  {name}")
    rest = sim_s - sum(table.values())
    print(f"  {rest:8.3f} s {100 * rest / sim_s:5.1f} %  step loop, statistics off")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
