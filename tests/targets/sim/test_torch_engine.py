"""The torch engine equals the numpy engine bit for bit: outputs, recorded spikes, statistics."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest
import torch

from snncompile.api import Compiled, compile_config
from snncompile.config import CompileConfig, RunConfig
from snncompile.diagnostics import SnnCompileError
from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.ir.types import TensorType
from snncompile.targets.sim.engine import SimResult, Simulator
from snncompile.targets.sim.torch_engine import TorchSimulator, resolve_device
from tests.targets.sim.programs import CONFIG, FAMILIES, digits_inputs, digits_model
from tests.targets.sim.test_engine import _attention_graph

#: The smallest zoo configuration of every family (random weights).
ZOO = ("spikformer_digits", "spikingformer_digits", "sdt_digits", "spikingresformer_digits")
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def assert_same(want: SimResult, got: SimResult, where: str = "") -> None:
    """Outputs, recorded spikes and statistics identical."""
    assert set(want.outputs) == set(got.outputs)
    for name, array in want.outputs.items():
        np.testing.assert_array_equal(got.outputs[name], array, err_msg=f"{where} {name}")
    assert set(want.spikes) == set(got.spikes)
    for name, array in want.spikes.items():
        np.testing.assert_array_equal(got.spikes[name], array, err_msg=f"{where} {name}")
    if want.stats is None:
        assert got.stats is None
        return
    assert got.stats is not None
    a, b = want.stats, got.stats
    assert (a.samples, a.steps, a.neurons, a.starts) == (b.samples, b.steps, b.neurons, b.starts)
    for table, other in ((a.spikes, b.spikes), (a.events, b.events)):
        assert set(table) == set(other)
        for name, counts in table.items():
            np.testing.assert_array_equal(other[name], counts, err_msg=f"{where} {name}")
    assert a.per_sample() == b.per_sample()


def _compare(graph: Graph, inputs: list[np.ndarray], device: str = "cpu", **run: Any) -> None:
    want = Simulator(graph).run(inputs, **run)
    got = TorchSimulator(graph, device=device).run(inputs, **run)
    assert_same(want, got, graph.name)


@pytest.mark.parametrize("mode", ["pipelined", "layerwise"])
@pytest.mark.parametrize("family", FAMILIES)
def test_digits_models_bit_identical(family: str, mode: str) -> None:
    loaded, _, program = digits_model(family)
    graph = program.graph(mode)
    drain = program.depth if mode == "pipelined" else 0
    x = digits_inputs(family, 3, drain=drain)
    _compare(graph, [x], record=True)  # every population, fused products materialised
    _compare(graph, [x], window=loaded.time_steps)  # the run `snncompile run` does


@cache
def _zoo(name: str) -> Compiled:
    compiled = compile_config(f"zoo:{name}", CompileConfig(expand_sew=True, allow_host_ops=True))
    compiled.program  # noqa: B018 - compile now
    return compiled


@pytest.mark.parametrize("mode", ["pipelined", "layerwise"])
@pytest.mark.parametrize("name", ZOO)
def test_random_weight_zoo_models_bit_identical(name: str, mode: str) -> None:
    compiled = _zoo(name)
    assert compiled.loaded.input_shape is not None
    images = np.random.default_rng(1).random((2, *compiled.loaded.input_shape))
    x = compiled.inputs(images)
    depth = compiled.depth if mode == "pipelined" else 0
    x = np.concatenate([x, np.zeros((depth, *x.shape[1:]))])
    graph = compiled.program.graph(mode)
    _compare(graph, [x], record=True)
    _compare(graph, [x], window=compiled.time_steps)


@pytest.mark.parametrize("seed", range(4))
def test_attention_products_fused_and_unfused(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h, n, m, d, k = 2, 3, 4, 3, 2
    graph = _attention_graph(h, n, m, d, k)
    inputs = [
        (rng.random((3, 2, *shape)) < 0.5).astype(np.float64)
        for shape in ((h, n, d), (h, m, d), (h, m, k))
    ]
    fused = TorchSimulator(graph)
    assert set(fused.fused) == {"and", "gated"}
    _compare(graph, inputs)
    _compare(graph, inputs, record=True)
    unfused = TorchSimulator(graph, fuse_products=False).run(inputs)
    assert_same(fused.run(inputs), unfused)


def _saturating_graph() -> Graph:
    b = GraphBuilder("sat", stage="network")
    x = b.input("x", TensorType((3,), "f64"))
    cur = b.add_node(
        "projection", [x], ProjectionAttrs(kind="sum", graded=True, weight_exp=-1), name="p"
    )
    attrs = PopulationAttrs(kind="lif", du=7, dv=300, vth=2**16, bias_mant=np.array(-5.0))
    pop = b.add_node("population", [cur], attrs, name="pop")
    return b.finish([pop])


def test_lif_wrap_saturation_and_truncation() -> None:
    """Large, negative and odd currents: u wraps, v saturates, decays truncate toward 0."""
    rng = np.random.default_rng(0)
    currents = rng.integers(-(2**17), 2**17, size=(12, 4, 3)).astype(np.float64)
    currents[3:6] = 2.0**17 - 1  # drive u past 2^23
    _compare(_saturating_graph(), [currents])


def test_compiled_run_picks_the_engine_by_config() -> None:
    numpy_run = compile_config("examples/digits/spikingformer.pt", CONFIG)
    torch_run = compile_config("examples/digits/spikingformer.pt", CONFIG)
    torch_run.run_config = RunConfig(sim_backend="torch", device="cpu")
    assert isinstance(torch_run.simulator("pipelined"), TorchSimulator)
    assert isinstance(numpy_run.simulator("pipelined"), Simulator)
    x = digits_inputs("spikingformer", 1)[0]  # [B, 1, 16, 16] images
    for mode in ("pipelined", "layerwise"):
        a, b = numpy_run.run(x, mode=mode), torch_run.run(x, mode=mode)
        np.testing.assert_array_equal(a.logits, b.logits)
        np.testing.assert_array_equal(a.outputs, b.outputs)
        assert a.stats is not None and b.stats is not None
        assert a.stats.per_sample() == b.stats.per_sample()


def test_torch_inputs_are_accepted() -> None:
    _, _, program = digits_model("sdt")
    x = digits_inputs("sdt", 2)
    want = Simulator(program.layerwise).run([x])
    got = TorchSimulator(program.layerwise).run([torch.from_numpy(x)])
    assert_same(want, got)


def test_unknown_or_missing_device_is_a_config_error() -> None:
    with pytest.raises(SnnCompileError, match="CF201"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(SnnCompileError, match="CF201"):
            resolve_device("cuda")
    with pytest.raises(SnnCompileError, match="CF201"):
        RunConfig(sim_backend="jax")


@CUDA
@pytest.mark.parametrize("family", FAMILIES)
def test_cuda_bit_identical(family: str) -> None:
    loaded, _, program = digits_model(family)
    for mode in ("pipelined", "layerwise"):
        drain = program.depth if mode == "pipelined" else 0
        x = digits_inputs(family, 8, drain=drain)
        graph = program.graph(mode)
        _compare(graph, [x], device="cuda", record=True)
        _compare(graph, [x], device="cuda", window=loaded.time_steps)


@pytest.mark.parametrize("mode", ["pipelined", "layerwise"])
def test_relay_populations_bit_identical(mode: str) -> None:
    """--ms-relay: residual streams read twice become graded relay populations (with biases)."""
    from dataclasses import replace

    from snncompile.frontend.load import load_configured, to_graph
    from snncompile.targets.sim.program import build_program

    config = replace(CONFIG, ms_relay=True)
    loaded = load_configured("examples/digits/spikingformer.pt", config)
    program = build_program(to_graph(loaded, torch.float64), config)
    graph = program.graph(mode)
    relays = [n for n in graph.nodes if n.op == "population" and n.attrs.kind == "relay"]
    assert relays and any(n.attrs.bias_mant is not None for n in relays)
    drain = program.depth if mode == "pipelined" else 0
    _compare(graph, [digits_inputs("spikingformer", 3, drain=drain)], record=True)
