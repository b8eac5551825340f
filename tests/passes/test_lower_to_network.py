"""lower-to-network and pipeline-delays: golden network IR, equivalence, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snncompile.config import CompileConfig
from snncompile.diagnostics import SnnCompileError
from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.base import ShapeError
from snncompile.ir.ops.fixed import LifFixedAttrs, ShiftAttrs
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.ir.ops.tensor import (
    Conv2dAttrs,
    LinearAttrs,
    Pool2dAttrs,
    ReduceAttrs,
    ReshapeAttrs,
    ScaleAttrs,
)
from snncompile.ir.printer import print_graph
from snncompile.ir.types import TensorType
from snncompile.ir.verify import verify
from snncompile.passes.lower_to_network import LowerToNetwork
from snncompile.passes.manager import PassContext
from snncompile.passes.pipeline_delays import PipelineDelays
from tests.golden import Goldens

LIF = LifFixedAttrs(du=4095, dv=2048, vth=64)


def _quantized_block() -> Graph:
    """host scale+round -> lif a -> maxpool (OR) -> conv(bias) -> lif b, plus a residual
    current from a's 1x1 conv, then a linear with a negative exponent into lif c; the
    readout is a mean over c's spikes."""
    rng = np.random.default_rng(0)
    b = GraphBuilder("block")
    x = b.input("x", TensorType((2, 4, 4), "f64"))
    scaled = b.add_node("scale", [x], ScaleAttrs(factor=64.0), name="enc")
    cur = b.add_node("round", [scaled], NoAttrs(), name="enc_round")
    a = b.add_node("lif_fixed", [cur], LIF, name="a")
    pooled = b.add_node(
        "maxpool2d", [a], Pool2dAttrs(kernel_size=(2, 2), stride=(2, 2)), name="pool"
    )
    w3 = rng.integers(-20, 20, size=(2, 2, 3, 3)).astype(np.float64)
    conv = b.add_node(
        "conv2d",
        [pooled],
        Conv2dAttrs(weight=w3, bias=np.array([3.0, -5.0]), padding=(1, 1)),
        name="conv",
    )
    w1 = rng.integers(-20, 20, size=(2, 2, 1, 1)).astype(np.float64)
    skip = b.add_node("conv2d", [a], Conv2dAttrs(weight=w1, bias=None, stride=(2, 2)), name="skip")
    summed = b.add_node("add", [conv, skip], NoAttrs(), name="sum")
    lif_b = b.add_node("lif_fixed", [summed], LIF, name="b")
    flat = b.add_node("reshape", [lif_b], ReshapeAttrs(shape=(2, 4)), name="flat")
    wl = rng.integers(-100, 100, size=(3, 4)).astype(np.float64)
    lin = b.add_node(
        "linear", [flat], LinearAttrs(weight=wl, bias=np.array([8.0, -16.0, 0.0])), name="lin"
    )
    shifted = b.add_node("shift", [lin], ShiftAttrs(exponent=-3), name="lin_shift")
    lif_c = b.add_node("lif_fixed", [shifted], LIF, name="c")
    out = b.add_node("mean", [lif_c], ReduceAttrs(axes=(0,)), name="readout")
    return b.finish([out])


def _lower(graph: Graph, *, allow_host_ops: bool = False) -> tuple[Graph, PassContext]:
    ctx = PassContext(config=CompileConfig(allow_host_ops=allow_host_ops))
    net = LowerToNetwork().run(graph, ctx)
    verify(net)
    return net, ctx


GOLDEN = Path(__file__).parent / "golden" / "lower_to_network_block.snnir"


def test_golden_network_ir(golden: Goldens) -> None:
    net, ctx = _lower(_quantized_block())
    text = print_graph(net, elide_arrays=True)
    body = text[: text.index("\n}") + 2]
    golden.check(GOLDEN, body + "\n")
    # biases: conv bias (3, -5) per channel -> 64·bias; linear bias 8, -16 under >> 3 -> 1, -2
    np.testing.assert_array_equal(net.node("b").attrs.bias_mant[:, 0, 0], [192.0, -320.0])
    np.testing.assert_array_equal(net.node("c").attrs.bias_mant[0], [64.0, -128.0, 0.0])
    # kept compact: one value per channel / feature, broadcast over the neurons
    assert net.node("b").attrs.bias_mant.shape == (2, 1, 1)
    assert net.node("c").attrs.bias_mant.shape == (1, 3)
    report = ctx.reports["lower-to-network"]
    assert report["totals"]["populations"] == 4
    assert report["populations"]["b"]["fan_in"] == 2
    assert report["projections"]["pool.in0"]["synapses"] == 2 * 2 * 2 * 4


