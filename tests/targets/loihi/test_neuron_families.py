"""Every supported neuron family reaches the chip, or ``check`` refuses it (issue 23, item 1).

Per family: ``check`` is green => ``compile(..., "loihi")`` => ``run`` on the simulator ==
the traced float forward (== the library's own forward, tests/frontend) where the arithmetic
is exact => Lava's fused form == the simulator spike for spike; Lava's stock form refuses the
resets its LIF cannot run (LV530). Families the chip cannot run get their coded finding from
``check`` and the same code from the compile.

Exactness: weights are multiples of 1/4 (integers for IF; their chip mantissas are exact),
inputs binary, decays 0.5 (``trunc(v/2)`` is exact at the chosen scales), so the integer chip
computes the float neuron bit for bit. spikingjelly fires at ``H >= θ`` and the chip at
``v > θ``: its threshold is ``1 + 2^-17``, below the chip's resolution, so both fire exactly
where ``H > 1``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

import snncompile
from snncompile.config import CompileConfig
from snncompile.diagnostics import SnnCompileError
from snncompile.frontend.simulate import time_major_inputs
from snncompile.passes.chip_neurons import chip_neuron
from snncompile.report.compliance import check_graph

T = 6
THETA_SJ = 1.0 + 2.0**-17


def _dyadic(layer: nn.Linear, seed: int, step: float) -> nn.Linear:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        low, high = (-3, 5) if step < 1 else (-2, 2)  # integers -2..1: |min| bounds the exponent
        layer.weight.copy_(torch.randint(low, high, layer.weight.shape, generator=g) * step)
        layer.bias.zero_()
    return layer


def _linear(n_in: int, n_out: int, multi_step: bool) -> nn.Linear:
    if not multi_step:
        return nn.Linear(n_in, n_out)
    layer = pytest.importorskip("spikingjelly.activation_based.layer")
    return layer.Linear(n_in, n_out, step_mode="m")  # type: ignore[no-any-return]


class _MultiStep(nn.Module):
    """spikingjelly's form: a static ``[B, 12]`` input repeated over T, mean of the spikes."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.unsqueeze(0).repeat(T, 1, 1)).mean(0)  # type: ignore[no-any-return]


def _net(neuron: Callable[[bool], nn.Module], step: float = 0.25) -> nn.Module:
    """Linear -> neuron -> Linear -> neuron (snntorch: a step model; spikingjelly: multi-step
    layers over the repeated input)."""
    multi = "spikingjelly" in type(neuron(False)).__module__
    net: nn.Module = nn.Sequential(
        _dyadic(_linear(12, 16, multi), 1, step),
        neuron(False),
        _dyadic(_linear(16, 6, multi), 2, step),
        neuron(True),
    )
    if multi:
        net = _MultiStep(net)
    return net.double().eval()


def _leaky(**kw: object) -> Callable[[bool], nn.Module]:
    snn = pytest.importorskip("snntorch")
    return lambda last: snn.Leaky(beta=0.5, init_hidden=True, output=last, **kw)


def _sj(kind: str, **kw: object) -> Callable[[bool], nn.Module]:
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    cls = neuron.IFNode if kind == "if" else neuron.LIFNode
    return lambda last: cls(step_mode="m", v_threshold=THETA_SJ, **kw)


def _inputs(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(3, 12, generator=g) < 0.5).double()


#: family -> (neurons, chip reset, float forward == simulator exactly)
FAMILIES = {
    "snntorch-zero": (lambda: _leaky(reset_mechanism="zero"), "zero", True),
    "snntorch-subtract": (lambda: _leaky(reset_mechanism="subtract"), "subtract-next", True),
    "snntorch-none": (lambda: _leaky(reset_mechanism="none"), "none", True),
    "sj-lif-hard": (lambda: _sj("lif", tau=2.0, v_reset=0.0), "zero", True),
    "sj-lif-soft": (lambda: _sj("lif", tau=2.0, v_reset=None), "subtract", False),
    "sj-lif-no-decay-input": (
        lambda: _sj("lif", tau=2.0, v_reset=0.0, decay_input=False),
        "zero",
        True,
    ),
    "sj-if": (lambda: _sj("if", v_reset=0.0), "zero", True),
}


def _compiled(
    neuron: Callable[[bool], nn.Module], step: float = 0.25
) -> tuple[snncompile.api.Compiled, np.ndarray]:
    x = _inputs()
    compiled = snncompile.compile(_net(neuron, step), "loihi", example_input=x, time_steps=T)
    return compiled, compiled.inputs(x)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_check_green_compiles_and_the_simulator_computes_the_float_neuron(family: str) -> None:
    make, reset, exact = FAMILIES[family]
    # an IF neuron (no leak) is bounded over D steps: a unit of 1, weights -2..1
    compiled, x = _compiled(make(), 1.0 if family == "sj-if" else 0.25)
    report = check_graph(compiled.graph, x, config=compiled.config)
    assert report.spike_driven, [f.to_dict() for f in report.violations]
    lifs = [n for n in compiled.program.graph("pipelined").nodes if n.op == "population"]
    assert lifs and {n.attrs.reset for n in lifs} == {reset}
    sim = compiled.run(x, backend="sim")
    ref = compiled.run(x, backend="float")
    assert sim.logits.shape == ref.logits.shape == (3, 6)
    if exact:
        np.testing.assert_array_equal(sim.logits, ref.logits)
    else:  # H == θ fires in spikingjelly, not on the chip: agreement, not identity
        assert np.mean(np.abs(sim.logits - ref.logits)) <= 0.2


