"""The ONNX export: onnxruntime runs the file as it is and returns what PyTorch and
``simulate`` return (logits averaged over T), for every op, every zoo family and every shipped
digits checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from snncompile.config import CompileConfig
from snncompile.diagnostics import SnnCompileError
from snncompile.driver import compile_file, compile_graph
from snncompile.frontend.load import load_model, to_graph
from snncompile.frontend.onnx import import_onnx
from snncompile.frontend.simulate import simulate
from snncompile.ir.graph import Graph
from snncompile.targets import TARGETS
from snncompile.targets.onnx import export_onnx
from tests.targets.onnx_graphs import every_op_graph

DIGITS_DIR = Path(__file__).resolve().parents[2] / "examples" / "digits"
FAMILIES = ("spikformer", "spikingformer", "sdt", "spikingresformer")
RTOL = 1e-5


def run_onnx(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """onnxruntime's output for the model's single input ``x``."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (name,) = [i.name for i in session.get_inputs()]
    return np.asarray(session.run(None, {name: x})[0])


def assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal within 1e-5 relative to the largest logit (near-zero logits compare absolutely)."""
    scale = max(float(np.abs(expected).max()), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale)


def test_registered_and_checked(tmp_path: Path) -> None:
    assert TARGETS["onnx"].name == "onnx"
    model = export_onnx(every_op_graph(), 3)
    onnx.checker.check_model(model, full_check=True)
    domains = {f.domain for f in model.functions}
    names = {f.name for f in model.functions}
    assert domains == {"snncompile"}
    assert names == {"LIF", "ParametricLIF", "LIF_SoftReset", "LIF_NoDecayInput"}
    lif_nodes = [n for n in model.graph.node if n.domain == "snncompile"]
    assert len(lif_nodes) == 4 * 3  # one readable node per neuron and step
    props = {p.key: p.value for p in model.metadata_props}
    assert props["snncompile.time_steps"] == "3"


@pytest.mark.parametrize("time_steps", [1, 5])
def test_every_op_matches_simulate(time_steps: int) -> None:
    graph = every_op_graph()
    x = (np.random.default_rng(1).normal(size=(5, 2, 8, 8)) * 2).astype(np.float32)
    expected = simulate(graph, x, time_steps=time_steps)
    assert np.abs(expected).max() > 0.1  # the neurons fire
    assert_close(run_onnx(export_onnx(graph, time_steps), x), expected)


def _zoo(name: str) -> tuple[Graph, torch.nn.Module]:
    """The zoo model with random weights and batch norms that amplify, so that neurons fire
    (the zoo's default BN init leaves most of a random network silent)."""
    loaded = load_model(f"zoo:{name}")
    assert loaded.module is not None
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in loaded.module.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator) * 2 + 1)
                module.bias.copy_(torch.rand(module.bias.shape, generator=generator) * 0.5)
    return to_graph(loaded), loaded.module


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply")
@pytest.mark.parametrize("family", FAMILIES)
def test_zoo_family_matches_pytorch(family: str) -> None:
    graph, module = _zoo(f"{family}_digits")
    shape = graph.inputs[0].type.shape
    x = (np.random.default_rng(2).random((4, *shape)) * 3).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    actual = run_onnx(export_onnx(graph, 4), x)
    assert_close(actual, expected)
    assert_close(actual, simulate(graph, x, time_steps=4))


@pytest.mark.parametrize("family", FAMILIES)
def test_shipped_digits_match_pytorch_and_round_trip(family: str) -> None:
    from snncompile.data.digits import load_digits_split

    ckpt = DIGITS_DIR / f"{family}.pt"
    if not ckpt.exists():
        pytest.skip(f"{ckpt.name} not shipped")
    card = json.loads(ckpt.with_suffix(".json").read_text())
    split = card["split"]
    data = load_digits_split(
        image_size=split["image_size"], seed=split["seed"], test_fraction=split["test_fraction"]
    )
    loaded = load_model(ckpt)
    assert loaded.module is not None
    graph = to_graph(loaded)
    steps = card["time_steps"]
    x = np.asarray(data.x_test[:32], dtype=np.float32)
    with torch.no_grad():
        expected = loaded.module(torch.from_numpy(x)).numpy()
    model = export_onnx(graph, steps)
    actual = run_onnx(model, x)
    assert np.abs(expected).max() > 1.0  # a trained model, not silent
    assert_close(actual, expected)
    assert (actual.argmax(-1) == expected.argmax(-1)).all()
    direct = simulate(graph, x, time_steps=steps)
    back = import_onnx(model).graph
    np.testing.assert_array_equal(simulate(back, x, time_steps=steps), direct)
    assert back.op_counts() == graph.op_counts()


def test_cli_path_writes_a_runnable_file(tmp_path: Path) -> None:
    out = tmp_path / "sdt.onnx"
    config = CompileConfig(target="onnx", time_steps=4)
    result = compile_file("zoo:sdt_digits", config, output=out)
    assert result.emitted.files == (out,)
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    x = np.random.default_rng(3).random((2, 1, 16, 16)).astype(np.float32)
    graph = to_graph(load_model("zoo:sdt_digits"))
    assert_close(run_onnx(model, x), simulate(graph, x, time_steps=4))


def test_needs_an_output_file() -> None:
    with pytest.raises(SnnCompileError) as info:
        compile_graph(every_op_graph(), CompileConfig(target="onnx"))
    assert info.value.code == "CF201" and "-o" in info.value.message


def test_float64_graphs_export_with_double_tensors() -> None:
    model = export_onnx(every_op_graph(dtype="f64"), 2)
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    back = import_onnx(model).graph
    assert back.inputs[0].type.dtype == "f64"
