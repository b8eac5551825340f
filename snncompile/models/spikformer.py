"""Spikformer (Zhou et al., ICLR 2023), as built by the official code (``ZK-Zhou/spikformer``).

The repository has three model files with different layouts and state_dict key names; this module
builds all three with one class, :class:`Spikformer`, selected by ``variant``:

``'cifar'`` (``cifar10/model.py``, also used for CIFAR-100)
    Tokens ``[T, B, N, C]``. q/k/v/proj are ``nn.Linear`` **with bias** (``q_linear`` ...) followed
    by ``BatchNorm1d`` on the transposed ``[T*B, C, N]``; MLP ``fc1_linear``/``fc2_linear`` + BN1d.
    Attention ``((q @ k^T) * 0.125) @ v``. The tokenizer (SPS) max-pools after its 3rd and 4th
    conv only (/4: 32x32 gives 8x8 = 64 tokens). Unused ``norm1``/``norm2`` LayerNorms (eps 1e-5).
``'imagenet'`` (``imagenet/model.py``)
    Feature maps ``[T, B, C, H, W]``; SSA flattens to ``[T, B, C, N]``. q/k/v are ``Conv1d(k=1,
    bias=False)`` (``q_conv`` ...), proj ``Conv1d`` with bias, MLP ``fc1_conv``/``fc2_conv`` are
    ``Conv2d(1x1)`` with bias + BN2d. Attention ``(q @ (k^T @ v)) * 0.125``. SPS max-pools after
    all four convs (/16: 224 gives 14x14 = 196 tokens). Unused LayerNorms (eps 1e-6).
``'dvs'`` (``cifar10dvs/model.py``)
    Input ``[B, T, 2, 128, 128]`` frames (permuted to ``[T, B, ...]``); SPS as ImageNet, tokens
    ``[T, B, C, N]``; MLP ``Conv1d(k=1)`` with bias + BN1d. Attention ``((q @ k^T) @ v) * 0.25``.
    Unused: ``pos_embed [1, 64, D]``, ``norm`` (LayerNorm), ``block.i.attn.res_lif``,
    ``block.i.attn.attn_drop`` (Dropout 0.2), ``norm1``/``norm2``.

Common to all variants (paper eqs. 14-16, appendix A and C.1):

* every neuron is ``MultiStepLIFNode(tau=2.0, detach_reset=True)`` (hard reset to 0, threshold 1,
  sigmoid surrogate alpha 4); the attention neuron ``attn_lif`` has threshold 0.5;
* SPS: four ``conv3x3(bias=False) + BN2d + LIF`` stages, channels D/8, D/4, D/2, D, then the
  relative position embedding ``rpe_lif(rpe_bn(rpe_conv(x)))`` added to its own input (the pooled
  spikes): the tokens take values in {0, 1, 2};
* block: ``x = x + SSA(x); x = x + MLP(x)`` (SEW residual: the stream is an integer count and is
  the input of q/k/v and fc1, a non-binary input);
* SSA: ``q, k, v = LIF(BN(W x))``, ``LIF_0.5(q k^T v * s)``, then ``LIF(BN(proj(.)))``; heads split
  the channels contiguously; no softmax;
* head: mean over tokens, mean over T, ``nn.Linear(D, classes)``; no neuron before the head;
* static images are repeated T times (direct encoding); stateless layers run on ``[T*B, ...]``.

Differences from the official code, none of which change a value or a state_dict key:

* the unused modules are built (so official checkpoints load with ``strict=True``) but never
  called: ``norm1``, ``norm2``, ``drop_path`` (an ``nn.Identity``; the official code never calls
  it, so its rate is irrelevant), and for DVS ``pos_embed``, ``norm``, ``res_lif``, ``attn_drop``;
* ``.contiguous()`` calls are dropped; hard-coded reshape sizes (DVS: 64/32/16) are computed
  from the input, so any input size divisible by 4 (CIFAR) or 16 (ImageNet/DVS) works;
* the ImageNet SSA returns only its output (the official one also returns ``v``, unused);
* the ImageNet forward hard-codes ``T = 4``; here ``T`` is a constructor argument (default 4);
* neurons use ``backend='torch'`` semantics (the official ``'cupy'`` kernel computes the same).

Paper versus code:

* Parameter counts: the paper's numbers (Tables 2-3) equal the code's count **minus the unused
  LayerNorms** (norm1/norm2) for CIFAR and ImageNet, while the CIFAR10-DVS number (2.59M, text)
  equals the full count including the unused ``pos_embed``, ``norm`` and LayerNorms. The zoo
  records each convention in ``ModelSpec.extra['paper_excludes']`` (see
  :mod:`snncompile.models.counting`).
* The paper says DVS uses a learnable attention scale; the code uses the constant 0.25. The paper's
  DVS128 Gesture model adds 1D max-pooling after Q and K; that code is not in the repository, so
  ``spikformer_2_256_dvs128gesture`` is the CIFAR10-DVS code with 11 classes and 8 heads.
* Heads: the paper does not give them for 4-256 (8 used here: head dim 32 as 4-384 with 12),
  8-384 or 8-768 (8 used: the ImageNet code's registered default).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from snncompile.models.neuron import MultiStepLIFNode
from snncompile.models.registry import ModelSpec

__all__ = ["MODELS", "Spikformer"]

VARIANTS = ("cifar", "imagenet", "dvs")


def _lif(v_threshold: float = 1.0, tau: float = 2.0) -> MultiStepLIFNode:
    """The seed neuron: ``MultiStepLIFNode(tau=2.0, detach_reset=True)``."""
    return MultiStepLIFNode(tau=tau, v_threshold=v_threshold, detach_reset=True, backend="torch")


def _maxpool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)


def _conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=1, padding=1, bias=False)


# --- tokenizer ------------------------------------------------------------------------------
class SPS(nn.Module):
    """Spiking Patch Splitting: 4 conv-BN-LIF stages (with max-pooling) and a spiking RPE.

    ``pool_all=False`` (CIFAR) pools after stages 3 and 4 only (``maxpool2``, ``maxpool3``);
    ``pool_all=True`` (ImageNet, DVS) pools after every stage (``maxpool`` ... ``maxpool3``).
    Input ``[T, B, C, H, W]``; output ``[T, B, D, H', W']`` with values in {0, 1, 2}.
    """

    def __init__(
        self,
        img_size_h: int = 128,
        img_size_w: int = 128,
        patch_size: int = 4,
        in_channels: int = 2,
        embed_dims: int = 256,
        pool_all: bool = True,
        tau: float = 2.0,
    ) -> None:
        super().__init__()
        self.image_size = [img_size_h, img_size_w]
        self.patch_size = (patch_size, patch_size)
        self.C = in_channels
        self.H, self.W = img_size_h // patch_size, img_size_w // patch_size
        self.num_patches = self.H * self.W
        self.pool_all = pool_all
        d = embed_dims
        self.proj_conv = _conv3x3(in_channels, d // 8)
        self.proj_bn = nn.BatchNorm2d(d // 8)
        self.proj_lif = _lif(tau=tau)
        if pool_all:
            self.maxpool = _maxpool()
        self.proj_conv1 = _conv3x3(d // 8, d // 4)
        self.proj_bn1 = nn.BatchNorm2d(d // 4)
        self.proj_lif1 = _lif(tau=tau)
        if pool_all:
            self.maxpool1 = _maxpool()
        self.proj_conv2 = _conv3x3(d // 4, d // 2)
        self.proj_bn2 = nn.BatchNorm2d(d // 2)
        self.proj_lif2 = _lif(tau=tau)
        self.maxpool2 = _maxpool()
        self.proj_conv3 = _conv3x3(d // 2, d)
        self.proj_bn3 = nn.BatchNorm2d(d)
        self.proj_lif3 = _lif(tau=tau)
        self.maxpool3 = _maxpool()
        self.rpe_conv = _conv3x3(d, d)
        self.rpe_bn = nn.BatchNorm2d(d)
        self.rpe_lif = _lif(tau=tau)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B = x.shape[0], x.shape[1]
        x = self.proj_bn(self.proj_conv(x.flatten(0, 1)))
        x = self.proj_lif(x.reshape(T, B, -1, x.shape[-2], x.shape[-1])).flatten(0, 1)
        if self.pool_all:
            x = self.maxpool(x)
        x = self.proj_bn1(self.proj_conv1(x))
        x = self.proj_lif1(x.reshape(T, B, -1, x.shape[-2], x.shape[-1])).flatten(0, 1)
        if self.pool_all:
            x = self.maxpool1(x)
        x = self.proj_bn2(self.proj_conv2(x))
        x = self.proj_lif2(x.reshape(T, B, -1, x.shape[-2], x.shape[-1])).flatten(0, 1)
        x = self.maxpool2(x)
        x = self.proj_bn3(self.proj_conv3(x))
        x = self.proj_lif3(x.reshape(T, B, -1, x.shape[-2], x.shape[-1])).flatten(0, 1)
        x = self.maxpool3(x)
        x_feat = x.reshape(T, B, -1, x.shape[-2], x.shape[-1])
        x = self.rpe_bn(self.rpe_conv(x))
        x = self.rpe_lif(x.reshape(T, B, -1, x.shape[-2], x.shape[-1]))
        return x + x_feat


# --- CIFAR blocks ([T, B, N, C], Linear + BN1d) ------------------------------------------------
class CifarMLP(nn.Module):
    """``fc1_lif(BN(fc1_linear(x)))`` then ``fc2_lif(BN(fc2_linear(.)))`` on ``[T, B, N, C]``."""

    def __init__(self, in_features: int, hidden_features: int, tau: float = 2.0) -> None:
        super().__init__()
        self.fc1_linear = nn.Linear(in_features, hidden_features)
        self.fc1_bn = nn.BatchNorm1d(hidden_features)
        self.fc1_lif = _lif(tau=tau)
        self.fc2_linear = nn.Linear(hidden_features, in_features)
        self.fc2_bn = nn.BatchNorm1d(in_features)
        self.fc2_lif = _lif(tau=tau)
        self.c_hidden = hidden_features
        self.c_output = in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B, N, C = x.shape
        x = self.fc1_linear(x.flatten(0, 1))
        x = self.fc1_bn(x.transpose(-1, -2)).transpose(-1, -2).reshape(T, B, N, self.c_hidden)
        x = self.fc1_lif(x)
        x = self.fc2_linear(x.flatten(0, 1))
        x = self.fc2_bn(x.transpose(-1, -2)).transpose(-1, -2).reshape(T, B, N, C)
        return self.fc2_lif(x)


class CifarSSA(nn.Module):
    """Spiking self-attention with Linear projections: ``((q k^T) * 0.125) v``."""

    def __init__(self, dim: int, num_heads: int = 8, tau: float = 2.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} should be divisible by num_heads {num_heads}")
        self.dim = dim
        self.num_heads = num_heads
        self.scale = 0.125
        self.q_linear = nn.Linear(dim, dim)
        self.q_bn = nn.BatchNorm1d(dim)
        self.q_lif = _lif(tau=tau)
        self.k_linear = nn.Linear(dim, dim)
        self.k_bn = nn.BatchNorm1d(dim)
        self.k_lif = _lif(tau=tau)
        self.v_linear = nn.Linear(dim, dim)
        self.v_bn = nn.BatchNorm1d(dim)
        self.v_lif = _lif(tau=tau)
        self.attn_lif = _lif(v_threshold=0.5, tau=tau)
        self.proj_linear = nn.Linear(dim, dim)
        self.proj_bn = nn.BatchNorm1d(dim)
        self.proj_lif = _lif(tau=tau)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B, N, C = x.shape
        h = self.num_heads
        x_for_qkv = x.flatten(0, 1)  # [T*B, N, C]
        q = self.q_bn(self.q_linear(x_for_qkv).transpose(-1, -2)).transpose(-1, -2)
        q = self.q_lif(q.reshape(T, B, N, C))
        q = q.reshape(T, B, N, h, C // h).permute(0, 1, 3, 2, 4)
        k = self.k_bn(self.k_linear(x_for_qkv).transpose(-1, -2)).transpose(-1, -2)
        k = self.k_lif(k.reshape(T, B, N, C))
        k = k.reshape(T, B, N, h, C // h).permute(0, 1, 3, 2, 4)
        v = self.v_bn(self.v_linear(x_for_qkv).transpose(-1, -2)).transpose(-1, -2)
        v = self.v_lif(v.reshape(T, B, N, C))
        v = v.reshape(T, B, N, h, C // h).permute(0, 1, 3, 2, 4)
        attn = (q @ k.transpose(-2, -1)) * self.scale
        x = attn @ v  # [T, B, h, N, d]
        x = x.transpose(2, 3).reshape(T, B, N, C)
        x = self.attn_lif(x)
        x = self.proj_linear(x.flatten(0, 1))
        x = self.proj_bn(x.transpose(-1, -2)).transpose(-1, -2).reshape(T, B, N, C)
        return self.proj_lif(x)


# --- ImageNet / DVS blocks (channels first, Conv1d/Conv2d + BN) ---------------------------------
class ConvMLP(nn.Module):
    """MLP with 1x1 convolutions: Conv2d on ``[T, B, C, H, W]`` (ImageNet) or Conv1d on
    ``[T, B, C, N]`` (DVS)."""

    def __init__(
        self, in_features: int, hidden_features: int, conv1d: bool = False, tau: float = 2.0
    ) -> None:
        super().__init__()
        conv: type[nn.Conv1d] | type[nn.Conv2d] = nn.Conv1d if conv1d else nn.Conv2d
        bn: type[nn.BatchNorm1d] | type[nn.BatchNorm2d] = (
            nn.BatchNorm1d if conv1d else nn.BatchNorm2d
        )
        self.fc1_conv = conv(in_features, hidden_features, kernel_size=1, stride=1)
        self.fc1_bn = bn(hidden_features)
        self.fc1_lif = _lif(tau=tau)
        self.fc2_conv = conv(hidden_features, in_features, kernel_size=1, stride=1)
        self.fc2_bn = bn(in_features)
        self.fc2_lif = _lif(tau=tau)
        self.c_hidden = hidden_features
        self.c_output = in_features
        self.conv1d = conv1d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv1d:
            T, B, C, N = x.shape
            x = self.fc1_bn(self.fc1_conv(x.flatten(0, 1))).reshape(T, B, self.c_hidden, N)
            x = self.fc1_lif(x)
            x = self.fc2_bn(self.fc2_conv(x.flatten(0, 1))).reshape(T, B, C, N)
            return self.fc2_lif(x)
        T, B, C, H, W = x.shape
        x = self.fc1_bn(self.fc1_conv(x.flatten(0, 1))).reshape(T, B, self.c_hidden, H, W)
        x = self.fc1_lif(x)
        x = self.fc2_bn(self.fc2_conv(x.flatten(0, 1))).reshape(T, B, C, H, W)
        return self.fc2_lif(x)


class ConvSSA(nn.Module):
    """Spiking self-attention with Conv1d projections on ``[T, B, C, N]`` tokens.

    ``kv_first=True`` (ImageNet): ``(q @ (k^T @ v)) * scale``; otherwise (DVS)
    ``((q @ k^T) @ v) * scale``. ``dvs_extras`` builds the DVS file's unused ``attn_drop``
    and ``res_lif``. Input ``[T, B, C, H, W]`` (ImageNet) or ``[T, B, C, N]`` (DVS); the output
    has the input's shape.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        scale: float = 0.125,
        kv_first: bool = True,
        dvs_extras: bool = False,
        tau: float = 2.0,
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} should be divisible by num_heads {num_heads}")
        self.dim = dim
        self.num_heads = num_heads
        self.scale = scale
        self.kv_first = kv_first
        self.q_conv = nn.Conv1d(dim, dim, kernel_size=1, stride=1, bias=False)
        self.q_bn = nn.BatchNorm1d(dim)
        self.q_lif = _lif(tau=tau)
        self.k_conv = nn.Conv1d(dim, dim, kernel_size=1, stride=1, bias=False)
        self.k_bn = nn.BatchNorm1d(dim)
        self.k_lif = _lif(tau=tau)
        self.v_conv = nn.Conv1d(dim, dim, kernel_size=1, stride=1, bias=False)
        self.v_bn = nn.BatchNorm1d(dim)
        self.v_lif = _lif(tau=tau)
        if dvs_extras:
            self.attn_drop = nn.Dropout(0.2)  # unused in the official forward
            self.res_lif = _lif(tau=tau)  # unused in the official forward
        self.attn_lif = _lif(v_threshold=0.5, tau=tau)
        self.proj_conv = nn.Conv1d(dim, dim, kernel_size=1, stride=1)
        self.proj_bn = nn.BatchNorm1d(dim)
        self.proj_lif = _lif(tau=tau)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x = x.flatten(3)
        T, B, C, N = x.shape
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
        x = self.proj_bn(self.proj_conv(x.flatten(0, 1)))
        return self.proj_lif(x.reshape(shape))


