"""Models built with spikingjelly 2.0's own classes: trace, check, compile and simulate.

The traced IR's output must equal spikingjelly 2.0's own forward: bit for bit in float64 (every
neuron's spikes and the logits), within 1e-6 (relative) in float32. Neurons and options without
an exact chip form are refused with FE704/FE705; every family here (hard and soft reset, with
or without input decay, IF) compiles to the chip and runs on the simulator.

spikingjelly 2.0 is the modern environment's version (``.venv``); in the 0.0.0.0.14 venv these
tests skip one by one (``needs_sj2``), and tests/frontend/test_neurons.py covers 0.0.0.0.14.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

import snncompile
from snncompile.diagnostics import SnnCompileError, UnsupportedOpError
from snncompile.frontend.torch import trace
from snncompile.ir.graph import Graph
from snncompile.ir.interpret import run_layerwise
from snncompile.report.compliance import check_graph
from tests.frontend.equivalence import randomize

sj = pytest.importorskip("spikingjelly")
from spikingjelly.activation_based import functional, layer, neuron  # noqa: E402

SJ2 = int(importlib.metadata.version("spikingjelly").split(".")[0]) >= 2
needs_sj2 = pytest.mark.skipif(not SJ2, reason="needs spikingjelly 2.0 (the modern .venv)")
pytestmark = [needs_sj2]

T = 4


def _lif(**kw: object) -> nn.Module:
    return neuron.LIFNode(step_mode="m", **kw)  # type: ignore[arg-type]


class ConvNet(nn.Module):
    """Conv/BN/neuron/MaxPool with spikingjelly 2.0's stateless wrappers, then a linear head."""

    def __init__(self, make: Callable[..., nn.Module]) -> None:
        super().__init__()
        self.conv = layer.Conv2d(1, 6, 3, padding=1, bias=False, step_mode="m")
        self.bn = layer.BatchNorm2d(6, step_mode="m")
        self.n1 = make()
        self.pool = layer.MaxPool2d(2, step_mode="m")
        self.conv2 = layer.Conv2d(6, 8, 3, padding=1, step_mode="m")
        self.bn2 = layer.BatchNorm2d(8, step_mode="m")
        self.n2 = make()
        self.flat = layer.Flatten(step_mode="m")
        self.fc = layer.Linear(8 * 16, 5, step_mode="m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)
        y = self.pool(self.n1(self.bn(self.conv(x))))
        return self.fc(self.flat(self.n2(self.bn2(self.conv2(y))))).mean(0)


class HandAttention(nn.Module):
    """A hand-written spiking self-attention block (Spikformer's SSA) on [T, B, N, D] tokens:
    the image's 8 rows are the tokens, its 8 columns their features."""

    def __init__(self, make: Callable[..., nn.Module], dim: int = 8) -> None:
        super().__init__()
        self.embed = layer.Linear(8, dim, step_mode="m")
        self.embed_lif = make()
        self.q, self.k, self.v = (layer.Linear(dim, dim, step_mode="m") for _ in range(3))
        self.q_lif, self.k_lif, self.v_lif = make(), make(), make()
        self.attn_lif = make(v_threshold=0.5)
        self.proj = layer.Linear(dim, dim, step_mode="m")
        self.proj_lif = make()
        self.head = nn.Linear(dim, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1, 2).unsqueeze(0).repeat(T, 1, 1, 1)  # [T, B, N=8, 8]
        x = self.embed_lif(self.embed(x))
        q, k, v = self.q_lif(self.q(x)), self.k_lif(self.k(x)), self.v_lif(self.v(x))
        attn = q @ k.transpose(-2, -1)
        y = self.attn_lif((attn @ v) * 0.125)
        y = self.proj_lif(self.proj(y))
        return self.head(y.mean(2)).mean(0)


class LibraryAttention(nn.Module):
    """spikingjelly 2.0's own ``layer.SpikingSelfAttention`` on a conv stem."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = layer.Conv2d(1, 8, 3, padding=1, step_mode="m")
        self.stem_bn = layer.BatchNorm2d(8, step_mode="m")
        self.stem_lif = _lif()
        self.ssa = layer.SpikingSelfAttention(8, num_heads=2)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)
        y = self.stem_lif(self.stem_bn(self.stem(x))).flatten(3)  # [T, B, C, L]
        y = self.ssa(y)
        return self.head(y.mean(3)).mean(0)


NEURONS: dict[str, Callable[..., nn.Module]] = {
    "lif-hard": lambda **kw: _lif(tau=2.0, **kw),
    "lif-soft": lambda **kw: _lif(tau=2.0, v_reset=None, **kw),
    "lif-nodecay": lambda **kw: _lif(tau=1.5, decay_input=False, **kw),
    "plif-hard": lambda **kw: neuron.ParametricLIFNode(init_tau=2.0, step_mode="m", **kw),
    "plif-soft": lambda **kw: neuron.ParametricLIFNode(
        init_tau=3.0, v_reset=None, step_mode="m", **kw
    ),
    "if-hard": lambda **kw: neuron.IFNode(step_mode="m", **kw),
    "if-soft": lambda **kw: neuron.IFNode(v_reset=None, step_mode="m", **kw),
    # single-step neurons, run over T by spikingjelly's container
    "lif-single": lambda **kw: layer.MultiStepContainer(neuron.LIFNode(tau=2.0, **kw)),
    "if-single": lambda **kw: layer.MultiStepContainer(neuron.IFNode(v_reset=None, **kw)),
}
#: Neurons the chip runs (every one here: hard or soft reset, with or without input decay;
#: passes/chip_neurons.py); a neuron outside this set must be refused by its code.
CHIP_NEURONS = set(NEURONS)


def _randomize(model: nn.Module, seed: int) -> nn.Module:
    """The zoo tests' random batch-norm statistics, and a learned PLIF decay that is no power
    of two."""
    randomize(model, seed)
    with torch.no_grad():
        for module in model.modules():
            w = getattr(module, "w", None)
            if isinstance(w, nn.Parameter) and w.numel() == 1:
                w.fill_(0.37)
    return model


def _build(kind: type[nn.Module], name: str | None, seed: int, dtype: torch.dtype) -> nn.Module:
    torch.manual_seed(seed)
    model = kind() if name is None else kind(NEURONS[name])
    return _randomize(model, seed).to(dtype).eval()


def _x(dtype: torch.dtype, seed: int = 0, batch: int = 3) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand((batch, 1, 8, 8), generator=gen, dtype=torch.float64).to(dtype) * 2


def _sj_forward(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    functional.reset_net(model)
    with torch.no_grad():
        out = model(x)
    functional.reset_net(model)
    return out.double().numpy()


def _ir_forward(model: nn.Module, x: torch.Tensor) -> tuple[np.ndarray, Graph]:
    graph = trace(model, x, time_steps=T)
    steps = np.repeat(x.numpy()[None], T, axis=0)
    values = run_layerwise(graph, [steps])
    return np.asarray(values[graph.outputs[0].name]).mean(axis=0), graph


def _assert_matches(model: nn.Module, x: torch.Tensor) -> Graph:
    want = _sj_forward(model, x)
    got, graph = _ir_forward(model, x)
    assert got.shape == want.shape
    if x.dtype == torch.float64:
        np.testing.assert_array_equal(got, want)
    else:
        scale = max(float(np.abs(want).max()), 1e-12)
        assert float(np.abs(got - want).max()) / scale <= 1e-6
    assert float(np.abs(want).max()) > 0, "the test model must produce output"
    return graph


@pytest.mark.parametrize("name", sorted(NEURONS))
def test_conv_model_matches_spikingjelly_2_in_float64(name: str) -> None:
    model = _build(ConvNet, name, 1, torch.float64)
    graph = _assert_matches(model, _x(torch.float64, 1))
    assert graph.op_counts()["lif"] == 2


@pytest.mark.parametrize("name", ["lif-hard", "plif-soft", "if-hard"])
def test_conv_model_matches_spikingjelly_2_in_float32(name: str) -> None:
    model = _build(ConvNet, name, 2, torch.float32)
    _assert_matches(model, _x(torch.float32, 2))


def test_every_neuron_spikes_exactly_like_spikingjelly_2() -> None:
    """Per neuron, not just the logits: hook each neuron's spikes on both sides."""
    from tests.frontend.equivalence import assert_equivalent, compare

    for name in ("lif-hard", "lif-soft", "plif-hard", "if-hard", "if-soft", "lif-nodecay"):
        model = _build(ConvNet, name, 3, torch.float64)
        comparison = compare(model, _x(torch.float64, 3), T)
        assert_equivalent(comparison, rtol=0.0)
        assert all(any(s.sum() > 0 for s in spikes) for spikes in comparison.ir_spikes.values())


@pytest.mark.parametrize("name", ["lif-hard", "plif-soft", "if-soft"])
def test_hand_written_attention_matches(name: str) -> None:
    model = _build(HandAttention, name, 4, torch.float64)
    _assert_matches(model, _x(torch.float64, 4))


def test_library_spiking_self_attention_matches() -> None:
    model = _build(LibraryAttention, None, 5, torch.float64)
    graph = _assert_matches(model, _x(torch.float64, 5))
    assert graph.op_counts()["lif"] >= 4


def test_check_verdicts() -> None:
    """A spike-driven conv net is spike-driven; the SSA with its float attention scale is too
    (products of spikes), while a max-pool over currents is not (SD203)."""
    x = _x(torch.float64, 6)
    steps = np.repeat(x.numpy()[None], T, axis=0)
    for kind, name in ((ConvNet, "lif-hard"), (LibraryAttention, None)):
        model = _build(kind, name, 6, torch.float64)
        report = check_graph(trace(model, x, time_steps=T), steps)
        codes = sorted({f.code for f in report.violations})
        # ConvNet pools spikes (fine); LibraryAttention's stem pools nothing: both spike-driven
        assert report.spike_driven, codes

    class PoolCurrents(ConvNet):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)
            y = self.n1(self.bn(self.conv(x)))  # the encoder; then a max-pool of currents:
            y = self.n2(self.pool(self.bn2(self.conv2(y))))
            return self.fc(self.flat(y)).mean(0)

    torch.manual_seed(6)
    bad = _randomize(PoolCurrents(NEURONS["lif-hard"]), 6).double().eval()
    report = check_graph(trace(bad, x, time_steps=T), steps)
    assert not report.spike_driven
    assert "SD203" in {f.code for f in report.violations}


