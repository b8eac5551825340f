"""The recurrent edge: a one-step delay that reads a neuron's spikes of the previous step.

A recurrent network (snntorch ``RLeaky``, a NIR graph with a cycle through a neuron) computes
``I[t] = W_ff · x[t] + W_rec · S[t-1]``. The IR graph is a function of one time step and stays
acyclic: the edge ``S -> W_rec`` is cut by a ``recurrent`` node that has **no input edge** and
names its source neuron's output in its ``source`` attribute::

    %r = recurrent() {source="s", shape=[8], dtype="f32"} : tensor<8xf32, binary>
    %c = linear(%r) {...}
    %i = add(%ff, %c)
    %s = lif(%i) {...}

Its value is ``r[t] = S[t-1]`` with ``r[0] = 0``: the source's spikes of the previous step of
the same sample. Every executor runs the step in node order and then *latches* each recurrent
node's source into its state (:func:`latch`), so that the source may come after the reader.
The source must be a spiking neuron (``lif``, ``lif_fixed``, a ``population`` of kind ``lif``)
of the same shape (:func:`recurrent_problems`, IX817), so the value is binary and its sources
are that neuron (spike-domain rule :func:`snncompile.ir.domains.recurrent`). At the network
level the recurrent node feeds a projection: a recurrent projection whose delay is this step
plus the projection's own delay.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from snncompile.ir import counts, domains
from snncompile.ir.attrs import OpAttrs
from snncompile.ir.ops.base import OpDef, ShapeError, State
from snncompile.ir.types import DTYPES, TensorType

if TYPE_CHECKING:
    from snncompile.ir.graph import Graph, Node, Value

__all__ = [
    "OPS",
    "RecurrentAttrs",
    "latch",
    "recurrent_latches",
    "recurrent_nodes",
    "recurrent_problems",
]

#: Spiking neuron ops a recurrent edge may read (population: only ``kind == "lif"``).
SOURCES = frozenset({"lif", "lif_fixed", "population"})


@dataclass(frozen=True, eq=False)
class RecurrentAttrs(OpAttrs):
    """A recurrent read of ``source`` (a value name), ``steps`` (= 1) steps back.

    ``shape`` and ``dtype`` repeat the source's type: the node has no input to infer it from.
    """

    source: str
    shape: tuple[int, ...]
    dtype: str
    steps: int = 1


def _infer(types: Sequence[TensorType], a: RecurrentAttrs) -> tuple[TensorType, ...]:
    if a.steps != 1:
        raise ShapeError(f"a recurrent edge delays by one step, got steps={a.steps}")
    if a.dtype not in DTYPES:
        raise ShapeError(f"recurrent dtype {a.dtype!r} is not one of {list(DTYPES)}")
    if any(d < 1 for d in a.shape):
        raise ShapeError(f"recurrent shape {a.shape} has a dimension below 1")
    return (TensorType(tuple(a.shape), a.dtype),)


def _state(a: RecurrentAttrs, types: Sequence[TensorType], batch: int) -> State:
    return {"previous": np.zeros((batch, *a.shape))}


def _recurrent(
    a: RecurrentAttrs, xs: Sequence[np.ndarray], state: State | None
) -> tuple[np.ndarray]:
    """``r[t] = S[t - 1]`` with ``r[0] = 0``: the source neuron's spikes of the previous step
    (a ``delay(1)`` on the recurrent edge; the executor latches ``S[t]`` after step ``t``)."""
    assert state is not None
    return (state["previous"].copy(),)


def latch(state: State, spikes: np.ndarray) -> None:
    """Store the source's spikes of the step just computed (read at the next step)."""
    state["previous"] = np.asarray(spikes, dtype=np.float64).copy()


def recurrent_nodes(nodes: Sequence[Node]) -> list[int]:
    """Indices of the recurrent nodes in ``nodes``."""
    return [i for i, n in enumerate(nodes) if n.op == "recurrent"]


def recurrent_problems(graph: Graph) -> Iterator[str]:
    """Messages for recurrent nodes whose source is not a spiking neuron of the same shape in
    ``graph``."""
    producers = {v.name: n for n in graph.nodes for v in n.outputs}
    for node in graph.nodes:
        if node.op != "recurrent":
            continue
        a: RecurrentAttrs = node.attrs
        source = producers.get(a.source)
        where = node.describe()
        if source is None:
            yield f"{where} reads %{a.source}, which no node of the graph produces"
        elif source.op not in SOURCES or (source.op == "population" and source.attrs.kind != "lif"):
            yield f"{where} reads %{a.source} ({source.op}), which is not a spiking neuron"
        elif source.output.type.shape != tuple(a.shape):
            yield (
                f"{where} has shape {tuple(a.shape)} but its source %{a.source} has "
                f"{source.output.type.shape}"
            )


OPS: list[OpDef] = [
    OpDef(
        "recurrent",
        RecurrentAttrs,
        _infer,
        _recurrent,
        frozenset({"tensor"}),
        arity=0,
        init_state=_state,
        doc=(_recurrent.__doc__ or "").strip(),
        domain=domains.recurrent,
        count=counts.no_synaptic_ops,
    ),
]


def recurrent_latches(graph: Graph) -> list[tuple[str, Value]]:
    """``(recurrent node name, source value)`` for every recurrent node of ``graph``: what an
    executor latches after each step (``latch(state_of[name], spikes_of[source])``)."""
    by_name = {v.name: v for v in graph.values()}
    return [(n.name, by_name[n.attrs.source]) for n in graph.nodes if n.op == "recurrent"]