class Block(nn.Module):
    """Encoder block with SEW residuals: ``x = x + SSA(x); x = x + MLP(x)``.

    ``norm1``/``norm2`` (LayerNorm) and ``drop_path`` exist in the official code but are never
    called; they are built for state_dict compatibility.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        variant: str = "cifar",
        ln_eps: float = 1e-5,
        tau: float = 2.0,
    ) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=ln_eps)
        self.attn: nn.Module
        self.mlp: nn.Module
        if variant == "cifar":
            self.attn = CifarSSA(dim, num_heads=num_heads, tau=tau)
        elif variant == "imagenet":
            self.attn = ConvSSA(dim, num_heads=num_heads, scale=0.125, kv_first=True, tau=tau)
            self.drop_path = nn.Identity()
        else:
            self.attn = ConvSSA(
                dim, num_heads=num_heads, scale=0.25, kv_first=False, dvs_extras=True, tau=tau
            )
            self.drop_path = nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=ln_eps)
        if variant == "cifar":
            self.mlp = CifarMLP(dim, hidden, tau=tau)
        else:
            self.mlp = ConvMLP(dim, hidden, conv1d=(variant == "dvs"), tau=tau)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x)
        x = x + self.mlp(x)
        return x


class Spikformer(nn.Module):
    """The Spikformer network (see the module docstring for the variants).

    Args:
        variant: ``'cifar'``, ``'imagenet'`` or ``'dvs'``.
        img_size_h, img_size_w: input size the model is built for (only ``pos_embed`` of the DVS
            variant and the informational ``num_patches`` depend on it).
        patch_size: 4 (CIFAR) or 16 (ImageNet, DVS); informational, as in the official code.
        in_channels: 3 (RGB), 2 (DVS polarity), 1 (digits).
        num_classes: classifier outputs.
        embed_dims: D.
        num_heads: attention heads.
        mlp_ratios: MLP hidden size = D * ratio.
        depths: number of blocks L.
        T: time steps for static images (DVS inputs carry their own T).
        ln_eps: eps of the unused LayerNorms (1e-5 CIFAR, 1e-6 ImageNet/DVS).
        tau: membrane time constant of every neuron (2.0 in all official configs).

    Input ``[B, C, H, W]`` for static images, ``[B, T, C, H, W]`` for DVS; output
    ``[B, num_classes]`` logits averaged over T.
    """

    def __init__(
        self,
        variant: str = "cifar",
        img_size_h: int = 32,
        img_size_w: int = 32,
        patch_size: int = 4,
        in_channels: int = 3,
        num_classes: int = 10,
        embed_dims: int = 384,
        num_heads: int = 12,
        mlp_ratios: float = 4,
        depths: int = 4,
        T: int = 4,
        ln_eps: float | None = None,
        tau: float = 2.0,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
        if ln_eps is None:
            ln_eps = 1e-5 if variant == "cifar" else 1e-6
        self.variant = variant
        self.T = T
        self.num_classes = num_classes
        self.depths = depths
        self.embed_dims = embed_dims
        self.patch_embed = SPS(
            img_size_h=img_size_h,
            img_size_w=img_size_w,
            patch_size=patch_size,
            in_channels=in_channels,
            embed_dims=embed_dims,
            pool_all=(variant != "cifar"),
            tau=tau,
        )
        if variant == "dvs":
            self.pos_embed = nn.Parameter(
                torch.zeros(1, self.patch_embed.num_patches, embed_dims)
            )  # unused in the official forward
        self.block = nn.ModuleList(
            [
                Block(embed_dims, num_heads, mlp_ratios, variant=variant, ln_eps=ln_eps, tau=tau)
                for _ in range(depths)
            ]
        )
        if variant == "dvs":
            self.norm = nn.LayerNorm(embed_dims, eps=ln_eps)  # unused in the official forward
        self.head = nn.Linear(embed_dims, num_classes) if num_classes > 0 else nn.Identity()
        self.apply(_init_weights)
        if variant == "dvs":
            nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, C, H, W]`` input to ``[T, B, D]`` features (mean over tokens)."""
        x = self.patch_embed(x)  # [T, B, D, H', W']
        if self.variant == "cifar":
            x = x.flatten(-2).transpose(-1, -2)  # [T, B, N, D]
            for blk in self.block:
                x = blk(x)
            return x.mean(2)
        if self.variant == "dvs":
            x = x.flatten(3)  # [T, B, D, N]
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
    """The official initialisation: Linear weights truncated normal (std 0.02), biases 0,
    LayerNorm 1/0; convolutions and BN keep PyTorch's defaults."""
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.constant_(m.bias, 0)
    elif isinstance(m, nn.LayerNorm):
        nn.init.constant_(m.bias, 0)
        nn.init.constant_(m.weight, 1.0)


