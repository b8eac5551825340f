"""Core placement: which of a chip's cores hold which neurons, and the synapse memory they need.

Every population (and every ``current_sum`` probe, whose compartments integrate the currents
the host reads) is a *target* of ``N`` neurons. A target is cut into contiguous slices of its
flat (row-major) neuron index, ``[lo, hi)``, each small enough for one core; slices are then
packed onto cores, first fit. A core ``c`` holding slices ``S_c`` needs::

    neurons(c) = Σ_{s ∈ S_c} (hi_s - lo_s)                          <= neurons_per_core
    bytes(c)   = Σ_{s ∈ S_c} Σ_{projections p into s} M_p(lo_s, hi_s) <= synapse_bytes_per_core

and the system needs ``chips = ceil(cores / cores_per_chip)`` (``<= max_chips`` if set).

Synapse memory model ``M_p(lo, hi)`` of projection ``p`` for target neurons ``[lo, hi)``
(:data:`MEMORY_MODEL`; ``n = hi - lo``, ``b_w`` = :attr:`CoreLimits.weight_bytes`,
``b_i`` = :attr:`CoreLimits.index_bytes`):

========  =========================================================  =======================
kind      bytes on the core                                          why
========  =========================================================  =======================
conv      ``rows(lo, hi) · C_in/groups · kH · kW · b_w``              Loihi 2 shares a conv
          with ``rows`` = output channels the slice spans              kernel: each core
          (``(hi-1)//HW - lo//HW + 1``)                               stores the rows of the
                                                                      kernel its neurons use
dense     ``rows(lo, hi) · in · b_w`` with ``rows`` = output features  a dense over tokens is
          the slice spans (``min(out, n)``)                           a 1x1 conv: the matrix
                                                                      is stored once per core
sum       ``n · fan_in · b_i``, ``fan_in = |core in| / |core out|``    unit synapses carry no
                                                                      weight, only the index
                                                                      of their source
========  =========================================================  =======================

When the projection's ``post`` view is not order preserving (anything but reshapes), which rows
a slice uses is not tracked; every target neuron reads one element of the core's output, hence
one weight row (conv: one output channel), so ``min(rows, n)`` rows are charged (an upper
bound; until issue 20 the whole tensor was, which made one neuron of a permuted dense over
384 features cost 147 KB). Neuron state
memory is not modelled separately: :attr:`CoreLimits.neurons_per_core` bounds it.

A target whose *single* neuron needs more synapse memory than a core has (e.g. a dense row of
more than 128 Ki 8-bit weights) cannot be placed: :class:`ResourceLimitError` RS951 with the
numbers; so does a placement that needs more chips than ``max_chips``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from snncompile.chip import Board, ChipModel, CoreLimits, get_board, get_chip
from snncompile.diagnostics import SnnCompileError, error
from snncompile.ir.graph import Graph, Node
from snncompile.ir.ops.network import ProjectionAttrs, graph_chip

__all__ = [
    "MEMORY_MODEL",
    "Core",
    "CoreLimits",
    "Placement",
    "Slice",
    "block_of",
    "check_board",
    "place_cores",
]


#: The synapse memory model, one row per projection kind (see the module docstring).
MEMORY_MODEL: dict[str, str] = {
    "conv": "rows spanned x C_in/groups x kH x kW x weight_bytes (kernel shared, stored per core)",
    "dense": "rows spanned x in x weight_bytes (matrix shared over leading axes, stored per core)",
    "sum": "neurons x fan_in x index_bytes (unit synapses: an index each, no weight)",
}


class _Program(Protocol):
    pipelined: Graph


@dataclass(frozen=True)
class _Input:
    """The memory model of one projection into a target."""

    name: str
    kind: str
    rows: int  # weight rows (conv: C_out, dense: out); 0 for sum
    row_bytes: float  # bytes per row (conv/dense) or per neuron (sum)
    period: int  # conv: H*W (neurons per channel); dense: 1 (features cycle every ``rows``)
    ordered: bool  # the post view keeps the core's flat order
    per_neuron: int = 0  # synapses into one target neuron (its fan-in from this projection)
    pre_neurons: int = 0  # neurons of the source (the most distinct axons it can bring)
    #: unordered conv/dense: ``runs[i]`` = row changes among target neurons ``0..i`` (int32)
    runs: np.ndarray | None = field(default=None, compare=False, repr=False)

    def axons(self, lo: int, hi: int) -> int:
        """Distinct input axons for target neurons ``[lo, hi)``: ``min(N_pre, n · k)``, an upper
        bound (the receptive fields of neighbouring neurons may overlap)."""
        return min(self.pre_neurons, (hi - lo) * self.per_neuron)

    def bytes(self, lo: int, hi: int) -> float:
        """``M_p(lo, hi)``: synapse memory for target neurons ``[lo, hi)``."""
        n = hi - lo
        if self.kind == "sum":
            return n * self.row_bytes
        if not self.ordered:  # each target neuron reads one core output: one row at most
            rows = min(self.rows, n)
            if self.runs is not None:  # rows in [lo, hi) <= 1 + the row changes inside it
                rows = min(rows, 1 + int(self.runs[hi - 1]) - int(self.runs[lo]))
        elif self.kind == "conv" or self.period > 1:  # rows are runs of ``period`` neurons
            rows = min(self.rows, (hi - 1) // self.period - lo // self.period + 1)
        else:
            rows = min(self.rows, n)
        return rows * self.row_bytes


def _input(node: Node, limits: CoreLimits) -> _Input:
    a = node.attrs
    assert isinstance(a, ProjectionAttrs)
    source_shape = node.inputs[0].type.shape
    core_in = a.pre_view.shape_after(source_shape)
    core_out = a.core_shape(core_in)
    ordered = all(step.kind == "reshape" for step in a.post_view.steps)
    pre = int(math.prod(source_shape))
    if a.kind == "sum":
        fan_in = math.prod(core_in) // max(math.prod(core_out), 1)
        return _Input(
            node.name, "sum", 0, fan_in * limits.index_bytes, 1, ordered, max(fan_in, 1), pre
        )
    assert a.weight is not None
    row = int(math.prod(a.weight.shape[1:]))
    period = int(math.prod(core_out[1:])) if a.kind == "conv" else 1
    runs = None
    if not ordered:
        flat = a.post_view.index_map(tuple(core_out)).reshape(-1)
        ordered = bool(np.array_equal(flat, np.arange(flat.size)))  # e.g. two permutes cancel
    if not ordered:
        rows_of = flat // period if a.kind == "conv" else flat % int(core_out[-1])
        runs = np.zeros(rows_of.size, np.int32)
        np.cumsum(rows_of[1:] != rows_of[:-1], out=runs[1:])
    return _Input(
        node.name,
        a.kind,
        int(a.weight.shape[0]),
        row * limits.weight_bytes,
        period,
        ordered,
        row,
        pre,
        runs,
    )


@dataclass(frozen=True)
class _Target:
    name: str
    kind: str
    neurons: int
    inputs: tuple[_Input, ...]
    consumers: int = 0  # projections that read this population (its output routes per neuron)
    order: str = "flat"  # the neuron order slices are cut in (``feature-major``: see _transposed)

    def bytes(self, lo: int, hi: int) -> float:
        return sum(p.bytes(lo, hi) for p in self.inputs)

    def axons_in(self, lo: int, hi: int) -> int:
        return sum(p.axons(lo, hi) for p in self.inputs)

    def axons_out(self, lo: int, hi: int) -> int:
        """Output routes of neurons ``[lo, hi)``: one per neuron and consuming projection."""
        return (hi - lo) * self.consumers

    def over(self, lo: int, hi: int, limits: CoreLimits) -> str | None:
        """The first limit that neurons ``[lo, hi)`` on one core exceed, or None."""
        if hi - lo > limits.neurons_per_core:
            return "neurons_per_core"
        if self.bytes(lo, hi) > limits.synapse_bytes_per_core:
            return "synapse_bytes_per_core"
        if limits.max_fan_in is not None and self.axons_in(lo, hi) > limits.max_fan_in:
            return "max_fan_in"
        if limits.max_fan_out is not None and self.axons_out(lo, hi) > limits.max_fan_out:
            return "max_fan_out"
        return None

    def memory_driver(self) -> str:
        """The projection kind and name taking most of one neuron's synapse memory."""
        if not self.inputs:
            return "-"
        top = max(self.inputs, key=lambda p: p.bytes(0, min(self.neurons, 64)))
        return f"{top.kind} {top.name}"

    @property
    def uniform(self) -> bool:
        """True when ``bytes(lo, hi)`` depends only on ``hi - lo`` (unit synapses and ordered
        dense projections only)."""
        return all(
            p.kind == "sum" or (p.kind == "dense" and p.ordered and p.period == 1)
            for p in self.inputs
        )


