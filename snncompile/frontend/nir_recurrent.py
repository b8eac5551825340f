"""Recurrent NIR graphs: which edges to cut, and the cut as ``recurrent`` nodes.

A NIR graph may hold cycles (snntorch ``RLeaky``/``RSynaptic`` export a ``lif -> w_rec -> lif``
loop). NIR's neurons are continuous-time, so a cycle is well defined only through a neuron's
state; in discrete time the edge that *leaves a neuron* and returns into its cycle carries the
neuron's spikes of the previous step::

    I[t] = W_ff · x[t] + W_rec · S[t-1]

:func:`cut_edges` finds the strongly connected components (iterative Tarjan) and, in each,
cuts every edge from a neuron to a node of the same component. A component that holds no
neuron is an algebraic loop (IX810); a loop that avoids every neuron of its component is still
a loop after the cut, and the importer's ordering reports it the same way. The importer then
reads a cut edge through a ``recurrent`` node (the IR's one-step delay,
:mod:`snncompile.ir.ops.recurrent`) whose source is the neuron's ``lif`` output; the recurrent
current joins the fan-in after the feed-forward ones (snntorch: ``β·V + X + V_rec·S``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import nir
import numpy as np

from snncompile.diagnostics import error
from snncompile.ir.graph import GraphBuilder, Value, replace_attrs
from snncompile.ir.ops.recurrent import RecurrentAttrs

__all__ = ["RecurrentReads", "components", "cut_edges"]


def components(nodes: Sequence[str], readers: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The strongly connected components of the graph (Tarjan's algorithm, without recursion:
    hostile files may hold very long chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = readers.get(node, ())
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:  # propagate to the parent
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(component)
    return result


def cut_edges(
    nodes: Sequence[str],
    readers: Mapping[str, Sequence[str]],
    is_neuron: Callable[[str], bool],
) -> set[tuple[str, str]]:
    """The edges ``(neuron, reader)`` to read with a one-step delay (see the module docstring).

    IX810 for a cycle through no neuron (an algebraic loop).
    """
    cut: set[tuple[str, str]] = set()
    for component in components(nodes, readers):
        members = set(component)
        cyclic = len(component) > 1 or component[0] in readers.get(component[0], ())
        if not cyclic:
            continue
        neurons = sorted(n for n in component if is_neuron(n))
        if not neurons:
            stuck = sorted(component)
            raise error(
                "IX810",
                f"a cycle through {', '.join(stuck[:5])} holds no neuron: an algebraic loop "
                "with no state, which no simulator can evaluate",
                node=stuck[0],
            )
        for neuron in neurons:
            cut.update((neuron, dst) for dst in readers.get(neuron, ()) if dst in members)
    return cut


class RecurrentReads:
    """The ``recurrent`` nodes of one import: one per neuron whose output is read back.

    :meth:`read` creates the node when the first reader of a cut edge is translated (before the
    neuron itself: its shape comes from the neuron's ``output_type``); :meth:`connect` names
    each node's source once the neuron is translated and checks it is one spiking ``lif`` of
    that shape (IX814 for dynamics whose recurrent form the ``lif`` op cannot state).
    """

    def __init__(self, builder: GraphBuilder, graph: nir.NIRGraph, dtype: str) -> None:
        self.builder = builder
        self.graph = graph
        self.dtype = dtype
        self.values: dict[str, Value] = {}

    def read(self, neuron: str) -> Value:
        """The previous step's spikes of NIR node ``neuron``."""
        if neuron not in self.values:
            node = self.graph.nodes[neuron]
            declared = (getattr(node, "output_type", None) or {}).get("output")
            shape = tuple(int(d) for d in np.asarray(declared if declared is not None else ()))
            if not shape or any(d < 1 for d in shape):
                raise error(
                    "IX810",
                    f"neuron {neuron} is read back by a recurrent edge but declares no output "
                    f"shape (output_type {declared!r})",
                    node=neuron,
                )
            attrs = RecurrentAttrs(source=neuron, shape=shape, dtype=self.dtype)
            self.values[neuron] = self.builder.add_node(
                "recurrent", [], attrs, name=f"{neuron}_prev"
            )
        return self.values[neuron]

    def connect(self, env: Mapping[str, Value]) -> None:
        """Point every recurrent node at its neuron's translated spikes."""
        for neuron, value in self.values.items():
            spikes = env[neuron]
            lif = spikes.producer
            if lif is None or lif.op != "lif":
                raise error(
                    "IX814",
                    f"neuron {neuron} is on a cycle but imports as {lif.op if lif else 'input'}, "
                    "not one spiking lif",
                    node=neuron,
                )
            a = lif.attrs
            if a.dynamics == "snntorch" and a.reset_mechanism == "zero":
                raise error(
                    "IX814",
                    f"neuron {neuron} is on a cycle with snntorch's reset to zero: snntorch's "
                    "RLeaky zeroes the whole update (1 - R)·(β·V + X + V_rec·S) where Leaky (the "
                    "lif op) zeroes only β·V",
                    node=neuron,
                )
            if spikes.type.shape != value.type.shape:
                raise error(
                    "IX810",
                    f"neuron {neuron} declares output shape {value.type.shape} but computes "
                    f"{spikes.type.shape}",
                    node=neuron,
                )
            node = value.producer
            assert node is not None
            node.attrs = replace_attrs(node.attrs, source=spikes.name)


def delayed_spikes(
    builder: GraphBuilder,
    name: str,
    node: nir.Delay,
    sources: Sequence[Value],
    on_cycle: bool,
    dt: float | None,
) -> Value:
    """NIR's ``Delay`` of one step on a neuron's spikes: a ``recurrent`` node (``y[t] =
    S[t-1]``), the form the ``nir`` target writes for a recurrent edge that closes no cycle
    (spikes of the previous step into a later layer). Anything else is refused: a Delay on a
    cycle (IX814: a cycle already reads the previous step), of more than one step or of a
    non-spike value (IX808), or without a known dt (IX811)."""
    if on_cycle:
        raise error(
            "IX814",
            f"Delay {name} sits on a cycle through a neuron: the cycle already reads the "
            "previous step, so the delay's meaning is ambiguous",
            node=name,
        )
    lif = sources[0].producer if len(sources) == 1 else None
    if lif is None or lif.op != "lif":
        raise error(
            "IX808",
            f"Delay {name} reads {len(sources)} value(s) that are not one neuron's spikes; the "
            "import takes a Delay of one step on spikes only (a recurrent edge)",
            node=name,
        )
    if dt is None:
        raise error(
            "IX811",
            f"Delay {name}: the file gives no dt, so its length in steps is unknown "
            "(give --nir-dt)",
            node=name,
        )
    delays = np.asarray(node.delay, dtype=np.float64).ravel()
    steps = delays / dt
    if delays.size == 0 or not np.allclose(steps, 1.0, rtol=1e-6, atol=0.0):
        raise error(
            "IX808",
            f"Delay {name} delays by {sorted(set(steps.round(6).tolist()))[:4]} steps of dt = "
            f"{dt}; the import takes a delay of exactly one step",
            node=name,
        )
    spikes = lif.output
    attrs = RecurrentAttrs(source=spikes.name, shape=spikes.type.shape, dtype=spikes.type.dtype)
    return builder.add_node("recurrent", [], attrs, name=name)
