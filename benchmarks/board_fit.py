"""Cores, chips and latency of large spiking transformers under each ``--objective``.

    python -m benchmarks.board_fit [MODEL ...] [--json OUT]

For each zoo model (random weights from the seed: placement depends only on shapes and
connectivity) and each objective, compile the network, place it on Loihi 2 cores and report
cores, chips, the populations that take the most cores with the limit that sets their size,
the pipeline latency in steps and the lower bounds of docs/resources.md (neurons:
``ceil(N / neurons_per_core)``; unit-synapse memory). "Before" is ``--objective latency``
(the mapping every model had before the cost-chosen lowering: fan-in everywhere). Results
go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

from snncompile.api import compile_config
from snncompile.config import CompileConfig
from snncompile.targets.sim.cores import place_cores

#: The models of issue 20 (CIFAR size for the 4-384 ones, 224x224 for the others).
MODELS = ("spikingformer_4_384", "spikformer_4_384", "spikformer_8_768", "spikingresformer_l")


def measure(model: str, objective: str) -> dict[str, Any]:
    """Compile ``zoo:model`` under ``objective`` and place it (no run)."""
    start = time.perf_counter()
    extra = {"expand_sew": True} if model.startswith("spikformer") else {}
    compiled = compile_config(
        f"zoo:{model}", CompileConfig(target="fixed", objective=objective, **extra)
    )
    program = compiled.program
    placement = place_cores(program)
    lim = placement.limits
    neurons = placement.neurons
    return {
        "model": model,
        "objective": objective,
        "populations": len(placement.populations),
        "neurons": neurons,
        "synapse_bytes": placement.synapse_bytes,
        "cores": len(placement.cores),
        "chips": placement.chips,
        "neuron_bound_cores": math.ceil(neurons / lim.neurons_per_core),
        "memory_bound_cores": math.ceil(placement.synapse_bytes / lim.synapse_bytes_per_core),
        "latency_steps": compiled.time_steps + program.depth,
        "depth": program.depth,
        "top": placement.consumers(6),
        "relays": sum(
            p["lowered_as"] == "relay" for p in program.reports["lower-to-network"]["products"]
        ),
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(MODELS))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--objective", action="append", choices=("cores", "latency"))
    args = parser.parse_args()
    rows = []
    for model in args.models:
        for objective in args.objective or ("latency", "cores"):
            row = measure(model, objective)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