@dataclass(frozen=True)
class Slice:
    """Neurons ``[start, stop)`` (flat index) of population ``population`` on one core."""

    population: str
    start: int
    stop: int
    synapse_bytes: int
    axons_in: int = 0
    axons_out: int = 0

    @property
    def neurons(self) -> int:
        return self.stop - self.start


@dataclass
class Core:
    """One neuro core: its index, chip and the slices it holds."""

    index: int
    chip: int
    slices: list[Slice] = field(default_factory=list)

    @property
    def neurons(self) -> int:
        return sum(s.neurons for s in self.slices)

    @property
    def synapse_bytes(self) -> int:
        return sum(s.synapse_bytes for s in self.slices)

    @property
    def axons_in(self) -> int:
        return sum(s.axons_in for s in self.slices)

    @property
    def axons_out(self) -> int:
        return sum(s.axons_out for s in self.slices)

    def room_for(self, piece: Slice, limits: CoreLimits) -> bool:
        """Whether ``piece`` fits next to this core's slices under every limit."""
        return (
            self.neurons + piece.neurons <= limits.neurons_per_core
            and self.synapse_bytes + piece.synapse_bytes <= limits.synapse_bytes_per_core
            and (limits.max_fan_in is None or self.axons_in + piece.axons_in <= limits.max_fan_in)
            and (
                limits.max_fan_out is None or self.axons_out + piece.axons_out <= limits.max_fan_out
            )
        )

    def full(self, limits: CoreLimits) -> bool:
        return (
            self.neurons >= limits.neurons_per_core
            or self.synapse_bytes >= limits.synapse_bytes_per_core
            or (limits.max_fan_in is not None and self.axons_in >= limits.max_fan_in)
            or (limits.max_fan_out is not None and self.axons_out >= limits.max_fan_out)
        )

    def to_dict(self, limits: CoreLimits) -> dict[str, Any]:
        return {
            "core": self.index,
            "chip": self.chip,
            "neurons": self.neurons,
            "synapse_bytes": self.synapse_bytes,
            "neuron_utilisation": self.neurons / limits.neurons_per_core,
            "memory_utilisation": self.synapse_bytes / limits.synapse_bytes_per_core,
            "axons_in": self.axons_in,
            "axons_out": self.axons_out,
            "slices": [[s.population, s.start, s.stop] for s in self.slices],
        }


