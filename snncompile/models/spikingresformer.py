r"""SpikingResformer (Shi, Hao, Yu; CVPR 2024), as xyshi2000's code builds it.

Source: ``xyshi2000/SpikingResformer`` at 3f75127 (``models/spikingresformer.py``,
``models/submodules/layers.py``, ``main.py``, ``configs/*``). Module paths, parameter and buffer
names equal the official ``state_dict`` keys, so official checkpoints (``ckpt['model']``) load
with ``strict=True``.

Layout: ``[T, B, C, H, W]``; convs, BN and pools are multi-step (spikingjelly
``step_mode='m'``: run on ``x.flatten(0, 1)`` and reshaped back). Neurons are spikingjelly
0.0.0.0.14 ``LIFNode(tau=2, decay_input=True, v_threshold=1, v_reset=0, ATan(2),
detach_reset=True, step_mode='m')`` (:class:`LIF`); ``spikingresformer_dvsg`` uses
``ParametricLIFNode(init_tau=2)`` (:class:`PLIF`). No conv or linear layer has a bias.

**Stem** (``prologue``, no neuron: a float "host encoder"): ImageNet
``Conv7x7/2 -> BN -> MaxPool(3, 2, 1)`` (/4); CIFAR, DVS and digits ``Conv3x3/1 -> BN``.

**Stages** ``s = 0, 1, 2`` (widths ``C_s``, heads ``h_s``, DSSA patch ``p_s`` = 4, 2, 1): stage
``s > 0`` starts with ``DownsampleLayer`` ``BN(Conv3x3/2(SN(U)))``, then ``s + 1`` pairs of
``DSSA`` and ``GWFFN`` blocks, each with a membrane (MS) residual on the float stream ``U``.

**DSSA** (dual spike self-attention), per head, with ``X = SN(U)`` (``[C/h, HW]`` spikes) and
``f(X) = BN(Conv_{p×p, stride p}(X))`` giving ``Y = f(X) = [Y_1; Y_2]`` (``[2C/h, N']``, the
two halves interleaved per head: head ``i`` owns rows ``2iC/h .. 2(i+1)C/h`` of ``Y``):

.. math::

    A &= \mathrm{SN}\big(c_1\, Y_1^{\top} X\big), \qquad
        c_1 = 1 / \sqrt{r_x \cdot C/h} \qquad (A: [N', HW]) \\
    O &= \mathrm{SN}\big(c_2\, Y_2 A\big), \qquad c_2 = 1 / \sqrt{r_A \cdot N'} \\
    \mathrm{DSSA}(U) &= \mathrm{BN}(\mathrm{Conv}_{1\times1}([O_1; \dots; O_h])) + U

``r_x`` and ``r_A`` are the per-head firing rates of ``X`` and ``A``: the buffers
``firing_rate_x`` and ``firing_rate_attn`` (``[1, 1, h, 1, 1]``), exponential moving averages
(momentum 0.999, set from the first training batch) updated only in training mode; at inference
they are checkpoint constants, so ``c_1`` and ``c_2`` fold into the following neuron's
threshold. ``N'`` is ``lenth = (stage input size // p)^2`` computed in ``__init__`` from
``img_size`` (build the model with the resolution it will see). A fresh model has zero buffers:
in eval mode ``c_1 = c_2 = inf`` until one training step (or a checkpoint) sets them.
``Y_1^T X`` is real × spike and ``Y_2 A`` real × spike (gated accumulation).

**GWFFN** (group-wise spiking feed-forward, ratio 4):

.. math::

    F &= \mathrm{BN}(\mathrm{Conv}_{1\times1}(\mathrm{SN}(U))) \qquad (C \to 4C) \\
    G &= \mathrm{BN}(\mathrm{GConv}_{3\times3}(\mathrm{SN}(F))) + F
        \qquad (\text{groups} = 4C / \text{group\_size}) \\
    \mathrm{GWFFN}(U) &= \mathrm{BN}(\mathrm{Conv}_{1\times1}(\mathrm{SN}(G))) + U

**Head**: ``AdaptiveAvgPool2d(1)`` on the float stream, flatten, ``classifier`` Linear (no bias)
per time step, then the mean over T (``main.py`` does ``model(x).mean(0)``).

Differences from the official code (none changes a computed value or a state_dict key):

- The official ``forward`` returns ``[T, B, classes]`` and ``main.py`` averages over T; this
  ``forward`` returns the mean ``[B, classes]`` unless ``per_step_output=True``.
- The official ``forward`` dispatches on the input rank (4-D static image repeated T times,
  5-D ``[B, T, C, H, W]`` event frames transposed); here the constructor flag ``event_input``
  chooses, so that ``torch.fx`` can trace the model. Likewise the ``BN`` wrapper's rank check
  (a ``ValueError`` for non-5-D input) and the defensive ``.clone()`` calls are omitted.
- The stem is chosen by ``stem='imagenet' | 'cifar'`` instead of passing a ``prologue`` module,
  and the neuron by ``spike_mode='lif' | 'plif'`` instead of an ``activation`` class.
  The official ``spikingresformer_cifar``/``_dvsg`` stems hard-code 3 input channels; here
  ``in_channels`` applies to both stems (1 for digits).
- ``IF`` (defined, unused officially) is not provided.

Paper versus code:

- The paper writes ``AttnMap(X) = SN(DST_T(X, X; f) c1)`` with fixed scaling factors; the code
  takes ``c1``, ``c2`` from the firing-rate buffers (above) and stores the map as ``[N', HW]``
  (keys × queries), the transpose of the paper's ``X f(X)^T``.
- Parameter counts: the paper's numbers are conv + linear weights only (BN excluded):
  11.14M (Ti) and 35.52M (M) against the code's 11,141,312 and 35,523,776; with BN the code has
  11,180,992 and 35,601,472 (``extra['paper_excludes']``).
- The L model's best result (79.40%) is at 288x288: ``lenth`` then changes (196 -> 324), so it
  must be built with ``img_size=288``; the zoo entry is the 224 model.
- CIFAR10-DVS uses the CIFAR model (``spikingresformer_cifar``, "Ti*") at 64x64 with T=16, and
  the DVS loaders give 3 channels (the two polarities and their sum).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from snncompile.models.neuron import ATan, LIFNode, ParametricLIFNode
from snncompile.models.registry import ModelSpec

__all__ = [
    "BN",
    "DSSA",
    "GWFFN",
    "LIF",
    "MODELS",
    "PLIF",
    "Conv1x1",
    "Conv3x3",
    "DownsampleLayer",
    "SpikingMatmul",
    "SpikingResformer",
]


# --- layers (models/submodules/layers.py) -----------------------------------------------------


class LIF(LIFNode):
    """SpikingResformer's LIF: tau 2, decay_input, threshold 1, hard reset to 0, ATan(2)."""

    def __init__(self) -> None:
        super().__init__(
            tau=2.0,
            decay_input=True,
            v_threshold=1.0,
            v_reset=0.0,
            surrogate_function=ATan(),
            detach_reset=True,
            step_mode="m",
        )


