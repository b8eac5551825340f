"""Spikingformer (Zhou et al., arXiv 2304.11954), as built by the official code
(``zhouchenlin2096/Spikingformer``: ``cifar10/``, ``cifar100/``, ``imagenet/``, ``cifar10-dvs/``,
``dvs128-gesture/`` ``model.py``; the timm name is ``Spikingformer``, the class ``vit_snn``).

Spikingformer moves every neuron *before* its convolution ("MS residual", pre-activation):
``O_l = ConvBN_l(SN_l(O_{l-1})) + O_{l-1}``. The residual stream is float (BN outputs) and every
convolution sees a 0/1 spike input.

Structure, all variants (feature maps ``[T, B, C, H, W]``; stateless layers on ``[T*B, ...]``):

* tokenizer (no RPE, no neuron at its output): ``conv3x3+BN``, then four stages
  ``LIF -> [MaxPool] -> conv3x3+BN`` with channels D/8, D/4, D/2, D, D; the max-pools act on
  spikes (max of binary = OR);

  - ``'cifar'`` (``SpikingTokenizer`` of ``cifar10``/``cifar100``): keys ``block{0..4}_conv``,
    ``block{0..4}_bn``, neurons ``block{1..4}_lif``, pools ``block3_mp``, ``block4_mp`` (/4);
  - ``'imagenet'`` and ``'dvs'``: keys ``proj_conv``/``proj_bn``, ``proj{1..4}_lif``,
    ``maxpool{1..4}``, ``proj{1..4}_conv``/``proj{1..4}_bn`` (/16);

* ``SpikingSelfAttention``: ``proj_lif`` (the block-input neuron), q/k/v ``Conv1d(k=1,
  bias=False)`` + BN1d + LIF, ``attn_lif`` (threshold 0.5) on ``Q K^T V * 0.125``, then
  ``proj_conv`` (Conv1d with bias) + ``proj_bn``; **no neuron after proj**. Attention order:
  ImageNet ``(q @ (k^T @ v)) * 0.125``; CIFAR and DVS ``((q @ k^T) @ v) * 0.125``;
* MLP: ``mlp1_lif -> mlp1_conv (1x1, bias) -> mlp1_bn -> mlp2_lif -> mlp2_conv -> mlp2_bn``;
* block: ``x = x + attn(x); x = x + mlp(x)``;
* head: mean over tokens of the float stream, mean over T, ``nn.Linear(D, classes)``; no neuron
  before the head (its input is real-valued);
* neurons: ``MultiStepLIFNode(tau=2.0, detach_reset=True)``; the DVS and Gesture files use
  ``tau=1.5`` for every neuron. Static images are repeated T times; DVS input is ``[B, T, C, H,
  W]`` and permuted to ``[T, B, ...]``.

Differences from the official code, none of which change a value or a state_dict key: the unused
``norm1``/``norm2`` LayerNorms (eps 1e-6) and ``drop_path`` (an ``nn.Identity``; never called) are
built but never called; ``.contiguous()`` calls are dropped; the DVS tokenizer's hard-coded
reshape sizes (64/32/16) are computed from the input; the tokenizer returns only the feature map
(the official one also returns ``(H, W)``, unused).

Paper versus code:

* The README's parameter counts equal the code count **minus the unused LayerNorms** for every
  configuration (ImageNet 8-768: 66,363,208 built, 66.34M reported; the energy log prints the
  former). Recorded in ``ModelSpec.extra['paper_excludes']``.
* Heads: CIFAR10 4-384 uses 12 heads (``cifar10.yml``), the CIFAR-100 yml 8; ImageNet uses 8
  (``imagenet.yml``; its energy script assumes 12 for the SSA term); 4-256 is not given (8 here).
* The AAAI 2026 "Spikingformer†" (CML downsampling) is not in the repository version read and is
  not built.
* The 8-512 energy log was produced by an older internal version with Spikformer-style names
  (``SPS``, ``rpe_conv``, ``fc1_conv``); checkpoints of that version do not load here. The
  released 8-768 and CIFAR10 4-384-400E checkpoints match this code.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from snncompile.models.neuron import MultiStepLIFNode
from snncompile.models.registry import ModelSpec

__all__ = ["MODELS", "Spikingformer"]

VARIANTS = ("cifar", "imagenet", "dvs")


def _lif(tau: float, v_threshold: float = 1.0) -> MultiStepLIFNode:
    return MultiStepLIFNode(tau=tau, v_threshold=v_threshold, detach_reset=True, backend="torch")


def _maxpool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)


def _conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=1, padding=1, bias=False)


def _unflat(x: torch.Tensor, T: Any, B: Any) -> torch.Tensor:
    """``[T*B, C, H, W] -> [T, B, C, H, W]``."""
    return x.reshape(T, B, -1, x.shape[-2], x.shape[-1])


class CifarSpikingTokenizer(nn.Module):
    """CIFAR tokenizer (keys ``block{i}_*``): max-pools before the 4th and 5th conv (/4)."""

    def __init__(
        self,
        img_size_h: int = 32,
        img_size_w: int = 32,
        patch_size: int = 4,
        in_channels: int = 3,
        embed_dims: int = 384,
        tau: float = 2.0,
    ) -> None:
        super().__init__()
        self.image_size = [img_size_h, img_size_w]
        self.patch_size = (patch_size, patch_size)
        self.C = in_channels
        self.H, self.W = img_size_h // patch_size, img_size_w // patch_size
        self.num_patches = self.H * self.W
        d = embed_dims
        self.block0_conv = _conv3x3(in_channels, d // 8)
        self.block0_bn = nn.BatchNorm2d(d // 8)
        self.block1_lif = _lif(tau)
        self.block1_conv = _conv3x3(d // 8, d // 4)
        self.block1_bn = nn.BatchNorm2d(d // 4)
        self.block2_lif = _lif(tau)
        self.block2_conv = _conv3x3(d // 4, d // 2)
        self.block2_bn = nn.BatchNorm2d(d // 2)
        self.block3_lif = _lif(tau)
        self.block3_mp = _maxpool()
        self.block3_conv = _conv3x3(d // 2, d)
        self.block3_bn = nn.BatchNorm2d(d)
        self.block4_lif = _lif(tau)
        self.block4_mp = _maxpool()
        self.block4_conv = _conv3x3(d, d)
        self.block4_bn = nn.BatchNorm2d(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B = x.shape[0], x.shape[1]
        x = _unflat(self.block0_bn(self.block0_conv(x.flatten(0, 1))), T, B)
        x = self.block1_lif(x).flatten(0, 1)
        x = _unflat(self.block1_bn(self.block1_conv(x)), T, B)
        x = self.block2_lif(x).flatten(0, 1)
        x = _unflat(self.block2_bn(self.block2_conv(x)), T, B)
        x = self.block3_mp(self.block3_lif(x).flatten(0, 1))
        x = _unflat(self.block3_bn(self.block3_conv(x)), T, B)
        x = self.block4_mp(self.block4_lif(x).flatten(0, 1))
        return _unflat(self.block4_bn(self.block4_conv(x)), T, B)


class SpikingTokenizer(nn.Module):
    """ImageNet/DVS tokenizer (keys ``proj*``): max-pools before convs 1-4 (/16)."""

    def __init__(
        self,
        img_size_h: int = 224,
        img_size_w: int = 224,
        patch_size: int = 16,
        in_channels: int = 3,
        embed_dims: int = 512,
        tau: float = 2.0,
    ) -> None:
        super().__init__()
        self.image_size = [img_size_h, img_size_w]
        self.patch_size = (patch_size, patch_size)
        self.C = in_channels
        self.H, self.W = img_size_h // patch_size, img_size_w // patch_size
        self.num_patches = self.H * self.W
        d = embed_dims
        self.proj_conv = _conv3x3(in_channels, d // 8)
        self.proj_bn = nn.BatchNorm2d(d // 8)
        self.proj1_lif = _lif(tau)
        self.maxpool1 = _maxpool()
        self.proj1_conv = _conv3x3(d // 8, d // 4)
        self.proj1_bn = nn.BatchNorm2d(d // 4)
        self.proj2_lif = _lif(tau)
        self.maxpool2 = _maxpool()
        self.proj2_conv = _conv3x3(d // 4, d // 2)
        self.proj2_bn = nn.BatchNorm2d(d // 2)
        self.proj3_lif = _lif(tau)
        self.maxpool3 = _maxpool()
        self.proj3_conv = _conv3x3(d // 2, d)
        self.proj3_bn = nn.BatchNorm2d(d)
        self.proj4_lif = _lif(tau)
        self.maxpool4 = _maxpool()
        self.proj4_conv = _conv3x3(d, d)
        self.proj4_bn = nn.BatchNorm2d(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B = x.shape[0], x.shape[1]
        x = _unflat(self.proj_bn(self.proj_conv(x.flatten(0, 1))), T, B)
        x = self.maxpool1(self.proj1_lif(x).flatten(0, 1))
        x = _unflat(self.proj1_bn(self.proj1_conv(x)), T, B)
        x = self.maxpool2(self.proj2_lif(x).flatten(0, 1))
        x = _unflat(self.proj2_bn(self.proj2_conv(x)), T, B)
        x = self.maxpool3(self.proj3_lif(x).flatten(0, 1))
        x = _unflat(self.proj3_bn(self.proj3_conv(x)), T, B)
        x = self.maxpool4(self.proj4_lif(x).flatten(0, 1))
        return _unflat(self.proj4_bn(self.proj4_conv(x)), T, B)


class SpikingSelfAttention(nn.Module):
    """Pre-activation spiking self-attention on ``[T, B, C, H, W]``; returns the same shape.

    ``kv_first=True`` (ImageNet): ``(q @ (k^T @ v)) * 0.125``; otherwise
    ``((q @ k^T) @ v) * 0.125``.
    """

    def __init__(
        self, dim: int, num_heads: int = 8, kv_first: bool = True, tau: float = 2.0
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} should be divisible by num_heads {num_heads}")
        self.dim = dim
        self.num_heads = num_heads
        self.scale = 0.125
        self.kv_first = kv_first
        self.proj_lif = _lif(tau)
        self.q_conv = nn.Conv1d(dim, dim, kernel_size=1, stride=1, bias=False)
        self.q_bn = nn.BatchNorm1d(dim)
        self.q_lif = _lif(tau)
        self.k_conv = nn.Conv1d(dim, dim, kernel_size=1, stride=1, bias=False)
        self.k_bn = nn.BatchNorm1d(dim)
        self.k_lif = _lif(tau)
        self.v_conv = nn.Conv1d(dim, dim, kernel_size=1, stride=1, bias=False)
        self.v_bn = nn.BatchNorm1d(dim)
        self.v_lif = _lif(tau)
        self.attn_lif = _lif(tau, v_threshold=0.5)
        self.proj_conv = nn.Conv1d(dim, dim, kernel_size=1, stride=1)
        self.proj_bn = nn.BatchNorm1d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B, C, H, W = x.shape
        x = self.proj_lif(x)
        x = x.flatten(3)
        N = x.shape[3]
        h = self.num_heads
        x_for_qkv = x.flatten(0, 1)  # [T*B, C, N]
        q = self.q_lif(self.q_bn(self.q_conv(x_for_qkv)).reshape(T, B, C, N))
        q = q.transpose(-1, -2).reshape(T, B, N, h, C // h).permute(0, 1, 3, 2, 4)
        k = self.k_lif(self.k_bn(self.k_conv(x_for_qkv)).reshape(T, B, C, N))
        k = k.transpose(-1, -2).reshape(T, B, N, h, C // h).permute(0, 1, 3, 2, 4)
        v = self.v_lif(self.v_bn(self.v_conv(x_for_qkv)).reshape(T, B, C, N))
        v = v.transpose(-1, -2).reshape(T, B, N, h, C // h).permute(0, 1, 3, 2, 4)
        if self.kv_first:
            x = (q @ (k.transpose(-2, -1) @ v)) * self.scale
        else:
            x = ((q @ k.transpose(-2, -1)) @ v) * self.scale
        x = x.transpose(3, 4).reshape(T, B, C, N)
        x = self.attn_lif(x)
        return self.proj_bn(self.proj_conv(x.flatten(0, 1))).reshape(T, B, C, H, W)


class MLP(nn.Module):
    """``mlp1_lif -> mlp1_conv -> mlp1_bn -> mlp2_lif -> mlp2_conv -> mlp2_bn`` (1x1 convs)."""

    def __init__(self, in_features: int, hidden_features: int, tau: float = 2.0) -> None:
        super().__init__()
        self.mlp1_lif = _lif(tau)
        self.mlp1_conv = nn.Conv2d(in_features, hidden_features, kernel_size=1, stride=1)
        self.mlp1_bn = nn.BatchNorm2d(hidden_features)
        self.mlp2_lif = _lif(tau)
        self.mlp2_conv = nn.Conv2d(hidden_features, in_features, kernel_size=1, stride=1)
        self.mlp2_bn = nn.BatchNorm2d(in_features)
        self.c_hidden = hidden_features
        self.c_output = in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B, C, H, W = x.shape
        x = self.mlp1_lif(x)
        x = self.mlp1_bn(self.mlp1_conv(x.flatten(0, 1))).reshape(T, B, self.c_hidden, H, W)
        x = self.mlp2_lif(x)
        return self.mlp2_bn(self.mlp2_conv(x.flatten(0, 1))).reshape(T, B, C, H, W)


class SpikingTransformer(nn.Module):
    """Encoder block with MS residuals: ``x = x + attn(x); x = x + mlp(x)``.

    ``norm1``/``norm2``/``drop_path`` are built (official state_dict) but never called.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        kv_first: bool = True,
        ln_eps: float = 1e-6,
        tau: float = 2.0,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=ln_eps)
        self.attn = SpikingSelfAttention(dim, num_heads=num_heads, kv_first=kv_first, tau=tau)
        self.drop_path = nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=ln_eps)
        self.mlp = MLP(dim, int(dim * mlp_ratio), tau=tau)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x)
        x = x + self.mlp(x)
        return x