# --- zoo ----------------------------------------------------------------------------------------
_LN_EXCLUDES = (r"\.norm1\.", r"\.norm2\.")

_NOTES_LN = (
    "Paper count = code count minus the unused LayerNorms norm1/norm2 (the paper does not count "
    "modules that are never called)."
)


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
    paper_excludes: tuple[str, ...] = _LN_EXCLUDES,
) -> ModelSpec:
    patch_size = 4 if variant == "cifar" else 16
    kwargs: dict[str, Any] = {
        "variant": variant,
        "img_size_h": image_size,
        "img_size_w": image_size,
        "patch_size": patch_size,
        "in_channels": in_channels,
        "num_classes": num_classes,
        "embed_dims": dim,
        "num_heads": heads,
        "mlp_ratios": 4,
        "depths": depth,
        "T": time_steps,
    }
    return ModelSpec(
        name=name,
        family="spikformer",
        dataset=dataset,
        builder=Spikformer,
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
                "paper_excludes": paper_excludes,
            }
        ),
    )


def _cifar(depth: int, dim: int, heads: int, paper: int, heads_note: str = "") -> list[ModelSpec]:
    c10 = _spec(
        f"spikformer_{depth}_{dim}",
        "cifar10",
        "cifar",
        depth,
        dim,
        heads,
        image_size=32,
        in_channels=3,
        num_classes=10,
        time_steps=4,
        paper_params=paper,
        notes=f"Table 3 (CIFAR10/100 share one params column). {_NOTES_LN}{heads_note}",
    )
    c100 = _spec(
        f"spikformer_{depth}_{dim}_cifar100",
        "cifar100",
        "cifar",
        depth,
        dim,
        heads,
        image_size=32,
        in_channels=3,
        num_classes=100,
        time_steps=4,
        paper_params=None,
        notes=(
            "CIFAR-100 model of Table 3; the paper's single params column "
            f"({paper / 1e6:.2f}M) is the CIFAR-10 count (the 100-class head adds 90*(D+1)), so "
            f"no paper count is recorded here. {_NOTES_LN}{heads_note}"
        ),
    )
    return [c10, c100]


