"""NIR import of other tools' graphs: snntorch and norse files made by the tools themselves
simulate like the original torch models; sinabs, lava-dl and rockpool style graphs follow those
tools' discrete dynamics or are refused with a reason; ambiguous and malformed files are
refused with codes."""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest
import torch

from snncompile.cli import main
from snncompile.config import NIR_CONVENTIONS
from snncompile.diagnostics import SnnCompileError
from snncompile.frontend.nir import NirAssumption, import_nir, read_nir
from snncompile.frontend.nir_conventions import CONVENTIONS
from snncompile.frontend.simulate import time_major_inputs
from snncompile.ir.graph import Graph
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.verify import verify
from tests.frontend import nir_fixtures as fx

STEPS = 25


def _spikes(graph: Graph, x: np.ndarray, steps: int = STEPS) -> np.ndarray:
    verify(graph)
    inputs = time_major_inputs(graph, x.astype(np.float32), steps)
    return run_layerwise(graph, [inputs])[graph.outputs[0].name]


def test_conventions_match_the_config_choices() -> None:
    assert tuple(CONVENTIONS) == NIR_CONVENTIONS


def test_snntorch_export_simulates_like_snntorch(tmp_path: Path) -> None:
    net, graph = fx.snntorch_model()
    path = tmp_path / "snntorch.nir"
    nir.write(str(path), graph)
    ours = read_nir(path, convention="snntorch", reset="value")
    x = torch.rand(6, 16, generator=torch.Generator().manual_seed(1)) * 2
    reference = fx.run_snntorch(net, x, STEPS)
    got = _spikes(ours, x.numpy())
    assert reference.sum() > 20  # the neurons fire
    np.testing.assert_array_equal(got, reference)
    lifs = [n for n in ours.nodes if n.op == "lif"]
    assert lifs[0].attrs.decay == np.float32(0.8)  # beta, exactly
    assert lifs[0].attrs.dynamics == "snntorch" and lifs[0].attrs.reset_mechanism == "zero"


def test_norse_export_simulates_like_norse() -> None:
    """norse writes tau = dt / tau_mem_inv (NIR issue 411) and records no dt: given dt = 1e-3,
    its convention reads the file with forward Euler at dt² = 1e-6, which gives back the torch
    model's decay dt · tau_mem_inv. The file's Input keeps a batch axis ([1, 16]), which the
    import drops. (norse's graph holds 0-d parameters, which ``nir.write`` cannot store: it is
    imported in memory.)"""
    net, graph = fx.norse_model()
    with pytest.raises(SnnCompileError) as info:
        import_nir(graph, convention="norse")
    assert info.value.code == "IX811" and "--nir-dt" in info.value.message
    ours = import_nir(graph, convention="norse", dt=1e-3)
    assert ours.inputs[0].type.shape == (16,)
    x = torch.rand(6, 16, generator=torch.Generator().manual_seed(2)) * 3
    reference = fx.run_norse(net, x, STEPS)
    got = _spikes(ours, x.numpy())
    assert reference.sum() > 20
    np.testing.assert_array_equal(got, reference)
    decays = [n.attrs.decay for n in ours.nodes if n.op == "lif"]
    assert decays[:2] == pytest.approx([0.2, 0.1], abs=1e-6) and decays[2] is None  # IF


def test_sinabs_style_graph_follows_sinabs_dynamics() -> None:
    graph, params = fx.sinabs_graph()
    ours = import_nir(graph, convention="sinabs", spikes="single", input_gain="r")
    x = np.random.default_rng(3).normal(size=(4, 1, 6, 6)).astype(np.float32)
    reference = fx.run_sinabs(params, x, STEPS)
    assert reference.sum() > 20
    np.testing.assert_array_equal(_spikes(ours, x), reference)


def test_lava_dl_style_cuba_graph_follows_loihi_dynamics() -> None:
    graph, params = fx.lava_dl_graph()
    ours = import_nir(graph, convention="lava-dl")
    x = np.random.default_rng(4).random((5, 8)).astype(np.float32)
    reference = fx.run_lava_dl(params, x, STEPS)
    assert reference.sum() > 20
    np.testing.assert_array_equal(_spikes(ours, x), reference)


def test_rockpool_style_graph_is_refused_for_its_current_memory() -> None:
    with pytest.raises(SnnCompileError) as info:
        import_nir(fx.rockpool_graph(), convention="rockpool", spikes="single")
    assert info.value.code == "IX808"
    assert "CubaLIF lif" in info.value.message and "current" in info.value.message


def test_norse_cuba_order_is_refused_even_without_memory() -> None:
    graph, _ = fx.lava_dl_graph()
    with pytest.raises(SnnCompileError) as info:
        import_nir(graph, convention="norse", dt=1e-4)
    assert info.value.code == "IX808" and "previous current" in info.value.message


