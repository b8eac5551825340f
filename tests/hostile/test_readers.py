"""The exchange readers' own guards (issue 19): the memory a file's declared shapes need is
checked before the graph is built, NIR neuron parameters that mean no writer's neuron are
refused, a netx layer's declared shape must agree with its weight, and a netx network is not
printed as a quantized tensor graph with "0 populations"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import nir
import numpy as np
import pytest
from click.testing import CliRunner

from snncompile.cli import cli
from snncompile.diagnostics import SnnCompileError
from snncompile.limits import _human, set_memory_limit
from tests.hostile.exchange_cases import _valid

#: The tiny exchange files hold Linear(8 -> 6) -> LIF -> Linear(6 -> 4) -> LIF at T = 4.
T = 4


@pytest.fixture(autouse=True)
def _default_limit() -> Any:
    yield
    set_memory_limit(None)


def _never(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the graph was built before the memory check")


@pytest.mark.parametrize(
    ("fmt", "builder", "estimate"),
    [
        # netx: neurons 6 + 4 over T steps, weights 4 x 6 (the input layer has no weight)
        ("netx", "snncompile.frontend.netx._translate", 8 * (T * (6 + 4) + 4 * 6)),
        # NIR: outputs input 8, l1 6, n1 6, l2 4, n2 4, output 4 over T; arrays: weights 6x8
        # and 4x6, biases 6 and 4, r/v_threshold/tau of 6 and of 4 neurons
        (
            "nir",
            "snncompile.frontend.nir.import_nir",
            8 * (T * (8 + 6 + 6 + 4 + 4 + 4) + (48 + 24 + 6 + 4 + 3 * 6 + 3 * 4)),
        ),
    ],
)
def test_declared_shapes_are_priced_before_the_graph_is_built(
    fmt: str, builder: str, estimate: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snncompile.frontend.load import load_model

    path = _valid(fmt)  # written by the CLI, which sets its own limit
    monkeypatch.setattr(builder, _never)
    set_memory_limit((estimate - 1) / 2**30)
    with pytest.raises(SnnCompileError) as caught:
        load_model(path, time_steps=T)
    assert caught.value.code == "IN604"
    assert f"about {_human(estimate)}" in caught.value.message
    set_memory_limit((estimate + 1) / 2**30)
    monkeypatch.undo()
    load_model(path, time_steps=T)  # one byte more is enough


def test_onnx_declared_shapes_are_priced_before_the_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import onnx

    from snncompile.frontend import onnx as reader
    from snncompile.frontend.load import load_model

    path = _valid("onnx")
    model = onnx.load(str(path))
    estimate = reader.declared_bytes(model.graph, T)
    initializers = sum(int(np.prod(list(t.dims))) for t in model.graph.initializer)
    assert estimate >= 8 * (initializers + 8)  # the weights and one input at least
    monkeypatch.setattr(reader, "import_onnx", _never)
    set_memory_limit((estimate - 1) / 2**30)
    with pytest.raises(SnnCompileError) as caught:
        load_model(path, time_steps=T)
    assert caught.value.code == "IN604"
    assert f"about {_human(estimate)}" in caught.value.message


def test_many_values_each_within_the_element_limit_are_refused_whole(tmp_path: Path) -> None:
    """Values that each pass the per-value limit (IX815) but together need more than
    --max-memory are refused with IN604 and the estimate, before the import."""
    graph = nir.read(str(_valid("nir")))
    for node in graph.nodes.values():
        for types in (node.input_type, node.output_type):
            for key in types:
                types[key] = np.array([1 << 27])
    path = tmp_path / "wide.nir"
    nir.write(str(path), graph)
    result = CliRunner().invoke(cli, ["check", str(path), "--max-memory", "4"])
    assert isinstance(result.exception, SnnCompileError), result.output
    assert result.exception.code == "IN604"
    assert "wide.nir (its declared shapes over 4 steps)" in result.exception.message


def _nir_with(tmp_path: Path, field: str, value: float) -> Path:
    graph = nir.read(str(_valid("nir")))
    node = graph.nodes["n1"]
    setattr(node, field, np.full_like(np.asarray(getattr(node, field)), value))
    path = tmp_path / f"{field}.nir"
    nir.write(str(path), graph)
    return path


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("v_threshold", -1.0, "IX831"),
        ("v_threshold", 0.0, "IX831"),
        ("v_threshold", float("nan"), "ML406"),
        ("v_threshold", float("inf"), "ML406"),
        ("tau", 0.0, "IX831"),
        ("tau", -2.0, "IX831"),
        ("tau", float("nan"), "ML406"),
        ("r", float("nan"), "ML406"),
        ("v_reset", float("-inf"), "ML406"),
    ],
)
def test_nir_neuron_parameters_that_mean_no_neuron_are_refused(
    tmp_path: Path, field: str, value: float, code: str
) -> None:
    from snncompile.frontend.nir import read_nir

    with pytest.raises(SnnCompileError) as caught:
        read_nir(_nir_with(tmp_path, field, value))
    assert caught.value.code == code
    assert "n1" in caught.value.message and field in caught.value.message


def test_a_positive_threshold_still_reads(tmp_path: Path) -> None:
    from snncompile.frontend.nir import read_nir

    graph = read_nir(_nir_with(tmp_path, "v_threshold", 0.5))
    assert graph.node("n1").attrs.v_threshold > 0


def test_float64_weights_beyond_float32_are_refused(tmp_path: Path) -> None:
    """A NIR weight of 1e300 would become Inf in the float32 trace (it ran with an overflow
    warning): ML406 naming the tensor and index."""
    graph = nir.read(str(_valid("nir")))
    weight = np.array(graph.nodes["l1"].weight, dtype=np.float64)
    weight[1, 2] = -1e300
    graph.nodes["l1"].weight = weight
    path = tmp_path / "big.nir"
    nir.write(str(path), graph)
    result = CliRunner().invoke(cli, ["check", str(path), "--samples", "2"])
    assert isinstance(result.exception, SnnCompileError), result.output
    assert result.exception.code == "ML406"
    assert "[1, 2]" in result.exception.message and "float32" in result.exception.message


def _netx_with(tmp_path: Path, key: str, value: Any) -> Path:
    import shutil

    path = tmp_path / "m.net"
    shutil.copy(_valid("netx"), path)
    with h5py.File(path, "r+") as f:
        del f[key]
        f[key] = value
    return path


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("layer/1/shape", np.array([5]), "declares shape [5]; its weight gives 4 neurons"),
        ("layer/1/shape", np.array([0]), "needs positive integers"),
        ("layer/1/shape", np.array([-4]), "needs positive integers"),
        ("layer/1/outFeatures", np.array(3), "declares outFeatures [3]"),
    ],
)
def test_netx_declared_shape_must_agree_with_the_weight(
    tmp_path: Path, key: str, value: Any, words: str
) -> None:
    from snncompile.frontend.netx import read_netx

    with h5py.File(_valid("netx")) as f:
        assert "outFeatures" in f["layer/1"] or key.endswith("shape")
    with pytest.raises(SnnCompileError) as caught:
        read_netx(_netx_with(tmp_path, key, value))
    assert caught.value.code == "LV521"
    assert words in caught.value.message


def test_netx_to_fixed_is_refused_and_report_lists_its_populations(tmp_path: Path) -> None:
    """``--target fixed`` of a netx file printed the network as "0 populations": refused
    (IX830). ``report`` ran the tensor passes on it (IR115): it now lists both populations."""
    path = _valid("netx")
    fixed = CliRunner().invoke(cli, [str(path), "--target", "fixed", "-o", str(tmp_path / "o")])
    assert isinstance(fixed.exception, SnnCompileError) and fixed.exception.code == "IX830"
    assert not (tmp_path / "o").exists()
    out = tmp_path / "report.json"
    report = CliRunner().invoke(cli, ["report", str(path), "--json", str(out)])
    assert report.exit_code == 0, report.output
    rows = {r["population"]: r for r in json.loads(out.read_text())["populations"]}
    assert {name: r["neurons"] for name, r in rows.items()} == {"in": 6, "l1": 4}
    assert rows["l1"]["synapses"] == 24 and rows["l1"]["vth"] == 1024
