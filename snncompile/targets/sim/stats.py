"""Activity statistics of a simulated run: what the chip would do, counted per step.

A *synaptic event* is one synapse delivering one spike (or graded payload): a source element
that is non-zero in step t sends one event along every synapse with a non-zero weight that
leaves it (its fan-out). A *neuron update* is one neuron advancing one step (every neuron of a
population updates every step from its start on; a gated neuron updates when its value or
gate changes, counted like the others).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SimStats"]


@dataclass
class SimStats:
    """Counts over a batch of ``samples`` run for ``steps`` steps.

    Attributes:
        samples: batch size the counts are summed over.
        steps: simulated steps (T plus the pipeline depth in pipelined mode).
        spikes: population name -> ``[steps]`` spikes (non-zero outputs) summed over samples.
        events: projection name -> ``[steps]`` synaptic events summed over samples.
        neurons: population name -> number of neurons.
        starts: population name -> first step it updates in.
        window: in a windowed run (``Simulator.run(window=T)``) every population updates only
            the ``window`` steps from its start; None: from its start to the end.
    """

    samples: int
    steps: int
    spikes: dict[str, np.ndarray] = field(default_factory=dict)
    events: dict[str, np.ndarray] = field(default_factory=dict)
    neurons: dict[str, int] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)
    window: int | None = None

    def active(self, population: str) -> np.ndarray:
        """``[steps]`` 1.0 where ``population`` updates (from its start, within the window)."""
        t = np.arange(self.steps)
        first = self.starts.get(population, 0)
        last = self.steps if self.window is None else first + self.window
        return ((t >= first) & (t < last)).astype(np.float64)

    def neuron_updates(self, population: str) -> int:
        """Updates of ``population`` over the run, summed over samples."""
        active = int(self.active(population).sum())
        return self.neurons[population] * active * self.samples

    def per_sample(self) -> dict[str, Any]:
        """Totals per inference (divided by ``samples``), for reports and JSON."""
        n = max(self.samples, 1)
        return {
            "spikes": {k: float(v.sum()) / n for k, v in self.spikes.items()},
            "synaptic_events": {k: float(v.sum()) / n for k, v in self.events.items()},
            "neuron_updates": {k: self.neuron_updates(k) / n for k in self.neurons},
            "total_spikes": float(sum(v.sum() for v in self.spikes.values())) / n,
            "total_synaptic_events": float(sum(v.sum() for v in self.events.values())) / n,
            "total_neuron_updates": float(sum(self.neuron_updates(k) for k in self.neurons)) / n,
        }

    def merge(self, other: SimStats) -> SimStats:
        """The counts of two runs of the same program (e.g. two batches), added."""
        if other.steps != self.steps or other.window != self.window:
            raise ValueError(f"cannot merge runs of {self.steps} and {other.steps} steps")
        return SimStats(
            self.samples + other.samples,
            self.steps,
            {k: v + other.spikes[k] for k, v in self.spikes.items()},
            {k: v + other.events[k] for k, v in self.events.items()},
            dict(self.neurons),
            dict(self.starts),
            self.window,
        )
