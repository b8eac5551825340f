"""snntorch ``Leaky`` neurons: the IR ``lif`` op with snntorch dynamics and the torch frontend.

Models are built with snntorch itself (a dev dependency); everything runs in float32 (snntorch's
spikes are always float32) and the traced graphs must reproduce snntorch exactly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from snncompile.diagnostics import SnnCompileError
from snncompile.frontend.load import load_model, to_graph
from snncompile.frontend.simulate import simulate
from snncompile.frontend.torch import trace, trace_with_info
from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops import ShapeError
from snncompile.ir.ops.tensor import LifAttrs
from snncompile.ir.parser import parse_graph
from snncompile.ir.printer import print_graph
from snncompile.ir.types import TensorType

snn = pytest.importorskip("snntorch")
surrogate = pytest.importorskip("snntorch.surrogate")
snn_utils = pytest.importorskip("snntorch.utils")

T = 6
RESETS = ("subtract", "zero", "none")


# --- the lif op with snntorch dynamics ----------------------------------------------------------


def _lif_graph(attrs: LifAttrs, shape: tuple[int, ...]) -> Graph:
    b = GraphBuilder("leaky")
    x = b.input("x", TensorType(shape, "f32"))
    return b.finish([b.add_node("lif", [x], attrs, name="lif")])


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("reset_delay", [True, False])
@pytest.mark.parametrize("per_neuron", [False, True])
def test_lif_kernel_is_snntorch_leaky(reset: str, reset_delay: bool, per_neuron: bool) -> None:
    """Spikes of the reference kernel equal ``snntorch.Leaky`` bit for bit (T=40 steps)."""
    torch.manual_seed(1)
    n = 16
    beta: Any = torch.rand(n) if per_neuron else 0.85
    threshold: Any = torch.rand(n) + 0.3 if per_neuron else 0.7
    leaky = snn.Leaky(
        beta=beta, threshold=threshold, reset_mechanism=reset, reset_delay=reset_delay
    )
    currents = torch.randn(40, 3, n) * 0.6 + 0.3
    mem = leaky.init_leaky()
    spikes = []
    for t in range(currents.shape[0]):
        spk, mem = leaky(currents[t], mem)
        spikes.append(spk)
    expected = torch.stack(spikes).numpy()
    from snncompile.frontend.snntorch import leaky_attrs

    graph = _lif_graph(leaky_attrs(leaky), (n,))
    got = run_layerwise(graph, [currents.numpy()])["lif"]
    assert expected.sum() > 0
    np.testing.assert_array_equal(got, expected)


def test_snntorch_lif_text_round_trips_and_defaults_stay_unprinted() -> None:
    attrs = LifAttrs(
        tau=5.0,
        v_threshold=0.5,
        decay_input=False,
        decay=0.8,
        dynamics="snntorch",
        reset_mechanism="zero",
        reset_delay=False,
        decay_map=np.linspace(0.1, 0.9, 4, dtype=np.float32),
    )
    graph = _lif_graph(attrs, (4,))
    text = print_graph(graph)
    assert 'dynamics="snntorch"' in text and "reset_delay=false" in text
    assert print_graph(parse_graph(text)) == text
    plain = print_graph(_lif_graph(LifAttrs(), (4,)))
    assert "dynamics" not in plain and "reset_mechanism" not in plain and "decay_map" not in plain


@pytest.mark.parametrize(
    "attrs",
    [
        LifAttrs(decay=0.5, decay_input=False, dynamics="snntorch", reset_delay=True),
        LifAttrs(decay=0.5, decay_input=False, dynamics="snntorch", reset_mechanism="subtract"),
        LifAttrs(decay_input=False, dynamics="snntorch", reset_mechanism="zero", reset_delay=True),
        LifAttrs(decay=0.5, dynamics="snntorch", reset_mechanism="zero", reset_delay=True),
        LifAttrs(reset_mechanism="subtract"),
        LifAttrs(dynamics="norse"),
        LifAttrs(
            decay=0.5,
            decay_input=False,
            dynamics="snntorch",
            reset_mechanism="zero",
            reset_delay=True,
            decay_map=np.full(3, 0.5),
        ),
    ],
)
def test_inconsistent_snntorch_attributes_are_refused(attrs: LifAttrs) -> None:
    b = GraphBuilder("bad")
    x = b.input("x", TensorType((4,), "f32"))
    with pytest.raises((ShapeError, SnnCompileError)):
        b.add_node("lif", [x], attrs)


# --- models -----------------------------------------------------------------------------------


def _leaky(reset: str, beta: Any, threshold: Any, **kw: Any) -> nn.Module:
    return snn.Leaky(beta=beta, threshold=threshold, reset_mechanism=reset, **kw)


class LoopMLP(nn.Module):
    """The snntorch tutorial form: [T, B, F] input, explicit membranes, stacked outputs."""

    def __init__(self, reset: str, beta2: Any, threshold: Any) -> None:
        super().__init__()
        self.fc1 = nn.Linear(10, 24)
        self.lif1 = _leaky(reset, 0.9, threshold)
        self.fc2 = nn.Linear(24, 5)
        self.lif2 = _leaky(reset, beta2, 1.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mem1 = self.lif1.init_leaky()
        mem2 = self.lif2.init_leaky()
        spikes, membranes = [], []
        for step in range(x.shape[0]):
            spk1, mem1 = self.lif1(self.fc1(x[step]), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            spikes.append(spk2)
            membranes.append(mem2)
        return torch.stack(spikes), torch.stack(membranes)


class LoopConv(nn.Module):
    """Static image input, a fixed number of steps, per-channel beta and threshold."""

    def __init__(self, reset: str, steps: int) -> None:
        super().__init__()
        self.steps = steps
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.lif1 = _leaky(reset, torch.rand(4, 1, 1), torch.rand(4, 1, 1) + 0.5, learn_beta=True)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 3)
        self.lif2 = _leaky(reset, torch.rand(3), 0.8, learn_threshold=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.lif1.reset_mem()
        self.lif2.reset_mem()
        out = []
        for _ in range(self.steps):
            spk, _mem = self.lif1(self.conv(x))
            spk2, _mem2 = self.lif2(self.fc(self.pool(spk).flatten(1)))
            out.append(spk2)
        return torch.stack(out)


class StepMLP(nn.Module):
    """init_hidden=True: forward is one time step; the last neuron returns (spk, mem)."""

    def __init__(self, reset: str) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(10, 24),
            _leaky(reset, torch.rand(24), 0.6, init_hidden=True),
            nn.Linear(24, 5),
            _leaky(reset, 0.7, 1.2, init_hidden=True, output=True),
        )

    def forward(self, x: torch.Tensor) -> Any:
        return self.net(x)


class StepConv(nn.Module):
    def __init__(self, reset: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.lif1 = _leaky(
            reset,
            torch.tensor([0.5, 0.8, 0.95]).reshape(3, 1, 1),
            0.9,
            init_hidden=True,
            reset_delay=False,
        )
        self.fc = nn.Linear(3 * 6 * 6, 4)
        self.lif2 = _leaky(reset, 0.9, 0.5, init_hidden=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif2(self.fc(self.lif1(self.conv(x)).flatten(1)))


def _strengthen(model: nn.Module, gain: float = 2.5) -> nn.Module:
    """Larger weights so that every layer spikes."""
    torch.manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.mul_(gain)
    return model.eval()


def _step_reference(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """What a user of a step model computes: reset, one call per step, mean over T."""
    snn_utils.reset(model)
    outs = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            out = model(x[t])
            outs.append(out[0] if isinstance(out, tuple) else out)
    return torch.stack(outs).mean(0).numpy()


def _assert_exact(reference: np.ndarray, simulated: np.ndarray) -> None:
    assert reference.shape == simulated.shape
    assert reference.sum() > 0, "the test model must spike"
    np.testing.assert_allclose(simulated, reference, rtol=0, atol=1e-6)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("per_channel", [False, True])
def test_loop_mlp_matches_snntorch(reset: str, per_channel: bool) -> None:
    torch.manual_seed(3)
    beta2 = torch.rand(5) if per_channel else 0.8
    model = _strengthen(LoopMLP(reset, beta2, threshold=0.5))
    x = torch.rand(T, 7, 10) * 2
    info = trace_with_info(model, x, time_steps=T)
    assert info.input_layout == "TB" and not info.output_averaged
    assert info.graph.op_counts() == {"linear": 2, "lif": 2}
    with torch.no_grad():
        reference = model(x)[0].mean(0).numpy()
    _assert_exact(reference, simulate(info.graph, x, time_steps=T))


@pytest.mark.parametrize("reset", RESETS)
def test_loop_conv_with_static_input_matches_snntorch(reset: str) -> None:
    torch.manual_seed(4)
    model = _strengthen(LoopConv(reset, steps=T), gain=3.0)
    x = torch.rand(5, 2, 8, 8)
    info = trace_with_info(model, x, time_steps=T)
    assert info.input_layout == "static" and info.method == "symbolic"
    lifs = [n for n in info.graph.nodes if n.op == "lif"]
    assert lifs[0].attrs.decay_map is not None and lifs[0].attrs.decay_map.shape == (4, 1, 1)
    assert lifs[0].attrs.v_threshold_map is not None
    assert all(n.attrs.reset_mechanism == reset for n in lifs)
    with torch.no_grad():
        reference = model(x).mean(0).numpy()
    _assert_exact(reference, simulate(info.graph, x, time_steps=T))


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_step_models_match_snntorch(reset: str) -> None:
    torch.manual_seed(5)
    mlp = _strengthen(StepMLP(reset))
    x = torch.rand(T, 4, 10) * 2
    info = trace_with_info(mlp, x, time_steps=T)
    assert info.input_layout == "TB"
    _assert_exact(_step_reference(mlp, x), simulate(info.graph, x, time_steps=T))

    conv = _strengthen(StepConv(reset), gain=3.0)
    frames = torch.rand(T, 3, 1, 6, 6)
    graph = trace(conv, frames, time_steps=T, input_layout="TB")
    _assert_exact(_step_reference(conv, frames), simulate(graph, frames, time_steps=T))
    static = torch.rand(3, 1, 6, 6)
    graph = trace(conv, static, time_steps=T)
    repeated = static.unsqueeze(0).repeat(T, 1, 1, 1, 1)
    _assert_exact(_step_reference(conv, repeated), simulate(graph, static, time_steps=T))


def test_tracing_leaves_the_model_usable() -> None:
    model = _strengthen(StepMLP("subtract"))
    x = torch.rand(T, 4, 10) * 2
    before = _step_reference(model, x)
    trace(model, x, time_steps=T)
    assert model.training is False
    np.testing.assert_array_equal(_step_reference(model, x), before)


# --- refusals -------------------------------------------------------------------------------------


class Recurrent(nn.Module):
    """Feeds the previous step's spikes back by hand: not one repeated step."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.rec = nn.Linear(4, 4)
        self.lif = snn.Leaky(beta=0.9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mem = self.lif.init_leaky()
        spk = torch.zeros_like(self.fc(x[0]))
        out = []
        for t in range(x.shape[0]):
            spk, mem = self.lif(self.fc(x[t]) + self.rec(spk), mem)
            out.append(spk)
        return torch.stack(out)


class ResetEveryStep(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.lif = snn.Leaky(beta=0.9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = []
        for t in range(x.shape[0]):
            spk, _ = self.lif(self.fc(x[t]), self.lif.init_leaky())
            out.append(spk)
        return torch.stack(out)


class FirstFrameOnly(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.lif = snn.Leaky(beta=0.9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mem = self.lif.init_leaky()
        out = []
        for _ in range(x.shape[0]):
            spk, mem = self.lif(self.fc(x[0]), mem)
            out.append(spk)
        return torch.stack(out)


class MembraneOut(nn.Module):
    def __init__(self, compute: bool) -> None:
        super().__init__()
        self.compute = compute
        self.fc = nn.Linear(4, 4)
        self.lif = snn.Leaky(beta=0.9, init_hidden=True, output=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spk, mem = self.lif(self.fc(x))
        return spk + mem if self.compute else mem


class TwiceAStep(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lif = snn.Leaky(beta=0.9, init_hidden=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif(self.lif(x))


class Mixed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = snn.Leaky(beta=0.9, init_hidden=True)
        self.b = snn.Leaky(beta=0.9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))[0]


def _one(neuron: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Linear(4, 4), neuron)


def _trace_error(model: nn.Module, x: torch.Tensor, steps: int = 3) -> SnnCompileError:
    with pytest.raises(SnnCompileError) as info:
        trace(model, x, time_steps=steps)
    return info.value


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        (Recurrent, "FE702", "call 0"),
        (ResetEveryStep, "FE702", "membrane that call 0 returned"),
        (FirstFrameOnly, "FE702", "differently from step 0"),
        (lambda: MembraneOut(compute=False), "FE701", "membrane"),
        (lambda: MembraneOut(compute=True), "FE701", "membrane"),
        (TwiceAStep, "FE702", "called 2 times"),
        (Mixed, "FE701", "init_hidden"),
        (lambda: _one(snn.Leaky(beta=0.9, init_hidden=True, inhibition=True)), "FE701", "inhib"),
        (
            lambda: _one(snn.Leaky(beta=0.9, init_hidden=True, graded_spikes_factor=2.0)),
            "FE701",
            "graded",
        ),
        (
            lambda: _one(
                snn.Leaky(
                    beta=0.9,
                    init_hidden=True,
                    spike_grad=lambda x: (x >= 0).float(),  # fires at the threshold
                )
            ),
            "FE701",
            "spike_grad",
        ),
        (lambda: _one(snn.Synaptic(alpha=0.5, beta=0.9, init_hidden=True)), "FE701", "Leaky"),
    ],
)
def test_unsupported_snntorch_forms_are_refused(
    make: Callable[[], nn.Module], code: str, words: str
) -> None:
    x = torch.rand(3, 2, 4)
    err = _trace_error(make().eval(), x)
    assert err.code == code and words in err.message, err.message


def test_loop_length_must_be_time_steps() -> None:
    err = _trace_error(LoopConv("subtract", steps=4), torch.rand(2, 2, 8, 8), steps=3)
    assert err.code == "FE702" and "called 4 times" in err.message


def test_surrogates_are_accepted() -> None:
    """Every snntorch surrogate fires on x > 0 in its forward; they only change gradients."""
    x = torch.rand(T, 2, 4)
    for grad in (surrogate.fast_sigmoid(), surrogate.sigmoid(), surrogate.heaviside()):
        model = _one(snn.Leaky(beta=0.9, init_hidden=True, spike_grad=grad)).eval()
        assert trace(model, x, time_steps=T).op_counts()["lif"] == 1


# --- downstream: targets and passes refuse the snntorch dynamics -------------------------------


def _snntorch_graph() -> Graph:
    torch.manual_seed(6)
    return trace(_strengthen(StepMLP("subtract")), torch.rand(T, 2, 10), time_steps=T)


def test_quantizer_refuses_a_per_neuron_beta_in_snntorch_words() -> None:
    """A chip population has one voltage decay: a per-neuron ``beta`` is SD205, named in
    snntorch's words (scalar betas map to the chip: tests/targets/loihi/test_neuron_families.py)."""
    from snncompile.config import CompileConfig
    from snncompile.passes.manager import PassContext, PassManager
    from snncompile.passes.quantize import QuantizeFixedPoint

    ctx = PassContext(config=CompileConfig(allow_host_ops=True))
    prepared = ["batchnorm-folded", "scales-folded", "residuals-lowered", "attention-decomposed"]
    with pytest.raises(SnnCompileError) as info:
        PassManager([QuantizeFixedPoint()], initial_properties=prepared).run(_snntorch_graph(), ctx)
    assert info.value.code == "SD205" and "per-neuron beta" in info.value.message
    assert "snntorch Leaky" in info.value.message and "beta" in info.value.fix


def test_onnx_and_nir_exports_refuse_snntorch_dynamics() -> None:
    from snncompile.targets.nir import export_nir
    from snncompile.targets.onnx import export_onnx

    graph = _snntorch_graph()
    with pytest.raises(SnnCompileError) as info:
        export_onnx(graph, T)
    assert info.value.code == "IX806" and "snntorch" in info.value.message
    with pytest.raises(SnnCompileError) as info:
        export_nir(graph)
    assert info.value.code == "IX807"


# --- loading and checking ----------------------------------------------------------------------


class CheckNet(nn.Module):
    """A step model on 1x8x8 images, pickled by the CLI test: defined at module level, with
    ``surrogate_disable`` (snntorch's default surrogate is a closure that pickle refuses)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.lif1 = snn.Leaky(beta=0.9, init_hidden=True, surrogate_disable=True)
        self.fc = nn.Linear(4 * 8 * 8, 10)
        self.lif2 = snn.Leaky(beta=0.9, init_hidden=True, surrogate_disable=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif2(self.fc(self.lif1(self.conv(x)).flatten(1)))


def test_load_model_traces_an_snntorch_module() -> None:
    from snncompile.report.compliance import check_graph

    model = _strengthen(CheckNet(), gain=3.0)
    loaded = load_model(model, time_steps=T, input_shape=(1, 8, 8))
    graph = to_graph(loaded)
    assert graph.op_counts()["lif"] == 2
    x = torch.rand(3, 1, 8, 8)
    repeated = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)
    _assert_exact(_step_reference(model, repeated), simulate(graph, x, time_steps=T))
    steps = np.repeat(x.numpy()[None], T, axis=0)
    report = check_graph(graph, steps, model=loaded.name)
    assert isinstance(report.spike_driven, bool)


def test_check_cli_on_a_pickled_snntorch_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from snncompile.cli import main

    path = tmp_path / "snn.pt"
    torch.save(_strengthen(CheckNet(), gain=3.0), path)
    path.with_suffix(".json").write_text(json.dumps({"input_shape": [1, 8, 8], "time_steps": 4}))
    report_path = tmp_path / "report.json"
    args = [str(path), "--trust-pickle", "--samples", "4", "--json", str(report_path)]
    code = main(["check", *args])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    report = json.loads(report_path.read_text())
    assert report["spike_driven"] is (code == 0)


def test_frontend_does_not_import_snntorch() -> None:
    code = (
        "import sys, torch, snncompile\n"
        "from snncompile.frontend.torch import trace\n"
        "from snncompile.models import create\n"
        "trace(create('sdt_digits').eval(), torch.rand(1, 1, 16, 16), time_steps=4)\n"
        "assert 'snntorch' not in sys.modules\n"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