class PLIF(ParametricLIFNode):
    """SpikingResformer's parametric LIF (``init_tau=2``, learnable ``w``), else as :class:`LIF`."""

    def __init__(self) -> None:
        super().__init__(
            init_tau=2.0,
            decay_input=True,
            v_threshold=1.0,
            v_reset=0.0,
            surrogate_function=ATan(),
            detach_reset=True,
            step_mode="m",
        )


NEURONS: dict[str, type[nn.Module]] = {"lif": LIF, "plif": PLIF}


def _unfold_time(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``[T·B, C, H, W]`` -> ``[T, B, C, H, W]`` with T, B taken from ``x``."""
    return y.reshape(x.shape[0], x.shape[1], y.shape[1], y.shape[2], y.shape[3])


class SeqConv2d(nn.Conv2d):
    """spikingjelly ``layer.Conv2d(step_mode='m')``: a Conv2d applied to every time step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _unfold_time(super().forward(x.flatten(0, 1)), x)


class SeqMaxPool2d(nn.MaxPool2d):
    """spikingjelly ``layer.MaxPool2d(step_mode='m')``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _unfold_time(super().forward(x.flatten(0, 1)), x)


class SeqAdaptiveAvgPool2d(nn.AdaptiveAvgPool2d):
    """spikingjelly ``layer.AdaptiveAvgPool2d(step_mode='m')``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _unfold_time(super().forward(x.flatten(0, 1)), x)


class Conv3x3(SeqConv2d):
    """Multi-step 3×3 conv, padding = dilation, no bias."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = False,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size=3,
            stride=stride,
            padding=dilation,
            dilation=dilation,
            groups=groups,
            bias=bias,
        )


class Conv1x1(SeqConv2d):
    """Multi-step 1×1 conv, no bias."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, bias: bool = False
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size=1, stride=stride, bias=bias)


