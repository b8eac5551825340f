"""The spike-driven compliance report: verdict, findings, partitions, firing rates and energy.

:func:`check_graph` runs the ``check`` pipeline (:mod:`snncompile.pipelines`: ``fold-batchnorm``,
``fold-scales``, ``analyze-spike-domain``, ``partition-host``, ``measure-compliance``). The last,
:class:`MeasureCompliance`, applies the spike-driven rule (:mod:`snncompile.passes.compliance`),
runs the folded graph on sample inputs to measure firing rates, and counts operations and energy
(:mod:`snncompile.report.energy`, in every counting convention, priced by every energy model of
:mod:`snncompile.report.models`); ``--target loihi`` runs the same pass on random samples. Neuron
layers that never spike (rate 0) or always spike (rate 1) over the samples get SD220/SD221
warnings.

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
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from snncompile.config import CompileConfig
from snncompile.diagnostics import SnnCompileError, error
from snncompile.ir.graph import Graph
from snncompile.ir.interpret import run_layerwise
from snncompile.passes.analyze_spike_domain import analyze
from snncompile.passes.chip_neurons import neuron_findings
from snncompile.passes.compliance import Finding, findings
from snncompile.passes.manager import Pass, PassContext, PassTiming
from snncompile.passes.partition_host import NEURON_OPS, Partition, partition
from snncompile.report.energy import CONVENTIONS, EnergyReport, OperationCounter

__all__ = [
    "COMPLIANCE_SAMPLES",
    "ComplianceReport",
    "MeasureCompliance",
    "NeuronStats",
    "check_graph",
]


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


#: Seeded random sample inputs a compile's compliance report is measured on (``--target loihi``).
COMPLIANCE_SAMPLES = 4


@dataclass(frozen=True)
class MeasureCompliance:
    """``measure-compliance``: the spike-driven compliance report of the folded tensor graph.

    An analysis pass: the graph is returned unchanged. It applies the spike-driven rule
    (:func:`snncompile.passes.compliance.findings`) to the partition of the graph, runs the graph
    layerwise on ``inputs`` (``[T, B, *input_shape]``; ``None``: ``samples`` seeded random
    inputs of ``config.seed``) ``chunk`` samples at a time, counting operations and spikes, and
    publishes the :class:`ComplianceReport` as ``ctx.reports["measure-compliance"]`` (``None``
    when the graph is not a tensor graph with one input). The report lists the passes run
    before it (``ctx.timings``). A graph without neurons is refused (SD101).

    With ``S_l`` the spikes of neuron layer ``l`` (``N_l`` neurons) over ``T`` steps and ``B``
    samples, its firing rate is ``r_l = S_l / (T * B * N_l)``.
    """

    name: ClassVar[str] = "measure-compliance"
    requires: ClassVar[frozenset[str]] = frozenset({"batchnorm-folded", "scales-folded"})
    ensures: ClassVar[frozenset[str]] = frozenset({"compliance-measured"})

    inputs: np.ndarray | None = field(default=None, compare=False)
    samples: int = COMPLIANCE_SAMPLES
    model: str | None = None
    chunk: int = 8
    on_chunk: Callable[[int], None] | None = field(default=None, compare=False)
    convention: str = "paper"

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        if self.convention not in CONVENTIONS:
            raise error(
                "EN101",
                f"unknown counting convention {self.convention!r}; choose one of "
                f"{', '.join(CONVENTIONS)}",
            )
        inputs = self.inputs
        if inputs is None:
            if graph.stage != "tensor" or len(graph.inputs) != 1:
                ctx.reports[self.name] = None
                return graph
            inputs = _random_inputs(graph, ctx.config.time_steps or 4, self.samples, ctx)
        ctx.reports[self.name] = _measure(
            graph, inputs, self.model or graph.name, self.chunk, self.on_chunk, ctx, self.convention
        )
        return graph


#: Findings a compile option turns into a way to compile (notes, not violations).
ACCEPTED_BY = {
    "SD201": ("expand_sew", "--expand-sew distributes these synapses over their sources"),
    "SD202": ("allow_host_ops", "--allow-host-ops runs this op on the host"),
    "SD203": ("allow_host_ops", "--allow-host-ops runs this op on the host"),
    "SD204": ("allow_host_ops", "--allow-host-ops runs this op on the host"),
}


def accepted(finding: Finding, config: CompileConfig) -> Finding:
    """``finding`` as a note when ``config`` sets the option that compiles it anyway
    (:data:`ACCEPTED_BY`), so that a green ``check`` with the compile's options means it
    compiles."""
    option = ACCEPTED_BY.get(finding.code)
    if option is None or finding.severity != "violation" or not getattr(config, option[0]):
        return finding
    return dataclasses.replace(finding, severity="note", message=f"{finding.message} ({option[1]})")


def _random_inputs(graph: Graph, steps: int, samples: int, ctx: PassContext) -> np.ndarray:
    from snncompile.data.samples import sample_inputs
    from snncompile.frontend.simulate import time_major_inputs
    from snncompile.ir.types import DTYPES

    x = sample_inputs(graph.inputs[0].type.shape, samples=samples, seed=ctx.config.seed)
    dtype = DTYPES[graph.inputs[0].type.dtype]
    return np.asarray(time_major_inputs(graph, x.astype(dtype), steps))


def _measure(
    graph: Graph,
    inputs: np.ndarray,
    model: str,
    chunk: int,
    on_chunk: Callable[[int], None] | None,
    ctx: PassContext,
    convention: str,
) -> ComplianceReport:
    if not any(node.op in NEURON_OPS for node in graph.nodes):
        raise error(
            "SD101",
            f"@{graph.name} has no spiking neurons ({len(graph.nodes)} nodes); there is "
            "nothing to put on a neuromorphic chip",
            node=f"@{graph.name}",
        )
    flows = analyze(graph)
    if "spike-domains" not in ctx.properties:  # the report shows each value's domain
        graph = graph.copy()
        for value in graph.values():
            value.type = value.type.with_domain(flows[value.name].domain)
    parts = partition(graph)
    found = [accepted(f, ctx.config) for f in findings(graph, parts)]
    found.extend(neuron_findings(graph, ctx.chip))
    counter = OperationCounter(
        graph, flows, {node.name: parts.where(node.name) for node in graph.nodes}
    )
    neuron_nodes = [node for node in graph.nodes if node.op in NEURON_OPS]
    counter.watch([node.output.name for node in neuron_nodes])
    for start in range(0, inputs.shape[1], chunk):
        batch = inputs[:, start : start + chunk]
        counter.start_batch(batch.shape[1])
        run_layerwise(graph, [batch], observer=counter.observe)
        if on_chunk is not None:
            on_chunk(batch.shape[1])
    energy = dataclasses.replace(counter.report(), convention=convention)
    steps, samples = energy.time_steps, energy.samples
    neurons = tuple(
        NeuronStats(
            node.name,
            node.loc.label if node.loc else None,
            node.output.type.numel,
            counter.spikes[node.output.name] / (steps * samples * node.output.type.numel),
        )
        for node in neuron_nodes
    )
    found.extend(activity_findings(graph, neurons, samples))
    return ComplianceReport(model, graph, tuple(found), parts, neurons, energy, tuple(ctx.timings))


def check_graph(
    graph: Graph,
    inputs: np.ndarray,
    *,
    model: str | None = None,
    chunk: int = 8,
    on_chunk: Callable[[int], None] | None = None,
    config: CompileConfig | None = None,
    convention: str = "paper",
) -> ComplianceReport:
    """Analyse ``graph`` and measure it on ``inputs`` (``[T, B, *input_shape]``): the ``check``
    pipeline (:func:`snncompile.pipelines.check_pipeline`), run by the driver with ``config``
    (its ``expand_sew`` and ``allow_host_ops`` accept the findings a compile would accept).

    Samples run ``chunk`` at a time and statistics accumulate step by step, so memory stays
    at one step of one chunk however many samples are measured; ``on_chunk(n)`` is called
    after each chunk with its sample count (a progress bar). ``convention`` (one of
    :data:`~snncompile.report.energy.CONVENTIONS`) is the one the reports show first.
    """
    from snncompile.driver import run_pipeline
    from snncompile.pipelines import check_pipeline

    passes = check_pipeline(
        inputs, model=model, chunk=chunk, on_chunk=on_chunk, convention=convention
    )
    result, ctx = run_pipeline(graph, passes, config)
    report: ComplianceReport = ctx.reports[MeasureCompliance.name]
    refused = quantize_refusal(result.graph, config, report.findings)
    if refused is not None:
        report = dataclasses.replace(report, findings=(*report.findings, refused))
    return report


def quantize_refusal(
    graph: Graph, config: CompileConfig | None, known: Sequence[Finding]
) -> Finding | None:
    """The finding for the error quantizing the folded ``graph`` for ``config``'s chip raises
    (lowering residuals and attention, then ``quantize-fixed-point``: overflow QZ903, weight
    bits QZ904, an op without a rule, ...), or None when it quantizes or when that error is
    already among the ``known`` findings (None for a graph already in integers, e.g. netx).
    ``check`` adds it, so that a green check means the model compiles."""
    from snncompile.driver import run_pipeline
    from snncompile.passes.decompose_attention import DecomposeAttention
    from snncompile.passes.lower_residuals import LowerResiduals
    from snncompile.passes.quantize import QuantizeFixedPoint

    if graph.stage != "tensor":  # already integer (a netx network): nothing to quantize
        return None
    passes: list[Pass] = [LowerResiduals(), DecomposeAttention(), QuantizeFixedPoint()]
    try:
        run_pipeline(
            graph,
            passes,
            config,
            initial_properties=frozenset({"batchnorm-folded", "scales-folded"}),
        )
    except SnnCompileError as exc:
        if any(f.code == exc.code and f.severity == "violation" for f in known):
            return None
        node = (exc.node or f"@{graph.name}").split(" ")[0].lstrip("%")
        return Finding(exc.code, "violation", node, "quantize", exc.source, "-", exc.message)
    return None


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
                f"the {samples} measured sample{'' if samples == 1 else 's'} (firing rate "
                f"{stats.firing_rate:.0f})",
            )
        )
    return result
