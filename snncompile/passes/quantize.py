"""``quantize-fixed-point``: the chip partition becomes the chip's integer arithmetic.

First increment (see ``docs/lowering.md`` for the whole plan). Currents that chip ops pass on
linearly (adds, layout, sums, gated products) form *unit groups* (:func:`current_groups`); each
group gets one power-of-two scale ``s`` and ``k = s·g = s / tau`` (``g`` the neurons' input
gain, ``1/tau`` for spikingjelly's ``decay_input``, else 1; ``tau = 1/g``): its currents are
represented in units of ``1/k``, and every LIF fed by it becomes the chip's integer LIF
(``ctx.chip``, :class:`snncompile.chip.NeuronArithmetic`: decay scale ``D``, input shift
``i``; Loihi 2: 4096 and 6) with ``v ≈ 2^i·s·H``::

    lif(g, λ, vth, reset)    -> lif_fixed(du=<no current memory>, dv=round(D·λ), vth=round(s·vth),
                                         reset)      (g, λ, reset: passes/chip_neurons.py)
    W x + b   (spike input)  -> shift(W_m x + b_m, e)   with W_m·2^e ≈ k·W  (chip mantissas)
    W x + b   (current in)   -> shift(W_m x + b_m, e)   with W_m·2^e ≈ W    (input already ·k)
    count C into a neuron    -> k · C                   (unit synapses of weight k)
    host -> chip current X   -> round(k · X)            (the host sends integers)
    chip -> host current a   -> a / k                   (the readout stays float)
    averages on chip         -> round(...)              (to be folded into the next weights)

``b_m`` is the bias in pre-shift units (``b_m = round(k·b / 2^e)·2^e``), so the shift adds it
exactly. A weighted op fed by another group's current uses ``W·k_out/k_in``. Conv has no weight
exponent in Lava, so conv weights use ``e = 0`` and bound their group's ``s``: the largest power
of two with ``k·max|W_conv| <= M`` (``M`` the chip's largest mixed-sign mantissa, Loihi 2: 254;
at most ``max_scale``). Neurons fed by spike counts reach their threshold exactly, where
spikingjelly fires (``>=``) and the chip does not (``>``): they get one unit of bias (``2^-i``
of a current unit) to fire there too.

Neurons: :mod:`snncompile.passes.chip_neurons` says which chip reset runs each (spikingjelly
LIF/IF with a hard or soft reset, snntorch ``Leaky`` with ``reset_delay=True``) and refuses the
others with the finding ``check`` reports too (SD205, SD206, QZ901). Ops that break the
spike-driven rule on chip (a max-pool over currents, SD203; a MAC on chip, SD202; a product of
two graded values, SD204) stop the pass with their compliance diagnostic unless
``--allow-host-ops``: then they are computed as host ops (on integers) and listed in the
report's ``host_ops``. The result is the integer reference that the simulator and Lava must
match bit for bit; float vs quantized is compared statistically.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from snncompile.chip import DEFAULT_CHIP, ChipModel, get_chip
from snncompile.diagnostics import error
from snncompile.frontend.finite import check_array
from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, GraphBuilder, Node, Value, freeze_array
from snncompile.ir.ops import Trait, ops_with
from snncompile.ir.ops.fixed import LifFixedAttrs, ShiftAttrs
from snncompile.ir.ops.tensor import ScaleAttrs
from snncompile.ir.types import DomainKind
from snncompile.passes.analyze_spike_domain import Flow, analyze
from snncompile.passes.chip_neurons import ChipNeuron, chip_neuron, neuron_findings
from snncompile.passes.compliance import findings
from snncompile.passes.manager import PassContext
from snncompile.passes.overflow import population_ranges, value_bounds
from snncompile.passes.partition_host import partition

__all__ = ["QuantizeFixedPoint", "choose_scales", "current_groups"]

WEIGHTED = ops_with(Trait.WEIGHTED)
NEURONS = ops_with(Trait.NEURON)
AVERAGES = frozenset({"avgpool2d", "adaptive_avgpool2d", "mean", "mul_const", "scale"})
#: Chip ops that are exact on integer currents as they stand (units pass through unchanged).
EXACT = ops_with(Trait.LAYOUT) | {"add", "mul", "matmul", "sum", "maxpool2d", "recurrent"}
#: Every op the quantizer has a rule for on the chip partition; any other is refused (IR115).
RULES = WEIGHTED | AVERAGES | EXACT | {"lif", "batchnorm"}


def _unitless(flow: Flow) -> bool:
    """Spikes and spike counts carry no current unit."""
    return flow.domain.kind in (DomainKind.BINARY, DomainKind.COUNT)


def current_groups(graph: Graph, flows: dict[str, Flow], chip: set[str]) -> dict[str, str]:
    """The unit group of every current value (by name): values that chip ops pass on linearly
    (adds, layout, sums, averages, gated products, constant factors) share one unit; weighted
    ops start a current and neurons end one."""
    parent = {v.name: v.name for v in graph.values() if not _unitless(flows[v.name])}

    def find(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for node in graph.nodes:
        if node.name not in chip or node.op in WEIGHTED or node.op in NEURONS:
            continue
        currents = [v.name for v in (*node.inputs, *node.outputs) if v.name in parent]
        for other in currents[1:]:
            parent[find(other)] = find(currents[0])
    return {name: find(name) for name in parent}


def choose_scales(
    graph: Graph,
    chip: set[str],
    groups: dict[str, str],
    tau: float,
    max_scale: int,
    input_bound: float,
    model: ChipModel | None = None,
    leaks: dict[str, float] | None = None,
) -> dict[str, int]:
    """One power-of-two scale per current group: the largest ``s <= max_scale`` (and
    ``>= tau``, so that ``k = s/tau`` is an integer) such that, on chip ``model`` (default:
    the default chip)

    - every conv into the group is representable without an exponent: ``k·max|W| <= M``
      (``M``: the largest mixed-sign mantissa);
    - every neuron the group feeds stays within the state width in the worst case:
      ``(2^i·k·B + 1) / λ <= 0.9 · L_v``, with ``B`` the largest float input the
      neuron can see (:func:`~snncompile.passes.overflow.value_bounds`) and ``λ`` its leak
      (``leaks`` by node name, :class:`~snncompile.passes.chip_neurons.ChipNeuron`; default
      ``1/tau``).
    """
    model = get_chip(model or DEFAULT_CHIP)
    largest_mantissa = float(model.weights.largest(mixed=True))
    voltage_limit, input_scale = model.neuron.voltage_limit, model.neuron.input_scale
    floor = 2 ** math.ceil(math.log2(tau))
    scales = {group: max_scale for group in set(groups.values())}

    def cap(group: str, limit: float) -> None:
        power = 2 ** math.floor(math.log2(limit)) if limit >= 1 else floor
        scales[group] = max(min(scales[group], power), floor)

    bounds = value_bounds(graph, input_bound)
    for node in graph.nodes:
        if node.name not in chip:
            continue
        if node.op == "conv2d" and node.attrs.weight.size:
            largest = float(np.abs(node.attrs.weight).max())
            if largest > 0:
                cap(groups[node.output.name], largest_mantissa * tau / largest)
        elif node.op == "lif" and node.inputs[0].name in groups:
            decay = 1.0 / node.attrs.tau if node.attrs.decay is None else node.attrs.decay
            if leaks is not None and node.name in leaks:
                decay = leaks[node.name]
            decay = max(decay, 1.0 / model.neuron.scale)  # no leak (IF): as overflow.py bounds
            worst = max(bounds[node.inputs[0].name], 1e-9)
            limit = (0.9 * voltage_limit * decay - 1) * tau / (input_scale * worst)
            cap(groups[node.inputs[0].name], limit)
    return scales


@dataclass
class _Builder:
    """Rebuilds the graph node by node with the quantized ops."""

    source: Graph
    flows: dict[str, Flow]
    chip: set[str]
    max_scale: int
    input_bound: float
    model: ChipModel
    weight_bits: int | None = None
    builder: GraphBuilder = dataclasses.field(init=False)
    mapping: dict[Value, Value] = dataclasses.field(init=False, default_factory=dict)
    host_views: dict[Value, Value] = dataclasses.field(init=False, default_factory=dict)
    chip_views: dict[Value, Value] = dataclasses.field(init=False, default_factory=dict)
    report: dict[str, Any] = dataclasses.field(init=False, default_factory=dict)
    _quantized: dict[tuple[int, float, bool], tuple[np.ndarray, np.ndarray, int]] = (
        dataclasses.field(init=False, default_factory=dict)
    )

    def __post_init__(self) -> None:
        self.builder = GraphBuilder(self.source.name, self.source.stage)

    def scale_of(self, value: Value) -> int:
        """The scale ``s`` of a current's unit group (``max_scale`` for spike counts)."""
        group = self.groups.get(value.name)
        return self.max_scale if group is None else self.scales[group]

    def k(self, value: Value) -> float:
        """Integer current units per float unit of ``value``: ``s / tau``."""
        return self.scale_of(value) / self.tau

    def run(self) -> Graph:
        refused = neuron_findings(self.source, self.model)
        if refused:
            raise refused[0].to_error()
        self.neurons = {
            n.name: mapped
            for n in self.source.nodes
            if n.op == "lif" and isinstance(mapped := chip_neuron(n, self.model), ChipNeuron)
        }
        gains = {mapped.gain for mapped in self.neurons.values()}
        # currents are in units of 1/(s·g): k = s·g = s / tau with tau = 1/g
        self.tau = 1.0 / gains.pop() if gains and min(gains) > 0 else 1.0
        self.groups = current_groups(self.source, self.flows, self.chip)
        self.scales = choose_scales(
            self.source,
            self.chip,
            self.groups,
            self.tau,
            self.max_scale,
            self.input_bound,
            self.model,
            {name: mapped.leak for name, mapped in self.neurons.items()},
        )
        self.report = {
            "scales": sorted(set(self.scales.values())),
            "projections": {},
            "neurons": {},
        }
        for value in self.source.inputs:
            self.mapping[value] = self.builder.input(value.name, value.type)
        for node in self.source.nodes:
            self._node(node)
        return self.builder.finish([self._host_view(v, None) for v in self.source.outputs])

    # --- values crossing partitions -----------------------------------------------------------
    def _is_chip_value(self, value: Value) -> bool:
        return value.producer is not None and value.producer.name in self.chip

    def _input(self, value: Value, reader: Node) -> Value:
        """The quantized value ``reader`` sees for ``value`` (boundary conversions added)."""
        new = self.mapping[value]
        if reader.name in self.chip and not self._is_chip_value(value):
            if not _unitless(self.flows[value.name]):  # a host current enters the chip
                if value not in self.chip_views:
                    scaled = self._add("scale", [new], ScaleAttrs(factor=self.k(value)), value)
                    self.chip_views[value] = self._add("round", [scaled], NoAttrs(), value)
                return self.chip_views[value]
            return new
        if reader.name not in self.chip:
            return self._host_view(value, reader)
        return new

    def _host_view(self, value: Value, reader: Node | None) -> Value:
        """A chip current as float host ops see it (one conversion node per value)."""
        new = self.mapping[value]
        if self._is_chip_value(value) and not _unitless(self.flows[value.name]):
            if value not in self.host_views:
                factor = ScaleAttrs(factor=1.0 / self.k(value))
                self.host_views[value] = self._add("scale", [new], factor, value)
            return self.host_views[value]
        return new

    def _add(self, op: str, inputs: list[Value], attrs: Any, like: Value | Node) -> Value:
        node = like if isinstance(like, Node) else like.producer
        name = f"{like.name}_{op}"
        return self.builder.add_node(op, inputs, attrs, name=name, loc=node.loc if node else None)

    # --- nodes --------------------------------------------------------------------------------
    def _node(self, node: Node) -> None:
        inputs = [self._input(v, node) for v in node.inputs]
        if node.name not in self.chip:
            outputs = self.builder.add_node_multi(
                node.op, inputs, node.attrs, name=node.name, loc=node.loc
            )
        elif node.op not in RULES:
            raise error(
                "IR115",
                f"{node.describe()} is on the chip partition but quantize-fixed-point has no "
                f"rule for {node.op}; it has rules for {', '.join(sorted(RULES))}",
                node=node.describe(),
            )
        elif node.op == "lif":
            outputs = (self._neuron(node, inputs[0]),)
        elif node.op in WEIGHTED:
            outputs = (self._weighted(node, inputs[0]),)
        elif node.op == "batchnorm":
            raise error(
                "QZ902",
                f"{node.describe()} could not be folded into the synapses before it and would "
                "scale integer currents in float",
                node=node.describe(),
            )
        else:
            outputs = self.builder.add_node_multi(
                node.op, inputs, node.attrs, name=node.name, loc=node.loc
            )
            if node.op in AVERAGES and not _unitless(self.flows[node.output.name]):
                outputs = (self._add("round", [outputs[0]], NoAttrs(), node),)
        for old, new in zip(node.outputs, outputs, strict=True):
            self.mapping[old] = new

    def _neuron(self, node: Node, current: Value) -> Value:
        attrs = node.attrs
        mapped = self.neurons[node.name]
        scale = self.scale_of(node.inputs[0])
        decay = mapped.leak
        counted = _unitless(self.flows[node.inputs[0].name])
        if counted:  # a count: unit synapses of weight k, as large as 24 bits allow
            scale = self._count_scale(self.flows[node.inputs[0].name], decay)
            current = self._add("scale", [current], ScaleAttrs(factor=scale / self.tau), node)
        vth_map = None
        if attrs.v_threshold_map is not None:
            vth_map = np.rint(attrs.v_threshold_map * scale)
        neuron = self.model.neuron
        fixed = LifFixedAttrs(
            du=neuron.no_current_memory,
            dv=round(neuron.scale * decay),
            vth=round(attrs.v_threshold * scale),
            vth_map=vth_map,
            # integer counts reach the threshold exactly; spikingjelly fires there (>=), the
            # chip does not (>): one unit of bias (2^-i of a current unit) restores the >=
            bias_mant=np.asarray(1.0) if counted and mapped.fires_at_threshold else None,
            chip=self.model.name,
            reset=mapped.reset,
        )
        self.report["neurons"][node.name] = {
            "scale": scale,
            "dv": fixed.dv,
            "vth": fixed.vth,
            "reset": fixed.reset,
        }
        return self.builder.add_node("lif_fixed", [current], fixed, name=node.name, loc=node.loc)

    def _count_scale(self, flow: Flow, decay: float) -> int:
        """The largest power-of-two scale (<= max_scale, >= tau) whose worst case stays in the
        state width for a neuron fed ``count(C)``: ``(2^i·(s/tau)·C + 1) / decay <= 0.9·L_v``."""
        count = flow.domain.bound or 1
        neuron = self.model.neuron
        decay = max(decay, 1.0 / neuron.scale)  # no leak (IF): as overflow.py bounds it
        limit = (0.9 * neuron.voltage_limit * decay - 1) * self.tau / (neuron.input_scale * count)
        floor = 2 ** math.ceil(math.log2(self.tau))
        fitting = 2 ** math.floor(math.log2(limit)) if limit >= 1 else floor
        return max(floor, min(self.max_scale, fitting))

    def _mantissas(self, weight: np.ndarray, factor: float, conv: bool) -> tuple[np.ndarray, int]:
        """``WeightFormat.quantize(weight · factor)`` as frozen int16 mantissas, computed once per
        weight array and factor: the synapse copies of an expanded SEW residual share one
        weight array, and so share its mantissas (memory and time at ImageNet size)."""
        key = (id(weight), factor, conv)
        cached = self._quantized.get(key)
        if cached is not None and cached[0] is weight:
            return cached[1], cached[2]
        mantissa, exponent = self.model.weights.quantize(
            weight * factor, self.weight_bits, exponent=0 if conv else None
        )
        frozen = freeze_array(mantissa.astype(np.int16))
        self._quantized[key] = (weight, frozen, exponent)
        return frozen, exponent

    def _weighted(self, node: Node, value: Value) -> Value:
        attrs = node.attrs
        source = node.inputs[0]
        factor = self.k(node.output) / (
            1.0 if _unitless(self.flows[source.name]) else self.k(source)
        )
        mantissa, exponent = self._mantissas(attrs.weight, factor, node.op == "conv2d")
        bias = None
        if attrs.bias is not None:  # in pre-shift units, so that the shift adds it exactly
            check_array(attrs.bias * factor, f"%{node.name}.bias", "quantize-fixed-point")
            if exponent <= 0:
                bias = np.rint(attrs.bias * factor) * 2.0**-exponent
            else:
                bias = np.rint(attrs.bias * factor / 2.0**exponent)
        new_attrs = dataclasses.replace(attrs, weight=mantissa, bias=bias)
        out = self.builder.add_node(node.op, [value], new_attrs, name=node.name, loc=node.loc)
        self.report["projections"][node.name] = {
            "exponent": exponent,
            "max_mantissa": int(np.abs(mantissa).max()) if mantissa.size else 0,
        }
        if exponent != 0:
            out = self._add("shift", [out], ShiftAttrs(exponent=exponent), node)
        return out


