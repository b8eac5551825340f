"""``lower-to-network``: the quantized tensor IR becomes populations and projections.

Structural: no arithmetic changes. Every chip neuron becomes a ``population``:

- ``lif_fixed``                                  -> ``population(kind=lif)``;
- ``mul`` of two spike tensors (coincidence)     -> ``population(kind=and)``: no memory (du, dv
  none), vth=1, two unit projections: ``s = [a + b >= 2]``;
- ``mul`` of a spike and a count/value (gating)  -> ``population(kind=gated)``: ``value · gate``;
- ``maxpool2d`` of spikes                         -> ``population(kind=or)``: no memory, vth=0,
  fed by a depthwise projection of ones over the pooling window: ``s = [Σ_window x >= 1]``.

Every population names the chip compiled for (``ctx.chip``); a kind the chip cannot host (e.g.
graded products on a chip without graded spikes) stops the pass with NW904.

The linear ops between neurons (adds, layout, sums, conv, linear, integer scales, shifts) are
distributed into *terms*, one per source: ``I = Σ_k P_k(x_k) + c``. Each term becomes a
``projection`` (pre view, one core, gain, exponent, post view); adds become fan-in (an MS
residual stream feeds every population that reads it with one projection per contributor: the
default "fan-in" form of ``lower-residuals``; ``--ms-relay`` instead gives a stream read more
than once a graded ``relay`` population, one hop, and one identity projection per reader; the
report's ``ms_streams`` gives the synapses of both forms). The constant ``c`` (conv and linear
biases, in current units) moves into the population's bias: with no current memory the chip's
``u`` is exactly ``a << i``, so ``v`` gains ``2^i·c`` per step either way (exact unless ``u``
would wrap, which the quantizer's overflow check rules out). Under a negative exponent the bias
is a multiple of ``2^-e`` (the quantizer makes it one), so ``floor((t + c)/2^-e) = floor(t/2^-e)
+ c/2^-e``.

A ``recurrent`` node (a neuron's spikes of the previous step) stays a ``recurrent`` node that
names the source's population; the projections that read it are *recurrent projections*
(``pipeline-delays`` gives them their delay).

Host ops (the encoder, the readout, and what ``--allow-host-ops`` left on the host) stay tensor
ops; a host op that reads a chip current reads a ``current_sum`` of its projections. The result
is the *layerwise* network (all delays 0); ``pipeline-delays`` makes it the pipelined one.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from snncompile.chip import DEFAULT_CHIP, ChipModel, get_chip
from snncompile.diagnostics import error
from snncompile.ir.graph import Graph, GraphBuilder, Node, Value
from snncompile.ir.ops import get_op
from snncompile.ir.ops.network import CurrentSumAttrs, PopulationAttrs, ProjectionAttrs
from snncompile.ir.ops.tensor import ConstAttrs
from snncompile.ir.types import DomainKind
from snncompile.ir.views import View
from snncompile.passes.analyze_spike_domain import analyze
from snncompile.passes.manager import PassContext
from snncompile.passes.partition_host import partition

__all__ = ["LowerToNetwork", "Term"]

#: Tensor ops that are synapses or dendrites on the chip (absorbed into projections).
LINEAR_OPS = frozenset(
    {"add", "reshape", "permute", "slice", "conv2d", "linear", "sum", "scale", "shift"}
)
_VIEW_OPS = {"reshape": "reshape", "permute": "permute", "slice": "slice"}
_ELEMENTWISE_OPS = frozenset({"scale", "shift"})


@dataclass(frozen=True)
class Term:
    """One source's contribution to a current: ``post(shift(gain · core(pre(x)), exp))``."""

    source: Value  # in the new graph
    graded: bool
    shape: tuple[int, ...]  # the term's current shape so far
    pre: View = field(default_factory=View)
    core: str = ""  # "", "conv", "dense", "sum"
    core_attrs: dict[str, Any] = field(default_factory=dict)
    gain: int = 1
    exp: int = 0
    post: View = field(default_factory=View)

    def view(self, kind: str, args: tuple[int, ...], shape: tuple[int, ...]) -> Term:
        if self.core:
            return dataclasses.replace(self, post=self.post.then(kind, args), shape=shape)
        return dataclasses.replace(self, pre=self.pre.then(kind, args), shape=shape)

    def attrs(self) -> ProjectionAttrs:
        kw = dict(self.core_attrs)
        kind = self.core or "sum"
        if kind == "sum":
            kw.setdefault("gain", self.gain)
        elif self.gain != 1:
            kw["weight"] = _times(kw["weight"], self.gain)
        return ProjectionAttrs(
            kind=kind,
            weight_exp=self.exp,
            pre=str(self.pre),
            post=str(self.post),
            graded=self.graded,
            **kw,
        )