def test_ambiguous_graph_is_refused_until_the_discretisation_is_given(tmp_path: Path) -> None:
    _, graph = fx.snntorch_model()
    with pytest.raises(SnnCompileError) as info:
        import_nir(graph)
    assert info.value.code == "IX809" and "--nir-convention" in info.value.message
    generic = import_nir(graph, dt=1e-4, reset="value")  # NIR's own reading: strict >
    named = import_nir(graph, convention="snntorch", reset="value")
    x = np.random.default_rng(5).random((3, 16)) * 2
    np.testing.assert_array_equal(_spikes(generic, x), _spikes(named, x))
    slower = import_nir(graph, convention="snntorch", reset="value", dt=5e-5)  # another network
    assert next(n for n in slower.nodes if n.op == "lif").attrs.decay == np.float32(0.9)


def test_writer_in_the_metadata_picks_the_convention() -> None:
    """A file whose metadata names its writer (``writer``, ``tool``, ...) is read with that
    tool's convention; the caller's ``convention`` still wins."""
    graph, params = fx.sinabs_graph()
    graph.metadata = {"writer": "sinabs 3.1.3"}
    with pytest.raises(SnnCompileError) as info:
        import_nir(graph)  # no IX809: the writer is known, but multi-spike is open
    assert info.value.code == "IX811" and "sinabs convention" in info.value.message
    ours = import_nir(graph, spikes="single", input_gain="r")
    x = np.random.default_rng(3).normal(size=(4, 1, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(_spikes(ours, x), fx.run_sinabs(params, x, STEPS))
    graph.metadata = {"tool": "unknown-tool 1.0"}
    with pytest.raises(SnnCompileError) as info:
        import_nir(graph)
    assert info.value.code == "IX809"


def test_cli_takes_the_convention(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, graph = fx.snntorch_model()
    path = tmp_path / "snn.nir"
    nir.write(str(path), graph)
    assert main([str(path), "--target", "ir", "-o", str(tmp_path / "a.snnir")]) == 1
    assert "IX809" in capsys.readouterr().err
    args = [str(path), "--target", "ir", "--nir-convention", "snntorch", "-o"]
    assert main([*args, str(tmp_path / "b.snnir")]) == 1
    assert "IX811" in capsys.readouterr().err  # the file cannot say the reset
    args = [str(path), "--target", "ir", "--nir-convention", "snntorch", "--nir-reset", "value"]
    assert main([*args, "-o", str(tmp_path / "b.snnir")]) == 0
    args = [str(path), "--target", "ir", "--nir-convention", "snntorch", "--no-nir-strict"]
    with pytest.warns(NirAssumption, match=r"warning\[IX812\].*Assumed reset = value"):
        assert main([*args, "-o", str(tmp_path / "w.snnir")]) == 0
    args = [str(path), "--target", "ir", "--nir-dt", "1e-4", "--nir-reset", "value", "-o"]
    assert main([*args, str(tmp_path / "c.snnir")]) == 0
    assert "lif" in (tmp_path / "c.snnir").read_text()


# --- malformed files ------------------------------------------------------------------------


def _chain(**changes: nir.NIRNode) -> nir.NIRGraph:
    graph, _ = fx.lava_dl_graph()
    nodes = dict(graph.nodes, **changes)
    metadata = {"snncompile.dt": 1e-4, "snncompile.reset": "value"}
    return nir.NIRGraph(nodes=nodes, edges=list(graph.edges), metadata=metadata, type_check=False)


def _malformed(kind: str) -> None:
    """Import one kind of broken graph (raises)."""
    if kind == "shape":
        import_nir(_chain(fc=nir.Affine(weight=np.ones((6, 7)), bias=np.zeros(6))))
    if kind == "neuron_shape":
        bad = fx.lava_dl_graph()[0].nodes["cuba"]
        bad.v_threshold = np.ones(5)
        import_nir(_chain(cuba=bad))
    if kind == "output_shape":
        import_nir(_chain(output=nir.Output(output_type={"output": np.array([7])})))
    if kind == "missing":
        graph = _chain()
        graph.edges.append(("fc", "ghost"))
        import_nir(graph)
    if kind == "no_input_edge":
        graph = _chain()
        graph.edges.remove(("input", "fc"))
        import_nir(graph)
    if kind == "two_inputs":
        import_nir(_chain(extra=nir.Input(input_type={"input": np.array([8])})))
    if kind == "unknown":
        import_nir(_chain(cuba=nir.LI(tau=np.ones(6), r=np.ones(6), v_leak=np.zeros(6))))
    if kind == "cycle":  # a recurrent edge (cut after the neuron) whose synapses do not fit
        graph = _chain()
        graph.edges.append(("cuba", "fc"))
        import_nir(graph)
    if kind == "loop":
        graph = _chain(scale=nir.Scale(scale=np.ones(6)))
        graph.edges += [("fc", "scale"), ("scale", "fc")]
        import_nir(graph)
    if kind == "nested":
        graph = _chain()
        graph.edges.append(("fc", "cuba.input"))
        import_nir(graph)


@pytest.mark.parametrize(
    ("kind", "code", "words"),
    [
        ("shape", "IX810", "fc"),
        ("neuron_shape", "IX810", "v_threshold of neuron cuba"),
        ("output_shape", "IX810", "Output expects shape (7,)"),
        ("missing", "IX810", "missing node ghost"),
        ("no_input_edge", "IX810", "fc has no input edge"),
        ("two_inputs", "IX810", "2 Input"),
        ("unknown", "IX808", "type LI"),
        ("cycle", "IX810", "fc"),
        ("loop", "IX810", "holds no neuron"),
        ("nested", "IX808", "nested NIR graphs"),
    ],
)
def test_malformed_graphs_have_codes(kind: str, code: str, words: str) -> None:
    with pytest.raises(SnnCompileError) as info:
        _malformed(kind)
    assert info.value.code == code, info.value.render()
    assert words in info.value.message


def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.nir"
    path.write_bytes(b"not hdf5")
    with pytest.raises(SnnCompileError) as info:
        read_nir(path)
    assert info.value.code == "IX808" and "cannot read" in info.value.message


# --- broken files (written, then edited with h5py) --------------------------------------------


def _file(tmp_path: Path, kind: str) -> Path:
    """A small valid NIR file (Input [3] -> Affine -> LIF -> Output), broken one way."""
    import h5py

    nodes = {
        "input": nir.Input(input_type={"input": np.array([3])}),
        "fc": nir.Affine(weight=np.ones((2, 3)), bias=np.zeros(2)),
        "lif": nir.LIF(
            tau=np.full(2, 2e-4), r=np.full(2, 2.0), v_leak=np.zeros(2), v_threshold=np.ones(2)
        ),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata={"snncompile.dtype": "f32"})
    path = tmp_path / f"{kind}.nir"
    nir.write(str(path), graph)

    def replace(name: str, value: object) -> None:
        del handle[name]
        handle[name] = value

    with h5py.File(path, "a") as handle:
        root = "node/nodes"
        if kind == "no_weight":
            del handle[f"{root}/fc/weight"]
        elif kind == "no_type":
            del handle[f"{root}/fc/type"]
        elif kind == "unknown_type":
            replace(f"{root}/fc/type", "Frobnicate")
        elif kind == "negative_dim":
            replace(f"{root}/input/shape", np.array([-3]))
        elif kind == "fractional_dim":
            replace(f"{root}/input/shape", np.array([2.5]))
        elif kind == "huge_dim":
            replace(f"{root}/input/shape", np.array([1 << 40]))
        elif kind == "huge_output":  # a conv whose padding makes a 2^40-element output
            del handle[f"{root}/fc"]
            group = handle.create_group(f"{root}/fc")
            group["type"] = "Conv2d"
            group["weight"] = np.ones((2, 3, 1, 1))
            group["bias"] = np.zeros(2)
            group["stride"] = np.array([1, 1])
            group["padding"] = np.array([1 << 19, 1 << 19])
            group["dilation"] = np.array([1, 1])
            group["groups"] = 1
            group["input_shape"] = np.array([1, 1])
            replace(f"{root}/input/shape", np.array([3, 1, 1]))
        elif kind == "missing_edge_node":
            replace("node/edges", np.array([[b"input", b"fc"], [b"fc", b"ghost"]]))
        elif kind == "bad_dtype":
            replace("node/metadata/snncompile.dtype", "complex128")
        elif kind == "not_hdf5":
            pass
    if kind == "not_hdf5":
        path.write_bytes(b"\x89HDF\r\n" + b"\0" * 64)
    return path


@pytest.mark.parametrize(
    ("kind", "code", "words"),
    [
        ("no_weight", "IX808", "cannot read"),
        ("no_type", "IX808", "cannot read"),
        ("unknown_type", "IX808", "cannot read"),
        ("negative_dim", "IX815", "dimension <= 0"),
        ("fractional_dim", "IX815", "non-integer dimension"),
        ("huge_dim", "IX815", "elements"),
        ("huge_output", "IX815", "elements"),
        ("missing_edge_node", "IX810", "missing node ghost"),
        ("bad_dtype", "IX810", "complex128"),
        ("not_hdf5", "IX808", "cannot read"),
    ],
)
def test_broken_files_have_codes(tmp_path: Path, kind: str, code: str, words: str) -> None:
    """Every broken file stops with a code, never a traceback or a large allocation."""
    path = _file(tmp_path, kind)
    with pytest.raises(SnnCompileError) as info:
        read_nir(path, dt=1e-4, reset="value")
    assert info.value.code == code, info.value.render()
    assert words in info.value.message
