"""Emit a pipelined network graph as Lava processes, in two forms.

``stock`` (lava.proc library processes that map onto neurocores, plus host-side processes):

- a ``lif``/``and``/``or`` population is a ``LIF`` process with the population's ``du, dv,
  vth, bias_mant, bias_exp`` (``and``/``or`` carry du=4095, dv=4096, vth=1/0: ``s = [a >= 2]``
  / ``[a >= 1]``). One LIF has one scalar threshold, so a population with per-neuron
  thresholds ``vth_map`` becomes one LIF per distinct threshold (its *parts*); projections into
  and out of it are split by rows and columns.
- a ``gated`` population is a ``ProdNeuron`` with ``vth = -1, exp = 0``. Its model computes
  ``v = (a_in1 · a_in2) >> 0`` and sends ``v · (|v| > -1) = v``: with the value projections and
  the bias (a RingBuffer wired straight into ``a_in1``, no latency) on ``a_in1`` and the gate
  projection on ``a_in2`` that is ``(Σ value + bias) · gate``, exact while the product fits
  int32 (the model multiplies int32 arrays).
- a recurrent projection (reading a ``recurrent`` node: a population's spikes of the previous
  step) is a synapse from that population's own spikes with one step more delay: onto itself a
  ``Sparse`` (delay 0 + 1), the recurrent Dense of a recurrent layer.
- a projection is a ``Sparse`` (delay 1) or ``DelaySparse`` (delay ``d > 1``: synaptic delay
  ``d - 1``, since a spike of step t with delay k reaches ``a_in`` at ``t + 1 + k``) with the
  explicit matrix of :func:`~snncompile.targets.loihi.plan.projection_matrix`, split by
  :func:`~snncompile.targets.loihi.plan.exact_synapses` so that Lava's 8-bit clipping and
  mixed-sign LSB truncation lose nothing. Graded sources (host values, gated populations) use
  ``num_message_bits = 24`` (``a = W·payload``), spike sources ``0`` (``a = Σ W[:, s != 0]``).
  Conv projections are Sparse too: Lava's Conv flips the kernel, ignores ``weight_exp`` and
  works in WHC layout, and the matrix form is exact for all of them.
- a ``current_sum`` (the host reads currents) is the ``a_out`` ports of its projections, summed
  by the InPort of the recorder (and of the host process when mid host ops read it).
- bias gating by ``start`` (no bias integration before the data arrives): the run is split
  into segments at the distinct ``start`` steps of biased populations; such a LIF starts
  with ``bias_mant = 0`` and gets its bias after ``start`` steps (Lava step ``start + 1`` is
  network step ``start``). Before ``start`` nothing reaches a population (every path into it
  is at least ``start`` hops long), so ``u = v = 0`` holds without gating the input.
- host ops: the encoder (pre) runs in numpy before the run and enters through a RingBuffer
  source; host ops in the middle (SDT's max-pool over currents) run in the host process
  :class:`~snncompile.targets.loihi.host.process.HostOps` (Python, on the host CPU, clearly not
  a neurocore); the readout runs in numpy after the run.
- every population part and current probe is recorded by a host-side
  :class:`~snncompile.targets.loihi.host.process.Recorder` (a memory-mapped file; reading Lava
  Vars back costs one message per element).

``fused``: one :class:`~snncompile.targets.loihi.fused.process.FusedChip` process runs the
whole chip partition (and the mid host ops) with the reference kernels, fed by one RingBuffer.

Networks are built per sample (Lava has no batch axis); the process counts are per sample.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snncompile.ir.graph import Graph, Node, Value
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.targets.loihi._lava import lava_module, require_lava
from snncompile.targets.loihi.errors import EMIT_CODE, lava_error
from snncompile.targets.loihi.plan import (
    GraphSplit,
    exact_synapses,
    projection_matrix,
    run_host,
    split_graph,
    value_arrivals,
)

__all__ = ["FORMS", "GRADED_BITS", "LavaNetwork", "RecordSlot", "emit"]

FORMS = ("stock", "fused")
#: ``num_message_bits`` of synapses that read graded payloads.
GRADED_BITS = 24
#: Loihi 2's longest synaptic delay (DelaySparse raises above 63; netx clamps to 62).
MAX_LAVA_DELAY = 62


@dataclass(frozen=True)
class RecordSlot:
    """Rows ``offset : offset + len(indices)`` of the record file hold the flat elements
    ``indices`` of value ``name`` (shape ``shape``)."""

    name: str
    shape: tuple[int, ...]
    offset: int
    indices: np.ndarray


@dataclass
class LavaNetwork:
    """The Lava processes of one sample's network, and how to run and read it.

    Attributes:
        form: ``stock`` or ``fused``.
        processes: every Lava process created (run and stop any one: they are connected).
        steps: Lava steps to run.
        record: where each recorded value lies in the record file.
        rows: the record file's rows.
        path: the record file (``np.memmap`` int64, ``(rows, steps)``).
        segments: ``(step, [(var, value)])``: after ``step`` steps, set each Var.
        split: the graph's chip/host split.
    """

    form: str
    processes: list[Any]
    steps: int
    record: list[RecordSlot]
    rows: int
    path: str
    segments: list[tuple[int, list[tuple[Any, np.ndarray]]]] = field(default_factory=list)
    split: GraphSplit = field(default_factory=GraphSplit)

    def process_counts(self) -> dict[str, int]:
        """Lava processes by class name."""
        return dict(Counter(type(p).__name__ for p in self.processes))

    def report(self) -> dict[str, Any]:
        """Process counts and the segments of the run."""
        counts = self.process_counts()
        return {
            "form": self.form,
            "processes": sum(counts.values()),
            "by_kind": counts,
            "host_processes": sum(counts.get(k, 0) for k in ("HostOps", "Recorder", "RingBuffer")),
            "segments": len(self.segments) + 1,
            "steps": self.steps,
        }


@dataclass
class _Part:
    """A slice of a value living in one Lava process: flat ``indices`` and its ports."""

    indices: np.ndarray
    out_port: Any = None
    in_ports: list[Any] = field(default_factory=list)  # where currents into it go
    gate_port: Any = None  # gated: a_in2


def _flat(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape))


def _payload_matrix(name: str, values: np.ndarray, steps: int) -> np.ndarray:
    """``[T, 1, ...]`` host values as RingBuffer data ``[n, steps]`` int32 (exact integers)."""
    flat = np.asarray(values, dtype=np.float64).reshape(values.shape[0], -1)[:steps].T
    if flat.size and (np.any(flat != np.rint(flat)) or np.abs(flat).max() >= 2**31):
        raise lava_error(EMIT_CODE, f"host value {name} entering the chip is not an int32 payload")
    data = np.zeros((flat.shape[0], steps), dtype=np.int32)
    data[:, : flat.shape[1]] = flat.astype(np.int32)
    return data


def _delay_matrix(weights: np.ndarray, delay: int) -> Any:
    """``delay`` at every synapse of ``weights``, as a CSR matrix with the weights' sparsity
    (DelaySparse rebuilds its per-delay matrices from ``find(delays)`` every step: a dense
    delay matrix makes that cost n_out · n_in)."""
    from scipy.sparse import csr_matrix  # a Lava dependency

    rows, cols = np.nonzero(weights)
    return csr_matrix((np.full(rows.size, delay, dtype=int), (rows, cols)), shape=weights.shape)


def _lif_bias(name: str, mant: np.ndarray, exp: int) -> tuple[np.ndarray, int]:
    """``(mant >> s, exp + s)`` with the smallest ``s`` that fits Lava's int16 ``bias_mant``.

    Exact when ``mant`` is divisible by ``2^s`` (``(m·2^s) << e = m << (e + s)``, and the floor
    of an exact division is the division); the quantizer's biases are multiples of 64.
    """
    s = 0
    while np.abs(mant >> s).max(initial=0) >= 2**15:
        s += 1
    if s and np.any(mant % (1 << s)):
        raise lava_error(
            EMIT_CODE,
            f"population %{name}: bias_mant up to {np.abs(mant).max()} does not fit Lava's "
            "int16 bias_mant and is not divisible by a power of two that would make it fit",
        )
    return mant >> s, exp + s


def _recurrent_source(node: Node) -> str | None:
    """The population a recurrent projection ``node`` reads one step back, else None."""
    producer = node.inputs[0].producer
    return producer.attrs.source if producer is not None and producer.op == "recurrent" else None


def _hops(node: Node) -> int:
    """The Lava delay of projection ``node``: its ``delay``, plus the recurrent step when it
    reads a ``recurrent`` node (``r[t] = S[t-1]``: the population's own spikes one step
    later)."""
    return node.attrs.delay + (1 if _recurrent_source(node) is not None else 0)


def _graph_of(program: Any) -> Graph:
    graph = program.pipelined if hasattr(program, "pipelined") else program
    assert isinstance(graph, Graph)
    for node in graph.nodes:
        if node.op == "projection" and _hops(node) < 1:
            raise lava_error(
                EMIT_CODE,
                f"projection %{node.name} has delay {node.attrs.delay}: Lava needs the "
                "pipelined network (every projection costs at least one step)",
            )
    return graph


def emit(
    program: Any,
    inputs: dict[str, np.ndarray],
    *,
    form: str = "stock",
    steps: int,
    path: str,
) -> LavaNetwork:
    """Build the Lava processes of one sample.

    Args:
        program: a :class:`~snncompile.targets.sim.program.NetworkProgram` (its pipelined
            graph is used) or a pipelined network graph.
        inputs: the graph inputs of one sample, ``[steps, 1, ...]`` by name.
        form: ``stock`` or ``fused`` (module docstring).
        steps: Lava steps the network will run.
        path: the record file to create (int64 memmap).

    Raises:
        LV507: the network has no exact form in the requested Lava form.
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    require_lava()
    graph = _graph_of(program)
    split = split_graph(graph)
    known = dict(inputs)
    known.update(run_host(split.pre, inputs, steps) if split.pre else {})
    if form == "fused":
        return _emit_fused(graph, split, known, steps, path)
    return _emit_stock(graph, split, known, steps, path)


