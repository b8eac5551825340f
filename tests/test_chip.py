"""The chip model: a registry, Loihi 2's numbers in one place, and a test chip with different
numbers that goes through quantize -> lower -> place -> simulate self-consistently."""

from __future__ import annotations

import dataclasses
import io
import re
import tokenize
from pathlib import Path

import numpy as np
import pytest

from snncompile.chip import CHIPS, DEFAULT_CHIP, get_chip
from snncompile.config import CompileConfig
from snncompile.diagnostics import SnnCompileError
from snncompile.ir.graph import GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.ir.types import TensorType
from snncompile.passes.manager import PassContext
from snncompile.targets.loihi.arch import LOIHI2
from snncompile.targets.sim.cores import place_cores
from snncompile.targets.sim.engine import Simulator
from snncompile.targets.sim.perf import perf_report
from snncompile.targets.sim.program import build_program
from snncompile.targets.sim.torch_engine import TorchSimulator
from tests.chip_models import TEST_CHIP, registered
from tests.passes.graphs import attention, ms_block

ROOT = Path(__file__).resolve().parents[1]


def test_registry_resolves_the_default_chip_and_refuses_unknown_ones() -> None:
    assert DEFAULT_CHIP == "loihi2" and get_chip("loihi2") is LOIHI2
    assert PassContext().chip is LOIHI2
    with pytest.raises(SnnCompileError) as info:
        CompileConfig(chip="nonesuch")
    assert info.value.code == "CF201" and "loihi2" in info.value.message
    with registered():
        assert PassContext(config=CompileConfig(chip="test4")).chip is TEST_CHIP
        with pytest.raises(SnnCompileError, match=r"1\.\.4"):
            CompileConfig(chip="test4", weight_bits=8)
    assert "test4" not in CHIPS


def test_loihi2_numbers() -> None:
    n = LOIHI2.neuron
    assert (n.scale, n.no_current_memory, n.no_voltage_memory) == (4096, 4095, 4096)
    assert (n.current_limit, n.voltage_limit, n.input_scale) == (2**23, 2**23 - 1, 64)
    assert LOIHI2.weights.largest(mixed=True) == 254 and LOIHI2.weights.largest(False) == 255
    assert LOIHI2.limits.neurons_per_core == 8192 and LOIHI2.limits.max_synaptic_delay == 62


def _reference_test4(currents: list[int], du: int, dv: int, vth: int, bias: int) -> list[int]:
    """The test chip's LIF written out with Python integers: D = 256, no du offset, shifts of 3,
    16-bit u and v saturating at ±32767."""

    def trunc(x: int) -> int:
        return -((-x) >> 8) if x < 0 else x >> 8

    u = v = 0
    spikes = []
    for a in currents:
        u = max(-32767, min(32767, trunc(u * (256 - du)) + a * 8))
        v = max(-32767, min(32767, trunc(v * (256 - dv)) + u + bias))
        spikes.append(int(v > vth * 8))
        if v > vth * 8:
            v = 0
    return spikes


@pytest.mark.parametrize(
    "du, dv, vth, bias", [(0, 16, 300, -5), (200, 0, 3000, 40), (256, 256, 7, 0)]
)
def test_test_chip_step_equals_a_direct_integer_evaluation(
    du: int, dv: int, vth: int, bias: int
) -> None:
    rng = np.random.default_rng(du + dv)
    currents = rng.integers(-900, 2500, size=(40, 3, 5))
    with registered():
        b = GraphBuilder("g", stage="network")
        x = b.input("x", TensorType((5,), "f64"))
        cur = b.add_node("projection", [x], ProjectionAttrs(kind="sum", graded=True), name="p")
        attrs = PopulationAttrs(
            kind="lif", du=du, dv=dv, vth=vth, bias_mant=np.array(float(bias)), chip="test4"
        )
        graph = b.finish([b.add_node("population", [cur], attrs, name="pop")])
        inputs = [currents.astype(np.float64)]
        numpy_out = Simulator(graph).run(inputs).outputs["pop"]
        torch_out = TorchSimulator(graph).run(inputs).outputs["pop"]
        reference_out = run_layerwise(graph, inputs)["pop"]
    expected = np.zeros_like(numpy_out)
    for i in range(3):
        for j in range(5):
            expected[:, i, j] = _reference_test4(list(currents[:, i, j]), du, dv, vth, bias)
    assert expected.sum() > 0
    np.testing.assert_array_equal(numpy_out, expected)
    np.testing.assert_array_equal(torch_out, expected)
    np.testing.assert_array_equal(reference_out, expected)


