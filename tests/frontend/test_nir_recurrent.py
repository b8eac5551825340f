"""Recurrent NIR graphs: the cut of a cycle through a neuron into a ``recurrent`` node (a
one-step delay), exact against snntorch's RLeaky and refused where the ``lif`` op cannot state
the tool's recurrent update (the snntorch rows of docs/nir.md's table are in
``tests/frontend/nir_tools.py``)."""

from __future__ import annotations

import warnings
from pathlib import Path

import nir
import numpy as np
import pytest

from snncompile.diagnostics import SnnCompileError
from snncompile.frontend.nir import import_nir
from snncompile.frontend.nir_recurrent import components
from snncompile.ir.graph import GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.recurrent import RecurrentAttrs
from snncompile.ir.ops.tensor import LinearAttrs
from snncompile.ir.parser import parse_graph
from snncompile.ir.printer import print_graph
from snncompile.ir.types import TensorType
from snncompile.ir.verify import verify
from snncompile.targets.nir import export_nir
from tests.frontend.nir_tools import STEPS, _snntorch, installed
from tests.targets.sim.recurrent_graphs import inputs as sim_inputs
from tests.targets.sim.recurrent_graphs import recurrent_mlp


def recurrent_nir(w_rec: float = 0.6, *, plain: bool = True) -> nir.NIRGraph:
    """Input(4) -> Affine -> LIF <-> Linear (w_rec) -> Output, dt 1 (plain NIR)."""
    rng = np.random.default_rng(3)
    n = 5
    nodes = {
        "input": nir.Input(input_type={"input": np.array([4])}),
        "fc": nir.Affine(weight=rng.normal(size=(n, 4)) * 1.5, bias=np.zeros(n)),
        "lif": nir.LIF(
            tau=np.full(n, 2.0),
            r=np.ones(n),
            v_leak=np.zeros(n),
            v_threshold=np.ones(n),
            v_reset=np.zeros(n),
        ),
        "rec": nir.Linear(weight=(rng.normal(size=(n, n)) + 0.5) * w_rec),
        "output": nir.Output(output_type={"output": np.array([n])}),
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")]
    metadata = {"snncompile.dt": 1.0, "snncompile.reset": "value"} if plain else {}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def _numpy_reference(graph: nir.NIRGraph, x: np.ndarray) -> np.ndarray:
    """Forward Euler of NIR's LIF with dt = 1, tau = 2, reset to 0, ``I = fc·x + rec·S[t-1]``."""
    fc, rec = graph.nodes["fc"], graph.nodes["rec"]
    v = np.zeros((x.shape[1], fc.weight.shape[0]))
    s = np.zeros_like(v)
    out = []
    for step in x:
        current = step @ fc.weight.T + fc.bias + s @ rec.weight.T
        v = v + (current - v) / 2.0
        s = (v >= 1.0).astype(np.float64)
        v = v * (1 - s)
        out.append(s)
    return np.stack(out)


def test_plain_nir_cycle_is_a_one_step_recurrent_edge() -> None:
    graph = recurrent_nir()
    ours = import_nir(graph)
    verify(ours)
    (rec,) = [n for n in ours.nodes if n.op == "recurrent"]
    assert rec.attrs.source == "lif" and rec.attrs.shape == (5,)
    x = np.random.default_rng(0).random((25, 3, 4)) * 2
    got = run_layerwise(ours, [x])[ours.outputs[0].name]
    want = _numpy_reference(graph, x)
    np.testing.assert_array_equal(got, want)
    # the recurrence changes the spikes: without it the reference differs
    silent = _numpy_reference(recurrent_nir(0.0), x)
    assert not np.array_equal(silent, want)


def test_text_form_round_trips_a_recurrent_graph() -> None:
    ours = import_nir(recurrent_nir())
    again = parse_graph(print_graph(ours))
    verify(again)
    x = np.random.default_rng(1).random((12, 2, 4)) * 2
    a = run_layerwise(ours, [x])[ours.outputs[0].name]
    b = run_layerwise(again, [x])[again.outputs[0].name]
    np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not installed("snntorch"), reason="snntorch is not installed")