@dataclass(frozen=True)
class Placement:
    """Populations on cores.

    Attributes:
        limits: the limits placed under (the chip model's, :class:`~snncompile.chip.CoreLimits`).
        cores: every core used, in order (core ``i`` is on chip ``i // cores_per_chip``).
        populations: target name -> number of neurons (populations and current probes).
        kinds: target name -> neuron kind (``current_sum`` for probes).
        targets: projection name -> the target it feeds.
        sources: where each limit comes from (the chip model's sources).
        binding: target name -> the limit that sets its slice size (``neurons_per_core``,
            ``synapse_bytes_per_core``, ``max_fan_in``, ``max_fan_out``), or ``fits`` when it
            fits one core whole.
        drivers: target name -> the projection taking most of its synapse memory.
        pre: projection name -> the population whose spikes it carries (``None``: the host).
        orders: target name -> the order its slices index when not the flat one
            (``feature-major``: a dense over tokens sliced by weight rows, :func:`_transposed`).
    """

    limits: CoreLimits
    cores: tuple[Core, ...]
    populations: dict[str, int]
    kinds: dict[str, str]
    targets: dict[str, str]
    sources: dict[str, str] = field(default_factory=dict)
    binding: dict[str, str] = field(default_factory=dict)
    drivers: dict[str, str] = field(default_factory=dict)
    pre: dict[str, str | None] = field(default_factory=dict)
    orders: dict[str, str] = field(default_factory=dict)

    @property
    def chips(self) -> int:
        return math.ceil(len(self.cores) / self.limits.cores_per_chip)

    @property
    def neurons(self) -> int:
        return sum(self.populations.values())

    @property
    def synapse_bytes(self) -> int:
        return sum(c.synapse_bytes for c in self.cores)

    def slices_of(self, population: str) -> Iterator[tuple[int, Slice]]:
        """``(core index, slice)`` for every slice of ``population``."""
        for core in self.cores:
            for s in core.slices:
                if s.population == population:
                    yield core.index, s

    def cores_of(self) -> dict[str, list[int]]:
        """Population -> the cores holding it, in order."""
        out: dict[str, list[int]] = {name: [] for name in self.populations}
        for core in self.cores:
            for s in core.slices:
                out[s.population].append(core.index)
        return out

    def per_block(self) -> dict[str, int]:
        """Block -> cores holding any of its populations (a core shared by two blocks counts
        in both). A population's block is its name up to the first numeric component
        (``block.3.attn.q_lif`` -> ``block.3``), else its first component."""
        out: dict[str, set[int]] = {}
        for name, cores in self.cores_of().items():
            out.setdefault(block_of(name), set()).update(cores)
        return {block: len(cores) for block, cores in out.items()}

    def per_chip(self) -> list[dict[str, Any]]:
        """Per chip: cores used, neurons, synapse bytes and the populations on it."""
        chips: list[dict[str, Any]] = []
        for core in self.cores:
            while len(chips) <= core.chip:
                chips.append({"chip": len(chips), "cores": 0, "neurons": 0, "synapse_bytes": 0})
            entry = chips[core.chip]
            entry["cores"] += 1
            entry["neurons"] += core.neurons
            entry["synapse_bytes"] += core.synapse_bytes
        return chips

    def consumers(self, top: int = 5) -> list[dict[str, Any]]:
        """The ``top`` targets by cores, with the limit that sets their size."""
        counts = {name: len(cores) for name, cores in self.cores_of().items()}
        ranked = sorted(counts, key=lambda name: -counts[name])[:top]
        return [
            {
                "population": name,
                "cores": counts[name],
                "neurons": self.populations[name],
                "binding": self.binding.get(name, "-"),
                "memory_driver": self.drivers.get(name, "-"),
            }
            for name in ranked
        ]

    def summary(self) -> dict[str, Any]:
        n = max(len(self.cores), 1)
        lim = self.limits
        return {
            "target": lim.name,
            "cores": len(self.cores),
            "chips": self.chips,
            "neurons": self.neurons,
            "synapse_bytes": self.synapse_bytes,
            "mean_neuron_utilisation": self.neurons / (n * lim.neurons_per_core),
            "mean_memory_utilisation": self.synapse_bytes / (n * lim.synapse_bytes_per_core),
        }

    def to_dict(self, *, per_core: bool = True) -> dict[str, Any]:
        """JSON-ready report: summary, limits and sources, memory model, per population (and
        per core unless ``per_core`` is false; ImageNet-size models use tens of thousands)."""
        cores_of = self.cores_of()
        out: dict[str, Any] = {
            **self.summary(),
            "limits": asdict(self.limits),
            "limit_sources": dict(self.sources),
            "memory_model": dict(MEMORY_MODEL),
            "populations": {
                name: {
                    "kind": self.kinds[name],
                    "neurons": neurons,
                    "cores": _ranges(cores_of[name]),
                    "core_count": len(cores_of[name]),
                    "binding": self.binding.get(name, "-"),
                    "memory_driver": self.drivers.get(name, "-"),
                    "order": self.orders.get(name, "flat"),
                }
                for name, neurons in self.populations.items()
            },
            "per_block": self.per_block(),
            "per_chip": self.per_chip(),
        }
        if per_core:
            out["per_core"] = [c.to_dict(self.limits) for c in self.cores]
        return out