def _new_record_file(path: str, rows: int, steps: int) -> None:
    np.memmap(path, dtype=np.int64, mode="w+", shape=(max(rows, 1), steps)).flush()


def _emit_fused(
    graph: Graph, split: GraphSplit, known: dict[str, np.ndarray], steps: int, path: str
) -> LavaNetwork:
    source_mod = lava_module("lava.proc.io.source")
    fused_mod = lava_module("snncompile.targets.loihi.fused.process")
    keep = {id(n) for n in (*split.chip, *split.mid)}
    nodes = [n for n in graph.nodes if id(n) in keep]
    produced = {v.name for n in nodes for v in n.outputs}
    reads: dict[str, Value] = {}
    for node in nodes:
        for value in node.inputs:
            if value.name not in produced:
                reads.setdefault(value.name, value)
    in_layout = []
    blocks = []
    offset = 0
    for name, value in reads.items():
        in_layout.append((name, value.type.shape, offset))
        blocks.append(_payload_matrix(name, known[name], steps))
        offset += _flat(value.type.shape)
    record: list[RecordSlot] = []
    rows = 0
    for node in split.chip:
        if node.op in ("population", "current_sum"):
            shape = node.output.type.shape
            record.append(RecordSlot(node.name, shape, rows, np.arange(_flat(shape))))
            rows += _flat(shape)
    _new_record_file(path, rows, steps)
    chip = fused_mod.FusedChip(
        in_size=offset,
        nodes=nodes,
        in_layout=in_layout,
        record=[(slot.name, slot.offset) for slot in record],
        path=path,
        rows=max(rows, 1),
        steps=steps,
        name="fused_chip",
    )
    data = np.concatenate(blocks) if blocks else np.zeros((1, steps), dtype=np.int32)
    source = source_mod.RingBuffer(data=data)
    source.s_out.connect(chip.x_in)
    return LavaNetwork("fused", [chip, source], steps, record, rows, path, [], split)