@dataclass
class _Current:
    """A chip value as a sum of terms plus a constant current (or none)."""

    terms: list[Term]
    const: np.ndarray | None


def _integer(factor: float, where: str) -> int:
    if float(factor) != round(factor):
        raise error(
            "NW901",
            f"{where} multiplies a chip current by {factor}, which is not an integer: synapses "
            "hold integer weights",
            node=where,
        )
    return round(factor)


class _Lowering:
    def __init__(
        self,
        graph: Graph,
        allow_host_ops: bool,
        ms_relay: bool = False,
        model: ChipModel | None = None,
        objective: str = "latency",
    ) -> None:
        self.model = get_chip(model or DEFAULT_CHIP)
        self.objective = objective
        self.source = graph
        self.allow_host_ops = allow_host_ops
        self.ms_relay = ms_relay
        self.users = graph.users()
        self.chip = set(partition(graph).chip)
        flows = analyze(graph)
        self.binary = {n for n, f in flows.items() if f.domain.kind is DomainKind.BINARY}
        self.builder = GraphBuilder(graph.name, "network")
        self.mapping: dict[Value, Value] = {}  # old value -> new source value
        self.graded: set[Value] = set()  # new values sent as graded payloads
        self.currents: dict[Value, _Current] = {}
        self.probes: dict[Value, Value] = {}
        self.report: dict[str, Any] = {
            "populations": {},
            "projections": {},
            "host_ops": [],
            "ms_streams": [],
            "products": [],
        }

    # --- classification -------------------------------------------------------------------
    def neuron_kind(self, node: Node) -> str | None:
        if node.name not in self.chip:
            return None
        if node.op == "lif_fixed":
            return "lif"
        if node.op == "mul":
            spikes = [v.name in self.binary for v in node.inputs]
            if all(spikes):
                return "and"
            if any(spikes):
                return "gated"
        if node.op == "maxpool2d" and node.inputs[0].name in self.binary:
            return "or"
        return None

    def absorbed(self, node: Node) -> bool:
        return node.name in self.chip and node.op in LINEAR_OPS

    # --- the walk ---------------------------------------------------------------------------
    def run(self) -> Graph:
        for value in self.source.inputs:
            self.mapping[value] = self.builder.input(value.name, value.type)
            self.graded.add(self.mapping[value])
        recurrent: list[Node] = []
        for node in self.source.nodes:
            kind = self.neuron_kind(node)
            if node.op == "recurrent":
                recurrent.append(self.recurrent(node))
            elif kind is not None:
                self.population(node, kind)
            elif not self.absorbed(node):
                self.host(node)
        outputs = [self.host_input(v) for v in self.source.outputs]
        self.connect(recurrent)
        return self.builder.finish(outputs)

    def recurrent(self, node: Node) -> Node:
        """A recurrent edge stays a ``recurrent`` node: the spikes it carries feed projections
        (recurrent projections); its source is renamed once the population exists."""
        out = self.builder.add_node("recurrent", [], node.attrs, name=node.name, loc=node.loc)
        self.mapping[node.output] = out
        assert out.producer is not None
        return out.producer

    def connect(self, recurrent: list[Node]) -> None:
        """Point each recurrent node at its source's population (NW906 when the source did not
        become a lif population)."""
        by_name = {v.name: v for v in self.source.values()}
        for node in recurrent:
            old = by_name.get(node.attrs.source)
            new = self.mapping.get(old) if old is not None else None
            pop = new.producer if new is not None else None
            if pop is None or pop.op != "population" or pop.attrs.kind != "lif":
                raise error(
                    "NW906",
                    f"{node.describe()} reads %{node.attrs.source}, which did not become a lif "
                    "population on the chip",
                    node=node.describe(),
                )
            node.attrs = dataclasses.replace(node.attrs, source=pop.output.name)

    def current(self, value: Value) -> _Current:
        """``value`` as terms over sources (memoised)."""
        if value in self.currents:
            return self.currents[value]
        node = value.producer
        shape = value.type.shape
        if node is None or not self.absorbed(node):
            new = self.mapping[value]
            result = _Current([Term(new, new in self.graded, shape)], None)
        else:
            result = self.through(node, shape)
            if node.op == "add" and len(self.users.get(value, [])) > 1 and len(result.terms) > 1:
                result = self.stream(value, result)
        self.currents[value] = result
        return result

    def stream(self, value: Value, current: _Current) -> _Current:
        """A residual stream read more than once: fan-in projections from every contributor
        into every reader (default), or, with ``ms_relay``, one graded relay population."""
        readers = len(self.users[value])
        synapses = sum(t.attrs().synapses(t.source.type.shape) for t in current.terms)
        numel = value.type.numel
        self.report["ms_streams"].append(
            {
                "value": value.name,
                "contributors": len(current.terms),
                "readers": readers,
                "fan_in_synapses": readers * synapses,
                "relay_synapses": synapses + readers * numel,
                "lowered_as": "relay" if self.ms_relay else "fan-in",
            }
        )
        if not self.ms_relay:
            return current
        node = value.producer
        assert node is not None
        name = f"{value.name}.relay"
        inputs = self.projections(_Current(current.terms, None), name, node)
        self.hostable("relay", node)
        attrs = PopulationAttrs(kind="relay", bias_mant=current.const, chip=self.model.name)
        out = self.builder.add_node("population", inputs, attrs, name=name, loc=node.loc)
        self.graded.add(out)
        self.report["populations"][out.name] = {
            "kind": "relay",
            "shape": list(out.type.shape),
            "neurons": out.type.numel,
            "fan_in": len(inputs),
        }
        return _Current([Term(out, True, value.type.shape)], None)

    def product_value(self, value: Value, current: _Current, node: Node) -> _Current:
        """The value operand of a gated product, as fan-in or through a relay (cost-chosen).

        When the operand is a reduction of unit synapses (``k`` per element, e.g. ``Σ_n`` of
        coincidences in ``Q (Kᵀ V)``) broadcast ``r`` times by the product, fan-in gives each
        of the ``r·|value|`` product neurons its own ``k`` synapses; a graded relay population
        computes the value once (``k·|value|`` synapses, ``|value|`` neurons) and sends it to
        each product neuron over one synapse, one hop later. Both are exact (the relay passes
        its integer input sum). The estimated cores of each form
        (``max(neurons / neurons_per_core, bytes / synapse_bytes_per_core)``) decide under
        ``objective="cores"``; ``latency`` keeps fan-in."""
        out = node.output.type.numel
        numel = value.type.numel
        terms = current.terms
        if out <= numel or not terms or any(t.core not in ("", "sum") for t in terms):
            return current
        synapses = sum(t.attrs().synapses(t.source.type.shape) for t in terms)
        per_element = synapses / numel
        if per_element <= 1:
            return current
        lim = self.model.limits

        def cores(neurons: float, unit_synapses: float) -> float:
            return max(
                neurons / lim.neurons_per_core,
                unit_synapses * lim.index_bytes / lim.synapse_bytes_per_core,
            )

        fan_in = cores(out, out * per_element)
        relay = cores(out, out) + cores(numel, synapses)
        chosen = "relay" if self.objective == "cores" and relay < fan_in else "fan-in"
        self.report["products"].append(
            {
                "product": node.name,
                "value": value.name,
                "broadcast": out // numel,
                "fan_in_synapses": int(out * per_element),
                "relay_synapses": int(synapses + out),
                "fan_in_cores_estimate": round(fan_in, 2),
                "relay_cores_estimate": round(relay, 2),
                "extra_hops": 1 if chosen == "relay" else 0,
                "lowered_as": chosen,
            }
        )
        if chosen == "fan-in":
            return current
        name = f"{node.name}.relay"
        inputs = self.projections(_Current(terms, None), name, node)
        self.hostable("relay", node)
        attrs = PopulationAttrs(kind="relay", bias_mant=current.const, chip=self.model.name)
        relay_out = self.builder.add_node("population", inputs, attrs, name=name, loc=node.loc)
        self.graded.add(relay_out)
        self.report["populations"][relay_out.name] = {
            "kind": "relay",
            "shape": list(relay_out.type.shape),
            "neurons": relay_out.type.numel,
            "fan_in": len(inputs),
        }
        return _Current([Term(relay_out, True, value.type.shape)], None)

    def through(self, node: Node, shape: tuple[int, ...]) -> _Current:
        where = node.describe()
        if node.op == "add":
            parts = [self.current(v) for v in node.inputs]
            terms = [_expand(t, shape) for p in parts for t in p.terms]
            consts = [_compact(p.const, shape) for p in parts if p.const is not None]
            return _Current(terms, functools.reduce(np.add, consts) if consts else None)
        inner = self.current(node.inputs[0])
        const = None if inner.const is None else _apply(node, inner.const, shape)
        if node.op in _VIEW_OPS:
            args = _view_args(node)
            return _Current([t.view(node.op, args, shape) for t in inner.terms], const)
        if node.op == "scale":
            gain = _integer(node.attrs.factor, where)
            return _Current([self.scaled(t, gain, where) for t in inner.terms], const)
        if node.op == "shift":
            exp = node.attrs.exponent
            if exp < 0 and (len(inner.terms) > 1 or not _divisible(inner.const, -exp)):
                raise error(
                    "NW901",
                    f"{where} shifts a sum of {len(inner.terms)} currents right; floor division "
                    "does not distribute over the sources",
                    node=where,
                )
            if any(t.exp for t in inner.terms):
                raise error("NW901", f"{where} shifts a current twice", node=where)
            return _Current([dataclasses.replace(t, exp=exp) for t in inner.terms], const)
        # a core: conv2d, linear, sum
        terms = [self.cored(t, node, shape) for t in inner.terms]
        if node.op in ("conv2d", "linear") and inner.const is not None:
            raise error("NW901", f"{where} applies synapses to a constant current", node=where)
        if node.op in ("conv2d", "linear") and node.attrs.bias is not None:
            bias = node.attrs.bias
            const = _compact(bias.reshape(-1, 1, 1) if node.op == "conv2d" else bias, shape)
        return _Current(terms, const)

    def scaled(self, term: Term, gain: int, where: str) -> Term:
        if term.exp < 0:
            raise error("NW901", f"{where} scales a current after a right shift", node=where)
        return dataclasses.replace(term, gain=term.gain * gain)

    def cored(self, term: Term, node: Node, shape: tuple[int, ...]) -> Term:
        where = node.describe()
        if term.core or term.exp:
            raise error(
                "NW901",
                f"{where} applies a second set of synapses to a current (a MAC on chip)",
                node=where,
            )
        a = node.attrs
        if node.op == "sum":
            term = dataclasses.replace(term, core="sum", core_attrs={"axes": a.axes}, shape=shape)
            if a.keepdim:
                term = dataclasses.replace(term, post=term.post.then("reshape", shape))
            return term
        weight = a.weight  # the quantizer's frozen mantissas, shared by every term that reads them
        if node.op == "linear":
            return dataclasses.replace(
                term, core="dense", core_attrs={"weight": weight}, shape=shape
            )
        conv = {
            "weight": weight,
            "stride": a.stride,
            "padding": a.padding,
            "dilation": a.dilation,
            "groups": a.groups,
        }
        return dataclasses.replace(term, core="conv", core_attrs=conv, shape=shape)

    # --- emitting ---------------------------------------------------------------------------
    def projections(self, current: _Current, target: str, node: Node) -> list[Value]:
        out = []
        for i, term in enumerate(current.terms):
            attrs = term.attrs()
            name = f"{target}.in{i}"
            proj = self.builder.add_node(
                "projection", [term.source], attrs, name=name, loc=node.loc
            )
            out.append(proj)
            source_shape = term.source.type.shape
            self.report["projections"][proj.name] = {
                "source": term.source.name,
                "target": target,
                "kind": attrs.kind,
                "graded": attrs.graded,
                "synapses": attrs.synapses(source_shape),
                "weights": 0 if attrs.weight is None else int(attrs.weight.size),
            }
        return out

    def hostable(self, kind: str, node: Node) -> None:
        """NW904 unless the chip hosts populations of ``kind``."""
        if not self.model.can_host(kind):
            graded = " (it has no graded spikes)" if not self.model.graded_spike_bits else ""
            raise error(
                "NW904",
                f"{node.describe()} needs a {kind} population, which chip {self.model.name} "
                f"cannot host{graded}",
                node=node.describe(),
            )

    def population(self, node: Node, kind: str) -> None:
        where = node.describe()
        self.hostable(kind, node)
        if kind == "or":
            inner = self.current(node.inputs[0])
            if len(inner.terms) != 1 or inner.terms[0].core or inner.const is not None:
                raise error("NW901", f"{where} pools something other than spikes", node=where)
            term, a = inner.terms[0], node.attrs
            channels = node.inputs[0].type.shape[0]
            ones = np.ones((channels, 1, *a.kernel_size))
            window = {"weight": ones, "stride": a.stride, "padding": a.padding, "groups": channels}
            currents = [_Current([dataclasses.replace(term, core="conv", core_attrs=window)], None)]
            attrs = PopulationAttrs(kind="or", vth=0, chip=self.model.name)
        elif kind in ("and", "gated"):
            shape = node.output.type.shape
            operands = list(node.inputs)
            if kind == "gated" and operands[0].name in self.binary:
                operands.reverse()  # value first, gate last
            currents = [self.current(v) for v in operands]
            if kind == "gated":
                currents[0] = self.product_value(operands[0], currents[0], node)
            gate = currents[-1]
            if (
                len(gate.terms) != 1
                or gate.const is not None
                or (
                    kind == "and" and (len(currents[0].terms) != 1 or currents[0].const is not None)
                )
            ):
                raise error(
                    "NW901",
                    f"{where} multiplies by a sum of spike trains; a coincidence or product "
                    "neuron takes one spike source per operand",
                    node=where,
                )
            currents = [_Current([_expand(t, shape) for t in c.terms], c.const) for c in currents]
            bias = currents[0].const
            attrs = PopulationAttrs(
                kind=kind,
                vth=1 if kind == "and" else 0,
                bias_mant=None if bias is None else _compact(bias, shape),
                chip=self.model.name,
            )
        else:
            currents = [self.current(node.inputs[0])]
            attrs = self.lif_attrs(node, currents[0])
        inputs = [p for c in currents for p in self.projections(c, node.name, node)]
        out = self.builder.add_node("population", inputs, attrs, name=node.name, loc=node.loc)
        self.mapping[node.output] = out
        if kind == "gated":
            self.graded.add(out)
        self.report["populations"][out.name] = {
            "kind": kind,
            "shape": list(out.type.shape),
            "neurons": out.type.numel,
            "fan_in": len(inputs),
        }

    def lif_attrs(self, node: Node, current: _Current) -> PopulationAttrs:
        a = node.attrs
        bias_mant, bias_exp = a.bias_mant, a.bias_exp
        neuron = self.model.neuron
        if a.chip != self.model.name:
            raise error(
                "NW903",
                f"{node.describe()} was quantized for chip {a.chip}, lowered for {self.model.name}",
                node=node.describe(),
            )
        if current.const is not None and np.any(current.const != 0):
            if a.du != neuron.no_current_memory:
                raise error(
                    "NW901",
                    f"{node.describe()} has du={a.du}: its synaptic bias cannot become a neuron "
                    f"bias exactly (needs du={neuron.no_current_memory})",
                    node=node.describe(),
                )
            base = 0.0 if bias_mant is None else np.asarray(bias_mant) * 2.0**bias_exp
            total = np.rint(base + float(neuron.input_scale) * current.const)
            bias_mant, bias_exp = total, 0
        return PopulationAttrs(
            kind="lif",
            du=a.du,
            dv=a.dv,
            vth=a.vth,
            bias_mant=bias_mant,
            bias_exp=bias_exp,
            vth_map=a.vth_map,
            start=0,
            chip=a.chip,
            reset=a.reset,
        )

    def host(self, node: Node) -> None:
        if node.name in self.chip:
            if not self.allow_host_ops:
                raise error(
                    "NW901",
                    f"{node.describe()} is on the chip but is neither a neuron nor synapses",
                    node=node.describe(),
                )
            self.report["host_ops"].append(node.name)
        inputs = [self.host_input(v) for v in node.inputs]
        outputs = self.builder.add_node_multi(
            node.op, inputs, node.attrs, name=node.name, loc=node.loc
        )
        for old, new in zip(node.outputs, outputs, strict=True):
            self.mapping[old] = new
            self.graded.add(new)

    def host_input(self, value: Value) -> Value:
        """``value`` as the host reads it: a source directly, a chip current via a probe."""
        if value in self.mapping:
            return self.mapping[value]
        if value not in self.probes:
            current = self.current(value)
            node = value.producer
            assert node is not None
            inputs = self.projections(current, value.name, node)
            probe = self.builder.add_node(
                "current_sum", inputs, CurrentSumAttrs(), name=value.name, loc=node.loc
            )
            if current.const is not None and np.any(current.const != 0):
                probe = self.builder.add_node(
                    "add_const",
                    [probe],
                    ConstAttrs(value=current.const),  # broadcast like the current
                    name=f"{value.name}_bias",
                    loc=node.loc,
                )
            self.probes[value] = probe
        return self.probes[value]