def block_of(name: str) -> str:
    """A population's block: its dotted name up to its first numeric component, else its
    first component (``block.3.mlp.mlp1_lif`` -> ``block.3``, ``patch_embed.x`` ->
    ``patch_embed``)."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[: i + 1])
    return parts[0]


def _ranges(indices: list[int]) -> list[list[int]]:
    """``[0, 1, 2, 5]`` -> ``[[0, 2], [5, 5]]`` (compact core lists for reports)."""
    out: list[list[int]] = []
    for i in indices:
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        elif not (out and i == out[-1][1]):
            out.append([i, i])
    return out


def _source_population(node: Node) -> str | None:
    """The population whose spikes projection ``node`` carries: its input's producer, through
    single-input layout and delay ops; None for a host input."""
    producer = node.inputs[0].producer
    while producer is not None and producer.op not in ("population", "current_sum"):
        if len(producer.inputs) != 1:
            return None
        producer = producer.inputs[0].producer
    return None if producer is None else producer.name


def _targets(
    graph: Graph, limits: CoreLimits
) -> tuple[list[_Target], dict[str, str], dict[str, str | None]]:
    inputs: dict[str, list[_Input]] = {}
    owner: dict[str, str] = {}
    pre: dict[str, str | None] = {}
    consumers: dict[str, int] = {}
    users = graph.users()
    for node in graph.nodes:
        if node.op != "projection":
            continue
        source = _source_population(node)
        pre[node.name] = source
        if source is not None:
            consumers[source] = consumers.get(source, 0) + 1
        for user in users.get(node.output, []):
            if user.op in ("population", "current_sum"):
                inputs.setdefault(user.name, []).append(_input(node, limits))
                owner[node.name] = user.name
    targets = []
    for node in graph.nodes:
        if node.op in ("population", "current_sum"):
            kind = node.attrs.kind if node.op == "population" else "current_sum"
            targets.append(
                _Target(
                    node.name,
                    kind,
                    node.output.type.numel,
                    tuple(inputs.get(node.name, ())),
                    consumers.get(node.name, 0),
                )
            )
    return targets, owner, pre


def _transposed(target: _Target) -> _Target | None:
    """``target`` sliced feature-major, or None when that is not possible.

    A dense projection over tokens (``[tokens, features]``, features fastest) stores a weight
    row per feature a core's neurons use; contiguous slices of the flat order span up to ``n``
    features. Cut in feature-major order (neuron ``(t, f)`` at position ``f · tokens + t``) a
    slice of ``n`` neurons spans ``n / tokens`` rows: each row is shared by the ``tokens``
    neurons of its feature on one core. Possible when every weighted input is an ordered dense
    with the same number of rows ``R`` dividing the population (unit-synapse inputs cost the
    same in any order); slices then index the feature-major order.
    """
    dense = [p for p in target.inputs if p.kind != "sum"]
    if not dense or any(p.kind != "dense" or not p.ordered or p.period != 1 for p in dense):
        return None
    rows = {p.rows for p in dense}
    if len(rows) != 1:
        return None
    (r,) = rows
    if r <= 1 or target.neurons % r or target.neurons == r:
        return None
    tokens = target.neurons // r
    inputs = tuple(p if p.kind == "sum" else replace(p, period=tokens) for p in target.inputs)
    return replace(target, inputs=inputs, order=f"feature-major ({tokens} tokens per row)")


def _one_neuron_error(target: _Target, limits: CoreLimits, limit: str) -> SnnCompileError:
    if limit == "synapse_bytes_per_core":
        detail = ", ".join(f"{p.name} ({p.kind}) {p.bytes(0, 1):.0f} B" for p in target.inputs)
        return error(
            "RS951",
            f"one neuron of population {target.name} needs {target.bytes(0, 1):.0f} B of synapse "
            f"memory, more than a {limits.name} core's {limits.synapse_bytes_per_core} B: "
            f"{detail}",
            node=target.name,
        )
    have = target.axons_in(0, 1) if limit == "max_fan_in" else target.axons_out(0, 1)
    return error(
        "RS951",
        f"one neuron of population {target.name} needs {have} "
        f"{'input axons' if limit == 'max_fan_in' else 'output routes'}, more than a "
        f"{limits.name} core's {limit}={getattr(limits, limit)}",
        node=target.name,
    )


def _slices(target: _Target, limits: CoreLimits) -> tuple[list[Slice], str]:
    """Cut ``target`` into the largest contiguous slices that fit one core each; also return
    the limit that set the slice size (``fits`` when the target fits one core whole)."""
    first = target.over(0, 1, limits)
    if first is not None:
        raise _one_neuron_error(target, limits, first)
    out: list[Slice] = []
    lo, n = 0, target.neurons
    size = 0  # for uniform targets: the slice size, found once
    binding = "fits"
    while lo < n:
        hi = min(n, lo + (size or limits.neurons_per_core))
        if target.over(lo, hi, limits) is not None:
            good, bad = lo + 1, hi  # fits(lo, good), not fits(lo, bad)
            while bad - good > 1:
                mid = (good + bad) // 2
                if target.over(lo, mid, limits) is None:
                    good = mid
                else:
                    bad = mid
            if binding == "fits":
                binding = target.over(lo, good + 1, limits) or "fits"
            hi = good
        elif hi < n and binding == "fits":
            binding = "neurons_per_core"
        if target.uniform and hi < n:
            size = hi - lo
        out.append(
            Slice(
                target.name,
                lo,
                hi,
                math.ceil(target.bytes(lo, hi)),
                target.axons_in(lo, hi),
                target.axons_out(lo, hi),
            )
        )
        lo = hi
    return out, binding


def _resolve(
    graph: Graph, limits: CoreLimits | ChipModel | str | None
) -> tuple[CoreLimits, dict[str, str]]:
    """The limits to place under and their sources: given limits as they are (with the sources
    of the registered chip of that name), else the chip given, else the graph's own chip."""
    if isinstance(limits, CoreLimits):
        try:
            return limits, dict(get_chip(limits.name).sources)
        except SnnCompileError:
            return limits, {}
    chip = get_chip(graph_chip(graph) if limits is None else limits)
    return chip.limits, dict(chip.sources)


