"""Lava (fused and stock forms) vs the reference simulator on one compiled digits model.

``lava_vs_sim(family)`` compiles ``examples/digits/<family>.pt``, runs one sample for
T + depth steps with :func:`snncompile.ir.interpret.run_layerwise` and with
:func:`snncompile.targets.loihi.run.run_lava` in each form, checks that the spikes agree, and
returns steps per second of the reference kernels, the simulator and Lava (Lava: time inside
``run`` calls; ``wall_s`` adds building,
compiling and stopping the processes).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["lava_vs_sim"]


def lava_vs_sim(
    family: str = "spikingformer", *, forms: tuple[str, ...] = ("fused", "stock"), samples: int = 1
) -> dict[str, Any]:
    """Steps per second of Lava (each form) and of ``run_layerwise`` on the same program."""
    from snncompile.api import compile_config
    from snncompile.config import CompileConfig
    from snncompile.data.digits import load_digits_split
    from snncompile.ir.interpret import run_layerwise
    from snncompile.targets.loihi.run import run_lava

    compiled = compile_config(
        f"examples/digits/{family}.pt", CompileConfig(expand_sew=True, allow_host_ops=True)
    )
    program = compiled.program
    split = load_digits_split(image_size=compiled.graph.inputs[0].type.shape[1])
    x = compiled.inputs(split.x_test[:samples])
    x = np.concatenate([x, np.zeros((program.depth, *x.shape[1:]))])
    steps = x.shape[0] * samples
    start = time.perf_counter()
    ref = run_layerwise(program.pipelined, [x], record=True)
    sim_s = time.perf_counter() - start
    simulator = compiled.simulator("pipelined")
    start = time.perf_counter()
    simulator.run([x], stats=False)
    engine_s = time.perf_counter() - start
    result: dict[str, Any] = {
        "family": family,
        "steps": int(x.shape[0]),
        "samples": samples,
        "run_layerwise_steps_per_s": steps / sim_s,
        "simulator_steps_per_s": steps / engine_s,
    }
    for form in forms:
        run = run_lava(program, [x], form=form)
        exact = all(np.array_equal(v, ref[k]) for k, v in run.spikes.items())
        result[form] = {
            "steps_per_s": run.steps_per_second,
            "wall_s": run.wall_s,
            "run_s": run.run_s,
            "processes": run.process_count,
            "by_kind": run.processes,
            "exact": exact,
        }
    return result


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(lava_vs_sim(*sys.argv[1:2]), indent=2, default=str))
