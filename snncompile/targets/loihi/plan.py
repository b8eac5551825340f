"""What a pipelined network graph becomes on Lava: the host/chip split and explicit synapses.

A network-stage graph mixes chip ops (``population``, ``projection``, ``current_sum``) with
host ops (every tensor op). :func:`split_graph` classifies the host ops:

- **pre** host ops depend on graph inputs only (the encoder). They are evaluated in numpy for
  all steps before the run; their values enter the chip as graded payloads (a RingBuffer
  source).
- **mid** host ops depend on chip values and feed the chip (SDT's max-pool over currents).
  In the ``stock`` form they run in a Python host process (:mod:`.host`), in the ``fused``
  form inside the fused process.
- **post** host ops feed no chip op (the readout). They run in numpy after the run on the
  recorded chip values.

:class:`HostEvaluator` steps a list of nodes with the ops' reference kernels, exactly as
:func:`snncompile.ir.interpret.run_layerwise` does (one sample, batch axis 1).

:func:`projection_matrix` turns a projection (``pre`` view, core, ``post`` view) into its explicit
integer matrix ``M`` [n_out, n_in] over the flat (row-major) source and target, so that
``project(a, x) = shift(M · x, weight_exp)`` with binary ``x`` for spikes and the payload for
graded sources (:func:`snncompile.ir.ops.network.project`). :func:`exact_synapses` splits
``(M, e)`` into matrices that Lava's Dense/Sparse represent without loss.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from snncompile.diagnostics import error
from snncompile.ir.graph import Graph, Node, Value
from snncompile.ir.ops import get_op
from snncompile.ir.ops.base import State
from snncompile.ir.ops.network import ProjectionAttrs, project
from snncompile.ir.ops.recurrent import latch
from snncompile.targets.loihi.arch import effective_weights
from snncompile.targets.loihi.errors import EMIT_CODE, lava_error

__all__ = [
    "CHIP_OPS",
    "GraphSplit",
    "HostEvaluator",
    "exact_synapses",
    "projection_matrix",
    "split_graph",
]

#: ``recurrent``: a population's spikes of the previous step, read by recurrent projections
#: (on the chip: the source's own spikes through a synapse one step longer).
CHIP_OPS = frozenset({"population", "projection", "current_sum", "recurrent"})


@dataclass
class GraphSplit:
    """The chip nodes and the three kinds of host nodes of a pipelined graph (in graph order).

    Attributes:
        chip: populations, projections and current probes.
        pre: host nodes that depend on graph inputs only.
        mid: host nodes that read chip values and feed the chip.
        post: host nodes that feed no chip node.
        chip_reads: host values (graph inputs or host node outputs) that chip projections read.
        mid_reads: chip values (population spikes, current sums) that mid host nodes read.
    """

    chip: list[Node] = field(default_factory=list)
    pre: list[Node] = field(default_factory=list)
    mid: list[Node] = field(default_factory=list)
    post: list[Node] = field(default_factory=list)
    chip_reads: list[Value] = field(default_factory=list)
    mid_reads: list[Value] = field(default_factory=list)

    @property
    def host(self) -> list[Node]:
        """Every host node, in graph order."""
        keep = {id(n) for n in (*self.pre, *self.mid, *self.post)}
        return [n for n in self._order if id(n) in keep]

    _order: list[Node] = field(default_factory=list, repr=False)


def split_graph(graph: Graph) -> GraphSplit:
    """Classify every node of a network-stage ``graph`` (see the module docstring)."""
    if graph.stage != "network":
        raise error("CF203", f"Lava emission needs a network-stage graph, got stage {graph.stage}")
    split = GraphSplit(_order=list(graph.nodes))
    on_input: set[Value] = set(graph.inputs)  # values computable from the graph inputs alone
    for node in graph.nodes:
        if node.op not in CHIP_OPS and all(v in on_input for v in node.inputs):
            on_input.update(node.outputs)
    users = graph.users()
    feeds_chip: set[int] = set()  # host nodes with a chip node downstream
    for node in reversed(graph.nodes):
        if node.op in CHIP_OPS:
            continue
        for value in node.outputs:
            for user in users.get(value, []):
                if user.op in CHIP_OPS or id(user) in feeds_chip:
                    feeds_chip.add(id(node))
    chip_reads: dict[Value, None] = {}
    mid_reads: dict[Value, None] = {}
    for node in graph.nodes:
        if node.op in CHIP_OPS:
            split.chip.append(node)
            if node.op == "projection":
                source = node.inputs[0]
                if source.producer is None or source.producer.op not in CHIP_OPS:
                    chip_reads[source] = None
        elif node.outputs[0] in on_input:
            split.pre.append(node)
        elif id(node) in feeds_chip:
            split.mid.append(node)
            for value in node.inputs:
                if value.producer is not None and value.producer.op in CHIP_OPS:
                    mid_reads[value] = None
        else:
            split.post.append(node)
    split.chip_reads = list(chip_reads)
    split.mid_reads = list(mid_reads)
    return split


class HostEvaluator:
    """Steps ``nodes`` with their reference kernels, one time step per :meth:`step` call.

    Values are keyed by name in ``env`` and carry a leading batch axis; state persists between
    calls, as in :func:`~snncompile.ir.interpret.run_layerwise`.
    """

    def __init__(self, nodes: Sequence[Node], batch: int = 1) -> None:
        self.nodes = list(nodes)
        self.ops = [get_op(n.op) for n in self.nodes]
        self.states: list[State | None] = [
            op.init_state(n.attrs, [v.type for v in n.inputs], batch) if op.init_state else None
            for op, n in zip(self.ops, self.nodes, strict=True)
        ]

    def step(self, env: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Compute every node from ``env`` (which must hold their inputs); adds the results."""
        for op, node, state in zip(self.ops, self.nodes, self.states, strict=True):
            results = op.kernel(node.attrs, [env[v.name] for v in node.inputs], state)
            for value, result in zip(node.outputs, results, strict=True):
                env[value.name] = result
        for state, node in zip(self.states, self.nodes, strict=True):
            if node.op == "recurrent":  # read at the next step (r[t] = S[t-1])
                assert state is not None
                latch(state, env[node.attrs.source])
        return env


