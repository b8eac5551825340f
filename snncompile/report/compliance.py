"""The spike-driven compliance report: verdict, findings, partitions, firing rates and energy.

:func:`check_graph` runs the analysis pipeline (``fold-batchnorm``, ``fold-scales``,
``analyze-spike-domain``, ``partition-host``), applies the spike-driven rule
(:mod:`snncompile.passes.compliance`), runs the folded graph on sample inputs to measure firing
rates, and counts operations and energy (:mod:`snncompile.report.energy`, in every counting
convention, priced by every energy model of :mod:`snncompile.report.models`). Neuron layers that
never spike (rate 0) or always spike (rate 1) over the samples get SD220/SD221 warnings.

JSON schema (``ComplianceReport.to_dict``; ``snncompile/report/schemas/check.schema.json``,
documented in ``docs/schemas.md``)::

    {"model": str, "time_steps": int, "samples": int,
     "spike_driven": bool,
     "diagnostics": [{"code", "severity", "node", "op", "module", "domain", "message", "fix"}],
     "partitions": {"host_encoder": [node], "chip": [node], "host_readout": [node]},
     "neurons": [{"node", "module", "firing_rate", "neurons"}],
     "energy": {"mac_ops", "ac_ops", "energy_mj", "energy_uj", "selected",
                "conventions": {"paper", "events", "chip"}, "models": {...},
                "layers": [...], ...},
     "passes": [{"pass", "seconds", "nodes_before", "nodes_after"}]}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from snncompile.diagnostics import error
from snncompile.ir.graph import Graph
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops import Trait, has_trait
from snncompile.passes.analyze_spike_domain import AnalyzeSpikeDomain, analyze
from snncompile.passes.compliance import Finding, findings
from snncompile.passes.fold_batchnorm import FoldBatchNorm
from snncompile.passes.fold_scales import FoldScales
from snncompile.passes.manager import PassContext, PassManager, PassTiming
from snncompile.passes.partition_host import Partition, PartitionHost, partition
from snncompile.report.energy import CONVENTIONS, EnergyReport, OperationCounter

__all__ = ["ComplianceReport", "NeuronStats", "check_graph"]


@dataclass(frozen=True)
class NeuronStats:
    """Measured activity of one neuron layer."""

    node: str
    module: str | None
    neurons: int
    firing_rate: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "module": self.module,
            "neurons": self.neurons,
            "firing_rate": self.firing_rate,
        }


@dataclass(frozen=True)
class ComplianceReport:
    """Everything `snncompile check` reports about one model."""

    model: str
    graph: Graph
    findings: tuple[Finding, ...]
    partition: Partition
    neurons: tuple[NeuronStats, ...]
    energy: EnergyReport
    timings: tuple[PassTiming, ...]

    @property
    def spike_driven(self) -> bool:
        """True iff the chip partition has no violation (notes allowed)."""
        return not any(f.severity == "violation" for f in self.findings)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "violation"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "time_steps": self.energy.time_steps,
            "samples": self.energy.samples,
            "spike_driven": self.spike_driven,
            "diagnostics": [f.to_dict() for f in self.findings],
            "partitions": self.partition.to_dict(),
            "neurons": [n.to_dict() for n in self.neurons],
            "energy": self.energy.to_dict(),
            "passes": [t.to_dict() for t in self.timings],
        }


def check_graph(
    graph: Graph,
    inputs: np.ndarray,
    *,
    model: str | None = None,
    chunk: int = 8,
    on_chunk: Callable[[int], None] | None = None,
    convention: str = "paper",
) -> ComplianceReport:
    """Analyse ``graph`` and measure it on ``inputs`` (``[T, B, *input_shape]``).

    Samples run ``chunk`` at a time and statistics accumulate step by step, so memory stays
    at one step of one chunk however many samples are measured; ``on_chunk(n)`` is called
    after each chunk with its sample count (a progress bar). ``convention`` (one of
    :data:`~snncompile.report.energy.CONVENTIONS`) is the one the reports show first.
    """
    if convention not in CONVENTIONS:
        raise error(
            "EN101",
            f"unknown counting convention {convention!r}; choose one of {', '.join(CONVENTIONS)}",
        )
    ctx = PassContext()
    manager = PassManager([FoldBatchNorm(), FoldScales(), AnalyzeSpikeDomain(), PartitionHost()])
    result = manager.run(graph, ctx)
    folded = result.graph
    parts = partition(folded)
    found = list(findings(folded, parts))
    counter = OperationCounter(
        folded, analyze(folded), {node.name: parts.where(node.name) for node in folded.nodes}
    )
    neuron_nodes = [node for node in folded.nodes if has_trait(node, Trait.NEURON)]
    counter.watch([node.output.name for node in neuron_nodes])
    for start in range(0, inputs.shape[1], chunk):
        batch = inputs[:, start : start + chunk]
        counter.start_batch(batch.shape[1])
        run_layerwise(folded, [batch], observer=counter.observe)
        if on_chunk is not None:
            on_chunk(batch.shape[1])
    energy = dataclasses.replace(counter.report(), convention=convention)
    steps, samples = energy.time_steps, energy.samples
    neurons = tuple(
        NeuronStats(
            node.name,
            node.loc.module if node.loc else None,
            node.output.type.numel,
            counter.spikes[node.output.name] / (steps * samples * node.output.type.numel),
        )
        for node in neuron_nodes
    )
    found.extend(activity_findings(folded, neurons, samples))
    return ComplianceReport(
        model or graph.name, folded, tuple(found), parts, neurons, energy, result.timings
    )


def activity_findings(graph: Graph, neurons: Sequence[NeuronStats], samples: int) -> list[Finding]:
    """SD220/SD221 warnings for neuron layers that never spike (rate 0) or always spike (rate
    1) over the measured samples: a random-weight or dead network, or a bad input scale."""
    result = []
    for stats in neurons:
        if stats.firing_rate not in (0.0, 1.0):
            continue
        node = graph.node(stats.node)
        silent = stats.firing_rate == 0.0
        what = "never spiked" if silent else "spiked at every step, every neuron"
        result.append(
            Finding(
                "SD220" if silent else "SD221",
                "warning",
                node.name,
                node.op,
                stats.module,
                "binary",
                f"neuron layer {stats.module or node.name} ({stats.neurons} neurons) {what} on "
                f"the {samples} measured sample(s) (firing rate {stats.firing_rate:.0f})",
            )
        )
    return result