class BN(nn.Module):
    """``BatchNorm2d`` (eps 1e-5, momentum 0.1) on ``[T, B, C, H, W]``; its keys are ``bn.*``."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(x.flatten(0, 1)).reshape(x.shape)


class SpikingMatmul(nn.Module):
    """``torch.matmul(left, right)``; ``spike`` says which operand is binary ('l', 'r', 'both').

    A module (as officially) so that the two attention products have a module path: the
    official energy script counts their synaptic operations through it.
    """

    def __init__(self, spike: str) -> None:
        super().__init__()
        if spike not in ("l", "r", "both"):
            raise ValueError(f"spike must be 'l', 'r' or 'both', got {spike!r}")
        self.spike = spike

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        return torch.matmul(left, right)


# --- blocks (models/spikingresformer.py) ------------------------------------------------------


class GWFFN(nn.Module):
    """Group-wise spiking feed-forward network with inner and outer membrane shortcuts."""

    def __init__(
        self,
        in_channels: int,
        num_conv: int = 1,
        ratio: int = 4,
        group_size: int = 64,
        activation: type[nn.Module] = LIF,
    ) -> None:
        super().__init__()
        inner = in_channels * ratio
        if inner % group_size:
            raise ValueError(f"{ratio}*{in_channels} channels not divisible by {group_size}")
        self.up = nn.Sequential(activation(), Conv1x1(in_channels, inner), BN(inner))
        self.conv = nn.ModuleList(
            nn.Sequential(
                activation(), Conv3x3(inner, inner, groups=inner // group_size), BN(inner)
            )
            for _ in range(num_conv)
        )
        self.down = nn.Sequential(activation(), Conv1x1(inner, in_channels), BN(in_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat_in = self.up(x)
        y = feat_in
        for m in self.conv:
            y = m(y)
        return self.down(y + feat_in) + x


class DSSA(nn.Module):
    """Multi-head dual spike self-attention with its membrane shortcut (module docstring)."""

    firing_rate_x: torch.Tensor
    firing_rate_attn: torch.Tensor

    def __init__(
        self,
        dim: int,
        num_heads: int,
        lenth: int,
        patch_size: int,
        activation: type[nn.Module] = LIF,
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} should be divided by num_heads {num_heads}.")
        self.dim = dim
        self.num_heads = num_heads
        self.lenth = lenth  # (sic) N' = number of key tokens, fixed at construction
        self.register_buffer("firing_rate_x", torch.zeros(1, 1, num_heads, 1, 1))
        self.register_buffer("firing_rate_attn", torch.zeros(1, 1, num_heads, 1, 1))
        self.init_firing_rate_x = False
        self.init_firing_rate_attn = False
        self.momentum = 0.999

        self.activation_in = activation()
        self.W = SeqConv2d(dim, dim * 2, patch_size, patch_size, bias=False)
        self.norm = BN(dim * 2)
        self.matmul1 = SpikingMatmul("r")
        self.matmul2 = SpikingMatmul("r")
        self.activation_attn = activation()
        self.activation_out = activation()
        self.Wproj = Conv1x1(dim, dim)
        self.norm_proj = BN(dim)

    def _update_rate(self, name: str, value: torch.Tensor) -> None:
        """EMA of the per-head firing rate (training only), seeded from the first batch."""
        rate = value.detach().mean((0, 1, 3, 4), keepdim=True)
        flag = f"init_{name}"
        if not getattr(self, flag) and torch.all(getattr(self, name) == 0):
            setattr(self, name, rate)
        setattr(self, flag, True)
        setattr(self, name, getattr(self, name) * self.momentum + rate * (1 - self.momentum))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, b, h, w = x.shape[0], x.shape[1], x.shape[3], x.shape[4]
        heads, head_dim = self.num_heads, self.dim // self.num_heads
        shortcut = x
        s = self.activation_in(x)
        y = self.norm(self.W(s)).reshape(t, b, heads, 2 * head_dim, -1)
        y1, y2 = y[:, :, :, :head_dim, :], y[:, :, :, head_dim:, :]
        s = s.reshape(t, b, heads, head_dim, -1)  # [T, B, h, C/h, HW]

        if self.training:
            self._update_rate("firing_rate_x", s)
        scale1 = 1.0 / torch.sqrt(self.firing_rate_x * head_dim)
        attn = self.matmul1(y1.transpose(-1, -2), s) * scale1  # [T, B, h, N', HW]
        attn = self.activation_attn(attn)

        if self.training:
            self._update_rate("firing_rate_attn", attn)
        scale2 = 1.0 / torch.sqrt(self.firing_rate_attn * self.lenth)
        out = self.matmul2(y2, attn) * scale2  # [T, B, h, C/h, HW]
        out = self.activation_out(out.reshape(t, b, self.dim, h, w))
        return self.norm_proj(self.Wproj(out)) + shortcut


class DownsampleLayer(nn.Module):
    """``BN(Conv3x3/stride(SN(U)))``: the first layer of stages 2 and 3."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 2,
        activation: type[nn.Module] = LIF,
    ) -> None:
        super().__init__()
        self.conv = Conv3x3(in_channels, out_channels, stride=stride)
        self.norm = BN(out_channels)
        self.activation = activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(self.activation(x)))


