"""Fuzzing the frontend: random small spiking models either trace and match PyTorch exactly,
or fail with UnsupportedOpError. Never a crash, never a silent mismatch."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from snncompile.diagnostics import UnsupportedOpError
from snncompile.models.neuron import MultiStepLIFNode
from tests.frontend.equivalence import assert_equivalent, compare, randomize

UNSUPPORTED = ("softmax", "sigmoid", "relu", "time_sum")


@dataclass(frozen=True)
class Layer:
    kind: str
    channels: int = 0
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    value: float = 0.0


class FuzzNet(nn.Module):
    """Layers applied as the seed models do: stateless ones on [T·B, ...], neurons on
    [T, B, ...]."""

    def __init__(self, layers: list[Layer], in_channels: int, steps: int, classes: int) -> None:
        super().__init__()
        self.kinds = [layer.kind for layer in layers]
        self.values = [layer.value for layer in layers]
        self.steps = steps
        modules: list[nn.Module] = []
        c = in_channels
        for layer in layers:
            if layer.kind in ("conv", "res"):
                out = c if layer.kind == "res" else layer.channels
                conv = nn.Conv2d(
                    c,
                    out,
                    layer.kernel,
                    layer.stride,
                    layer.padding,
                    groups=layer.groups,
                    bias=layer.value > 0,
                )
                modules.append(nn.Sequential(conv, nn.BatchNorm2d(out)))
                c = out
            elif layer.kind == "bn":
                modules.append(nn.BatchNorm2d(c))
            elif layer.kind == "lif":
                modules.append(
                    MultiStepLIFNode(tau=1.0 + layer.value, v_threshold=0.5 + layer.value / 2)
                )
            elif layer.kind == "maxpool":
                modules.append(nn.MaxPool2d(layer.kernel, layer.stride, layer.padding))
            elif layer.kind == "avgpool":
                modules.append(nn.AvgPool2d(layer.kernel, layer.stride, layer.padding))
            elif layer.kind == "relu":
                modules.append(nn.ReLU())
            else:
                modules.append(nn.Identity())
        self.layers = nn.ModuleList(modules)
        self.head = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.unsqueeze(0).repeat(self.steps, 1, 1, 1, 1)
        t, b = h.shape[0], h.shape[1]
        for kind, value, module in zip(self.kinds, self.values, self.layers, strict=True):
            if kind == "lif":
                h = module(h)
            elif kind == "scale":
                h = h * value
            elif kind == "softmax":
                h = h.softmax(-1)
            elif kind == "sigmoid":
                h = torch.sigmoid(h)
            elif kind == "time_sum":
                h = h.sum(0, keepdim=True).repeat(t, 1, 1, 1, 1)
            else:
                y = module(h.flatten(0, 1))
                y = y.reshape(t, b, y.shape[1], y.shape[2], y.shape[3])
                h = h + y if kind == "res" else y
        return self.head(h.flatten(3).mean(3)).mean(0)


@st.composite
def models(draw: st.DrawFn) -> tuple[list[Layer], int, int, int]:
    channels = draw(st.integers(1, 3))
    size = draw(st.integers(4, 9))
    steps = draw(st.integers(1, 4))
    layers: list[Layer] = []
    c, h = channels, size
    for _ in range(draw(st.integers(1, 7))):
        kind = draw(
            st.sampled_from(
                [
                    "conv",
                    "conv",
                    "res",
                    "bn",
                    "lif",
                    "lif",
                    "maxpool",
                    "avgpool",
                    "scale",
                    *UNSUPPORTED,
                ]
            )
        )
        if kind in ("conv", "res"):
            kernel = draw(st.sampled_from([1, 3]))
            padding = draw(st.integers(0, kernel // 2)) if kind == "conv" else kernel // 2
            stride = draw(st.integers(1, 2)) if kind == "conv" else 1
            out_h = (h + 2 * padding - kernel) // stride + 1
            if out_h < 1:
                continue
            out = draw(st.sampled_from([2, 4])) if kind == "conv" else c
            groups = draw(st.sampled_from([g for g in (1, 2) if c % g == 0 and out % g == 0]))
            layers.append(Layer(kind, out, kernel, stride, padding, groups, draw(st.floats(-1, 1))))
            c, h = out, out_h
        elif kind in ("maxpool", "avgpool"):
            kernel = draw(st.integers(1, 3))
            stride = draw(st.integers(1, 2))
            padding = draw(st.integers(0, kernel // 2))
            out_h = (h + 2 * padding - kernel) // stride + 1
            if out_h < 1:
                continue
            layers.append(Layer(kind, kernel=kernel, stride=stride, padding=padding))
            h = out_h
        elif kind == "lif":
            layers.append(Layer(kind, value=draw(st.sampled_from([0.5, 1.0, 2.0]))))
        elif kind == "scale":
            layers.append(Layer(kind, value=draw(st.floats(-2, 2, allow_nan=False))))
        else:
            layers.append(Layer(kind))
    return layers, channels, size, steps


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=models(), seed=st.integers(0, 2**16))
def test_random_models_trace_and_match_or_are_unsupported(
    spec: tuple[list[Layer], int, int, int], seed: int
) -> None:
    layers, channels, size, steps = spec
    torch.manual_seed(seed)
    model = randomize(FuzzNet(layers, channels, steps, 3).double(), seed)
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((2, channels, size, size), generator=gen, dtype=torch.float64) * 3
    bad = [layer.kind for layer in layers if layer.kind in UNSUPPORTED]
    try:
        result = compare(model, x, steps)
    except UnsupportedOpError as err:
        assert bad, f"a supported model was refused: {err}"
        assert err.code in ("FE701", "FE702") and "test_fuzz.py:" in err.message
        return
    assert not bad, f"unsupported ops {bad} were traced"
    assert_equivalent(result)


TOKEN_UNSUPPORTED = ("softmax", "cumsum_time", "max")


class TokenNet(nn.Module):
    """Token-stream layers on [T, B, C, N] as the attention blocks write them."""

    def __init__(self, kinds: list[str], channels: int, steps: int) -> None:
        super().__init__()
        self.kinds = kinds
        self.steps = steps
        self.layers = nn.ModuleList(
            nn.Linear(channels, channels)
            if kind == "linear"
            else nn.BatchNorm1d(channels)
            if kind == "bn1d"
            else MultiStepLIFNode(tau=2.0, v_threshold=0.5 if i % 2 else 1.0)
            if kind == "lif"
            else nn.Identity()
            for i, kind in enumerate(kinds)
        )
        self.head = nn.Linear(channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [B, C, N]
        h = x.unsqueeze(0).repeat(self.steps, 1, 1, 1)
        t, b, c, n = h.shape[0], h.shape[1], h.shape[2], h.shape[3]
        for kind, module in zip(self.kinds, self.layers, strict=True):
            if kind == "linear":
                h = module(h.transpose(-1, -2)).transpose(-1, -2)
            elif kind == "bn1d":
                h = module(h.flatten(0, 1)).reshape(t, b, c, n)
            elif kind == "lif":
                h = module(h)
            elif kind == "attn":
                q, k = h.chunk(2, dim=2)
                h = (h @ (q.transpose(-2, -1) @ k)) * 0.125
            elif kind == "hadamard":
                h = h * h[:, :, :, 0:1]
            elif kind == "sum_tokens":
                h = h - h.sum(-1, keepdim=True) * 0.1
            elif kind == "permute":
                h = h.permute(0, 1, 3, 2).reshape(t, b, c, n)
            elif kind == "softmax":
                h = torch.softmax(h, dim=-1)
            elif kind == "cumsum_time":
                h = torch.cumsum(h, 0)
            elif kind == "max":
                h = h.max(-1, keepdim=True).values + h
        return self.head(h.mean(3)).mean(0)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(
        st.sampled_from(
            [
                *("linear", "bn1d", "lif", "lif", "attn", "hadamard", "sum_tokens", "permute"),
                *TOKEN_UNSUPPORTED,
            ]
        ),
        min_size=1,
        max_size=8,
    ),
    half_channels=st.integers(1, 3),
    tokens=st.integers(1, 5),
    steps=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_random_token_models_trace_and_match_or_are_unsupported(
    kinds: list[str], half_channels: int, tokens: int, steps: int, seed: int
) -> None:
    torch.manual_seed(seed)
    model = randomize(TokenNet(kinds, 2 * half_channels, steps).double(), seed)
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((3, 2 * half_channels, tokens), generator=gen, dtype=torch.float64) * 3
    bad = [kind for kind in kinds if kind in TOKEN_UNSUPPORTED]
    try:
        result = compare(model, x, steps, input_layout="static")
    except UnsupportedOpError as err:
        assert bad, f"a supported model was refused: {err}"
        assert err.code in ("FE701", "FE702") and "test_fuzz.py:" in err.message
        return
    assert not bad, f"unsupported ops {bad} were traced"
    assert_equivalent(result)