@dataclass(frozen=True)
class QuantizeFixedPoint:
    """Quantize the chip partition to the chip's integer formats (module docstring)."""

    name: ClassVar[str] = "quantize-fixed-point"
    requires: ClassVar[frozenset[str]] = frozenset(
        {"batchnorm-folded", "scales-folded", "residuals-lowered", "attention-decomposed"}
    )
    ensures: ClassVar[frozenset[str]] = frozenset({"quantized"})

    max_scale: int = 2**10
    input_bound: float = 1.0  # largest |input| (digits images are in [0, 1])

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        bits = ctx.config.weight_bits
        if bits is not None and bits > ctx.chip.weights.bits:
            raise error(
                "QZ904",
                f"weight_bits={bits} but chip {ctx.chip.name} has {ctx.chip.weights.bits}-bit "
                "weights",
                node="weight_bits",
            )
        host_ops = [f for f in findings(graph) if f.severity == "violation"]
        if host_ops and not ctx.config.allow_host_ops:
            raise host_ops[0].to_error()
        chip = set(partition(graph).chip)
        builder = _Builder(
            graph, analyze(graph), chip, self.max_scale, self.input_bound, ctx.chip, bits
        )
        result = builder.run()
        ranges = population_ranges(result, self.input_bound)
        builder.report["ranges"] = [r.to_dict() for r in ranges]
        builder.report["host_ops"] = [f.to_dict() for f in host_ops]
        ctx.reports[self.name] = builder.report
        risky = [r for r in ranges if r.current_wraps or r.voltage_saturates]
        if risky and not ctx.config.accept_saturation:
            worst = min(risky, key=lambda r: r.margin_bits)
            neuron = ctx.chip.neuron
            raise error(
                "QZ903",
                f"{len(risky)} population(s) can overflow {neuron.voltage_bits} bits in the worst "
                f"case; the worst, %{worst.node}, can reach a current of {worst.current:.0f} per "
                f"step (u wraps above {neuron.current_limit // neuron.input_scale}) and a voltage "
                f"of {worst.voltage:.0f} (v saturates at {neuron.voltage_limit})",
                node=f"%{worst.node}",
            )
        return result