class Spikingformer(nn.Module):
    """The Spikingformer network (official class ``vit_snn``).

    Args:
        variant: ``'cifar'``, ``'imagenet'`` or ``'dvs'`` (see the module docstring).
        img_size_h, img_size_w, patch_size: informational (``num_patches``), as in the official
            code; any input size divisible by 4 (CIFAR) or 16 (ImageNet/DVS) works.
        in_channels, num_classes, embed_dims, num_heads, mlp_ratios, depths: as in the paper.
        T: time steps for static images (DVS inputs carry their own T).
        tau: membrane time constant of every neuron (2.0; 1.5 in the DVS/Gesture code).
        ln_eps: eps of the unused LayerNorms.

    Input ``[B, C, H, W]`` (static) or ``[B, T, C, H, W]`` (DVS); output ``[B, num_classes]``.
    """

    def __init__(
        self,
        variant: str = "imagenet",
        img_size_h: int = 224,
        img_size_w: int = 224,
        patch_size: int = 16,
        in_channels: int = 3,
        num_classes: int = 1000,
        embed_dims: int = 512,
        num_heads: int = 8,
        mlp_ratios: float = 4,
        depths: int = 8,
        T: int = 4,
        tau: float = 2.0,
        ln_eps: float = 1e-6,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
        self.variant = variant
        self.num_classes = num_classes
        self.depths = depths
        self.T = T
        self.embed_dims = embed_dims
        tokenizer = CifarSpikingTokenizer if variant == "cifar" else SpikingTokenizer
        self.patch_embed = tokenizer(
            img_size_h=img_size_h,
            img_size_w=img_size_w,
            patch_size=patch_size,
            in_channels=in_channels,
            embed_dims=embed_dims,
            tau=tau,
        )
        self.block = nn.ModuleList(
            [
                SpikingTransformer(
                    embed_dims,
                    num_heads,
                    mlp_ratios,
                    kv_first=(variant == "imagenet"),
                    ln_eps=ln_eps,
                    tau=tau,
                )
                for _ in range(depths)
            ]
        )
        self.head = nn.Linear(embed_dims, num_classes) if num_classes > 0 else nn.Identity()
        self.apply(_init_weights)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, C, H, W]`` input to ``[T, B, D]`` features (mean over tokens)."""
        x = self.patch_embed(x)
        for blk in self.block:
            x = blk(x)
        return x.flatten(3).mean(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.variant == "dvs":
            x = x.permute(1, 0, 2, 3, 4)  # [B, T, C, H, W] -> [T, B, C, H, W]
        else:
            x = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        x = self.forward_features(x)
        return self.head(x.mean(0))


def _init_weights(m: nn.Module) -> None:
    """Official initialisation: Linear truncated normal (std 0.02) with zero bias; LayerNorm 1/0."""
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.constant_(m.bias, 0)
    elif isinstance(m, nn.LayerNorm):
        nn.init.constant_(m.bias, 0)
        nn.init.constant_(m.weight, 1.0)


# --- zoo ----------------------------------------------------------------------------------------
_LN_EXCLUDES = (r"\.norm1\.", r"\.norm2\.")
_NOTES_LN = "README count = code count minus the unused LayerNorms norm1/norm2."
_HEADS_GUESS = " Heads not given by the paper or repo; 8 used (does not change the count)."


def _spec(
    name: str,
    dataset: str,
    variant: str,
    depth: int,
    dim: int,
    heads: int,
    *,
    image_size: int,
    in_channels: int,
    num_classes: int,
    time_steps: int,
    paper_params: int | None,
    notes: str,
    tau: float = 2.0,
) -> ModelSpec:
    kwargs: dict[str, Any] = {
        "variant": variant,
        "img_size_h": image_size,
        "img_size_w": image_size,
        "patch_size": 4 if variant == "cifar" else 16,
        "in_channels": in_channels,
        "num_classes": num_classes,
        "embed_dims": dim,
        "num_heads": heads,
        "mlp_ratios": 4,
        "depths": depth,
        "T": time_steps,
        "tau": tau,
    }
    return ModelSpec(
        name=name,
        family="spikingformer",
        dataset=dataset,
        builder=Spikingformer,
        kwargs=MappingProxyType(kwargs),
        depth=depth,
        dim=dim,
        heads=heads,
        time_steps=time_steps,
        image_size=image_size,
        in_channels=in_channels,
        num_classes=num_classes,
        paper_params=paper_params,
        notes=notes,
        extra=MappingProxyType(
            {
                "variant": variant,
                "input": "frames" if variant == "dvs" else "image",
                "paper_excludes": _LN_EXCLUDES,
            }
        ),
    )


def _cifar(
    depth: int, dim: int, heads: int, heads100: int, paper: int, note: str = ""
) -> list[ModelSpec]:
    common: dict[str, Any] = {
        "image_size": 32,
        "in_channels": 3,
        "time_steps": 4,
    }
    return [
        _spec(
            f"spikingformer_{depth}_{dim}",
            "cifar10",
            "cifar",
            depth,
            dim,
            heads,
            num_classes=10,
            paper_params=paper,
            notes=f"README CIFAR table (one params column for CIFAR10/100). {_NOTES_LN}{note}",
            **common,
        ),
        _spec(
            f"spikingformer_{depth}_{dim}_cifar100",
            "cifar100",
            "cifar",
            depth,
            dim,
            heads100,
            num_classes=100,
            paper_params=None,
            notes=(
                f"CIFAR-100 model; the README's single params column ({paper / 1e6:.2f}M) is the "
                f"CIFAR-10 count (the 100-class head adds 90*(D+1)). {_NOTES_LN}{note}"
            ),
            **common,
        ),
    ]


def _imagenet(depth: int, dim: int, paper: int, note: str = "") -> ModelSpec:
    return _spec(
        f"spikingformer_{depth}_{dim}",
        "imagenet",
        "imagenet",
        depth,
        dim,
        8,
        image_size=224,
        in_channels=3,
        num_classes=1000,
        time_steps=4,
        paper_params=paper,
        notes=f"README ImageNet table, 8 heads (imagenet.yml). {_NOTES_LN}{note}",
    )


def _dvs(name: str, dataset: str, num_classes: int) -> ModelSpec:
    return _spec(
        name,
        dataset,
        "dvs",
        2,
        256,
        16,
        image_size=128,
        in_channels=2,
        num_classes=num_classes,
        time_steps=16,
        paper_params=2_570_000,
        tau=1.5,
        notes=f"T=16 (paper also T=10); every LIF has tau=1.5 in this code. {_NOTES_LN}",
    )


MODELS: list[ModelSpec] = [
    *_cifar(4, 256, 8, 8, 4_150_000, _HEADS_GUESS),
    *_cifar(2, 384, 12, 12, 5_760_000),
    *_cifar(4, 384, 12, 8, 9_320_000, " CIFAR-100 yml uses 8 heads, CIFAR-10 yml 12."),
    _imagenet(8, 384, 16_810_000),
    _imagenet(8, 512, 29_680_000),
    _imagenet(
        8,
        768,
        66_340_000,
        " Released checkpoint: checkpoint-284.pth.tar (66,363,208 parameters as built).",
    ),
    _dvs("spikingformer_2_256_cifar10dvs", "cifar10dvs", 10),
    _dvs("spikingformer_2_256_dvs128gesture", "dvs128gesture", 11),
    _spec(
        "spikingformer_digits",
        "digits",
        "cifar",
        2,
        32,
        2,
        image_size=16,
        in_channels=1,
        num_classes=10,
        time_steps=4,
        paper_params=None,
        notes=(
            "Tiny CIFAR-variant member trained on sklearn digits upsampled to 16x16 "
            "(examples/train_digits.py; checkpoint examples/digits/spikingformer.pt). "
            "4x4 = 16 tokens."
        ),
    ),
]
