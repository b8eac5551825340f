"""Small hand-built graphs with the shapes of the four families' building blocks."""

from __future__ import annotations

import numpy as np

from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, GraphBuilder, SourceLoc, Value
from snncompile.ir.ops.tensor import (
    BatchNormAttrs,
    Conv2dAttrs,
    LifAttrs,
    LinearAttrs,
    PermuteAttrs,
    Pool2dAttrs,
    ReduceAttrs,
    ReshapeAttrs,
    ScaleAttrs,
)
from snncompile.ir.types import TensorType


def _bn(rng: np.random.Generator, channels: int, axis: int = 0) -> BatchNormAttrs:
    return BatchNormAttrs(
        weight=rng.uniform(0.5, 1.5, channels),
        bias=rng.normal(0, 0.2, channels),
        running_mean=rng.normal(0, 0.3, channels),
        running_var=rng.uniform(0.5, 2.0, channels),
        axis=axis,
    )


def _conv_bn(
    b: GraphBuilder, rng: np.random.Generator, x: Value, out: int, name: str, bias: bool = False
) -> Value:
    conv = b.add_node(
        "conv2d",
        [x],
        Conv2dAttrs(
            weight=rng.normal(0, 0.6, (out, x.type.shape[0], 3, 3)),
            bias=rng.normal(0, 0.1, out) if bias else None,
            padding=(1, 1),
        ),
        name=f"{name}_conv",
        loc=SourceLoc(f"{name}.conv", None),
    )
    return b.add_node("batchnorm", [conv], _bn(rng, out), name=f"{name}_bn")


def _lif(b: GraphBuilder, x: Value, name: str, threshold: float = 1.0) -> Value:
    return b.add_node(
        "lif", [x], LifAttrs(v_threshold=threshold), name=name, loc=SourceLoc(name, None)
    )


def sew_block(seed: int = 0) -> Graph:
    """Spikformer-like: conv-BN-LIF tokens, then a SEW residual ``s + lif(linear(s))``."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("sew")
    x = b.input("x", TensorType((1, 4, 4), "f64"))
    s = _lif(b, _conv_bn(b, rng, x, 4, "stem"), "stem_lif")
    tokens = b.add_node("reshape", [s], ReshapeAttrs(shape=(4, 16)), name="tokens")
    t = b.add_node("permute", [tokens], PermuteAttrs(perm=(1, 0)), name="nc")  # [16, 4]
    fc = b.add_node(
        "linear",
        [t],
        LinearAttrs(weight=rng.normal(0, 0.8, (4, 4)), bias=rng.normal(0, 0.1, 4)),
        name="fc1",
        loc=SourceLoc("block.0.mlp.fc1", None),
    )
    fc_t = b.add_node("permute", [fc], PermuteAttrs(perm=(1, 0)), name="fc1_t")
    fc_bn = b.add_node("batchnorm", [fc_t], _bn(rng, 4), name="fc1_bn")  # BN1d on [C, N]
    fc_bn_t = b.add_node("permute", [fc_bn], PermuteAttrs(perm=(1, 0)), name="fc1_bn_t")
    s2 = _lif(b, fc_bn_t, "fc1_lif")
    residual = b.add_node("add", [t, s2], NoAttrs(), name="residual")
    q = b.add_node(
        "linear",
        [residual],
        LinearAttrs(weight=rng.normal(0, 0.8, (4, 4)), bias=None),
        name="q",
        loc=SourceLoc("block.1.attn.q_linear", None),
    )
    q_s = _lif(b, q, "q_lif")
    pooled = b.add_node("mean", [q_s], ReduceAttrs(axes=(0,)), name="gap")
    head = b.add_node(
        "linear", [pooled], LinearAttrs(weight=rng.normal(size=(3, 4)), bias=None), name="head"
    )
    return b.finish([head])


def ms_block(seed: int = 0, maxpool_on_current: bool = False) -> Graph:
    """Spikingformer-like: a membrane-shortcut stream ``x + BN(conv(lif(x)))`` and a head."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("ms")
    x = b.input("x", TensorType((1, 4, 4), "f64"))
    stream = _conv_bn(b, rng, x, 4, "stem")
    for i in range(2):
        spikes = _lif(b, stream, f"block{i}_lif")
        branch = _conv_bn(b, rng, spikes, 4, f"block{i}")
        if maxpool_on_current and i == 0:
            branch = b.add_node(
                "maxpool2d",
                [branch],
                Pool2dAttrs(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)),
                name="block0_pool",
                loc=SourceLoc("block0.pool", None),
            )
        stream = b.add_node("add", [stream, branch], NoAttrs(), name=f"block{i}_add")
    pooled = b.add_node("mean", [stream], ReduceAttrs(axes=(1, 2)), name="gap")
    head = b.add_node(
        "linear", [pooled], LinearAttrs(weight=rng.normal(size=(3, 4)), bias=None), name="head"
    )
    return b.finish([head])


def attention(seed: int = 0) -> Graph:
    """Spike attention ``lif((q @ kᵀ) @ v · 0.125)`` and a real x spike product."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("attn")
    x = b.input("x", TensorType((6, 4), "f64"))
    spikes = _lif(b, x, "in_lif")
    qkv = []
    for name in ("q", "k", "v"):
        lin = b.add_node(
            "linear",
            [spikes],
            LinearAttrs(weight=rng.normal(0, 1, (4, 4)), bias=None),
            name=name,
            loc=SourceLoc(f"attn.{name}_linear", None),
        )
        qkv.append(_lif(b, lin, f"{name}_lif"))
    q, k, v = qkv
    kt = b.add_node("permute", [k], PermuteAttrs(perm=(1, 0)), name="kt")
    qk = b.add_node("matmul", [q, kt], NoAttrs(), name="qk")
    qkv_ = b.add_node("matmul", [qk, v], NoAttrs(), name="qkv")
    scaled = b.add_node("scale", [qkv_], ScaleAttrs(factor=0.125), name="scaled")
    attn = _lif(b, scaled, "attn_lif", threshold=0.5)
    gated = b.add_node("mul", [x, attn], NoAttrs(), name="gated")
    real_real = b.add_node("mul", [gated, x], NoAttrs(), name="real_real")
    out = _lif(b, real_real, "out_lif")
    return b.finish([out])


def raise_violations(graph: Graph) -> None:
    """Raise the first spike-driven violation of ``graph`` as its coded error (the way
    ``quantize-fixed-point`` stops on one); notes (SD3xx) are not raised."""
    from snncompile.passes.compliance import findings

    for found in findings(graph):
        if found.severity == "violation":
            raise found.to_error()
