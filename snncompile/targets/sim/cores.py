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

When the projection's ``post`` view is not order preserving (anything but reshapes), the rows
a slice uses are unknown and the whole weight tensor is charged (an upper bound). Neuron state
memory is not modelled separately: :attr:`CoreLimits.neurons_per_core` bounds it.

A target whose *single* neuron needs more synapse memory than a core has (e.g. a dense row of
more than 128 Ki 8-bit weights) cannot be placed: :class:`ResourceLimitError` RS951 with the
numbers; so does a placement that needs more chips than ``max_chips``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from snncompile.chip import ChipModel, CoreLimits, get_chip
from snncompile.diagnostics import SnnCompileError, error
from snncompile.ir.graph import Graph, Node
from snncompile.ir.ops.network import ProjectionAttrs, graph_chip

__all__ = [
    "MEMORY_MODEL",
    "Core",
    "CoreLimits",
    "Placement",
    "Slice",
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

    def bytes(self, lo: int, hi: int) -> float:
        """``M_p(lo, hi)``: synapse memory for target neurons ``[lo, hi)``."""
        n = hi - lo
        if self.kind == "sum":
            return n * self.row_bytes
        if not self.ordered:
            rows = self.rows
        elif self.kind == "conv":
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
    if a.kind == "sum":
        fan_in = math.prod(core_in) // max(math.prod(core_out), 1)
        return _Input(node.name, "sum", 0, fan_in * limits.index_bytes, 1, ordered)
    assert a.weight is not None
    row = int(math.prod(a.weight.shape[1:]))
    period = int(math.prod(core_out[1:])) if a.kind == "conv" else 1
    return _Input(
        node.name, a.kind, int(a.weight.shape[0]), row * limits.weight_bytes, period, ordered
    )


@dataclass(frozen=True)
class _Target:
    name: str
    kind: str
    neurons: int
    inputs: tuple[_Input, ...]

    def bytes(self, lo: int, hi: int) -> float:
        return sum(p.bytes(lo, hi) for p in self.inputs)

    @property
    def uniform(self) -> bool:
        """True when ``bytes(lo, hi)`` depends only on ``hi - lo`` (no channel-aligned conv)."""
        return all(p.kind != "conv" or not p.ordered for p in self.inputs)


@dataclass(frozen=True)
class Slice:
    """Neurons ``[start, stop)`` (flat index) of population ``population`` on one core."""

    population: str
    start: int
    stop: int
    synapse_bytes: int

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

    def to_dict(self, limits: CoreLimits) -> dict[str, Any]:
        return {
            "core": self.index,
            "chip": self.chip,
            "neurons": self.neurons,
            "synapse_bytes": self.synapse_bytes,
            "neuron_utilisation": self.neurons / limits.neurons_per_core,
            "memory_utilisation": self.synapse_bytes / limits.synapse_bytes_per_core,
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
    """

    limits: CoreLimits
    cores: tuple[Core, ...]
    populations: dict[str, int]
    kinds: dict[str, str]
    targets: dict[str, str]
    sources: dict[str, str] = field(default_factory=dict)

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
                }
                for name, neurons in self.populations.items()
            },
        }
        if per_core:
            out["per_core"] = [c.to_dict(self.limits) for c in self.cores]
        return out


def _ranges(indices: list[int]) -> list[list[int]]:
    """``[0, 1, 2, 5]`` -> ``[[0, 2], [5, 5]]`` (compact core lists for reports)."""
    out: list[list[int]] = []
    for i in indices:
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        elif not (out and i == out[-1][1]):
            out.append([i, i])
    return out


def _targets(graph: Graph, limits: CoreLimits) -> tuple[list[_Target], dict[str, str]]:
    inputs: dict[str, list[_Input]] = {}
    owner: dict[str, str] = {}
    users = graph.users()
    for node in graph.nodes:
        if node.op != "projection":
            continue
        for user in users.get(node.output, []):
            if user.op in ("population", "current_sum"):
                inputs.setdefault(user.name, []).append(_input(node, limits))
                owner[node.name] = user.name
    targets = []
    for node in graph.nodes:
        if node.op in ("population", "current_sum"):
            kind = node.attrs.kind if node.op == "population" else "current_sum"
            targets.append(
                _Target(node.name, kind, node.output.type.numel, tuple(inputs.get(node.name, ())))
            )
    return targets, owner


def _slices(target: _Target, limits: CoreLimits) -> list[Slice]:
    """Cut ``target`` into the largest contiguous slices that fit one core each."""
    cap = limits.synapse_bytes_per_core
    one = target.bytes(0, 1)
    if one > cap:
        detail = ", ".join(f"{p.name} ({p.kind}) {p.bytes(0, 1):.0f} B" for p in target.inputs)
        raise error(
            "RS951",
            f"one neuron of population {target.name} needs {one:.0f} B of synapse memory, more "
            f"than a {limits.name} core's {cap} B: {detail}",
            node=target.name,
        )
    out: list[Slice] = []
    lo, n = 0, target.neurons
    size = 0  # for uniform targets: the slice size, found once
    while lo < n:
        hi = min(n, lo + (size or limits.neurons_per_core))
        if target.bytes(lo, hi) > cap:
            good, bad = lo + 1, hi  # bytes(lo, good) <= cap < bytes(lo, bad)
            while bad - good > 1:
                mid = (good + bad) // 2
                if target.bytes(lo, mid) <= cap:
                    good = mid
                else:
                    bad = mid
            hi = good
        if target.uniform and hi < n:
            size = hi - lo
        out.append(Slice(target.name, lo, hi, math.ceil(target.bytes(lo, hi))))
        lo = hi
    return out


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
    targets, owner = _targets(graph, limits)
    cores: list[Core] = []
    open_cores: list[Core] = []

    def new_core() -> Core:
        core = Core(len(cores), len(cores) // limits.cores_per_chip)
        cores.append(core)
        return core

    for target in targets:
        pieces = _slices(target, limits)
        for i, piece in enumerate(pieces):
            if i < len(pieces) - 1:
                new_core().slices.append(piece)
                continue
            home = next(
                (
                    c
                    for c in open_cores
                    if c.neurons + piece.neurons <= limits.neurons_per_core
                    and c.synapse_bytes + piece.synapse_bytes <= limits.synapse_bytes_per_core
                ),
                None,
            )
            if home is None:
                home = new_core()
                open_cores.append(home)
            home.slices.append(piece)
            if (
                home.neurons >= limits.neurons_per_core
                or home.synapse_bytes >= limits.synapse_bytes_per_core
            ):
                open_cores.remove(home)
    placement = Placement(
        limits,
        tuple(cores),
        {t.name: t.neurons for t in targets},
        {t.name: t.kind for t in targets},
        owner,
        sources,
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
