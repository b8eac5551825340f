"""Neuron recognizers, and models built with spikingjelly's own neurons."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from snncompile.diagnostics import UnsupportedOpError
from snncompile.frontend.neurons import RECOGNIZERS, is_neuron, recognize
from snncompile.frontend.torch import trace
from snncompile.ir.printer import print_graph
from snncompile.models import neuron as zoo_neuron
from tests.frontend.equivalence import assert_equivalent, compare, randomize

T = 4

import spikingjelly.activation_based.layer as sj_layer  # noqa: E402
import spikingjelly.activation_based.neuron as sj_act  # noqa: E402

try:  # spikingjelly 0.0.0.0.14 (the seed code's API); 2.0 removed clock_driven
    import spikingjelly.clock_driven.layer as sj_clock_layer
    import spikingjelly.clock_driven.neuron as sj_clock
except ImportError:
    sj_clock = sj_clock_layer = None

#: A test of spikingjelly's clock_driven API (0.0.0.0.14; ``make test`` runs it in .venv-sj014).
clock_driven = pytest.mark.skipif(
    sj_clock is None, reason="spikingjelly.clock_driven is absent (2.0); run in .venv-sj014"
)
LIBRARIES = [pytest.param("clock_driven", marks=clock_driven), "activation_based"]


def test_zoo_lif_attributes_are_read() -> None:
    info = recognize(zoo_neuron.MultiStepLIFNode(tau=1.5, v_threshold=0.5, detach_reset=True))
    assert info is not None and info.multi_step
    assert (info.attrs.tau, info.attrs.v_threshold, info.attrs.v_reset) == (1.5, 0.5, 0.0)
    assert info.attrs.decay_input and info.attrs.decay is None
    soft = recognize(zoo_neuron.LIFNode(v_reset=None, decay_input=False, step_mode="m"))
    assert soft is not None and soft.attrs.v_reset is None and not soft.attrs.decay_input
    single = recognize(zoo_neuron.LIFNode(step_mode="s"))
    assert single is not None and not single.multi_step


@pytest.mark.parametrize(
    "make",
    [
        lambda: zoo_neuron.MultiStepParametricLIFNode(init_tau=3.0),
        lambda: zoo_neuron.ParametricLIFNode(init_tau=3.0, step_mode="m"),
        pytest.param(lambda: sj_clock.MultiStepParametricLIFNode(init_tau=3.0), marks=clock_driven),
        lambda: sj_act.ParametricLIFNode(init_tau=3.0, step_mode="m"),
    ],
)
def test_parametric_lif_carries_sigmoid_w_exactly(make: Callable[[], nn.Module]) -> None:
    module = make()
    with torch.no_grad():
        module.w.fill_(0.3141)
    info = recognize(module)
    assert info is not None and info.multi_step
    assert info.attrs.decay == float(torch.sigmoid(torch.tensor(0.3141)))
    assert info.attrs.tau == pytest.approx(1.0 / info.attrs.decay)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: sj_clock.MultiStepLIFNode(tau=2.0, detach_reset=True), marks=clock_driven
        ),
        lambda: sj_act.LIFNode(tau=2.0, detach_reset=True, step_mode="m"),
    ],
)
def test_spikingjelly_lif_attributes(make: Callable[[], nn.Module]) -> None:
    info = recognize(make())
    assert info is not None and info.multi_step
    assert (info.attrs.tau, info.attrs.v_threshold, info.attrs.v_reset) == (2.0, 1.0, 0.0)


def test_non_neurons_are_not_recognised() -> None:
    assert recognize(nn.ReLU()) is None and not is_neuron(nn.Conv2d(1, 1, 1))
    assert all(len(key) == 2 for key in RECOGNIZERS)


class Net(nn.Module):
    """A small conv + attention-like model, parametrised by its neuron factory."""

    def __init__(self, neuron: Callable[..., nn.Module]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.lif = neuron()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, groups=2)
        self.bn2 = nn.BatchNorm2d(8)
        self.lif2 = neuron()
        self.attn_lif = neuron(v_threshold=0.5)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)
        t, b = x.shape[0], x.shape[1]
        y = self.bn(self.conv(x.flatten(0, 1)))
        s = self.lif(y.reshape(t, b, 8, y.shape[-2], y.shape[-1]))
        y = self.bn2(self.conv2(s.flatten(0, 1))).reshape(t, b, 8, -1)
        s2 = self.lif2(y)  # [T, B, 8, N]
        kv = self.attn_lif((s2 * s.flatten(3)).sum(-1, keepdim=True) * 0.25)
        out = s2.mul(kv).flatten(3).mean(3)
        return self.head(out).mean(0)


NEURONS: dict[str, Callable[..., nn.Module]] = {
    "zoo": lambda **kw: zoo_neuron.MultiStepLIFNode(tau=2.0, detach_reset=True, **kw),
    "clock_driven": lambda **kw: sj_clock.MultiStepLIFNode(tau=2.0, detach_reset=True, **kw),
    "activation_based": lambda **kw: sj_act.LIFNode(
        tau=2.0, detach_reset=True, step_mode="m", **kw
    ),
}

PLIF: dict[str, Callable[..., nn.Module]] = {
    "zoo": lambda **kw: zoo_neuron.MultiStepParametricLIFNode(init_tau=2.0, **kw),
    "clock_driven": lambda **kw: sj_clock.MultiStepParametricLIFNode(init_tau=2.0, **kw),
    "activation_based": lambda **kw: sj_act.ParametricLIFNode(init_tau=2.0, step_mode="m", **kw),
}


def _model(neuron: Callable[..., nn.Module], seed: int, w: float | None = None) -> nn.Module:
    torch.manual_seed(seed)
    model = randomize(Net(neuron).double(), seed)
    if w is not None:
        with torch.no_grad():
            for i, module in enumerate(m for m in model.modules() if hasattr(m, "w")):
                module.w.fill_(w + 0.1 * i)
    return model.eval()


def _x(seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand((3, 1, 8, 8), generator=gen, dtype=torch.float64) * 2


@pytest.mark.parametrize("library", LIBRARIES)
def test_spikingjelly_model_traces_to_the_same_ir_as_the_zoo_neuron(library: str) -> None:
    ours = trace(_model(NEURONS["zoo"], 0), _x(), time_steps=T, name="net")
    theirs = trace(_model(NEURONS[library], 0), _x(), time_steps=T, name="net")
    assert print_graph(theirs) == print_graph(ours)


@pytest.mark.parametrize("library", LIBRARIES)
def test_spikingjelly_parametric_model_traces_to_the_same_ir(library: str) -> None:
    ours = trace(_model(PLIF["zoo"], 0, w=0.7), _x(), time_steps=T, name="net")
    theirs = trace(_model(PLIF[library], 0, w=0.7), _x(), time_steps=T, name="net")
    assert print_graph(theirs) == print_graph(ours)


@pytest.mark.parametrize("library", ["zoo", *LIBRARIES])
def test_spikingjelly_models_match_pytorch_spike_for_spike(library: str) -> None:
    assert_equivalent(compare(_model(NEURONS[library], 1), _x(1), T))
    # learned decays that are not powers of two: exact because `decay` is sigmoid(w) itself
    assert_equivalent(compare(_model(PLIF[library], 2, w=0.37), _x(2), T))


def test_single_step_neuron_is_unsupported() -> None:
    model = _model(lambda **kw: zoo_neuron.LIFNode(step_mode="s", **kw), 0)
    with pytest.raises(UnsupportedOpError, match="single-step"):
        trace(model, _x(), time_steps=T)


class SpikingjellyLayers(nn.Module):
    """A model written with spikingjelly's multi-step layers and containers (their forwards
    branch on shapes, so tracing goes through the concrete fallback)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = sj_layer.Conv2d(1, 4, 3, padding=1, step_mode="m")
        self.bn = sj_layer.BatchNorm2d(4, step_mode="m")
        self.lif = sj_act.LIFNode(step_mode="m")
        self.pool = sj_layer.MaxPool2d(2, step_mode="m")
        # the clock_driven container and neuron where spikingjelly still has them (0.0.0.0.14)
        self.seq = (sj_clock_layer or sj_layer).SeqToANNContainer(
            nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)
        )
        self.lif2 = (
            sj_clock.MultiStepLIFNode(tau=2.0)
            if sj_clock is not None
            else sj_act.LIFNode(tau=2.0, step_mode="m")
        )
        self.flat = sj_layer.Flatten(step_mode="m")
        self.fc = sj_layer.Linear(64, 3, step_mode="m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)
        y = self.pool(self.lif(self.bn(self.conv(x))))
        return self.fc(self.flat(self.lif2(self.seq(y)))).mean(0)


def test_spikingjelly_layer_containers_trace_and_match() -> None:
    from snncompile.frontend.torch import trace_with_info

    torch.manual_seed(0)
    model = randomize(SpikingjellyLayers().double(), 0).eval()
    info = trace_with_info(model, _x(), time_steps=T)
    assert info.method == "concrete"
    assert info.graph.op_counts()["lif"] == 2
    assert_equivalent(compare(model, _x(), T))


def _with_spikingjelly_neurons(model: nn.Module, api: str) -> nn.Module:
    """``model`` with every zoo neuron replaced by spikingjelly's class of the same settings."""
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if not isinstance(child, zoo_neuron.BaseNode):
                continue
            settings = {
                "v_threshold": child.v_threshold,
                "v_reset": child.v_reset,
                "decay_input": child.decay_input,
                "detach_reset": child.detach_reset,
            }
            if isinstance(child, zoo_neuron._ParametricLIFBase):
                new = (
                    sj_clock.MultiStepParametricLIFNode(**settings)
                    if api == "clock_driven"
                    else sj_act.ParametricLIFNode(step_mode="m", **settings)
                )
                with torch.no_grad():
                    new.w.copy_(child.w)
            elif api == "clock_driven":
                new = sj_clock.MultiStepLIFNode(tau=child.tau, **settings)
            else:
                new = sj_act.LIFNode(tau=child.tau, step_mode="m", **settings)
            setattr(parent, child_name, new)
    return model


@pytest.mark.parametrize("api", LIBRARIES)
@pytest.mark.parametrize(
    "name", ["spikformer_digits", "spikingformer_digits", "sdt_digits", "spikingresformer_digits"]
)
def test_zoo_families_with_spikingjelly_neurons_trace_to_the_same_ir(name: str, api: str) -> None:
    from snncompile.models import create

    def build() -> nn.Module:
        torch.manual_seed(7)
        return randomize(create(name).double(), 7).eval()

    x = torch.rand((2, 1, 16, 16), generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    ours = trace(build(), x, time_steps=T, name="net")
    theirs_model = _with_spikingjelly_neurons(build(), api)
    assert not any(isinstance(m, zoo_neuron.BaseNode) for m in theirs_model.modules())
    theirs = trace(theirs_model, x, time_steps=T, name="net")
    assert print_graph(theirs) == print_graph(ours)
    assert_equivalent(compare(theirs_model, x, T))