def test_test_chip_compiles_places_and_simulates_self_consistently() -> None:
    graph = ms_block()
    x = np.random.default_rng(0).random((6, 4, 1, 4, 4))
    with registered():
        program = build_program(graph, CompileConfig(chip="test4", accept_saturation=True))
        weights = TEST_CHIP.weights
        assert program.chip == "test4"
        pops = list(program.populations("layerwise"))
        assert pops and all(p.attrs.chip == "test4" for p in pops)
        for p in pops:
            if p.attrs.kind == "lif":
                assert p.attrs.du == 256 and 0 <= p.attrs.dv <= 256
        weighted = [n for n in program.projections("layerwise") if n.attrs.weight is not None]
        assert weighted
        for n in weighted:
            w = np.asarray(n.attrs.weight, np.int64)
            assert np.abs(w).max() <= 16 and np.array_equal(weights.effective(w), w)
        placement = place_cores(program)
        assert placement.limits.neurons_per_core == 1024 and placement.sources["all"]
        layerwise = program.layerwise
        reference = run_layerwise(layerwise, [x])
        sim = Simulator(layerwise).run([x])
        torch_sim = TorchSimulator(layerwise).run([x])
        for v in layerwise.outputs:
            np.testing.assert_array_equal(sim.outputs[v.name], reference[v.name])
            np.testing.assert_array_equal(torch_sim.outputs[v.name], reference[v.name])
        steps = x.shape[0] + program.depth
        padded = np.concatenate([x, np.zeros((program.depth, *x.shape[1:]))])
        piped = Simulator(program.pipelined).run([padded])
        for v in program.pipelined.outputs:
            np.testing.assert_array_equal(
                piped.outputs[v.name][program.depth : steps], reference[v.name]
            )
        for n in program.projections():  # the timing is stored once, on the IR
            source = n.inputs[0].producer
            if source is not None and source.op == "population":
                assert n.attrs.start == source.attrs.start
                (target,) = program.pipelined.users()[n.output]
                if target.op == "population":
                    assert n.attrs.start + n.attrs.delay == target.attrs.start
        assert piped.stats is not None
        report = perf_report(placement, piped.stats)
        assert report.model.name == "test4 (made up)"
    loihi = build_program(graph, CompileConfig(accept_saturation=True))
    assert all(p.attrs.chip == "loihi2" for p in loihi.populations())
    loihi_weights = [n.attrs.weight for n in loihi.projections() if n.attrs.weight is not None]
    assert max(float(np.abs(w).max()) for w in loihi_weights) > 16  # 8-bit mantissas there


def test_test_chip_refuses_graded_products_with_nw904() -> None:
    with registered(), pytest.raises(SnnCompileError) as info:
        build_program(
            attention(), CompileConfig(chip="test4", allow_host_ops=True, accept_saturation=True)
        )
    assert info.value.code == "NW904" and "test4" in info.value.message


def test_populations_are_checked_by_kind_in_one_place() -> None:
    with registered():
        b = GraphBuilder("g", stage="network")
        x = b.input("x", TensorType((2,), "f64"))
        cur = b.add_node("projection", [x], ProjectionAttrs(kind="sum", graded=True), name="p")
        with pytest.raises(Exception, match="cannot host gated"):
            b.add_node("population", [cur, cur], PopulationAttrs(kind="gated", chip="test4"))
        with pytest.raises(Exception, match=r"du in 0..256"):
            b.add_node("population", [cur], PopulationAttrs(kind="lif", du=300, chip="test4"))
        with pytest.raises(Exception, match="keeps no state"):
            b.add_node("population", [cur], PopulationAttrs(kind="or", dv=5))
        with pytest.raises(Exception, match="takes no LIF parameters"):
            b.add_node("population", [cur], PopulationAttrs(kind="relay", vth=3))


# --- no Loihi constant outside targets/loihi ------------------------------------------------------
#: What "names a Loihi constant" means: these numeric literals (Loihi 2's decay scale, u/v limits,
#: neurons per core, delay limit, written any way Python allows) and these identifiers, in code
#: (strings, docstrings and comments may mention them).
#: (2**24 is float32's exact-integer limit, a fact of float32, and stays allowed.)
LOIHI_NUMBERS = {4096, 4095, 2**23, 2**23 - 1, 8192, 62, 2**17}
LOIHI_NAMES = re.compile(r"^(LOIHI\d\w*|\w*_4096|CURRENT_LIMIT|VOLTAGE_LIMIT)$")
#: Where Loihi's numbers may live: its target, and the registry entry naming its chip model.
ALLOWED = ("snncompile/targets/loihi/",)