def _times(weight: np.ndarray, gain: int) -> np.ndarray:
    """``weight · gain`` exactly, in the narrowest of int16/int32/int64 that holds it (weights
    stay integer mantissas: an ImageNet model's projections share gigabytes of them)."""
    if not np.issubdtype(weight.dtype, np.integer):
        return weight * gain
    product = weight.astype(np.int64) * gain
    for dtype in (np.int16, np.int32):
        info = np.iinfo(dtype)
        if product.size == 0 or (product.min() >= info.min and product.max() <= info.max):
            return product.astype(dtype)
    return product


def _expand(term: Term, shape: tuple[int, ...]) -> Term:
    if term.shape == shape:
        return term
    if len(term.shape) != len(shape):
        term = term.view("reshape", (1,) * (len(shape) - len(term.shape)) + term.shape, shape)
    return term.view("expand", shape, shape)


def _view_args(node: Node) -> tuple[int, ...]:
    a = node.attrs
    if node.op == "reshape":
        return tuple(a.shape)
    if node.op == "permute":
        return tuple(a.perm)
    return (a.axis, a.start, a.stop, a.step)


def _compact(const: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``const`` broadcast to ``shape``, stored compactly: same rank as ``shape``, size 1 on
    every axis it does not vary along (a conv bias stays ``[C, 1, 1]``, a per-feature bias
    broadcast over attention's ``N x N`` pairs stays one row). Population biases and constant
    currents keep this form (numpy broadcasting) instead of one value per neuron, which at
    ImageNet size is gigabytes (SpikingResformer-L's gated populations have 734 M neurons)."""
    full = np.broadcast_to(np.asarray(const, dtype=np.float64), shape)
    index = tuple(slice(0, 1) if stride == 0 else slice(None) for stride in full.strides)
    return np.ascontiguousarray(full[index])


def _apply(node: Node, const: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``node``'s kernel on a constant current (one sample), compacted to ``shape``.
    Elementwise ops (``scale``, ``shift``) run on the compact form itself."""
    if node.op not in _ELEMENTWISE_OPS:
        const = np.broadcast_to(const, node.inputs[0].type.shape)
    (out,) = get_op(node.op).kernel(node.attrs, [const[None]], None)
    return _compact(out[0], shape)


def _divisible(const: np.ndarray | None, bits: int) -> bool:
    return const is None or bool(np.all(np.mod(const, 2**bits) == 0))


@dataclass(frozen=True)
class LowerToNetwork:
    """Lower the quantized tensor IR to the network IR (see the module docstring)."""

    name: ClassVar[str] = "lower-to-network"
    requires: ClassVar[frozenset[str]] = frozenset({"quantized"})
    ensures: ClassVar[frozenset[str]] = frozenset({"network"})

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        if any(n.op == "delay" for n in graph.nodes):
            raise error(
                "CF203",
                "lower-to-network takes the layerwise quantized graph; run pipeline-delays after "
                "it instead of balance-delays before it",
            )
        lowering = _Lowering(
            graph, ctx.config.allow_host_ops, ctx.config.ms_relay, ctx.chip, ctx.config.objective
        )
        result = lowering.run()
        report = lowering.report
        pops = report["populations"].values()
        projs = report["projections"].values()
        report["totals"] = {
            "populations": len(report["populations"]),
            "neurons": sum(p["neurons"] for p in pops),
            "projections": len(report["projections"]),
            "synapses": sum(p["synapses"] for p in projs),
            "weights": sum(p["weights"] for p in projs),
        }
        ctx.reports[self.name] = report
        return result
