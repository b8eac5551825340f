"""Operation counts and energy from measured firing rates (SEMANTICS.md section 7).

The paper convention of all four seed papers (45 nm, Horowitz 2014)::

    E = 4.6 pJ · MACs + 0.9 pJ · ACs

per inference (one sample over T steps). For each synaptic op, with ``FLOPs`` its multiply-
accumulates per sample per step (syops style: conv ``out_elements · C_in/groups · kH · kW``,
linear ``out_elements · in``; biases not counted):

- binary input: ``ACs = rate · T · FLOPs``, with ``rate`` the measured mean of the input spikes;
- count, integer or real input: ``MACs = T · FLOPs`` (the papers charge the SEW count stream
  as MAC; the first conv on the image is a MAC).
- an op the model applies once per inference, to its input averaged over T (Spikformer's and
  Spikingformer's classifier head after the mean over time; the graph's ``once_per_inference``,
  marked by the frontend): ``MACs = FLOPs``, charged once, the input being a real mean.

Products of two activations, which the papers' counters miss, are counted from the products the
decomposition actually builds, per step, summed over the measured values:

- binary × binary (coincidence neurons feeding unit synapses): ``Σ_k (Σ_n A_nk)(Σ_m B_km)``
  synaptic events for ``A @ B``; ``Σ A ⊙ B`` for a Hadamard product; counted as ACs;
- graded × binary (gated neurons, graded spikes): ``Σ_k nnz(A[:, k]) · Σ_m B_km`` events;
  counted as ACs;
- graded × graded: ``N · K · M`` MACs (host).

For count inputs the report also gives the *expanded* view: distributing the synapses over the
k sources costs ``k`` times the weights and ``mean(value) · T · FLOPs`` ACs.

**Conventions** (:data:`CONVENTIONS`; each op carries all of them):

- ``paper``: the formulas above (``rate · T · FLOPs``, padding taps included; once-per-inference
  ops charged once);
- ``events``: the synaptic events of the measured run, op by op: every non-zero input element
  sends one event along every weight that leaves it (zero weights included, padding taps
  excluded since they have no source)::

      conv:    events = (C_out / groups) · Σ_t Σ_y,x Σ_{c, taps inside the image} [x_t(c, ·) ≠ 0]
      linear:  events = N_out · Σ_t nnz(x_t)

  a once-per-inference weighted op counts the non-zeros of its input summed over the steps;
  products count their non-zero products ``Σ_t Σ_k nnz(A_t[:, k]) · nnz(B_t[k, :])`` (``nnz(A ⊙ B)``
  for a Hadamard product). Events from binary inputs are ACs, others MACs;
- ``chip``: the chip model's constants on the run's activity (:mod:`snncompile.report.models`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from snncompile.diagnostics import error
from snncompile.ir.graph import Graph, Node
from snncompile.ir.ops import Trait, get_op, has_trait
from snncompile.ir.types import DomainKind
from snncompile.passes.analyze_spike_domain import Flow

__all__ = [
    "CONVENTIONS",
    "E_AC_PJ",
    "E_MAC_PJ",
    "EnergyReport",
    "LayerCost",
    "NeuronActivity",
    "OperationCounter",
    "count_operations",
    "flops_of",
]

#: Energy per operation in the papers' convention (45 nm CMOS, Horowitz 2014), picojoules.
E_MAC_PJ = 4.6
E_AC_PJ = 0.9

#: The counting conventions every op carries (module docstring).
CONVENTIONS = ("paper", "events", "chip")


def flops_of(node: Node) -> int:
    """Multiply-accumulates of a weighted op or product, per sample and step (no biases): the
    count its op declares in the registry (:mod:`snncompile.ir.counts`; zero for ops without
    synaptic operations)."""
    count = get_op(node.op).count
    assert count is not None  # the registry refuses an op without one (IR113)
    return count(node)


@dataclass(frozen=True)
class LayerCost:
    """The cost of one synaptic op or product over one inference."""

    node: str
    op: str
    module: str | None
    partition: str
    input_domain: str
    flops: int
    firing_rate: float | None
    macs: float
    acs: float
    expanded_weights: int | None = None
    expanded_acs: float | None = None
    #: time steps charged: T, or 1 for an op applied once per inference (after the T mean)
    steps_charged: int | None = None
    #: the ``events`` convention: synaptic events of the run from non-binary / binary inputs
    event_macs: float = 0.0
    event_acs: float = 0.0

    @property
    def energy_pj(self) -> float:
        """The paper convention's energy (45 nm)."""
        return E_MAC_PJ * self.macs + E_AC_PJ * self.acs

    @property
    def events_energy_pj(self) -> float:
        """The ``events`` count at the 45 nm constants."""
        return E_MAC_PJ * self.event_macs + E_AC_PJ * self.event_acs

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "op": self.op,
            "module": self.module,
            "partition": self.partition,
            "input_domain": self.input_domain,
            "flops": self.flops,
            "steps_charged": self.steps_charged,
            "firing_rate": self.firing_rate,
            "mac_ops": self.macs,
            "ac_ops": self.acs,
            "energy_pj": self.energy_pj,
            "expanded_weights": self.expanded_weights,
            "expanded_ac_ops": self.expanded_acs,
            "events": {
                "mac_ops": self.event_macs,
                "ac_ops": self.event_acs,
                "energy_pj": self.events_energy_pj,
            },
        }