def test_rleaky_recurrence_matters() -> None:
    """The table's RLeaky row would also pass with the recurrent edge dropped if the recurrence
    never changed a spike: check that it does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph, run = _snntorch("rleaky", "subtract")(0)
    x = np.random.default_rng(7).random((STEPS, 2, 16)).astype(np.float32)
    reference = run(x)
    ours = import_nir(graph, convention="snntorch", reset="subtract")
    np.testing.assert_array_equal(run_layerwise(ours, [x])[ours.outputs[0].name], reference)
    graph.nodes["1.w_rec"].weight = np.zeros_like(graph.nodes["1.w_rec"].weight)
    graph.nodes["1.w_rec"].bias = np.zeros_like(graph.nodes["1.w_rec"].bias)
    cut = import_nir(graph, convention="snntorch", reset="subtract")
    assert not np.array_equal(run_layerwise(cut, [x])[cut.outputs[0].name], reference)


def test_rleaky_zero_reset_is_refused() -> None:
    graph = recurrent_nir(plain=False)
    with pytest.raises(SnnCompileError) as info:
        import_nir(graph, convention="snntorch", reset="value")
    assert info.value.code == "IX814" and "RLeaky zeroes" in info.value.message


def test_loop_beside_the_neuron_is_an_algebraic_loop() -> None:
    graph = recurrent_nir()
    graph.nodes["a"] = nir.Scale(scale=np.ones(5))
    graph.nodes["b"] = nir.Scale(scale=np.ones(5))
    graph.edges += [("lif", "a"), ("a", "b"), ("b", "a"), ("b", "lif")]
    with pytest.raises(SnnCompileError) as info:
        import_nir(graph)
    assert info.value.code == "IX810" and "holds no neuron" in info.value.message


def test_components_of_a_long_chain_need_no_recursion() -> None:
    n = 20000
    names = [str(i) for i in range(n)]
    readers = {str(i): [str(i + 1)] for i in range(n - 1)}
    readers[str(n - 1)] = ["0"]
    (only,) = components(names, readers)
    assert len(only) == n


@pytest.mark.parametrize(
    ("source", "words"),
    [("ghost", "no node of the graph produces"), ("x", "which no node"), ("w", "not a spiking")],
)
def test_recurrent_source_must_be_a_spiking_neuron(source: str, words: str) -> None:
    b = GraphBuilder("bad")
    x = b.input("x", TensorType((3,), "f64"))
    r = b.add_node("recurrent", [], RecurrentAttrs(source=source, shape=(3,), dtype="f64"))
    w = b.add_node("linear", [x], LinearAttrs(weight=np.eye(3), bias=None), name="w")
    g = b.finish([r, w])
    with pytest.raises(SnnCompileError) as info:
        verify(g)
    assert info.value.code == "IX817" and words in info.value.message


@pytest.mark.parametrize("skip", [False, True])
def test_export_writes_the_cycle_and_round_trips_exactly(skip: bool, tmp_path: Path) -> None:
    """A recurrent edge onto its own neuron is written back as the cycle (plain NIR); one into a
    later layer as a one-step NIR ``Delay``; ``nir.read`` with its type check reads the file and
    the import runs the same spikes."""
    graph = recurrent_mlp(skip=skip)
    path = tmp_path / "rec.nir"
    nir.write(str(path), export_nir(graph))
    back = nir.read(str(path))  # type-checked
    assert ("s1", "s1_rec_to8") in back.edges and ("s2", "s2_rec_to4") in back.edges
    assert isinstance(back.nodes.get("s1_prev_skip"), nir.Delay) == skip
    ours = import_nir(back)
    x = sim_inputs(20, 3)
    want = run_layerwise(graph, [x])[graph.outputs[0].name]
    got = run_layerwise(ours, [x])[ours.outputs[0].name]
    np.testing.assert_array_equal(got, want)
    assert want.sum() > 5


def _delay_graph(delay: float, *, on_cycle: bool = False) -> nir.NIRGraph:
    graph = recurrent_nir()
    graph.nodes["d"] = nir.Delay(delay=np.full(5, delay))
    graph.nodes["late"] = nir.Linear(weight=np.eye(5))
    if on_cycle:
        graph.edges.remove(("lif", "rec"))
        graph.edges += [("lif", "d"), ("d", "rec")]
    else:
        graph.edges.remove(("lif", "output"))
        graph.edges += [("lif", "d"), ("d", "late"), ("late", "output")]
    return graph


@pytest.mark.parametrize(
    ("delay", "on_cycle", "code", "words"),
    [(2.0, False, "IX808", "exactly one step"), (1.0, True, "IX814", "sits on a cycle")],
)
def test_nir_delays_other_than_one_step_on_spikes_are_refused(
    delay: float, on_cycle: bool, code: str, words: str
) -> None:
    with pytest.raises(SnnCompileError) as info:
        import_nir(_delay_graph(delay, on_cycle=on_cycle))
    assert info.value.code == code and words in info.value.message


def test_nir_delay_of_one_step_on_spikes_is_a_recurrent_read() -> None:
    ours = import_nir(_delay_graph(1.0))
    (late,) = [n for n in ours.nodes if n.name == "late"]
    assert late.inputs[0].producer is not None
    assert late.inputs[0].producer.op == "recurrent"
    x = np.random.default_rng(2).random((10, 2, 4)) * 2
    out = run_layerwise(ours, [x], record=True)
    np.testing.assert_array_equal(out[ours.outputs[0].name][1:], out["lif"][:-1])