@pytest.mark.parametrize("name", sorted(NEURONS))
def test_compile_and_simulate_on_the_chip(name: str) -> None:
    """Every neuron family compiles and runs on the simulated chip (soft resets subtract the
    threshold, IF has no leak); tests/targets/loihi/test_neuron_families.py checks the
    integers against the float forward."""
    model = _build(ConvNet, name, 7, torch.float32)
    x = _x(torch.float32, 7, batch=2)
    if name not in CHIP_NEURONS:
        with pytest.raises(SnnCompileError) as info:
            snncompile.compile(model, "sim", example_input=x, time_steps=T).program  # noqa: B018
        assert info.value.code in ("SD206", "QZ901"), info.value.render()
        return
    compiled = snncompile.compile(model, "sim", example_input=x, time_steps=T)
    out = compiled.run(x)
    assert out.logits.shape == (2, 5)
    floats = compiled.run(x, backend="float")
    assert np.isfinite(floats.logits).all()
    assert out.stats is not None


def test_neuron_without_chip_form_is_refused_by_name() -> None:
    model = ConvNet(lambda **kw: neuron.QIFNode(step_mode="m", **kw)).double().eval()
    with pytest.raises(UnsupportedOpError) as info:
        trace(model, _x(torch.float64), time_steps=T)
    assert info.value.code == "FE704"
    assert "QIFNode" in info.value.render() and "quadratic" in info.value.render()


def test_lif_subclass_with_other_dynamics_is_refused() -> None:
    """ILIFNode subclasses LIFNode but adds a trace: never mistaken for a LIF."""
    ilif = getattr(neuron, "ILIFNode", None)
    if ilif is None:
        pytest.skip("this spikingjelly has no ILIFNode")
    model = ConvNet(lambda **kw: ilif(step_mode="m", **kw)).double().eval()
    with pytest.raises(UnsupportedOpError) as info:
        trace(model, _x(torch.float64), time_steps=T)
    assert info.value.code == "FE704" and "ILIFNode" in info.value.render()


def test_single_step_neuron_is_refused_with_the_option() -> None:
    model = ConvNet(lambda **kw: neuron.LIFNode(step_mode="s", **kw)).double().eval()
    with pytest.raises(UnsupportedOpError) as info:
        trace(model, _x(torch.float64), time_steps=T)
    assert info.value.code == "FE705"
    assert "LIFNode" in info.value.render() and "step_mode='s'" in info.value.render()
    functional.set_step_mode(model, "m")  # the fix the diagnostic names
    _assert_matches(_randomize(model, 0), _x(torch.float64))