def test_lowered_network_equals_tensor_reference_layerwise_and_pipelined() -> None:
    graph = _quantized_block()
    net, ctx = _lower(graph)
    rng = np.random.default_rng(1)
    x = rng.random((6, 5, 2, 4, 4)) * 3
    want = run_layerwise(graph, [x])["readout"]
    np.testing.assert_array_equal(run_layerwise(net, [x])["readout"], want)
    pipe = PipelineDelays().run(net, ctx)
    verify(pipe)
    depth = ctx.reports["pipeline-delays"]["depth"]
    assert depth == 4  # enc -> a -> pool -> b -> c: four hops
    assert ctx.reports["pipeline-delays"]["starts"] == {"a": 1, "pool": 2, "b": 3, "c": 4}
    assert pipe.node("b.in1").attrs.delay == 2  # a -> b skips the pool: one balancing step
    drained = np.concatenate([x, np.zeros((depth, *x.shape[1:]))])
    got = run_layerwise(pipe, [drained])["readout"]
    np.testing.assert_array_equal(got[depth:], want)


def test_shift_of_a_sum_of_sources_is_refused() -> None:
    b = GraphBuilder("g")
    x = b.input("x", TensorType((4,), "f64"))
    s1 = b.add_node("lif_fixed", [x], LIF, name="s1")
    s2 = b.add_node("lif_fixed", [x], LIF, name="s2")
    summed = b.add_node("add", [s1, s2], NoAttrs(), name="both")
    shifted = b.add_node("shift", [summed], ShiftAttrs(exponent=-1), name="halve")
    out = b.add_node("lif_fixed", [shifted], LIF, name="out")
    with pytest.raises(SnnCompileError) as info:
        _lower(b.finish([out]))
    assert info.value.code == "NW901"
    assert "%halve (shift)" in info.value.message


def test_synapses_on_a_current_are_refused() -> None:
    b = GraphBuilder("g")
    x = b.input("x", TensorType((4,), "f64"))
    s = b.add_node("lif_fixed", [x], LIF, name="s")
    w = np.eye(4)
    first = b.add_node("linear", [s], LinearAttrs(weight=w, bias=None), name="first")
    second = b.add_node("linear", [first], LinearAttrs(weight=w, bias=None), name="mac")
    out = b.add_node("lif_fixed", [second], LIF, name="out")
    with pytest.raises(SnnCompileError) as info:
        _lower(b.finish([out]))
    assert info.value.code == "NW901"
    assert "%mac (linear)" in info.value.message


def test_a_host_op_in_the_chip_needs_allow_host_ops() -> None:
    b = GraphBuilder("g")
    x = b.input("x", TensorType((1, 4, 4), "f64"))
    s = b.add_node("lif_fixed", [x], LIF, name="s")
    conv = b.add_node(
        "conv2d", [s], Conv2dAttrs(weight=np.ones((1, 1, 1, 1)), bias=None), name="conv"
    )
    pool = b.add_node(
        "maxpool2d", [conv], Pool2dAttrs(kernel_size=(2, 2), stride=(2, 2)), name="maxcur"
    )
    out = b.add_node("lif_fixed", [pool], LIF, name="out")
    graph = b.finish([out])
    with pytest.raises(SnnCompileError) as info:
        _lower(graph)
    assert info.value.code == "NW901"
    net, ctx = _lower(graph, allow_host_ops=True)
    assert ctx.reports["lower-to-network"]["host_ops"] == ["maxcur"]
    assert net.node("conv").op == "current_sum"  # the host reads the conv's current
    x_in = np.random.default_rng(0).random((3, 2, 1, 4, 4)) * 200
    np.testing.assert_array_equal(
        run_layerwise(net, [x_in])["out"], run_layerwise(graph, [x_in])["out"]
    )


def test_ms_relay_computes_the_same_with_fewer_synapses() -> None:
    import snncompile
    from snncompile.data.digits import load_digits_split

    model = Path(__file__).resolve().parents[2] / "examples" / "digits" / "spikingformer.pt"
    # --objective latency: no relays for the attention's broadcast sums, only the streams'
    fan_in = snncompile.compile(model, objective="latency")
    relay = snncompile.compile(model, ms_relay=True, objective="latency")
    x = load_digits_split(image_size=16).x_test[:8]
    np.testing.assert_array_equal(fan_in.run(x).logits, relay.run(x).logits)
    streams = fan_in.reports["lower-to-network"]["ms_streams"]
    assert streams and all(s["lowered_as"] == "fan-in" for s in streams)
    kinds = [p["kind"] for p in relay.reports["lower-to-network"]["populations"].values()]
    assert kinds.count("relay") == len(streams)
    assert relay.depth > fan_in.depth  # a relay is one more hop
    fan_in_projections = fan_in.reports["lower-to-network"]["totals"]["projections"]
    assert relay.reports["lower-to-network"]["totals"]["projections"] < fan_in_projections
    assert sum(s["relay_synapses"] for s in streams) < sum(s["fan_in_synapses"] for s in streams)


def test_population_bias_must_broadcast_to_the_neurons() -> None:
    b = GraphBuilder("pop", "network")
    x = b.input("x", TensorType((2, 3), "f64"))
    proj = b.add_node("projection", [x], ProjectionAttrs(kind="sum"), name="p")
    b.add_node("population", [proj], PopulationAttrs(kind="lif", bias_mant=np.ones((1, 3))))
    with pytest.raises(ShapeError, match="does not broadcast"):
        b.add_node("population", [proj], PopulationAttrs(kind="lif", bias_mant=np.ones((3, 1))))
