"""Hypothesis strategies for random small, valid IR graphs."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import strategies as st

from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, GraphBuilder, SourceLoc, Value
from snncompile.ir.ops.base import ShapeError
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.ir.ops.tensor import (
    BatchNormAttrs,
    Conv2dAttrs,
    LifAttrs,
    LinearAttrs,
    PermuteAttrs,
    Pool2dAttrs,
    ReshapeAttrs,
    ScaleAttrs,
)
from snncompile.ir.types import FixedPoint, SpikeDomain, TensorType

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_.0123456789", min_size=1, max_size=8)
any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)
finite = st.floats(min_value=-4, max_value=4, allow_nan=False, width=32)
domains = st.one_of(
    st.none(),
    st.sampled_from([SpikeDomain.binary(), SpikeDomain.integer(), SpikeDomain.real()]),
    st.integers(1, 9).map(SpikeDomain.count),
)
fixed_points = st.one_of(
    st.none(),
    st.builds(FixedPoint, st.integers(1, 32), st.integers(-8, 16), st.booleans()),
)
locs = st.one_of(
    st.none(),
    st.builds(
        SourceLoc,
        st.one_of(st.none(), st.text(max_size=12)),
        st.one_of(st.none(), st.text(max_size=12)),
    ),
)


def _array(draw: st.DrawFn, shape: tuple[int, ...], dtype: str = "float32") -> np.ndarray:
    count = int(np.prod(shape))
    values = draw(st.lists(finite, min_size=count, max_size=count))
    return np.asarray(values, dtype=dtype).reshape(shape)


@st.composite
def tensor_graphs(draw: st.DrawFn, max_nodes: int = 6) -> Graph:
    """A random tensor-stage graph of conv/pool/lif/bn/linear/elementwise/layout ops."""
    builder = GraphBuilder(draw(names))
    channels, size = draw(st.integers(1, 3)), draw(st.integers(2, 5))
    x = builder.input(
        draw(names),
        TensorType(
            (channels, size, size),
            draw(st.sampled_from(["f32", "f64"])),
            draw(domains),
            draw(fixed_points),
        ),
    )
    values: list[Value] = [x]
    for _ in range(draw(st.integers(1, max_nodes))):
        src = draw(st.sampled_from(values))
        kind = draw(
            st.sampled_from(
                [
                    "lif",
                    "scale",
                    "add",
                    "mul",
                    "reshape",
                    "permute",
                    "conv2d",
                    "linear",
                    "bn",
                    "pool",
                ]
            )
        )
        shape = src.type.shape
        try:
            if kind == "lif":
                attrs: object = LifAttrs(
                    tau=draw(st.floats(1.0, 8.0)),
                    v_threshold=draw(any_float),
                    v_reset=draw(st.one_of(st.none(), any_float)),
                    decay_input=draw(st.booleans()),
                )
                inputs = [src]
                op = "lif"
            elif kind == "scale":
                op, inputs, attrs = "scale", [src], ScaleAttrs(factor=draw(any_float))
            elif kind in ("add", "mul"):
                same = [v for v in values if v.type.shape == shape]
                op, inputs, attrs = kind, [src, draw(st.sampled_from(same))], NoAttrs()
            elif kind == "reshape":
                op, inputs, attrs = "reshape", [src], ReshapeAttrs(shape=(int(np.prod(shape)),))
            elif kind == "permute":
                perm = draw(st.permutations(list(range(len(shape)))))
                op, inputs, attrs = "permute", [src], PermuteAttrs(perm=tuple(perm))
            elif kind == "conv2d" and len(shape) == 3:
                out = draw(st.integers(1, 3))
                k = draw(st.integers(1, 2))
                bias = draw(st.booleans())
                attrs = Conv2dAttrs(
                    weight=_array(draw, (out, shape[0], k, k)),
                    bias=_array(draw, (out,)) if bias else None,
                    padding=(draw(st.integers(0, 1)),) * 2,
                )
                op, inputs = "conv2d", [src]
            elif kind == "linear":
                out = draw(st.integers(1, 4))
                attrs = LinearAttrs(weight=_array(draw, (out, shape[-1])), bias=None)
                op, inputs = "linear", [src]
            elif kind == "bn":
                c = shape[0]
                attrs = BatchNormAttrs(
                    weight=_array(draw, (c,)),
                    bias=_array(draw, (c,)),
                    running_mean=_array(draw, (c,)),
                    running_var=np.abs(_array(draw, (c,))) + 0.5,
                    eps=draw(st.sampled_from([1e-5, 1e-3])),
                )
                op, inputs = "batchnorm", [src]
            elif kind == "pool" and len(shape) == 3 and min(shape[1:]) >= 2:
                attrs = Pool2dAttrs(kernel_size=(2, 2), stride=(2, 2))
                op, inputs = draw(st.sampled_from(["maxpool2d", "avgpool2d"])), [src]
            else:
                continue
            result = builder.add_node(op, inputs, attrs, name=draw(names), loc=draw(locs))
        except ShapeError:
            continue
        values.append(result)
        if draw(st.booleans()):
            result.type = result.type.with_domain(draw(domains))
    outputs = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))
    return builder.finish(outputs)


@st.composite
def network_graphs(draw: st.DrawFn) -> Graph:
    """A random network-stage graph: populations fed by dense and sum projections."""
    builder = GraphBuilder(draw(names), stage="network")
    n = draw(st.integers(1, 4))
    spikes = builder.input("in", TensorType((n,), "f32", SpikeDomain.binary()))
    for _ in range(draw(st.integers(1, 3))):
        m = draw(st.integers(1, 4))
        currents = []
        for _ in range(draw(st.integers(1, 2))):
            if draw(st.booleans()):
                attrs = ProjectionAttrs(
                    kind="dense",
                    weight=np.rint(_array(draw, (m, n)) * 100),
                    weight_exp=draw(st.integers(-3, 3)),
                    delay=draw(st.integers(0, 3)),
                )
            else:
                attrs = ProjectionAttrs(
                    kind="sum",
                    gain=draw(st.integers(1, 5)),
                    pre=f"reshape({n},1) expand({n},{m})",
                    axes=(0,),
                    delay=draw(st.integers(0, 3)),
                )
            currents.append(builder.add_node("projection", [spikes], attrs, name="proj"))
        bias = np.rint(_array(draw, (m,)) * 64) if draw(st.booleans()) else None
        attrs = PopulationAttrs(kind="lif", du=4095, dv=2048, vth=draw(st.integers(0, 9)))
        spikes = builder.add_node(
            "population", currents, dataclasses.replace(attrs, bias_mant=bias), name="pop"
        )
        n = m
    return builder.finish([spikes])
