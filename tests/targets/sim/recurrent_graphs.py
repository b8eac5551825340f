"""Small recurrent tensor graphs in spikingjelly's LIF (the quantizer's neuron): built by hand,
seeded, with strong enough recurrent weights that the recurrence changes the spikes."""

from __future__ import annotations

import numpy as np

from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, GraphBuilder, Value
from snncompile.ir.ops.recurrent import RecurrentAttrs
from snncompile.ir.ops.tensor import LifAttrs, LinearAttrs, ScaleAttrs
from snncompile.ir.types import TensorType

LIF = LifAttrs(tau=2.0, v_threshold=1.0, v_reset=0.0, decay_input=True)


def recurrent_mlp(
    *, back: bool = False, skip: bool = False, rec_gain: float = 1.0, stem: bool = False
) -> Graph:
    """``x(6) -> linear -> (+ W1·S1[t-1]) -> lif s1 -> linear -> (+ W2·S2[t-1]) -> lif s2``.

    ``back``: also feed ``s2``'s previous spikes into ``s1`` (a recurrence against the
    pipeline); ``skip``: also feed ``s1``'s previous spikes into ``s2`` (a recurrent edge to a
    later population); ``stem``: encode ``x`` by a lif first (``fc1`` then reads spikes: a
    sequential chain netx can hold).
    """
    rng = np.random.default_rng(11)
    b = GraphBuilder("recurrent_mlp")
    x = b.input("x", TensorType((6,), "f32"))

    def rec(source: str, n: int, m: int) -> Value:
        r = b.add_node(
            "recurrent",
            [],
            RecurrentAttrs(source=source, shape=(n,), dtype="f32"),
            name=f"{source}_prev",
        )
        w = rng.normal(size=(m, n)) * 1.2 * rec_gain
        return b.add_node(
            "linear", [r], LinearAttrs(weight=w, bias=None), name=f"{source}_rec_to{m}"
        )

    if stem:
        x = b.add_node("lif", [b.add_node("scale", [x], ScaleAttrs(factor=2.0))], LIF, name="s0")
    h = b.add_node(
        "linear",
        [x],
        LinearAttrs(weight=rng.normal(size=(8, 6)) * 2.0, bias=rng.normal(size=8) * 0.2),
        name="fc1",
    )
    h = b.add_node("add", [h, rec("s1", 8, 8)], NoAttrs(), name="in1")
    if back:
        h = b.add_node("add", [h, rec("s2", 4, 8)], NoAttrs(), name="in1b")
    s1 = b.add_node("lif", [h], LIF, name="s1")
    g = b.add_node(
        "linear", [s1], LinearAttrs(weight=rng.normal(size=(4, 8)) * 1.5, bias=None), name="fc2"
    )
    g = b.add_node("add", [g, rec("s2", 4, 4)], NoAttrs(), name="in2")
    if skip:
        r = b.add_node(
            "recurrent",
            [],
            RecurrentAttrs(source="s1", shape=(8,), dtype="f32"),
            name="s1_prev_skip",
        )
        w = rng.normal(size=(4, 8)) * 1.2 * rec_gain
        g = b.add_node(
            "add",
            [g, b.add_node("linear", [r], LinearAttrs(weight=w, bias=None), name="skip")],
            NoAttrs(),
            name="in2s",
        )
    s2 = b.add_node("lif", [g], LIF, name="s2")
    return b.finish([s2])


def inputs(steps: int, batch: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((steps, batch, 6)).astype(np.float32)