def place_cores(
    program_or_graph: _Program | Graph,
    limits: CoreLimits | ChipModel | str | None = None,
) -> Placement:
    """Place every population of a network graph (or a program's pipelined graph) on cores.

    Each target is cut into the largest contiguous slices that keep ``neurons <=
    neurons_per_core`` and ``bytes <= synapse_bytes_per_core`` (a binary search on the memory
    model, which grows with the slice); every slice but the last of a split target fills a
    core of its own, and the other slices (small populations, remainders) go to the first open
    core with room for both their neurons and their synapse memory (first fit), or a new core.

    Raises:
        ResourceLimitError: RS951 when one neuron's synapses exceed a core's memory, or the
            placement needs more than ``limits.max_chips`` chips.

    ``limits``: a chip model or registered chip name (its limits), explicit
    :class:`~snncompile.chip.CoreLimits`, or None: the chip the graph was compiled for.
    """
    graph = program_or_graph if isinstance(program_or_graph, Graph) else program_or_graph.pipelined
    limits, sources = _resolve(graph, limits)
    targets, owner, pre = _targets(graph, limits)
    binding: dict[str, str] = {}
    orders: dict[str, str] = {}
    cores: list[Core] = []
    open_cores: list[Core] = []

    def new_core() -> Core:
        core = Core(len(cores), len(cores) // limits.cores_per_chip)
        cores.append(core)
        return core

    for target in targets:
        pieces, binding[target.name] = _slices(target, limits)
        other = _transposed(target) if len(pieces) > 1 else None
        if other is not None:
            alt, alt_binding = _slices(other, limits)
            if len(alt) < len(pieces):
                pieces, binding[target.name], orders[target.name] = alt, alt_binding, other.order
        for i, piece in enumerate(pieces):
            if i < len(pieces) - 1:
                new_core().slices.append(piece)
                continue
            home = next((c for c in open_cores if c.room_for(piece, limits)), None)
            if home is None:
                home = new_core()
                open_cores.append(home)
            home.slices.append(piece)
            if home.full(limits):
                open_cores.remove(home)
    placement = Placement(
        limits,
        tuple(cores),
        {t.name: t.neurons for t in targets},
        {t.name: t.kind for t in targets},
        owner,
        sources,
        binding,
        {t.name: t.memory_driver() for t in targets},
        pre,
        orders,
    )
    if limits.max_chips is not None and placement.chips > limits.max_chips:
        biggest = max(targets, key=lambda t: t.neurons)
        raise error(
            "RS951",
            f"@{graph.name} needs {len(cores)} cores = {placement.chips} chips of "
            f"{limits.cores_per_chip} cores ({placement.neurons} neurons, "
            f"{placement.synapse_bytes} B of synapse memory; largest population {biggest.name}: "
            f"{biggest.neurons} neurons), more than max_chips={limits.max_chips}",
            node=graph.name,
        )
    return placement


def check_board(placement: Placement, board: Board | str) -> None:
    """RS980 unless ``placement`` fits ``board``: names the largest consumers, the limit that
    sets each one's size and how many cores must go."""
    if isinstance(board, str):
        board = get_board(board, placement.limits.name)
    if board.chip != placement.limits.name:
        raise error(
            "RS980",
            f"board {board.name} holds {board.chip} chips; the model was placed on "
            f"{placement.limits.name}",
            node=board.name,
        )
    if placement.chips <= board.chips:
        return
    have = board.chips * placement.limits.cores_per_chip
    lines = []
    for c in placement.consumers(5):
        hint = _HINTS.get(c["binding"], "")
        lines.append(
            f"{c['population']}: {c['cores']} cores ({c['neurons']} neurons, bound by "
            f"{c['binding']}; most memory: {c['memory_driver']}){hint}"
        )
    raise error(
        "RS980",
        f"needs {len(placement.cores)} cores = {placement.chips} chips; board {board.name} has "
        f"{board.chips} chips ({have} cores): {len(placement.cores) - have} cores must go. "
        "Largest consumers: " + "; ".join(lines),
        node=board.name,
    )


#: What would shrink a population bound by each limit (RS980's advice).
_HINTS: dict[str, str] = {
    "synapse_bytes_per_core": (
        " - fewer synapses per neuron would fit it: a relay for broadcast sums (--objective "
        "cores), smaller kernels or fewer input channels"
    ),
    "neurons_per_core": " - only fewer neurons (a smaller input, dim or time-multiplexing)",
    "max_fan_in": " - fewer distinct sources per core (smaller receptive fields)",
    "max_fan_out": " - fewer consumers of its spikes",
}