def run_host(
    nodes: Sequence[Node], known: Mapping[str, np.ndarray], steps: int
) -> dict[str, np.ndarray]:
    """Evaluate ``nodes`` for ``steps`` steps from ``known`` values ``[T, B, ...]`` by name.

    Returns every known and computed value, ``[T, B, ...]``.
    """
    evaluator = HostEvaluator(nodes, batch=next(iter(known.values())).shape[1] if known else 1)
    trace: dict[str, list[np.ndarray]] = {}
    for t in range(steps):
        env = {name: array[t] for name, array in known.items()}
        evaluator.step(env)
        for name, value in env.items():
            trace.setdefault(name, []).append(value)
    return {name: np.stack(values) for name, values in trace.items()}


def projection_matrix(attrs: ProjectionAttrs, source_shape: tuple[int, ...]) -> np.ndarray:
    """The explicit synapse matrix ``M`` [n_out, n_in] (int64) of a projection.

    ``M[:, j]`` is the projection's current (before ``weight_exp`` and without ``bias``) for a
    unit payload on flat source element ``j``: the ``pre`` view (gather indices as
    :meth:`~snncompile.ir.views.View.index_map` gives them), the core (conv, dense or unit
    sum) and the ``post`` view, applied by :func:`~snncompile.ir.ops.network.project` itself,
    so the matrix cannot drift from the reference. It is exact: ``project`` is linear in the
    payload once bias and shift are removed, and every entry is an integer.
    """
    probe = dataclasses.replace(attrs, graded=True, bias=None, weight_exp=0, delay=0)
    n_in = int(np.prod(source_shape))
    columns = []
    chunk = 1024
    for start in range(0, n_in, chunk):
        stop = min(n_in, start + chunk)
        basis = np.zeros((stop - start, n_in))
        basis[np.arange(stop - start), np.arange(start, stop)] = 1.0
        out = project(probe, basis.reshape((stop - start, *source_shape)))
        columns.append(out.reshape(stop - start, -1))
    matrix = np.concatenate(columns, axis=0).T
    rounded = np.rint(matrix)
    if not np.array_equal(rounded, matrix):
        raise lava_error(EMIT_CODE, "a projection has non-integer synapse weights")
    return rounded.astype(np.int64)


def exact_synapses(matrix: np.ndarray, weight_exp: int) -> list[tuple[np.ndarray, int]]:
    """Split ``(M, e)`` into ``[(M_k, e_k)]`` with ``Σ_k shift(M_k·x, e_k) = shift(M·x, e)``.

    Lava's fixed-point Dense/Sparse clip to 8 bits and, for a matrix with mixed signs, drop
    the least significant bit (``effective_weights``). In order:

    1. ``M`` is representable (``effective_weights(M) == M``): ``[(M, e)]``.
    2. ``M`` has mixed signs and ``2M`` is representable (entries in [-128, 127]):
       ``[(2M, e - 1)]``, exact because ``floor(2y / 2^(k+1)) = floor(y / 2^k)`` and
       ``2y · 2^(e-1) = y · 2^e``.
    3. ``e >= 0``: the positive and negative parts in chunks of magnitude <= 255, each
       single-signed (no bit lost); shifting left is linear, so the sum is exact.

    Otherwise (a negative exponent on a matrix that needs splitting: the floor of a sum is
    not the sum of floors) it raises LV507.
    """
    m = np.asarray(matrix, dtype=np.int64)
    if np.array_equal(effective_weights(m), m):
        return [(m, weight_exp)]
    mixed = m.min() < 0 < m.max()
    if mixed and m.min() >= -128 and m.max() <= 127:
        return [(2 * m, weight_exp - 1)]
    if weight_exp < 0:
        raise lava_error(
            EMIT_CODE,
            f"synapse weights in [{m.min()}, {m.max()}] with weight_exp {weight_exp} have no "
            "exact form in Lava's 8-bit Dense/Sparse",
        )
    parts: list[tuple[np.ndarray, int]] = []
    for sign in (1, -1):
        rest = np.clip(sign * m, 0, None)
        while rest.any():
            chunk = np.minimum(rest, 255)
            parts.append((sign * chunk, weight_exp))
            rest = rest - chunk
    return parts


def value_arrivals(graph: Graph) -> dict[str, int]:
    """The step each value of a pipelined graph first carries data: graph inputs 0, a
    population its ``start``, a projection its source's arrival plus its delay, a host op its
    latest input (plus ``steps`` for a host ``delay``)."""
    arrival: dict[str, int] = {v.name: 0 for v in graph.inputs}
    for node in graph.nodes:
        if node.op == "population":
            time = node.attrs.start
        elif node.op == "projection":
            time = arrival[node.inputs[0].name] + node.attrs.delay
        else:
            time = max((arrival[v.name] for v in node.inputs), default=0)
            time += node.attrs.steps if node.op == "delay" else 0
        for v in node.outputs:
            arrival[v.name] = time
    return arrival