class _StockBuilder:
    """Builds the stock form (see the module docstring)."""

    def __init__(self, graph: Graph, split: GraphSplit, known: dict[str, np.ndarray], steps: int):
        self.graph = graph
        self.split = split
        self.known = known
        self.steps = steps
        self.users = graph.users()
        self.lif = lava_module("lava.proc.lif.process")
        self.sparse = lava_module("lava.proc.sparse.process")
        self.prod = lava_module("lava.proc.prodneuron.process")
        self.source = lava_module("lava.proc.io.source")
        self.host = lava_module("snncompile.targets.loihi.host.process")
        self.processes: list[Any] = []
        self.parts: dict[str, list[_Part]] = {}  # value name -> parts
        self.sets: dict[int, list[tuple[Any, np.ndarray]]] = {}
        self.streams: list[tuple[RecordSlot, list[Any]]] = []  # recorded slot, out ports

    def add(self, proc: Any) -> Any:
        self.processes.append(proc)
        return proc

    def population(self, node: Node) -> None:
        a: PopulationAttrs = node.attrs
        if a.reset != "zero":
            raise lava_error(
                "LV530",
                f"population %{node.name} has reset {a.reset!r}; Lava's LIF process resets to "
                "zero (the fused form runs every reset the chip model declares)",
            )
        shape = node.output.type.shape
        n = _flat(shape)
        bias = (
            np.zeros(n, np.int64)
            if a.bias_mant is None
            else np.broadcast_to(a.bias_mant.astype(np.int64), shape).reshape(-1)
        )
        bias, bias_exp = _lif_bias(node.name, bias, a.bias_exp)
        parts: list[_Part] = []
        if a.kind in ("gated", "relay"):
            proc = self.add(self.prod.ProdNeuron(shape=(n,), vth=-1, exp=0))
            part = _Part(np.arange(n), proc.s_out, [proc.a_in1], proc.a_in2)
            if bias.any():
                data = np.zeros((n, self.steps), np.int32)
                data[:, a.start :] = bias[:, None]
                src = self.add(self.source.RingBuffer(data=data))
                src.s_out.connect(proc.a_in1)
            if a.kind == "relay":  # a constant gate of 1 from ``start`` on: y = Σ value + bias
                ones = np.zeros((n, self.steps), np.int32)
                ones[:, a.start :] = 1
                self.add(self.source.RingBuffer(data=ones)).s_out.connect(proc.a_in2)
            parts.append(part)
        else:
            vth = (
                np.full(n, a.vth, np.int64)
                if a.vth_map is None
                else np.broadcast_to(a.vth_map.astype(np.int64), shape).reshape(-1)
            )
            du, dv = a.chip_model.neuron.decays(a.du, a.dv)
            for k, level in enumerate(np.unique(vth)):
                idx = np.flatnonzero(vth == level)
                gated = a.start > 0 and bool(bias[idx].any())
                proc = self.add(
                    self.lif.LIF(
                        shape=(idx.size,),
                        du=du,
                        dv=dv,
                        vth=int(level),
                        bias_mant=np.zeros(idx.size, np.int64) if gated else bias[idx],
                        bias_exp=bias_exp,
                        name=f"{node.name}" if vth.min() == vth.max() else f"{node.name}#{k}",
                    )
                )
                if gated:
                    self.sets.setdefault(a.start, []).append((proc.bias_mant, bias[idx]))
                parts.append(_Part(idx, proc.s_out, [proc.a_in]))
        self.parts[node.name] = parts
        for part in parts:
            self.streams.append((RecordSlot(node.name, shape, 0, part.indices), [part.out_port]))

    def host_source(self, value: Value) -> None:
        data = _payload_matrix(value.name, self.known[value.name], self.steps)
        src = self.add(self.source.RingBuffer(data=data))
        self.parts[value.name] = [_Part(np.arange(data.shape[0]), src.s_out)]

    def projection(self, node: Node) -> None:
        a: ProjectionAttrs = node.attrs
        if a.bias is not None and np.any(a.bias):
            raise lava_error(
                EMIT_CODE, f"projection %{node.name}: a projection bias has no stock form"
            )
        hops = _hops(node)
        if hops - 1 > MAX_LAVA_DELAY:
            raise lava_error(
                EMIT_CODE, f"projection %{node.name}: delay {hops} beyond Loihi's 63 steps"
            )
        a = dataclasses.replace(a, delay=hops)
        source = node.inputs[0]
        (target,) = self.users[node.output]
        matrix = projection_matrix(a, source.type.shape)
        gate = target.op == "population" and target.attrs.kind == "gated"
        gate = gate and target.inputs[-1] is node.output
        for tpart in self.parts[target.name]:
            blocks = []
            key = _recurrent_source(node) or source.name
            if target.op == "current_sum" and f"{source.name}#raw" in self.parts:
                key = f"{source.name}#raw"
            for spart in self.parts[key]:
                block = matrix[np.ix_(tpart.indices, spart.indices)]
                if block.any():
                    blocks.append((spart, block))
            if a.weight_exp < 0 and len(blocks) > 1:
                raise lava_error(
                    EMIT_CODE,
                    f"projection %{node.name}: a negative weight_exp over a split source "
                    "floors partial sums",
                )
            ports = [tpart.gate_port] if gate else tpart.in_ports
            for spart, block in blocks:
                for weights, exp in exact_synapses(block, a.weight_exp):
                    self.synapse(node.name, spart.out_port, ports, weights, exp, a)

    def synapse(
        self, name: str, out_port: Any, ports: list[Any], weights: np.ndarray, exp: int, a: Any
    ) -> None:
        bits = GRADED_BITS if a.graded else 0
        if a.delay == 1:
            proc = self.sparse.Sparse(
                weights=weights.astype(np.int32), weight_exp=exp, num_message_bits=bits, name=name
            )
        else:
            proc = self.sparse.DelaySparse(
                weights=weights.astype(np.int32),
                delays=_delay_matrix(weights, a.delay - 1),
                max_delay=a.delay - 1,
                weight_exp=exp,
                num_message_bits=bits,
                name=name,
            )
        self.add(proc)
        out_port.connect(proc.s_in)
        for port in ports:
            proc.a_out.connect(port)

    def current_sum(self, node: Node) -> None:
        shape = node.output.type.shape
        part = _Part(np.arange(_flat(shape)))
        self.parts[node.name] = [part]
        # Projections into it connect to in_ports, filled in by recorder/host wiring below;
        # build them as a deferred list of ports.
        self.streams.append((RecordSlot(node.name, shape, 0, part.indices), part.in_ports))

    def build(self, path: str) -> LavaNetwork:
        split = self.split
        for value in split.chip_reads:
            if value.producer is None or value.producer in split.pre:
                self.host_source(value)
        chip_nodes = split.chip
        # Neurons and probes first (so the host process knows its inputs), then the host
        # process, then the synapses.
        for node in chip_nodes:
            if node.op == "population":
                self.population(node)
            elif node.op == "current_sum":
                self.current_sum(node)
        host_in: list[tuple[str, tuple[int, ...], np.ndarray]] = []
        host_proc = None
        if split.mid:
            # One out-port per (value, gating): a population ignores its input before its
            # start, so a port into populations sends 0 before the value's arrival (f(0) of
            # the host ops, e.g. a bias, would otherwise reach the LIF); a current probe has
            # no start and gets the value as the reference computes it.
            arrivals = value_arrivals(self.graph)
            mid_out: list[tuple[Value, bool]] = []
            for value in split.chip_reads:
                if value.producer not in split.mid:
                    continue
                targets = {self.users[p.output][0].op for p in self.users[value]}
                mid_out += [
                    (value, gated)
                    for gated in (True, False)
                    if ("population" if gated else "current_sum") in targets
                ]
            for value in split.mid_reads:
                for part in self.parts[value.name]:
                    host_in.append((value.name, value.type.shape, part.indices))
            pre_names = {v.name for n in split.mid for v in n.inputs} & set(self.known)
            host_proc = self.add(
                self.host.HostOps(
                    in_sizes=[len(idx) for _, _, idx in host_in],
                    out_sizes=[_flat(v.type.shape) for v, _ in mid_out],
                    nodes=split.mid,
                    in_layout=host_in,
                    out_names=[v.name for v, _ in mid_out],
                    zero_before=[arrivals[v.name] if gated else 0 for v, gated in mid_out],
                    pre_data={k: self.known[k] for k in pre_names},
                    name="host_ops",
                )
            )
            for j, (value, gated) in enumerate(mid_out):
                port = getattr(host_proc, f"out_{j}")
                key = value.name if gated else f"{value.name}#raw"
                self.parts[key] = [_Part(np.arange(_flat(value.type.shape)), port)]
        # Recorder ports (and host in-ports) of current probes must exist before synapses
        # connect to them: give every current probe its input ports now.
        recorders, slots = self.recorders(path)
        if host_proc is not None:
            i = 0
            for value in split.mid_reads:
                for part in self.parts[value.name]:
                    port = getattr(host_proc, f"in_{i}")
                    if value.producer is not None and value.producer.op == "current_sum":
                        part.in_ports.append(port)
                    else:
                        part.out_port.connect(port)
                    i += 1
        for node in chip_nodes:
            if node.op == "projection":
                self.projection(node)
        rows = sum(len(s.indices) for s in slots)
        segments = sorted(self.sets.items())
        return LavaNetwork("stock", self.processes, self.steps, slots, rows, path, segments, split)

    def recorders(self, path: str) -> tuple[list[Any], list[RecordSlot]]:
        """Recorders for every stream: a population part's spikes are connected now; a
        current probe's recorder port joins its ``in_ports`` (its synapses connect later)."""
        per = self.host.MAX_PORTS
        rows = sum(len(slot.indices) for slot, _ in self.streams)
        slots: list[RecordSlot] = []
        recorders = []
        offset = 0
        for first in range(0, len(self.streams), per):
            group = self.streams[first : first + per]
            rec = self.add(
                self.host.Recorder(
                    in_sizes=[len(slot.indices) for slot, _ in group],
                    path=path,
                    steps=self.steps,
                    offset=offset,
                    rows=max(rows, 1),
                    name=f"recorder_{first // per}",
                )
            )
            recorders.append(rec)
            for i, (slot, ports) in enumerate(group):
                port = getattr(rec, f"in_{i}")
                slots.append(dataclasses.replace(slot, offset=offset))
                offset += len(slot.indices)
                if self._is_probe(slot.name):
                    ports.append(port)
                else:
                    (out_port,) = ports
                    out_port.connect(port)
        return recorders, slots

    def _is_probe(self, name: str) -> bool:
        return any(n.name == name and n.op == "current_sum" for n in self.split.chip)


def _emit_stock(
    graph: Graph, split: GraphSplit, known: dict[str, np.ndarray], steps: int, path: str
) -> LavaNetwork:
    network = _StockBuilder(graph, split, known, steps).build(path)
    _new_record_file(path, network.rows, steps)
    return network
