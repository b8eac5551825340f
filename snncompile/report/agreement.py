"""Float vs chip: how often the quantized network spikes where the float model spikes.

Quantization is compared statistically (``docs/lowering.md``): prediction agreement on a data
set, and per population the fraction of (step, sample, neuron) entries whose spike equals the
float model's. Populations are matched by name (a population keeps its neuron's name through
lowering); coincidence, gated, OR and relay populations have no float neuron and are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from snncompile.api import Compiled
from snncompile.ir.interpret import run_layerwise

__all__ = ["Agreement", "spike_agreement"]


@dataclass(frozen=True)
class Agreement:
    """Prediction agreement and per-population spike agreement and firing rates."""

    samples: int
    predictions: float
    populations: dict[str, dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "prediction_agreement": self.predictions,
            "populations": self.populations,
        }


def spike_agreement(compiled: Compiled, x: Any, *, batch_size: int = 64) -> Agreement:
    """Compare the layerwise chip network with the traced float model on inputs ``x``."""
    graph = compiled.float_graph()
    names = [n.name for n in compiled.program.populations("layerwise") if n.attrs.kind == "lif"]
    names = [name for name in names if any(v.name == name for v in graph.values())]
    same = dict.fromkeys(names, 0.0)
    fired_float = dict.fromkeys(names, 0.0)
    fired_chip = dict.fromkeys(names, 0.0)
    total = dict.fromkeys(names, 0)
    agree = 0
    for first in range(0, len(x), batch_size):
        chunk = x[first : first + batch_size]
        inputs = compiled.inputs(chunk)
        ref = run_layerwise(graph, [inputs], record=True)
        chip = compiled.simulator("layerwise").run([inputs], record=names, stats=False)
        out = graph.outputs[0].name
        chip_out = chip.outputs[compiled.program.layerwise.outputs[0].name]
        agree += int(np.sum(ref[out].mean(0).argmax(-1) == chip_out.mean(0).argmax(-1)))
        for name in names:
            f, c = ref[name] != 0, chip.spikes[name] != 0
            same[name] += float(np.sum(f == c))
            fired_float[name] += float(f.sum())
            fired_chip[name] += float(c.sum())
            total[name] += f.size
    populations = {
        name: {
            "agreement": same[name] / total[name],
            "rate_float": fired_float[name] / total[name],
            "rate_chip": fired_chip[name] / total[name],
        }
        for name in names
    }
    return Agreement(len(x), agree / max(len(x), 1), populations)
