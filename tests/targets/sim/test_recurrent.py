"""Recurrent projections through the network pipeline: quantize, lower, pipeline-delays and
both simulator backends run a recurrent network bit-exact with the reference kernels."""

from __future__ import annotations

import numpy as np
import pytest

from snncompile.config import CompileConfig
from snncompile.diagnostics import SnnCompileError
from snncompile.ir.interpret import run_layerwise
from snncompile.passes.manager import PassContext, PassManager
from snncompile.pipelines import fixed_pipeline
from snncompile.targets.fixed import quantize_passes
from snncompile.targets.sim.engine import Simulator
from snncompile.targets.sim.program import NetworkProgram, build_program
from snncompile.targets.sim.torch_engine import TorchSimulator
from tests.targets.sim.recurrent_graphs import inputs, recurrent_mlp

CONFIG = CompileConfig()
BATCH = 3


def _program(**kw: bool) -> NetworkProgram:
    return build_program(recurrent_mlp(**kw), CONFIG)


def _drained(x: np.ndarray, depth: int) -> np.ndarray:
    return np.concatenate([x, np.zeros((depth, *x.shape[1:]), x.dtype)])


@pytest.mark.parametrize("skip", [False, True])
def test_layerwise_network_equals_quantized_tensor_ir(skip: bool) -> None:
    graph = recurrent_mlp(skip=skip)
    reference = PassManager(quantize_passes()).run(graph, PassContext(config=CONFIG)).graph
    program = build_program(graph, CONFIG)
    x = inputs(24, BATCH)
    want = run_layerwise(reference, [x])[reference.outputs[0].name]
    name = program.layerwise.outputs[0].name
    got = Simulator(program.layerwise).run([x]).outputs[name]
    np.testing.assert_array_equal(got, want)
    assert 10 < want.sum() < want.size - 10
    # the recurrence changes the spikes (the test could fail)
    flat = build_program(recurrent_mlp(skip=skip, rec_gain=0.0), CONFIG)
    other = Simulator(flat.layerwise).run([x]).outputs[flat.layerwise.outputs[0].name]
    assert not np.array_equal(other, got)


@pytest.mark.parametrize("skip", [False, True])
def test_pipelined_recurrence_reads_the_same_sample_one_step_back(skip: bool) -> None:
    program = _program(skip=skip)
    x = inputs(20, BATCH)
    name = program.layerwise.outputs[0].name
    layerwise = Simulator(program.layerwise).run([x]).outputs[name]
    pipelined = Simulator(program.pipelined).run([_drained(x, program.depth)]).outputs[name]
    np.testing.assert_array_equal(pipelined[program.depth :], layerwise)
    assert program.depth == 2  # the recurrence adds nothing to the depth
    delays = {n.name: n.attrs.delay for n in program.projections()}
    assert delays["s1.in1"] == 0 and delays["s2.in1"] == 0  # onto itself: the recurrent step
    if skip:
        assert delays["s2.in2"] == 1  # s1 -> s2 one step back: one pipeline step more


def test_windowed_and_reference_kernels_agree_on_the_pipelined_network() -> None:
    program = _program(skip=True)
    x = _drained(inputs(16, BATCH), program.depth)
    name = program.pipelined.outputs[0].name
    full = Simulator(program.pipelined).run([x], record=True)
    ref = run_layerwise(program.pipelined, [x], record=True)
    for pop in program.populations():
        np.testing.assert_array_equal(full.spikes[pop.name], ref[pop.name], err_msg=pop.name)
    windowed = Simulator(program.pipelined).run([x], window=16)
    counted = slice(program.depth, program.depth + 16)
    np.testing.assert_array_equal(windowed.outputs[name][counted], full.outputs[name][counted])


def test_torch_backend_equals_numpy_backend() -> None:
    program = _program(skip=True)
    x = _drained(inputs(16, BATCH), program.depth)
    name = program.pipelined.outputs[0].name
    want = Simulator(program.pipelined).run([x])
    got = TorchSimulator(program.pipelined, device="cpu").run([x])
    np.testing.assert_array_equal(got.outputs[name], want.outputs[name])
    assert want.stats is not None and got.stats is not None
    for proj in ("s1.in1", "s2.in1", "s2.in2"):  # recurrent synaptic events are counted
        assert want.stats.events[proj].sum() > 0
        np.testing.assert_array_equal(got.stats.events[proj], want.stats.events[proj])


def test_recurrence_against_the_pipeline_is_refused() -> None:
    with pytest.raises(SnnCompileError) as info:
        _program(back=True)
    assert info.value.code == "NW908" and "s2" in info.value.message


@pytest.mark.parametrize("skip", [False, True])
def test_balanced_tensor_ir_of_target_fixed_runs_the_recurrence(skip: bool) -> None:
    """``--target fixed`` (balance-delays): the pipelined integer tensor IR at ``t + depth``
    equals the layerwise quantized IR; a recurrence against the pipeline is NW908."""
    graph = recurrent_mlp(skip=skip)
    reference = PassManager(quantize_passes()).run(graph, PassContext(config=CONFIG)).graph
    ctx = PassContext(config=CONFIG)
    balanced = PassManager(fixed_pipeline(CONFIG)).run(graph, ctx).graph
    depth = ctx.reports["balance-delays"]["depth"]
    x = inputs(20, BATCH)
    want = run_layerwise(reference, [x])[reference.outputs[0].name]
    got = run_layerwise(balanced, [_drained(x, depth)])[balanced.outputs[0].name]
    np.testing.assert_array_equal(got[depth:], want)
    with pytest.raises(SnnCompileError) as info:
        PassManager(fixed_pipeline(CONFIG)).run(
            recurrent_mlp(back=True), PassContext(config=CONFIG)
        )
    assert info.value.code == "NW908"


def test_onnx_chip_network_refuses_a_recurrent_edge() -> None:
    from snncompile.targets.onnx_network import host_boundary

    with pytest.raises(SnnCompileError) as info:
        host_boundary(_program().pipelined)
    assert info.value.code == "IX816" and "recurrent edge" in info.value.message
