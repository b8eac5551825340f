"""Operation counts and energy from measured firing rates (SEMANTICS.md section 7).

The paper convention of all four seed papers (45 nm, Horowitz 2014)::

    E = 4.6 pJ · MACs + 0.9 pJ · ACs

per inference (one sample over T steps). For each synaptic op, with ``FLOPs`` its multiply-
accumulates per sample per step (syops style: conv ``out_elements · C_in/groups · kH · kW``,
linear ``out_elements · in``; biases not counted):

- binary input: ``ACs = rate · T · FLOPs``, with ``rate`` the measured mean of the input spikes;
- count, integer or real input: ``MACs = T · FLOPs`` (the papers charge the SEW count stream
  as MAC; the first conv on the image is a MAC).

Products of two activations, which the papers' counters miss, are counted from the products the
decomposition actually builds, per step, summed over the measured values:

- binary × binary (coincidence neurons feeding unit synapses): ``Σ_k (Σ_n A_nk)(Σ_m B_km)``
  synaptic events for ``A @ B``; ``Σ A ⊙ B`` for a Hadamard product; counted as ACs;
- graded × binary (gated neurons, graded spikes): ``Σ_k nnz(A[:, k]) · Σ_m B_km`` events;
  counted as ACs;
- graded × graded: ``N · K · M`` MACs (host).

For count inputs the report also gives the *expanded* view: distributing the synapses over the
k sources costs ``k`` times the weights and ``mean(value) · T · FLOPs`` ACs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from snncompile.ir.graph import Graph, Node
from snncompile.ir.types import DomainKind
from snncompile.passes.analyze_spike_domain import Flow
from snncompile.passes.compliance import PRODUCT_OPS, WEIGHTED_OPS

__all__ = ["E_AC_PJ", "E_MAC_PJ", "EnergyReport", "LayerCost", "count_operations", "flops_of"]

#: Energy per operation in the papers' convention (45 nm CMOS, Horowitz 2014), picojoules.
E_MAC_PJ = 4.6
E_AC_PJ = 0.9


def flops_of(node: Node) -> int:
    """Multiply-accumulates of a weighted op or product, per sample and step (no biases)."""
    out = math.prod(node.output.type.shape)
    if node.op in ("conv2d", "conv1d"):
        weight = node.attrs.weight
        return out * math.prod(weight.shape[1:])
    if node.op in ("linear", "dense"):
        return out * int(node.attrs.weight.shape[1])
    if node.op == "matmul":
        return out * node.inputs[0].type.shape[-1]
    if node.op == "mul":
        return out
    raise ValueError(f"{node.op} has no FLOP count")


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

    @property
    def energy_pj(self) -> float:
        return E_MAC_PJ * self.macs + E_AC_PJ * self.acs

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "op": self.op,
            "module": self.module,
            "partition": self.partition,
            "input_domain": self.input_domain,
            "flops": self.flops,
            "firing_rate": self.firing_rate,
            "mac_ops": self.macs,
            "ac_ops": self.acs,
            "energy_pj": self.energy_pj,
            "expanded_weights": self.expanded_weights,
            "expanded_ac_ops": self.expanded_acs,
        }


@dataclass(frozen=True)
class EnergyReport:
    """Per-layer costs and totals of one inference, averaged over the measured samples."""

    layers: tuple[LayerCost, ...]
    time_steps: int
    samples: int

    @property
    def mac_ops(self) -> float:
        return sum(layer.macs for layer in self.layers)

    @property
    def ac_ops(self) -> float:
        return sum(layer.acs for layer in self.layers)

    @property
    def energy_mj(self) -> float:
        return sum(layer.energy_pj for layer in self.layers) * 1e-9

    def to_dict(self) -> dict[str, Any]:
        return {
            "convention": "paper: 4.6 pJ per MAC, 0.9 pJ per AC (45 nm, Horowitz 2014)",
            "time_steps": self.time_steps,
            "samples": self.samples,
            "mac_ops": self.mac_ops,
            "ac_ops": self.ac_ops,
            "energy_mj": self.energy_mj,
            "layers": [layer.to_dict() for layer in self.layers],
        }


def _product_events(node: Node, a: np.ndarray, b: np.ndarray, flows: list[Flow]) -> float:
    """Synaptic events of the decomposed product over all recorded steps and samples."""
    a_binary, b_binary = (f.domain.kind is DomainKind.BINARY for f in flows)
    if node.op == "mul":
        return float(np.count_nonzero(a * b)) if (a_binary or b_binary) else 0.0
    # matmul [..., N, K] @ [..., K, M]: Σ_k nnz(A[:, k]) · Σ_m nnz(B[k, :])
    rows = np.count_nonzero(a, axis=-2)  # [..., K]
    cols = np.count_nonzero(b, axis=-1)  # [..., K]
    return float(np.sum(rows * cols))


def count_operations(
    graph: Graph,
    values: dict[str, np.ndarray],
    flows: dict[str, Flow],
    partition_of: dict[str, str],
) -> EnergyReport:
    """Count MACs and ACs per synaptic op from recorded values ``[T, B, *shape]``."""
    layers = []
    steps, batch = next(iter(values.values())).shape[:2]
    for node in graph.nodes:
        if node.op not in WEIGHTED_OPS and node.op not in PRODUCT_OPS:
            continue
        inputs = [flows[v.name] for v in node.inputs]
        module = node.loc.module if node.loc else None
        flops = flops_of(node)
        if node.op in PRODUCT_OPS and len(node.inputs) == 2:
            a, b = (values[v.name] for v in node.inputs)
            binary = [f.domain.kind is DomainKind.BINARY for f in inputs]
            domain = " x ".join(str(f.domain) for f in inputs)
            if any(binary):
                acs = _product_events(node, a, b, inputs) / batch
                cost = LayerCost(
                    node.name, node.op, module, partition_of[node.name], domain, flops, None, 0, acs
                )
            else:
                cost = LayerCost(
                    node.name,
                    node.op,
                    module,
                    partition_of[node.name],
                    domain,
                    flops,
                    None,
                    float(steps * flops),
                    0.0,
                )
            layers.append(cost)
            continue
        flow = inputs[0]
        x = values[node.inputs[0].name]
        mean_value = float(np.mean(x))
        if flow.domain.kind is DomainKind.BINARY:
            macs, acs = 0.0, mean_value * steps * flops
            rate: float | None = mean_value
        else:
            macs, acs, rate = float(steps * flops), 0.0, None
        expanded_weights = expanded_acs = None
        if flow.domain.kind is DomainKind.COUNT:
            expanded_weights = int(node.attrs.weight.size) * (flow.domain.bound or 1)
            expanded_acs = mean_value * steps * flops
        layers.append(
            LayerCost(
                node.name,
                node.op,
                module,
                partition_of[node.name],
                str(flow.domain),
                flops,
                rate,
                macs,
                acs,
                expanded_weights,
                expanded_acs,
            )
        )
    return EnergyReport(tuple(layers), int(steps), int(batch))
