"""Small tensor-IR graphs that use every op and neuron variant the ONNX export writes."""

from __future__ import annotations

import numpy as np

from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.ops.tensor import (
    AdaptivePool2dAttrs,
    BatchNormAttrs,
    ConstAttrs,
    Conv2dAttrs,
    LifAttrs,
    LinearAttrs,
    PermuteAttrs,
    Pool2dAttrs,
    ReduceAttrs,
    ReshapeAttrs,
    ScaleAttrs,
    SliceAttrs,
)
from snncompile.ir.types import TensorType


def every_op_graph(seed: int = 0, dtype: str = "f32") -> Graph:
    """[2, 8, 8] image -> convs, pools, BN on two axes, attention-like products, four neuron
    variants (LIF, ParametricLIF, soft reset, no decay_input), slices, sums and means."""
    rng = np.random.default_rng(seed)
    np_dtype = np.float32 if dtype == "f32" else np.float64

    def arr(*shape: int, scale: float = 1.0) -> np.ndarray:
        return (rng.normal(size=shape) * scale).astype(np_dtype)

    def bn(channels: int, axis: int) -> BatchNormAttrs:
        return BatchNormAttrs(
            arr(channels),
            arr(channels),
            arr(channels),
            (rng.random(channels) + 0.5).astype(np_dtype),
            eps=1e-5,
            axis=axis,
        )

    b = GraphBuilder("every_op")
    x = b.input("x", TensorType((2, 8, 8), dtype))
    c = b.add_node(
        "conv2d", [x], Conv2dAttrs(arr(4, 2, 3, 3), arr(4), padding=(1, 1)), name="stem.conv"
    )
    c = b.add_node("batchnorm", [c], bn(4, 0), name="stem.bn")
    s1 = b.add_node("lif", [c], LifAttrs(tau=2.0, v_threshold=0.5), name="stem.lif")
    g = b.add_node(
        "conv2d",
        [s1],
        Conv2dAttrs(
            arr(4, 2, 3, 3), None, stride=(1, 1), padding=(2, 2), dilation=(2, 2), groups=2
        ),
        name="dw",
    )
    p = b.add_node("maxpool2d", [g], Pool2dAttrs((2, 2), (2, 2), (0, 0)), name="pool")
    a = b.add_node("avgpool2d", [p], Pool2dAttrs((3, 3), (1, 1), (1, 1)), name="avg")
    s2 = b.add_node(
        "lif", [a], LifAttrs(tau=1.0 / 0.6, v_threshold=0.3, decay=0.6), name="plif"
    )  # ParametricLIF
    r = b.add_node("reshape", [s2], ReshapeAttrs((4, 16)), name="tokens")
    t = b.add_node("permute", [r], PermuteAttrs((1, 0)), name="t")  # [16, 4]
    q = b.add_node("linear", [t], LinearAttrs(arr(6, 4), arr(6)), name="q")
    q = b.add_node("batchnorm", [q], bn(6, 1), name="q_bn")  # BN over features (axis 1)
    k = b.add_node("linear", [t], LinearAttrs(arr(6, 4), None), name="k")
    sq = b.add_node("lif", [q], LifAttrs(tau=2.0, v_reset=None), name="q_lif")  # soft reset
    sk = b.add_node(
        "lif",
        [k],
        LifAttrs(tau=3.0, v_threshold=0.8, v_reset=-0.1, decay_input=False),
        name="k_lif",
    )
    kt = b.add_node("permute", [sk], PermuteAttrs((1, 0)), name="kt")  # [6, 16]
    att = b.add_node("matmul", [sq, kt], NoAttrs(), name="att")  # [16, 16]
    att = b.add_node("scale", [att], ScaleAttrs(0.125), name="att_scale")
    v = b.add_node("matmul", [att, t], NoAttrs(), name="av")  # [16, 4]
    v = b.add_node("mul", [v, t], NoAttrs(), name="gate")
    v = b.add_node("add", [v, t], NoAttrs(), name="res")
    v = b.add_node("mul_const", [v], ConstAttrs(arr(1, 4)), name="head_scale")
    v = b.add_node("add_const", [v], ConstAttrs(arr(16, 4)), name="pos")
    half = b.add_node("slice", [v], SliceAttrs(axis=0, start=1, stop=15, step=2), name="half")
    summed = b.add_node("sum", [half], ReduceAttrs((0,), keepdim=False), name="tok_sum")  # [4]
    img = b.add_node("reshape", [v], ReshapeAttrs((4, 4, 4)), name="img")
    ad = b.add_node("adaptive_avgpool2d", [img], AdaptivePool2dAttrs((2, 2)), name="ad")
    gap = b.add_node("adaptive_avgpool2d", [ad], AdaptivePool2dAttrs((1, 1)), name="gap")
    gap = b.add_node("mean", [gap], ReduceAttrs((1, 2), keepdim=False), name="gap_mean")  # [4]
    feats = b.add_node("add", [summed, gap], NoAttrs(), name="feats")
    out = b.add_node("linear", [feats], LinearAttrs(arr(3, 4), arr(3)), name="head")
    return b.finish([out])