def test_float32_model_runs_through_the_api() -> None:
    """The step model of docs/frontend.md in float32 (was: Float vs Double in run/compile)."""
    snn = pytest.importorskip("snntorch")
    net = nn.Sequential(
        nn.Linear(12, 10),
        snn.Leaky(beta=0.9, init_hidden=True),
        nn.Linear(10, 4),
        snn.Leaky(beta=0.9, init_hidden=True, output=True),
    ).eval()
    x = torch.rand(2, 12)
    compiled = snncompile.compile(net, "loihi", example_input=x, time_steps=T)
    for backend in ("float", "sim"):
        out = compiled.run(x, backend=backend)
        assert out.outputs.shape[-1] == 4


@pytest.mark.parametrize(
    ("family", "code"),
    [
        ("snntorch-no-delay", "SD205"),
        ("snntorch-beta-map", "SD205"),
        ("sj-reset-half", "SD206"),
        ("sj-mixed-tau", "QZ901"),
    ],
)
def test_check_reports_what_the_chip_cannot_run(family: str, code: str) -> None:
    """The finding ``check`` reports is the error the compile raises (green check => compiles)."""
    if family == "snntorch-no-delay":
        net = _net(_leaky(reset_mechanism="subtract", reset_delay=False))
    elif family == "snntorch-beta-map":
        snn = pytest.importorskip("snntorch")
        net = _net(
            lambda last: snn.Leaky(
                beta=torch.linspace(0.2, 0.8, 16 if not last else 6), init_hidden=True, output=last
            )
        )
    elif family == "sj-reset-half":
        net = _net(_sj("lif", tau=2.0, v_reset=-0.5))
    else:
        neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
        net = _net(lambda last: neuron.LIFNode(step_mode="m", tau=4.0 if last else 2.0))
    _assert_check_refuses(net, code)


def _assert_check_refuses(net: nn.Module, code: str) -> None:
    net, x = net.float(), _inputs().float()  # snntorch's spikes are float32 (as the driver traces)
    graph = snncompile.trace(net, x, time_steps=T)
    config = CompileConfig(time_steps=T)
    report = check_graph(graph, time_major_inputs(graph, x.numpy(), T), config=config)
    assert not report.spike_driven
    assert code in {f.code for f in report.violations}
    with pytest.raises(SnnCompileError) as caught:
        snncompile.compile(net, "loihi", example_input=x, time_steps=T)
    assert caught.value.code == code


def test_check_reports_the_quantizer_refusals_too() -> None:
    """A refusal of quantize-fixed-point (here: an integrator whose worst case overflows the
    chip's 24-bit voltage, QZ903) is a check finding, not a surprise at compile time."""
    snn = pytest.importorskip("snntorch")
    net = _net(lambda last: snn.Leaky(beta=1.0, init_hidden=True, output=last))
    with torch.no_grad():
        for layer in (net[0], net[2]):
            layer.weight.mul_(64.0)
    _assert_check_refuses(net, "QZ903")


def test_snntorch_fix_text_speaks_snntorch() -> None:
    from snncompile.diagnostics import CODES

    assert "reset_delay" in CODES["SD205"].fix and "beta" in CODES["SD205"].fix
    assert "v_reset" in CODES["SD206"].fix


def test_chip_without_subtract_refuses_snntorch_subtract() -> None:
    """A chip model that declares only the zero reset: the mapping refuses the subtract."""
    import dataclasses

    from snncompile.chip import get_chip

    zero_only = dataclasses.replace(get_chip("loihi2"), resets=frozenset({"zero"}))
    x = _inputs()
    compiled = snncompile.compile(_net(_leaky()), "sim", example_input=x, time_steps=T)
    lif = next(n for n in compiled.graph.nodes if n.op == "lif")
    found = chip_neuron(lif, zero_only)
    assert getattr(found, "code", None) == "SD205"
    assert chip_neuron(lif, get_chip("loihi2")).reset == "subtract-next"  # type: ignore[union-attr]


lava_only = pytest.mark.lava


@lava_only
@pytest.mark.timeout(300)
@pytest.mark.parametrize("family", ["snntorch-subtract", "snntorch-zero", "sj-lif-soft", "sj-if"])
def test_lava_fused_equals_the_simulator(family: str) -> None:
    pytest.importorskip("lava.magma", reason="needs the loihi extra")
    make, reset, _ = FAMILIES[family]
    compiled, x = _compiled(make())
    x = x[:, :1]
    sim = compiled.run(x, backend="sim", record=True)
    lava = compiled.run(x, backend="lava", form="fused", record=True)
    assert lava.spikes and set(lava.spikes) <= set(sim.spikes)
    for name, spikes in lava.spikes.items():
        np.testing.assert_array_equal(spikes, sim.spikes[name], err_msg=name)
    np.testing.assert_array_equal(lava.outputs, sim.outputs)
    if reset != "zero":
        with pytest.raises(SnnCompileError) as caught:
            compiled.run(x, backend="lava", form="stock")
        assert caught.value.code == "LV530"


def test_config_default_chip_runs_every_reset() -> None:
    assert CompileConfig().chip == "loihi2"
