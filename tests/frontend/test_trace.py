"""The torch frontend on hand-built models: op coverage, time/batch folding, errors, text form."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import snncompile.models as zoo
from snncompile.diagnostics import UnsupportedOpError
from snncompile.frontend.torch import trace, trace_with_info
from snncompile.ir.parser import parse_graph
from snncompile.ir.printer import print_graph
from snncompile.ir.verify import verify
from snncompile.models.neuron import MultiStepLIFNode
from tests.frontend.equivalence import assert_equivalent, compare, randomize

T = 4


def _x(*shape: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=gen, dtype=torch.float64) * 2


def _lif(**kwargs: float) -> nn.Module:
    return MultiStepLIFNode(tau=2.0, detach_reset=True, **kwargs)  # type: ignore[arg-type]


class ConvStack(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.lif = _lif()
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.gconv = nn.Conv2d(8, 8, 3, stride=2, padding=(1, 0), groups=4)
        self.avg = nn.AvgPool2d(2, 1)
        self.lif2 = _lif(v_threshold=0.5)
        self.adapt = nn.AdaptiveAvgPool2d((2, 1))
        self.head = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)
        t, b = x.shape[0], x.shape[1]
        y = self.bn(self.conv(x.flatten(0, 1)))
        s = self.lif(y.reshape(t, b, -1, y.shape[-2], y.shape[-1]))
        z = self.avg(self.gconv(self.pool(s.flatten(0, 1))) * 0.5 + 0.25)
        s2 = self.lif2(z.reshape(t, b, z.shape[1], z.shape[2], z.shape[3]))
        pooled = self.adapt(s2.flatten(0, 1) - 0.1)
        return self.head(pooled.flatten(1).reshape(t, b, -1).mean(0))


class TokenMixer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1d = nn.Conv1d(4, 16, 3, padding=1)
        self.bn1d = nn.BatchNorm1d(16)
        self.lif = _lif()
        self.fc = nn.Linear(4, 4)
        self.fc_bn = nn.BatchNorm1d(4)
        self.lif2 = _lif()
        self.register_buffer("gain", torch.linspace(0.5, 1.5, 4).reshape(1, 1, 1, 4))
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [T, B, 4, N]
        t, b = x.shape[0], x.shape[1]
        w = self.bn1d(self.conv1d(x.flatten(0, 1)))
        s = self.lif(w.reshape(t, b, 16, -1))  # [T, B, 16, N]
        q, k = s.chunk(2, dim=2)  # [T, B, 8, N]
        attn = q.transpose(-1, -2) @ k  # [T, B, N, N]
        mixed = (q @ attn) * 0.125 + q.mul(k)
        first, second = torch.split(mixed, [4, 4], dim=2)
        h = self.fc(first.permute(0, 1, 3, 2))  # [T, B, N, 4]
        h = self.fc_bn(h.flatten(0, 1).transpose(-1, -2)).transpose(-1, -2)
        h = h.reshape(t, b, -1, 4) * self.gain + second.transpose(2, 3)[:, :, :, 0:4]
        s2 = self.lif2(h - 0.5)
        feat = s2.sum(dim=2) / 3.0 - s2[..., 1:3, :].mean(2)
        return self.head(feat).mean(0)


def test_conv_pool_stack_matches_pytorch() -> None:
    torch.manual_seed(0)
    model = randomize(ConvStack().double(), 0)
    result = compare(model, _x(3, 2, 16, 16), T)
    assert_equivalent(result)
    counts = result.graph.op_counts()
    assert counts["conv2d"] == 2 and counts["maxpool2d"] == 1 and counts["avgpool2d"] == 1
    assert counts["adaptive_avgpool2d"] == 1 and counts["add_const"] == 2


def test_token_mixer_matches_pytorch_on_time_major_input() -> None:
    torch.manual_seed(1)
    model = randomize(TokenMixer().double(), 1)
    x = _x(T, 3, 4, 6)
    info = trace_with_info(model, x, time_steps=T, input_layout="TB")
    assert info.input_layout == "TB" and info.method == "symbolic" and info.output_averaged
    result = compare(model, x, T, input_layout="TB")
    assert_equivalent(result)
    counts = result.graph.op_counts()
    for op in ("matmul", "mul", "slice", "sum", "mean", "mul_const", "scale", "permute"):
        assert counts.get(op, 0) >= 1, op


def test_graph_has_no_time_or_batch_axes_and_verifies() -> None:
    graph = trace(ConvStack().double(), _x(2, 2, 16, 16), time_steps=T)
    verify(graph)
    assert graph.inputs[0].type.shape == (2, 16, 16)
    assert graph.outputs[0].type.shape == (5,)
    assert graph.inputs[0].type.dtype == "f64"
    for node in graph.nodes:
        assert node.loc is not None and node.loc.module and node.loc.line, node.describe()
    lif = next(n for n in graph.nodes if n.op == "lif")
    assert lif.loc is not None and lif.loc.module == "lif"
    assert lif.loc.line is not None and lif.loc.line.startswith("test_trace.py:")


class Bad(nn.Module):
    def __init__(self, op: str) -> None:
        super().__init__()
        self.op = op
        self.inner = nn.Sequential(nn.Conv2d(1, 2, 1), Wrapper(op))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)
        y = self.inner[0](x.flatten(0, 1))
        return self.inner[1](y.reshape(T, -1, *y.shape[1:])).mean(0)


class Wrapper(nn.Module):
    def __init__(self, op: str) -> None:
        super().__init__()
        self.op = op
        self.act = nn.ReLU()

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if self.op == "sort":
            return torch.sort(y, dim=-1).values
        if self.op == "softmax":
            return F.softmax(y, dim=-1)
        if self.op == "relu":
            return self.act(y)
        if self.op == "sum_time":
            return y.sum(0, keepdim=True).expand_as(y)
        if self.op == "flatten_tb_c":
            return y.flatten(1).reshape(y.shape)
        if self.op == "cumsum":
            return y.cumsum(0)
        if self.op == "index_time":
            return y[1:] + y[:-1]
        raise AssertionError(self.op)


@pytest.mark.parametrize(
    ("op", "named"),
    [
        ("sort", "torch.sort"),
        ("softmax", "softmax"),
        ("relu", "module ReLU"),
        ("cumsum", "Tensor.cumsum"),
    ],
)
def test_unsupported_op_raises_fe701_naming_op_module_and_line(op: str, named: str) -> None:
    with pytest.raises(UnsupportedOpError) as info:
        trace(Bad(op).double(), _x(2, 1, 4, 4), time_steps=T)
    err = info.value
    assert err.code == "FE701"
    assert named in err.message
    assert err.source is not None and err.source.startswith("inner.1")
    assert "test_trace.py:" in err.message


@pytest.mark.parametrize("op", ["sum_time", "flatten_tb_c", "index_time"])
def test_ops_that_mix_time_steps_are_errors(op: str) -> None:
    with pytest.raises(UnsupportedOpError) as info:
        trace(Bad(op).double(), _x(2, 1, 4, 4), time_steps=T)
    assert info.value.code == "FE702"
    assert "mixes time steps" in info.value.message
    assert info.value.source is not None and info.value.source.startswith("inner.1")


class NeuronOnFlat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lif = _lif()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif(x.unsqueeze(0).repeat(T, 1, 1).flatten(0, 1)).reshape(T, -1, 3).mean(0)


class NeuronAfterMean(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lif = _lif()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.unsqueeze(0).repeat(T, 1, 1).mean(0)
        return self.lif(m.unsqueeze(0)).mean(0)


@pytest.mark.parametrize("model", [NeuronOnFlat(), NeuronAfterMean()])
def test_neuron_on_wrong_layout_is_an_error(model: nn.Module) -> None:
    with pytest.raises(UnsupportedOpError, match=r"FE70[12]"):
        trace(model.double(), _x(2, 3), time_steps=T)


class ControlFlow(nn.Module):
    """Python control flow on traced values: symbolic tracing fails, concrete works."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.lif = _lif()
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        if x.dim() == 4:
            x = x.unsqueeze(0).repeat(T, 1, 1, 1, 1) * scale
        steps = x.shape[0]
        y = self.bn(self.conv(x.flatten(0, 1)))
        y = y.reshape(steps, -1, *y.shape[1:])
        s = self.lif(y)
        for _ in range(int(s.shape[-1]) // 4 - 1):
            s = s[..., :-1] if s.shape[-1] > 4 else s
        return self.head(s.flatten(3).mean(3)).mean(0)


def test_concrete_fallback_when_symbolic_tracing_fails() -> None:
    torch.manual_seed(2)
    model = randomize(ControlFlow().double(), 2)
    x = _x(3, 1, 8, 8)
    info = trace_with_info(model, x, time_steps=T)
    assert info.method == "concrete"
    assert info.symbolic_error is not None and "TraceError" in info.symbolic_error
    assert_equivalent(compare(model, x, T))


@pytest.mark.parametrize("name", ["spikformer_digits", "spikingresformer_digits"])
def test_traced_zoo_graph_prints_parses_and_prints_back(name: str) -> None:
    torch.manual_seed(0)
    model = randomize(zoo.create(name).double(), 0)
    graph = trace(model, _x(2, 1, 16, 16), time_steps=T)
    text = print_graph(graph)
    parsed = parse_graph(text)
    verify(parsed)
    assert print_graph(parsed) == text
    from snncompile.frontend.simulate import simulate

    x = _x(2, 1, 16, 16, seed=5)
    np.testing.assert_array_equal(
        simulate(parsed, x, time_steps=T), simulate(graph, x, time_steps=T)
    )


_FRESH_PROCESS = """
import multiprocessing, sys
import snncompile
assert "torch" not in sys.modules, "import snncompile imported torch"
import torch
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
graph = snncompile.trace(model, torch.rand(3, 2, 2), time_steps=1)
assert graph.op_counts() == {"reshape": 1, "linear": 1}, graph.op_counts()
# tracing must not fix the multiprocessing start method (Lava sets it later)
assert multiprocessing.get_start_method(allow_none=True) is None
"""


def test_fresh_process_import_is_lazy_and_tracing_leaves_multiprocessing_alone() -> None:
    result = subprocess.run([sys.executable, "-c", _FRESH_PROCESS], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_ambiguous_time_axis_asks_for_input_layout() -> None:
    from snncompile.diagnostics import ConfigError

    with pytest.raises(ConfigError, match="input_layout"):
        trace(ConvStack(), torch.rand(4, 4, 2, 8, 8), time_steps=4)


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lif = _lif()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(T, 1, 1)
        if x.sum() > 3:  # depends on the data: must not be baked into the graph
            x = x * 2.0
        return self.lif(x).mean(0)


def test_data_dependent_control_flow_is_refused() -> None:
    with pytest.raises(UnsupportedOpError, match="control flow"):
        trace(DataDependent().double(), _x(2, 3), time_steps=T)


def test_simulate_input_forms_and_errors() -> None:
    from snncompile.diagnostics import SnnCompileError
    from snncompile.frontend.simulate import simulate

    torch.manual_seed(0)
    model = randomize(ConvStack().double(), 0)
    graph = trace(model, _x(2, 2, 16, 16), time_steps=T)
    x = _x(3, 2, 16, 16, seed=1)
    static = simulate(graph, x, time_steps=T)
    time_major = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)
    np.testing.assert_array_equal(simulate(graph, time_major.numpy(), time_steps=T), static)
    batch_major = time_major.transpose(0, 1)
    np.testing.assert_array_equal(
        simulate(graph, batch_major, time_steps=T, input_layout="BT"), static
    )
    with pytest.raises(SnnCompileError, match="IR106"):
        simulate(graph, _x(3, 2, 8, 8), time_steps=T)
    with pytest.raises(SnnCompileError, match="IR106"):
        simulate(graph, time_major[:2], time_steps=T)
    with pytest.raises(SnnCompileError, match="CF201"):
        simulate(graph, x, time_steps=0)


class BadConfig(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.lif = _lif()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)
        y = self.pool(x.flatten(0, 1))
        return self.lif(y.reshape(T, -1, 1, 2, 2)).flatten(2).mean(0)


def test_unsupported_layer_configuration_is_named() -> None:
    with pytest.raises(UnsupportedOpError, match="ceil_mode") as info:
        trace(BadConfig().double(), _x(2, 1, 3, 3), time_steps=T)
    assert info.value.source == "pool"


class WithOptions(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lif = _lif()
        self.head = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        s = self.lif(x.unsqueeze(0).repeat(T, 1, 1))
        return s.mean(0) if return_features else self.head(s).mean(0)


def test_forward_options_with_defaults_are_traced_with_their_defaults() -> None:
    torch.manual_seed(0)
    model = WithOptions().double()
    x = _x(3, 3)
    info = trace_with_info(model, x, time_steps=T)
    assert info.method == "symbolic" and info.graph.op_counts() == {"lif": 1, "linear": 1}
    assert_equivalent(compare(model, x, T))


def test_recording_keeps_shapes_of_activations_and_values_of_constants() -> None:
    """The probe run keeps only shapes of what the input's data flows through (an
    ImageNet-size probe would otherwise hold every activation), and real values of the
    constants the translation reads (parameters, sub-expressions of them, shapes)."""
    import torch.fx as fx

    from snncompile.frontend.torch import _record

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            scale = self.fc.weight.abs().max()  # a constant computed from a parameter
            y = self.fc(x) * scale
            zeros = torch.zeros(y.shape)  # built from a shape: a constant too
            return y + zeros

    gm = fx.symbolic_trace(Model())
    values = _record(gm, torch.ones(2, 4))
    by_name = {n.name: v for n, v in values.items()}
    assert by_name["fc"].is_meta and by_name["fc"].shape == (2, 3)
    assert by_name["x"].is_meta and by_name["add"].is_meta
    assert not by_name["max_1"].is_meta and float(by_name["max_1"]) > 0
    assert not by_name["zeros"].is_meta
    assert tuple(by_name["getattr_1"]) == (2, 3)  # y.shape, a real torch.Size


class _Head(nn.Module):
    """A LIF layer and a classifier head applied after (``after_mean``) or before the mean."""

    def __init__(self, after_mean: bool) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 8)
        self.lif = _lif()
        self.head = nn.Linear(8, 3)
        self.after_mean = after_mean

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [T, B, 6]
        s = self.lif(self.fc(x))
        if self.after_mean:
            return self.head(s.mean(0))
        return self.head(s).mean(0)


@pytest.mark.parametrize("after_mean", [True, False])
def test_ops_after_the_mean_over_time_run_once_per_inference(after_mean: bool) -> None:
    graph = trace(_Head(after_mean).double(), _x(T, 2, 6), time_steps=T, input_layout="TB")
    assert graph.once_per_inference == ({"head"} if after_mean else set())
    text = print_graph(graph)
    assert ("once_per_inference %head" in text) == after_mean
    assert parse_graph(text).once_per_inference == graph.once_per_inference
    assert graph.copy().once_per_inference == graph.once_per_inference
