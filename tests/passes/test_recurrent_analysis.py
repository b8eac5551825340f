"""A recurrent edge in the analyses: its value is the source neuron's spikes (binary), its
synapses sit on the chip partition, are spike-driven (compliance) and are counted as
accumulates over the spikes of the previous step (energy)."""

from __future__ import annotations

import numpy as np

from snncompile.ir.interpret import run_layerwise
from snncompile.ir.types import DomainKind
from snncompile.passes.analyze_spike_domain import analyze
from snncompile.passes.compliance import findings
from snncompile.passes.partition_host import partition
from snncompile.report.energy import count_operations
from tests.targets.sim.recurrent_graphs import inputs, recurrent_mlp


def test_recurrent_synapses_are_spike_driven_chip_accumulates() -> None:
    graph = recurrent_mlp(skip=True)
    flows = analyze(graph)
    assert flows["s1_prev"].domain.kind is DomainKind.BINARY
    assert flows["s1_prev"].sources == frozenset({"s1"})
    parts = partition(graph)
    assert {"s1_prev", "s1_rec_to8", "skip"} <= set(parts.chip)
    assert findings(graph) == []
    x = inputs(12, 2)
    values = run_layerwise(graph, [x], record=True)
    where = {n.name: parts.where(n.name) for n in graph.nodes}
    report = count_operations(graph, values, flows, where)
    costs = {c.node: c for c in report.layers}
    rec = costs["s1_rec_to8"]
    assert rec.macs == 0.0 and rec.partition == "chip"
    # ACs = the previous step's spikes of s1 times the 8 synapses each reaches
    want = float(values["s1"][:-1].sum()) * 8 / x.shape[1]
    assert np.isclose(rec.acs, want)
