"""``--target onnx-network``: the compiled chip network as standard ONNX, run by onnxruntime
bit for bit like the reference simulator (every population's spikes, every probe, the chip's
outputs), on hand-made networks that use every construct and on the four digits families."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from snncompile.cli import main
from snncompile.diagnostics import SnnCompileError
from snncompile.ir.graph import Graph, GraphBuilder, Value
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.network import CurrentSumAttrs, PopulationAttrs, ProjectionAttrs
from snncompile.ir.ops.tensor import Pool2dAttrs, ReduceAttrs
from snncompile.ir.types import TensorType
from snncompile.passes.manager import PassContext
from snncompile.passes.pipeline_delays import PipelineDelays
from snncompile.targets.onnx_network import (
    export_network_onnx,
    host_boundary,
    run_network_onnx,
)


def _check(graph: Graph, x: np.ndarray) -> dict[str, int]:
    """onnxruntime on the export equals the simulator on every recorded value; spike counts."""
    record = run_layerwise(graph, [x], record=True)
    inputs, _, _ = host_boundary(graph)
    model = export_network_onnx(graph, x.shape[0], record=True)
    onnx.checker.check_model(model)
    assert {o.domain for o in model.opset_import} == {""}  # standard ops only
    got = run_network_onnx(model, {v.name: record[v.name] for v in inputs})
    counts = {}
    for name, value in got.items():
        np.testing.assert_array_equal(value, record[name], err_msg=name)
        counts[name] = int(np.abs(value).sum())
    return counts


def _proj(b: GraphBuilder, src: Value, name: str, **kw: object) -> Value:
    return b.add_node("projection", [src], ProjectionAttrs(**kw), name=name)  # type: ignore[arg-type]


def _pop(b: GraphBuilder, inputs: list[Value], name: str, **kw: object) -> Value:
    return b.add_node("population", inputs, PopulationAttrs(**kw), name=name)  # type: ignore[arg-type]


def every_construct(pipelined: bool = True) -> Graph:
    """Conv (groups, padding, dilation, stride, bias, negative weight_exp), dense over tokens
    with a pre view, sum with axes and gain, a post view, and/or/gated/relay populations,
    per-neuron thresholds and biases, a current probe, a max-pool host op between chip ops."""
    rng = np.random.default_rng(3)
    b = GraphBuilder("every", "network")
    x = b.input("x", TensorType((4, 6, 6), "f64"))
    a = _pop(
        b,
        [_proj(b, x, "a.in0", kind="sum", graded=True)],
        "a",
        kind="lif",
        du=3000,
        dv=500,
        vth=3,
        vth_map=rng.integers(1, 5, (4, 6, 6)).astype(np.float64),
    )
    conv = _proj(
        b,
        a,
        "c.in0",
        kind="conv",
        weight=rng.integers(-60, 90, (6, 2, 3, 3)).astype(np.float64),
        bias=rng.integers(-20, 20, 6).astype(np.float64),
        padding=(2, 1),
        dilation=(2, 1),
        stride=(1, 2),
        groups=2,
        weight_exp=-1,
    )
    c = _pop(
        b,
        [conv],
        "c",
        kind="lif",
        du=4095,
        dv=200,
        vth=40,
        bias_mant=rng.integers(0, 30, (6, 1, 1)).astype(np.float64),
        bias_exp=3,
    )
    probe = b.add_node(
        "current_sum",
        [_proj(b, c, "probe.in0", kind="sum", gain=3)],
        CurrentSumAttrs(),
        name="probe",
    )
    pooled = b.add_node("maxpool2d", [probe], Pool2dAttrs((2, 2), (2, 2), (1, 1)), name="pool")
    tokens = _proj(
        b,
        pooled,
        "t.in0",
        kind="dense",
        graded=True,
        pre="reshape(6,8) permute(1,0)",
        weight=rng.integers(-3, 4, (5, 6)).astype(np.float64),
        weight_exp=2,
    )
    t = _pop(b, [tokens], "t", kind="lif", du=100, dv=4096, vth=20)
    count = _proj(b, t, "cnt.in0", kind="sum", axes=(1,), gain=2)
    either = _pop(b, [_proj(b, t, "or.in0", kind="sum", axes=(1,))], "or", kind="or", vth=0)
    both = _pop(
        b,
        [_proj(b, t, "and.in0", kind="sum", axes=(1,)), _proj(b, either, "and.in1", kind="sum")],
        "and",
        kind="and",
        du=4095,
        dv=4096,
        vth=1,
    )
    gated = _pop(
        b,
        [count, _proj(b, both, "g.in1", kind="sum")],
        "g",
        kind="gated",
        bias_mant=np.ones(8),
    )
    relay = _pop(
        b,
        [_proj(b, gated, "r.in0", kind="sum", graded=True, post="reshape(2,4)")],
        "r",
        kind="relay",
    )
    graph = b.finish([relay])
    return PipelineDelays().run(graph, PassContext()) if pipelined else graph


@pytest.mark.parametrize("pipelined", [True, False], ids=["pipelined", "layerwise"])
def test_every_construct_runs_bit_exact_in_onnxruntime(pipelined: bool) -> None:
    graph = every_construct(pipelined)
    x = np.random.default_rng(0).integers(-2, 7, (12, 3, 4, 6, 6)).astype(np.float64)
    counts = _check(graph, x)
    for name in ("a", "c", "t", "or", "and", "g", "r", "probe"):
        assert counts[name] > 0, (name, counts)  # every population is exercised


def split_chip_graph() -> Graph:
    """A chip network cut in two by a host ``sum`` (not one the model can hold)."""
    b = GraphBuilder("split", "network")
    x = b.input("x", TensorType((4,), "f64"))
    a = _pop(b, [_proj(b, x, "a.in0", kind="sum", graded=True)], "a", kind="lif", vth=1)
    s = b.add_node("sum", [a], ReduceAttrs((0,), keepdim=True), name="host_sum")
    y = _pop(b, [_proj(b, s, "y.in0", kind="sum", graded=True)], "y", kind="lif", vth=1)
    return b.finish([y])


def test_host_op_inside_the_chip_must_be_a_known_one() -> None:
    with pytest.raises(SnnCompileError) as info:
        export_network_onnx(split_chip_graph(), 4)
    assert info.value.code == "IX816" and "host_sum" in info.value.message
    tensor = GraphBuilder("t")
    with pytest.raises(SnnCompileError) as info:  # a tensor-stage graph
        export_network_onnx(tensor.finish([tensor.input("x", TensorType((2,)))]), 4)
    assert info.value.code == "IX816" and "tensor-stage" in info.value.message


def test_cli_writes_the_chip_network(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.targets.loihi.test_netx import ConvChain
    from tests.test_cli_netx import _chain_ir

    source = _chain_ir(tmp_path, ConvChain, (1, 8, 8))
    out = tmp_path / "chip.onnx"
    assert main([str(source), "--target", "onnx-network", "-o", str(out)]) == 0
    assert "chip network" in capsys.readouterr().err
    model = onnx.load_model(str(out))
    assert [i.name for i in model.graph.input] and model.graph.output


@pytest.mark.slow
@pytest.mark.parametrize("family", ["spikformer", "spikingformer", "sdt", "spikingresformer"])
def test_digits_families_run_bit_exact_in_onnxruntime(family: str) -> None:
    """The pipelined chip network of each shipped digits model (two test images, T + depth
    steps): every population's spikes, every probe and the chip's outputs equal the
    simulator's bit for bit (SDT's in-chip mean is float: exact here, summation order aside)."""
    from tests.targets.sim.programs import digits_inputs, digits_model

    _, _, program = digits_model(family)
    x = digits_inputs(family, 2, drain=program.depth)
    counts = _check(program.pipelined, x)
    assert sum(counts.values()) > 1000