@dataclass(frozen=True)
class NeuronActivity:
    """One neuron layer's size and spikes per inference (for the chip and memory models)."""

    node: str
    partition: str
    neurons: int
    spikes: float


@dataclass(frozen=True)
class EnergyReport:
    """Per-layer costs and totals of one inference, averaged over the measured samples.

    ``convention`` is the one the reports show first (``--count``); the JSON has all of them.
    """

    layers: tuple[LayerCost, ...]
    time_steps: int
    samples: int
    neuron_layers: tuple[NeuronActivity, ...] = ()
    convention: str = "paper"

    @property
    def mac_ops(self) -> float:
        return sum(layer.macs for layer in self.layers)

    @property
    def ac_ops(self) -> float:
        return sum(layer.acs for layer in self.layers)

    @property
    def energy_mj(self) -> float:
        return sum(layer.energy_pj for layer in self.layers) * 1e-9

    @property
    def energy_uj(self) -> float:
        """The paper convention's energy per inference, µJ (45 nm)."""
        return sum(layer.energy_pj for layer in self.layers) * 1e-6

    @property
    def event_mac_ops(self) -> float:
        return sum(layer.event_macs for layer in self.layers)

    @property
    def event_ac_ops(self) -> float:
        return sum(layer.event_acs for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        from snncompile.report.models import conventions, energy_models

        return {
            "convention": "paper: 4.6 pJ per MAC, 0.9 pJ per AC (45 nm, Horowitz 2014)",
            "selected": self.convention,
            "conventions": conventions(self),
            "models": energy_models(self),
            "time_steps": self.time_steps,
            "samples": self.samples,
            "mac_ops": self.mac_ops,
            "ac_ops": self.ac_ops,
            "energy_mj": self.energy_mj,
            "energy_uj": self.energy_uj,
            "layers": [layer.to_dict() for layer in self.layers],
        }


def _weight_uses(node: Node, x: np.ndarray) -> float:
    """Events of a weighted op on one step of a batch ``x`` ``[B, *in_shape]``: every non-zero
    input element times the weights that leave it (padding taps excluded)."""
    mask = x != 0
    if node.op == "linear":
        return float(np.count_nonzero(mask)) * int(node.attrs.weight.shape[0])
    if node.op == "projection":  # a network graph (netx, text IR): its synapses, unit weights
        return _projection_uses(node, mask)
    if node.op != "conv2d":
        raise error(
            "IR102", f"no synaptic-event rule for the weighted op {node.op!r}", node=node.name
        )
    import torch  # lazy: the report modules load without torch
    import torch.nn.functional as F

    a = node.attrs
    c_out = int(a.weight.shape[0])
    per_pixel = torch.from_numpy(mask.sum(axis=1, keepdims=True, dtype=np.float32))
    ones = torch.ones((1, 1, *(int(k) for k in a.weight.shape[2:])), dtype=torch.float32)
    taps = F.conv2d(per_pixel, ones, None, a.stride, a.padding, a.dilation)
    return float(taps.double().sum()) * (c_out // a.groups)


def _projection_uses(node: Node, mask: np.ndarray) -> float:
    """Events of a projection: ``Σ P_1(mask)``, its synapses with every weight 1 (no bias,
    exponent or gain) applied to the non-zero pattern of its source, so each non-zero source
    element counts once per synapse leaving it (padding taps excluded, as for ``conv2d``)."""
    from snncompile.ir.ops.network import project

    a = node.attrs
    unit = dataclasses.replace(
        a,
        weight=None if a.weight is None else np.ones_like(a.weight),
        bias=None,
        weight_exp=0,
        gain=1,
    )
    return float(np.sum(project(unit, mask.astype(np.float64))))


def _product_events(a: np.ndarray, b: np.ndarray, op: str) -> float:
    """Synaptic events of one decomposed product (one step, the whole batch)."""
    if op == "mul":
        return float(np.count_nonzero(a * b))
    if op != "matmul":
        raise error("IR102", f"no synaptic-event rule for the product {op!r}", node=op)
    # matmul [..., N, K] @ [..., K, M]: Σ_k nnz(A[:, k]) · Σ_m nnz(B[k, :])
    rows = np.count_nonzero(a, axis=-2)  # [..., K]
    cols = np.count_nonzero(b, axis=-1)  # [..., K]
    return float(np.sum(rows * cols))


class OperationCounter:
    """Accumulates what :class:`EnergyReport` needs, one step at a time (a run observer).

    Memory stays at one step of values, so big models can be measured on many samples.
    """

    def __init__(self, graph: Graph, flows: dict[str, Flow], partition_of: dict[str, str]) -> None:
        self.graph = graph
        self.flows = flows
        self.partition_of = partition_of
        self.nodes = [n for n in graph.nodes if has_trait(n, Trait.WEIGHTED, Trait.PRODUCT)]
        self.sums: dict[str, float] = {n.name: 0.0 for n in self.nodes}  # Σ input values
        self.events: dict[str, float] = {n.name: 0.0 for n in self.nodes}  # product events
        self.uses: dict[str, float] = {n.name: 0.0 for n in self.nodes}  # `events` convention
        self._once_sum: dict[str, np.ndarray] = {}  # once-per-inference ops: Σ_t input
        self.spikes: dict[str, float] = {}  # Σ output values of observed value names
        self.samples = 0
        self.steps = 0
        self._batch = 0

    def _flush(self) -> None:
        """Count the events of the once-per-inference weighted ops on their averaged input."""
        for name, total in self._once_sum.items():
            self.uses[name] += _weight_uses(self.graph.node(name), total)
        self._once_sum.clear()

    def start_batch(self, batch: int) -> None:
        self._flush()
        self.samples += batch
        self._batch = batch

    def observe(self, step: int, values: Mapping[str, np.ndarray]) -> None:
        self.steps = max(self.steps, step + 1)
        for node in self.nodes:
            if has_trait(node, Trait.PRODUCT):
                a, b = (values[v.name] for v in node.inputs)
                events = _product_events(a, b, node.op)
                self.uses[node.name] += events
                if any(self.flows[v.name].domain.kind is DomainKind.BINARY for v in node.inputs):
                    self.events[node.name] += events
            else:
                x = values[node.inputs[0].name]
                self.sums[node.name] += float(np.sum(x))
                if node.name in self.graph.once_per_inference:
                    held = self._once_sum.get(node.name)
                    self._once_sum[node.name] = x.astype(np.float64) + (0 if held is None else held)
                else:
                    self.uses[node.name] += _weight_uses(node, x)
        for name in self.spikes:
            self.spikes[name] += float(np.sum(values[name]))

    def watch(self, names: Sequence[str]) -> None:
        """Also sum these values (e.g. neuron outputs, for firing rates)."""
        for name in names:
            self.spikes.setdefault(name, 0.0)

    def report(self) -> EnergyReport:
        self._flush()
        steps, samples = self.steps, max(self.samples, 1)
        neurons = tuple(
            NeuronActivity(
                node.name,
                self.partition_of.get(node.name, "chip"),
                node.output.type.numel,
                self.spikes[node.output.name] / samples,
            )
            for node in self.graph.nodes
            if node.output.name in self.spikes
        )
        return EnergyReport(
            tuple(self._cost(node, steps, samples) for node in self.nodes), steps, samples, neurons
        )

    def _cost(self, node: Node, steps: int, samples: int) -> LayerCost:
        inputs = [self.flows[v.name] for v in node.inputs]
        module = node.loc.label if node.loc else None
        flops = flops_of(node)
        where = self.partition_of[node.name]
        once = node.name in self.graph.once_per_inference
        runs = 1 if once else steps
        uses = self.uses[node.name] / samples
        # a once-per-inference op reads the mean over T of its input: a real value (MAC)
        binary = [f.domain.kind is DomainKind.BINARY and not once for f in inputs]
        ev_macs, ev_acs = (0.0, uses) if any(binary) else (uses, 0.0)
        if has_trait(node, Trait.PRODUCT):
            domain = " x ".join(str(f.domain) for f in inputs)
            if any(binary):
                acs = self.events[node.name] / samples
                return LayerCost(
                    node.name, node.op, module, where, domain, flops, None, 0.0, acs,
                    steps_charged=runs, event_macs=ev_macs, event_acs=ev_acs,
                )  # fmt: skip
            macs = float(runs * flops)
            return LayerCost(
                node.name, node.op, module, where, domain, flops, None, macs, 0.0,
                steps_charged=runs, event_macs=ev_macs, event_acs=ev_acs,
            )  # fmt: skip
        flow = inputs[0]
        if once:
            return LayerCost(
                node.name, node.op, module, where, "real", flops, None, float(flops), 0.0,
                steps_charged=1, event_macs=ev_macs, event_acs=ev_acs,
            )  # fmt: skip
        numel = math.prod(node.inputs[0].type.shape)
        mean_value = self.sums[node.name] / (steps * samples * numel)
        if binary[0]:
            macs, acs = 0.0, mean_value * steps * flops
            rate: float | None = mean_value
        else:
            macs, acs, rate = float(steps * flops), 0.0, None
        expanded_weights = expanded_acs = None
        if flow.domain.kind is DomainKind.COUNT:
            expanded_weights = int(node.attrs.weight.size) * (flow.domain.bound or 1)
            expanded_acs = mean_value * steps * flops
        return LayerCost(
            node.name,
            node.op,
            module,
            where,
            str(flow.domain),
            flops,
            rate,
            macs,
            acs,
            expanded_weights,
            expanded_acs,
            steps,
            ev_macs,
            ev_acs,
        )


def count_operations(
    graph: Graph,
    values: dict[str, np.ndarray],
    flows: dict[str, Flow],
    partition_of: dict[str, str],
) -> EnergyReport:
    """Count MACs and ACs per synaptic op from recorded values ``[T, B, *shape]``."""
    counter = OperationCounter(graph, flows, partition_of)
    steps, batch = next(iter(values.values())).shape[:2]
    counter.start_batch(int(batch))
    for t in range(steps):
        counter.observe(t, {name: array[t] for name, array in values.items()})
    return counter.report()
