"""Check the torch simulator on CUDA against the numpy engine, bit for bit, and time both.

Run from the repository root on a machine with a CUDA device::

    .venv/bin/python -m benchmarks.gpu_check [--samples 450] [--batch 256] [--device cuda]

For each shipped digits model (spikformer, spikingformer, sdt, spikingresformer) and both
modes it compiles the network once, runs the same batches on the numpy engine and on
:class:`~snncompile.targets.sim.torch_engine.TorchSimulator` on ``--device`` (record off,
windowed as ``snncompile run`` does; then one small batch with every population recorded), and
checks outputs, recorded spikes and statistics for equality. Prints a table of seconds per
batch and exits 1 on any difference (2 when the device is not available).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from snncompile.api import compile_config  # noqa: E402
from snncompile.config import CompileConfig  # noqa: E402
from snncompile.data.digits import load_digits_split  # noqa: E402
from snncompile.targets.sim.engine import SimResult, Simulator  # noqa: E402
from snncompile.targets.sim.torch_engine import TorchSimulator  # noqa: E402

FAMILIES = ("spikformer", "spikingformer", "sdt", "spikingresformer")
CONFIG = CompileConfig(expand_sew=True, allow_host_ops=True)


def differences(want: SimResult, got: SimResult) -> list[str]:
    """Names of the outputs, spikes and statistics that differ (empty: bit-identical)."""
    bad = [k for k, v in want.outputs.items() if not np.array_equal(v, got.outputs.get(k))]
    bad += [k for k, v in want.spikes.items() if not np.array_equal(v, got.spikes.get(k))]
    if want.stats is not None:
        if got.stats is None:
            return [*bad, "stats"]
        for kind, a, b in (
            ("spikes", want.stats.spikes, got.stats.spikes),
            ("events", want.stats.events, got.stats.events),
        ):
            bad += [f"{kind}:{k}" for k, v in a.items() if not np.array_equal(v, b.get(k))]
    return bad


def compare(*, samples: int = 450, batch: int = 256, device: str = "cuda") -> list[dict[str, Any]]:
    """For each shipped digits model and mode: seconds per batch of the numpy engine and of the
    torch engine on ``device``, and the names of the outputs/spikes/statistics that differ."""
    torch_device = torch.device(device)
    rows: list[dict[str, Any]] = []
    for family in FAMILIES:
        compiled = compile_config(ROOT / "examples" / "digits" / f"{family}.pt", CONFIG)
        assert compiled.loaded.input_shape is not None
        images = load_digits_split(image_size=compiled.loaded.input_shape[1]).x_test
        images = images[:samples]
        steps = compiled.time_steps
        for mode in ("pipelined", "layerwise"):
            graph = compiled.program.graph(mode)
            depth = compiled.depth if mode == "pipelined" else 0
            reference, candidate = Simulator(graph), TorchSimulator(graph, device=torch_device)
            candidate.run([_inputs(compiled, images[:2], depth)], window=steps)  # warm-up
            times = {"numpy": 0.0, "torch": 0.0}
            bad: list[str] = []
            batches = 0
            for first in range(0, len(images), batch):
                x = _inputs(compiled, images[first : first + batch], depth)
                start = time.perf_counter()
                want = reference.run([x], window=steps)
                times["numpy"] += time.perf_counter() - start
                start = time.perf_counter()
                got = candidate.run([x], window=steps)
                if torch_device.type == "cuda":
                    torch.cuda.synchronize(torch_device)
                times["torch"] += time.perf_counter() - start
                bad += differences(want, got)
                batches += 1
            x = _inputs(compiled, images[:4], depth)
            bad += differences(reference.run([x], record=True), candidate.run([x], record=True))
            rows.append(
                {
                    "family": family,
                    "mode": mode,
                    "batches": batches,
                    "numpy_s": times["numpy"] / batches,
                    "torch_s": times["torch"] / batches,
                    "differences": bad,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=450, help="digits test images")
    parser.add_argument("--batch", type=int, default=256, help="samples per batch")
    parser.add_argument("--device", default="cuda", help="torch device (cuda or cpu)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device visible to torch", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    if device.type == "cuda":
        print(f"device: {torch.cuda.get_device_name(device)}, torch {torch.__version__}")
    rows = compare(samples=args.samples, batch=args.batch, device=args.device)
    print("| model | mode | batches | numpy s/batch | torch s/batch | speed-up | identical |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        bad = row["differences"]
        verdict = "yes" if not bad else "NO: " + ", ".join(bad[:5])
        print(
            f"| {row['family']} | {row['mode']} | {row['batches']} | {row['numpy_s']:.3f} | "
            f"{row['torch_s']:.3f} | {row['numpy_s'] / max(row['torch_s'], 1e-9):.1f}x | "
            f"{verdict} |"
        )
    failures = sum(bool(row["differences"]) for row in rows)
    print("all bit-identical" if not failures else f"{failures} model/mode pairs DIFFER")
    return 1 if failures else 0


def _inputs(compiled: object, images: np.ndarray, depth: int) -> np.ndarray:
    x = compiled.inputs(images)  # type: ignore[attr-defined]
    return np.concatenate([x, np.zeros((depth, *x.shape[1:]))]) if depth else x


if __name__ == "__main__":
    sys.exit(main())
