"""The ONNX import: our exports round-trip exactly, hand-written models with our neuron
functions import, and malformed files give IX80x codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from snncompile.diagnostics import SnnCompileError
from snncompile.frontend.load import load_model, to_graph
from snncompile.frontend.onnx import import_onnx, read_onnx
from snncompile.frontend.simulate import simulate
from snncompile.ir.verify import verify
from snncompile.targets.onnx import export_onnx
from snncompile.targets.onnx_functions import DOMAIN, OPSET, lif_function, neuron_kind
from tests.targets.onnx_graphs import every_op_graph
from tests.targets.test_onnx import assert_close, run_onnx


def _x(seed: int = 4) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=(3, 2, 8, 8)) * 2).astype(np.float32)


def test_round_trip_is_exact(tmp_path: Path) -> None:
    graph = every_op_graph()
    path = tmp_path / "net.onnx"
    onnx.save_model(export_onnx(graph, 3), str(path))
    imported = read_onnx(path)
    verify(imported.graph)
    assert imported.time_steps == 3
    assert imported.graph.name == "every_op"
    assert imported.graph.op_counts()["lif"] == 4
    x = _x()
    np.testing.assert_array_equal(
        simulate(imported.graph, x, time_steps=3), simulate(graph, x, time_steps=3)
    )


def test_load_model_reads_onnx(tmp_path: Path) -> None:
    path = tmp_path / "net.onnx"
    onnx.save_model(export_onnx(every_op_graph(), 5), str(path))
    loaded = load_model(path)
    assert loaded.time_steps == 5 and loaded.input_shape == (2, 8, 8)
    assert load_model(path, time_steps=2).time_steps == 2
    assert to_graph(loaded) is loaded.graph


def hand_written_model(*, cycle: bool = False, missing: bool = False) -> onnx.ModelProto:
    """One time step written with ``onnx.helper`` (not our exporter): Conv -> snncompile.LIF ->
    Flatten -> Gemm, the neuron's state input a constant initial potential."""
    rng = np.random.default_rng(5)
    inits = [
        numpy_helper.from_array(rng.normal(size=(3, 1, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(np.zeros((), np.float32), "v0"),
        numpy_helper.from_array(rng.normal(size=(4, 3 * 4 * 4)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(rng.normal(size=4).astype(np.float32), "fc_b"),
    ]
    conv_in = "y" if cycle else "x"
    nodes = [
        helper.make_node("Conv", [conv_in, "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node(
            "LIF",
            ["c", "v0"],
            ["s", "v1"],
            name="lif",
            domain=DOMAIN,
            tau=2.0,
            v_threshold=0.5,
            v_reset=0.0,
        ),
        helper.make_node("Flatten", ["ghost" if missing else "s"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "hand",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 1, 4, 4])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 4])],
        initializer=inits,
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(DOMAIN, 1)],
        functions=[lif_function(neuron_kind(False, True, False))],
    )


def test_hand_written_model_with_our_neuron_function() -> None:
    model = hand_written_model()
    onnx.checker.check_model(model, full_check=True)
    imported = import_onnx(model)
    assert imported.time_steps is None
    graph = imported.graph
    verify(graph)
    assert list(graph.op_counts()) == ["conv2d", "lif", "reshape", "linear"]
    x = np.random.default_rng(6).normal(size=(5, 1, 4, 4)).astype(np.float32) * 3
    assert_close(run_onnx(model, x), simulate(graph, x, time_steps=1))


def _corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x08\x07garbage that is not protobuf\xff\xff")
    return path


def unknown_op_model() -> onnx.ModelProto:
    model = export_onnx(every_op_graph(), 2)
    node = next(n for n in model.graph.node if n.name == "t0/avg")
    node.op_type = "LpPool"
    return model


def missing_node_model() -> onnx.ModelProto:
    model = export_onnx(every_op_graph(), 2)
    keep = [n for n in model.graph.node if n.name != "t0/pool"]
    del model.graph.node[:]
    model.graph.node.extend(keep)
    return model


def wrong_shape_model() -> onnx.ModelProto:
    model = export_onnx(every_op_graph(), 2)
    for index, tensor in enumerate(model.graph.initializer):
        if tensor.name == "head.weight":
            bad = numpy_helper.from_array(np.ones((3, 5), np.float32), tensor.name)
            model.graph.initializer[index].CopyFrom(bad)
    return model


def trigger(kind: str, tmp_path: Path | None = None) -> None:
    """Raise the ONNX import error of ``kind`` (used by tests/test_diagnostics.py too)."""
    if kind == "corrupt":
        assert tmp_path is not None
        read_onnx(_corrupt(tmp_path))
    elif kind == "unknown":
        import_onnx(unknown_op_model())
    elif kind == "missing":
        import_onnx(missing_node_model())
    elif kind == "cycle":
        import_onnx(hand_written_model(cycle=True))
    elif kind == "shape":
        import_onnx(wrong_shape_model())
    elif kind == "export":
        from snncompile.ir.graph import GraphBuilder
        from snncompile.ir.ops.tensor import AdaptivePool2dAttrs
        from snncompile.ir.types import TensorType

        b = GraphBuilder("uneven")
        x = b.input("x", TensorType((1, 5, 5)))
        y = b.add_node("adaptive_avgpool2d", [x], AdaptivePool2dAttrs((2, 2)), name="pool")
        export_onnx(b.finish([y]), 2)


@pytest.mark.parametrize(
    ("kind", "code", "subject"),
    [
        ("corrupt", "IX801", "bad.onnx"),
        ("unknown", "IX802", "LpPool"),
        ("missing", "IX803", "t0/pool"),
        ("cycle", "IX804", "conv"),
        ("shape", "IX805", "head"),
        ("export", "IX806", "%pool"),
    ],
)
def test_malformed_files_give_codes(kind: str, code: str, subject: str, tmp_path: Path) -> None:
    with pytest.raises(SnnCompileError) as info:
        trigger(kind, tmp_path)
    assert info.value.code == code
    assert subject in info.value.render()


def test_missing_value_in_hand_written_model() -> None:
    with pytest.raises(SnnCompileError) as info:
        import_onnx(hand_written_model(missing=True))
    assert info.value.code == "IX803" and "ghost" in info.value.message


def test_onnx_file_compiles_through_the_driver(tmp_path: Path) -> None:
    from snncompile.config import CompileConfig
    from snncompile.driver import compile_file

    path = tmp_path / "net.onnx"
    onnx.save_model(export_onnx(every_op_graph(), 2), str(path))
    result = compile_file(path, CompileConfig(target="ir"))
    assert result.text is not None
    header, _, text = result.text.partition("\n")
    assert header == "# snncompile: time_steps=2 input_shape=2,8,8"  # T recorded
    assert "snncompile" not in text  # no extension ops
    assert "lif(" in result.text and "graph @every_op" in result.text


def test_time_major_input_layout_runs_and_round_trips() -> None:
    graph = every_op_graph()
    frames = (np.random.default_rng(7).normal(size=(3, 2, 2, 8, 8)) * 2).astype(np.float32)
    model = export_onnx(graph, 3, input_layout="TB")
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 3
    expected = simulate(graph, frames, time_steps=3)
    assert_close(run_onnx(model, frames), expected)
    back = import_onnx(model).graph
    verify(back)
    np.testing.assert_array_equal(simulate(back, frames, time_steps=3), expected)


def _mutants() -> list[tuple[str, onnx.ModelProto]]:
    """Every exported node of the every-op graph broken one way at a time: an attribute or
    an input removed, an initializer emptied; and the input's sample dims made negative, zero
    or huge."""
    base = export_onnx(every_op_graph(), 2)
    out: list[tuple[str, onnx.ModelProto]] = []
    for index, node in enumerate(base.graph.node):
        for a in range(len(node.attribute)):
            model = onnx.ModelProto()
            model.CopyFrom(base)
            del model.graph.node[index].attribute[a]
            out.append((f"{node.name}-attr-{node.attribute[a].name}", model))
        if len(node.input) > 1:
            model = onnx.ModelProto()
            model.CopyFrom(base)
            del model.graph.node[index].input[-1]
            out.append((f"{node.name}-input", model))
    for index, tensor in enumerate(base.graph.initializer):
        model = onnx.ModelProto()
        model.CopyFrom(base)
        empty = numpy_helper.from_array(np.zeros((0,), np.float32), tensor.name)
        model.graph.initializer[index].CopyFrom(empty)
        out.append((f"{tensor.name}-empty", model))
    for dim in (-3, 0, 1 << 40):
        model = onnx.ModelProto()
        model.CopyFrom(base)
        model.graph.input[0].type.tensor_type.shape.dim[-1].dim_value = dim
        out.append((f"input-dim-{dim}", model))
    return out


def test_broken_models_give_codes_never_tracebacks() -> None:
    """Each mutant either imports (an optional attribute) or stops with a coded error; the bad
    input dims are IX815 before anything is allocated."""
    mutants = _mutants()
    assert len(mutants) > 40
    codes: dict[str, str] = {}
    for label, model in mutants:
        try:
            import_onnx(model)
        except SnnCompileError as exc:
            codes[label] = exc.code
    assert {codes[f"input-dim-{d}"] for d in (-3, 0, 1 << 40)} == {"IX815"}
    # an emptied weight, bias, constant or initial state is refused; the readout's time axis
    # is not read by the import
    emptied = [label for label, _ in mutants if label.endswith("-empty")]
    assert all(label in codes for label in emptied if "time_axis" not in label)
    assert codes["stem.lif.v_init-empty"] == "IX805"
    assert len(codes) > 60


def test_initial_membrane_other_than_the_reset_is_refused() -> None:
    """The lif op starts from its v_reset; a model whose first step starts elsewhere (an edited
    ``v_init``) is refused instead of silently starting from v_reset."""
    model = export_onnx(every_op_graph(), 2)
    for index, tensor in enumerate(model.graph.initializer):
        if tensor.name == "stem.lif.v_init":
            moved = numpy_helper.from_array(np.asarray(0.25, np.float32), tensor.name)
            model.graph.initializer[index].CopyFrom(moved)
    with pytest.raises(SnnCompileError) as info:
        import_onnx(model)
    assert info.value.code == "IX805" and "stem.lif.v_init" in info.value.message