def _loihi_constants(path: Path) -> list[str]:
    found = []
    tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text()).readline))
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NUMBER:
            try:
                value = int(tok.string, 0)
            except ValueError:
                continue
            # 2**23 and friends: a power written as 2 ** N
            prev = tokens[i - 1].string if i else ""
            if prev == "**" and i >= 2 and tokens[i - 2].string == "2":
                value = 2**value
            if value in LOIHI_NUMBERS:
                found.append(f"{path}:{tok.start[0]}: {tok.string}")
        elif tok.type == tokenize.NAME and LOIHI_NAMES.match(tok.string):
            found.append(f"{path}:{tok.start[0]}: {tok.string}")
    return found


def test_no_module_outside_targets_loihi_names_a_loihi_constant() -> None:
    found = []
    for path in sorted((ROOT / "snncompile").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(ALLOWED):
            continue
        found += _loihi_constants(path)
    assert not found, "\n".join(found)


def test_the_grep_finds_what_it_should(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('X = 4096\nY = 2**23 - 1\nZ = LOIHI2\nW = "4096 in a string"\nV = 2**5\n')
    assert [f.split(": ")[1] for f in _loihi_constants(probe)] == ["4096", "23", "LOIHI2"]


def test_artifact_config_records_the_chip() -> None:
    assert CompileConfig().to_dict()["chip"] == "loihi2"
    assert dataclasses.replace(CompileConfig(), chip="loihi2").chip == "loihi2"


def _reference_loihi2(currents: list[int], dv: int, vth: int, reset: str) -> list[int]:
    """Loihi 2's integer LIF with no current memory, written out per reset (chip.py)."""

    def trunc(x: int) -> int:
        return -((-x) >> 12) if x < 0 else x >> 12

    theta = vth << 6
    v = 0
    spikes = []
    for a in currents:
        previous = int(v > theta)  # the stored potential's spike (subtract-next)
        v = trunc(v * (4096 - dv)) + (a << 6)
        if reset == "subtract-next":
            v -= previous * theta
        v = max(-(2**23 - 1), min(2**23 - 1, v))
        spike = int(v > theta)
        spikes.append(spike)
        if spike and reset == "zero":
            v = 0
        elif spike and reset == "subtract":
            v -= theta
    return spikes


@pytest.mark.parametrize("reset", ["zero", "subtract", "subtract-next", "none"])
def test_every_reset_equals_a_direct_integer_evaluation_on_every_engine(reset: str) -> None:
    """numpy and torch engines, the reference kernel and the ONNX export of a population with
    each reset equal the reset written out by hand."""
    from snncompile.targets.onnx_network import export_network_onnx, run_network_onnx

    rng = np.random.default_rng(5)
    currents = rng.integers(-20, 60, size=(30, 2, 4))
    b = GraphBuilder("g", stage="network")
    x = b.input("x", TensorType((4,), "f64"))
    cur = b.add_node("projection", [x], ProjectionAttrs(kind="sum", graded=True), name="p")
    attrs = PopulationAttrs(kind="lif", du=None, dv=1024, vth=50, reset=reset)
    graph = b.finish([b.add_node("population", [cur], attrs, name="pop")])
    inputs = [currents.astype(np.float64)]
    expected = np.zeros(currents.shape)
    for i in range(2):
        for j in range(4):
            expected[:, i, j] = _reference_loihi2(list(currents[:, i, j]), 1024, 50, reset)
    assert 0 < expected.mean() < 1
    np.testing.assert_array_equal(Simulator(graph).run(inputs).outputs["pop"], expected)
    np.testing.assert_array_equal(TorchSimulator(graph).run(inputs).outputs["pop"], expected)
    np.testing.assert_array_equal(run_layerwise(graph, inputs)["pop"], expected)
    onnx_out = run_network_onnx(export_network_onnx(graph, 30), {"x": inputs[0]})
    np.testing.assert_array_equal(onnx_out["pop"], expected)


def test_a_chip_refuses_the_resets_it_does_not_declare() -> None:
    zero_only = dataclasses.replace(TEST_CHIP, name="zero-only", resets=frozenset({"zero"}))
    with registered(zero_only):
        b = GraphBuilder("g", stage="network")
        x = b.input("x", TensorType((4,), "f64"))
        attrs = PopulationAttrs(kind="lif", dv=16, vth=5, reset="subtract", chip="zero-only")
        with pytest.raises(Exception, match="runs the resets zero, not 'subtract'"):
            b.add_node("population", [x], attrs, name="pop")


def test_a_chip_without_current_memory_refuses_a_current_decay() -> None:
    no_memory = dataclasses.replace(TEST_CHIP, name="no-memory", current_decay=False)
    with registered(no_memory):
        b = GraphBuilder("g", stage="network")
        x = b.input("x", TensorType((4,), "f64"))
        attrs = PopulationAttrs(kind="lif", du=16, dv=16, vth=5, chip="no-memory")
        with pytest.raises(Exception, match="keeps no current between steps"):
            b.add_node("population", [x], attrs, name="pop")