def _imagenet(depth: int, dim: int, paper: int, heads_note: str = "") -> ModelSpec:
    return _spec(
        f"spikformer_{depth}_{dim}",
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
        notes=f"Table 2. {_NOTES_LN}{heads_note}",
    )


_HEADS_GUESS = " Heads are not given by the paper or repo; 8 used (does not change the count)."

MODELS: list[ModelSpec] = [
    *_cifar(4, 256, 8, 4_150_000, _HEADS_GUESS),
    *_cifar(2, 384, 12, 5_760_000),
    *_cifar(4, 384, 12, 9_320_000),
    _imagenet(8, 384, 16_810_000, _HEADS_GUESS),
    _imagenet(6, 512, 23_370_000),
    _imagenet(8, 512, 29_680_000),
    _imagenet(10, 512, 36_010_000, " The early arXiv text says 42.35M; its own table 36.01M."),
    _imagenet(8, 768, 66_340_000, _HEADS_GUESS),
    _spec(
        "spikformer_2_256_cifar10dvs",
        "cifar10dvs",
        "dvs",
        2,
        256,
        16,
        image_size=128,
        in_channels=2,
        num_classes=10,
        time_steps=16,
        paper_params=2_590_000,
        notes=(
            "CIFAR10-DVS, T=16 (paper also T=10). Paper count (2.59M, text) = the full code count "
            "including the unused pos_embed, norm and norm1/norm2. Attention scale: code 0.25 "
            "(the paper says learnable)."
        ),
        paper_excludes=(),
    ),
    _spec(
        "spikformer_2_256_dvs128gesture",
        "dvs128gesture",
        "dvs",
        2,
        256,
        8,
        image_size=128,
        in_channels=2,
        num_classes=11,
        time_steps=16,
        paper_params=None,
        notes=(
            "DVS128 Gesture has no official code: this is the CIFAR10-DVS code with 11 classes "
            "and the paper's 8 heads; the paper's extra 1D max-pooling after Q and K is not "
            "built. The paper gives no params for it."
        ),
        paper_excludes=(),
    ),
    _spec(
        "spikformer_digits",
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
            "(examples/train_digits.py; checkpoint examples/digits/spikformer.pt). 4x4 = 16 tokens."
        ),
    ),
]