class SpikingResformer(nn.Module):
    """SpikingResformer: a stem, then stages of DSSA/GWFFN blocks, then a linear head.

    Args:
        layers: block names per stage (``'DSSA'`` or ``'GWFFN'``).
        planes: channels per stage.
        num_heads: DSSA heads per stage.
        patch_sizes: DSSA key-patch size per stage.
        img_size: input height = width (sets each DSSA's ``lenth``).
        T: time steps a static image is repeated for.
        in_channels: input channels.
        num_classes: classifier outputs.
        stem: ``'imagenet'`` (Conv7x7/2, BN, MaxPool/2) or ``'cifar'`` (Conv3x3/1, BN).
        group_size: channels per group of the GWFFN 3×3 conv.
        spike_mode: ``'lif'`` (:class:`LIF`) or ``'plif'`` (:class:`PLIF`).
        event_input: the input is ``[B, T, C, H, W]`` frames instead of a static image.
        per_step_output: return ``[T, B, classes]`` (the official forward) instead of the mean.
    """

    def __init__(
        self,
        layers: Sequence[Sequence[str]],
        planes: Sequence[int],
        num_heads: Sequence[int],
        patch_sizes: Sequence[int],
        img_size: int = 224,
        T: int = 4,
        in_channels: int = 3,
        num_classes: int = 1000,
        stem: str = "imagenet",
        group_size: int = 64,
        spike_mode: str = "lif",
        event_input: bool = False,
        per_step_output: bool = False,
    ) -> None:
        super().__init__()
        if not len(planes) == len(layers) == len(num_heads) == len(patch_sizes):
            raise ValueError("layers, planes, num_heads and patch_sizes must have equal lengths")
        if spike_mode not in NEURONS:
            raise ValueError(f"spike_mode must be one of {sorted(NEURONS)}, got {spike_mode!r}")
        activation = NEURONS[spike_mode]
        self.T = T
        self.event_input = event_input
        self.per_step_output = per_step_output
        self.skip = ["prologue.0", "classifier"]  # the official energy script skips these

        if stem == "imagenet":
            self.prologue = nn.Sequential(
                SeqConv2d(in_channels, planes[0], 7, 2, 3, bias=False),
                BN(planes[0]),
                SeqMaxPool2d(kernel_size=3, stride=2, padding=1),
            )
            img_size = img_size // 4
        elif stem == "cifar":
            self.prologue = nn.Sequential(
                SeqConv2d(in_channels, planes[0], 3, 1, 1, bias=False), BN(planes[0])
            )
        else:
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")

        self.layers = nn.Sequential()
        for idx, names in enumerate(layers):
            stage = nn.Sequential()
            if idx != 0:
                stage.append(DownsampleLayer(planes[idx - 1], planes[idx], 2, activation))
                img_size = img_size // 2
            for name in names:
                if name == "DSSA":
                    lenth = (img_size // patch_sizes[idx]) ** 2
                    stage.append(
                        DSSA(planes[idx], num_heads[idx], lenth, patch_sizes[idx], activation)
                    )
                elif name == "GWFFN":
                    stage.append(GWFFN(planes[idx], group_size=group_size, activation=activation))
                else:
                    raise ValueError(f"unknown block {name!r} (expected 'DSSA' or 'GWFFN')")
            self.layers.append(stage)

        self.avgpool = SeqAdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(planes[-1], num_classes, bias=False)
        self.init_weight()

    def init_weight(self) -> None:
        """Official init: conv/linear weights truncated normal (std 0.02), BN (1, 0)."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0.0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1.0)
                nn.init.constant_(m.bias, 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, classes]`` (``[T, B, classes]`` with ``per_step_output``)."""
        x = x.transpose(0, 1) if self.event_input else x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        x = self.prologue(x)
        x = self.layers(x)
        x = torch.flatten(self.avgpool(x), 2)
        x = self.classifier(x)
        return x if self.per_step_output else x.mean(0)


# --- the zoo ---------------------------------------------------------------------------------

_THREE_STAGES = (("DSSA", "GWFFN"), ("DSSA", "GWFFN") * 2, ("DSSA", "GWFFN") * 3)
_PAPER_COUNT = (
    "The paper's counts (11.14M Ti, 35.52M M) equal the conv + linear weights only: BN affine "
    "parameters (and PLIF w) excluded (snncompile.models.counting, extra['paper_excludes'])."
)
# parameter names the paper's count leaves out (see snncompile.models.counting)
_PAPER_EXCLUDES = (r"\.bn\.(weight|bias)$", r"\.w$")


def _spec(
    name: str,
    dataset: str,
    *,
    planes: tuple[int, ...],
    heads: tuple[int, ...],
    image_size: int,
    num_classes: int,
    time_steps: int,
    stem: str,
    layers: tuple[tuple[str, ...], ...] = _THREE_STAGES,
    patch_sizes: tuple[int, ...] = (4, 2, 1),
    in_channels: int = 3,
    group_size: int = 64,
    paper_params: int | None = None,
    notes: str = "",
    **kwargs: Any,
) -> ModelSpec:
    build: Mapping[str, Any] = MappingProxyType(
        {
            "layers": layers,
            "planes": planes,
            "num_heads": heads,
            "patch_sizes": patch_sizes,
            "img_size": image_size,
            "T": time_steps,
            "in_channels": in_channels,
            "num_classes": num_classes,
            "stem": stem,
            "group_size": group_size,
            **kwargs,
        }
    )
    return ModelSpec(
        name=name,
        family="spikingresformer",
        dataset=dataset,
        builder=SpikingResformer,
        kwargs=build,
        depth=sum(stage.count("DSSA") for stage in layers),
        dim=planes[-1],
        heads=heads[-1],
        time_steps=time_steps,
        image_size=image_size,
        in_channels=in_channels,
        num_classes=num_classes,
        paper_params=paper_params,
        notes=notes,
        extra=MappingProxyType(
            {
                "input": "frames" if kwargs.get("event_input") else "image",
                "paper_excludes": _PAPER_EXCLUDES,
            }
        ),
    )


def _imagenet(
    size: str, planes: tuple[int, ...], heads: tuple[int, ...], paper: int | None, notes: str
) -> ModelSpec:
    return _spec(
        f"spikingresformer_{size}",
        "imagenet",
        planes=planes,
        heads=heads,
        image_size=224,
        num_classes=1000,
        time_steps=4,
        stem="imagenet",
        paper_params=paper,
        notes=f"configs/main/spikingresformer_{size}.yaml. {_PAPER_COUNT} {notes}".strip(),
    )


def _cifar(classes: int) -> ModelSpec:
    return _spec(
        f"spikingresformer_cifar{classes}",
        f"cifar{classes}",
        planes=(64, 192, 384),
        heads=(1, 3, 6),
        image_size=32,
        num_classes=classes,
        time_steps=4,
        stem="cifar",
        notes=(
            f"Ti* (official spikingresformer_cifar), configs/direct_training/cifar{classes}.yaml."
        ),
    )


MODELS: list[ModelSpec] = [
    _imagenet("ti", (64, 192, 384), (1, 3, 6), 11_140_000, ""),
    _imagenet("s", (64, 256, 512), (1, 4, 8), None, "Paper count not verified (expected 17.76M)."),
    _imagenet("m", (64, 384, 768), (1, 6, 12), 35_520_000, ""),
    _imagenet(
        "l",
        (128, 512, 1024),
        (2, 8, 16),
        None,
        "Paper count not verified (expected 60.27M); 79.40% top-1 at 288x288 (build with "
        "img_size=288 so that DSSA's lenth matches).",
    ),
    _cifar(10),
    _cifar(100),
    _spec(
        "spikingresformer_cifar10dvs",
        "cifar10dvs",
        planes=(64, 192, 384),
        heads=(1, 3, 6),
        image_size=64,
        num_classes=10,
        time_steps=16,
        stem="cifar",
        notes=(
            "Official spikingresformer_cifar on CIFAR10-DVS (configs/direct_training/"
            "cifar10dvs.yaml): frames resized to 64x64 with a 3rd channel = sum of polarities."
        ),
        event_input=True,
    ),
    _spec(
        "spikingresformer_dvsg",
        "dvs128gesture",
        planes=(32, 96, 192),
        heads=(1, 3, 6),
        image_size=64,
        num_classes=11,
        time_steps=16,
        stem="cifar",
        group_size=32,
        notes=(
            "Official spikingresformer_dvsg (PLIF neurons), configs/direct_training/"
            "dvs128gesture.yaml: frames resized to 64x64 with a 3rd channel = sum of polarities."
        ),
        spike_mode="plif",
        event_input=True,
    ),
    _spec(
        "spikingresformer_digits",
        "digits",
        layers=(("DSSA", "GWFFN"), ("DSSA", "GWFFN")),
        planes=(16, 32),
        heads=(1, 2),
        patch_sizes=(2, 1),
        image_size=32,
        in_channels=1,
        num_classes=10,
        time_steps=4,
        stem="imagenet",
        group_size=16,
        notes=(
            "Tiny two-stage SpikingResformer for scikit-learn digits upsampled to 32x32 "
            "(examples/train_digits.py). It keeps the ImageNet models' stem (Conv7x7/2, BN, "
            "MaxPool/2: a float host encoder), so the stages see 8x8 and 4x4 maps with 4x4 keys; "
            "at 16x16 with the CIFAR stem, training took 3x longer."
        ),
    ),
]
