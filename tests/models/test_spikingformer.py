"""Spikingformer: every configuration's forward pass, parameter counts and official state_dict keys.

Expected numbers come from ``shared/reference/seed_models.md`` section 3 (code-verified against
``zhouchenlin2096/Spikingformer`` at 4378623) and the README tables; the key sets are generated
from the documented templates (section 3.3), not from our code.
"""

from __future__ import annotations

import pytest
import torch

from snncompile.models import spikingformer
from snncompile.models.counting import count_parameters_paper
from snncompile.models.neuron import MultiStepLIFNode, is_neuron
from snncompile.models.registry import ModelSpec, count_parameters

from .helpers import check_small_forward

torch.set_num_threads(1)

SPECS = {spec.name: spec for spec in spikingformer.MODELS}

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def documented_keys(variant: str, depth: int) -> set[str]:
    """The official state_dict keys (seed_models.md 3.3)."""
    keys: set[str] = set()
    if variant == "cifar":
        stages = [(f"block{i}_conv", f"block{i}_bn") for i in range(5)]
    else:
        stages = [("proj_conv", "proj_bn")] + [
            (f"proj{i}_conv", f"proj{i}_bn") for i in range(1, 5)
        ]
    for conv, bn in stages:
        keys.add(f"patch_embed.{conv}.weight")
        keys |= {f"patch_embed.{bn}.{s}" for s in BN}
    for i in range(depth):
        b = f"block.{i}"
        keys |= {f"{b}.norm1.weight", f"{b}.norm1.bias", f"{b}.norm2.weight", f"{b}.norm2.bias"}
        for name in ("q", "k", "v", "proj"):
            keys.add(f"{b}.attn.{name}_conv.weight")
            keys |= {f"{b}.attn.{name}_bn.{s}" for s in BN}
        keys.add(f"{b}.attn.proj_conv.bias")
        for mlp in ("mlp1", "mlp2"):
            keys |= {f"{b}.mlp.{mlp}_conv.weight", f"{b}.mlp.{mlp}_conv.bias"}
            keys |= {f"{b}.mlp.{mlp}_bn.{s}" for s in BN}
    keys |= {"head.weight", "head.bias"}
    return keys


# name -> (dataset, variant, depth, dim, heads, classes, T, tau, paper params)
EXPECTED = {
    "spikingformer_4_256": ("cifar10", "cifar", 4, 256, 8, 10, 4, 2.0, 4_150_000),
    "spikingformer_4_256_cifar100": ("cifar100", "cifar", 4, 256, 8, 100, 4, 2.0, None),
    "spikingformer_2_384": ("cifar10", "cifar", 2, 384, 12, 10, 4, 2.0, 5_760_000),
    "spikingformer_2_384_cifar100": ("cifar100", "cifar", 2, 384, 12, 100, 4, 2.0, None),
    "spikingformer_4_384": ("cifar10", "cifar", 4, 384, 12, 10, 4, 2.0, 9_320_000),
    "spikingformer_4_384_cifar100": ("cifar100", "cifar", 4, 384, 8, 100, 4, 2.0, None),
    "spikingformer_8_384": ("imagenet", "imagenet", 8, 384, 8, 1000, 4, 2.0, 16_810_000),
    "spikingformer_8_512": ("imagenet", "imagenet", 8, 512, 8, 1000, 4, 2.0, 29_680_000),
    "spikingformer_8_768": ("imagenet", "imagenet", 8, 768, 8, 1000, 4, 2.0, 66_340_000),
    "spikingformer_2_256_cifar10dvs": ("cifar10dvs", "dvs", 2, 256, 16, 10, 16, 1.5, 2_570_000),
    "spikingformer_2_256_dvs128gesture": (
        "dvs128gesture",
        "dvs",
        2,
        256,
        16,
        11,
        16,
        1.5,
        2_570_000,
    ),
    "spikingformer_digits": ("digits", "cifar", 2, 32, 2, 10, 4, 2.0, None),
}

# Code counts from seed_models.md 3.4 (total / minus the unused LayerNorms), in M, 3 decimals.
CODE_COUNTS_M = {
    "spikingformer_8_384": (16.828, 16.816),
    "spikingformer_8_512": (29.706, 29.689),
    "spikingformer_8_768": (66.363, 66.339),
    "spikingformer_4_256": (4.156, 4.152),
    "spikingformer_2_384": (5.766, 5.763),
    "spikingformer_4_384": (9.326, 9.320),
    "spikingformer_2_256_cifar10dvs": (2.569, 2.567),
}


def _meta(spec: ModelSpec) -> torch.nn.Module:
    with torch.device("meta"):
        return spec.build()


def test_zoo_names_and_metadata() -> None:
    assert set(SPECS) == set(EXPECTED)
    for name, (dataset, variant, depth, dim, heads, classes, T, tau, paper) in EXPECTED.items():
        spec = SPECS[name]
        assert spec.family == "spikingformer"
        assert (spec.dataset, spec.extra["variant"], spec.depth, spec.dim, spec.heads) == (
            dataset,
            variant,
            depth,
            dim,
            heads,
        )
        assert (spec.num_classes, spec.time_steps, spec.paper_params) == (classes, T, paper)
        assert spec.kwargs["tau"] == tau
        assert spec.notes


@pytest.mark.parametrize("name", sorted(SPECS))
def test_forward_small_resolution(name: str) -> None:
    spec = SPECS[name]
    check_small_forward(spec, size=16 if spec.dataset == "digits" else 32)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e[-1] is not None))
def test_paper_parameter_count(name: str) -> None:
    spec = SPECS[name]
    assert spec.paper_params is not None
    assert abs(count_parameters_paper(spec) - spec.paper_params) <= 10_000


@pytest.mark.parametrize("name", sorted(CODE_COUNTS_M))
def test_code_parameter_counts_match_seed_document(name: str) -> None:
    total, without_ln = CODE_COUNTS_M[name]
    spec = SPECS[name]
    assert round(count_parameters(spec) / 1e6, 3) == total
    assert round(count_parameters_paper(spec) / 1e6, 3) == without_ln
    if name == "spikingformer_8_768":
        assert count_parameters(spec) == 66_363_208  # the energy log's count


@pytest.mark.parametrize("name", sorted(SPECS))
def test_state_dict_keys_are_official(name: str) -> None:
    spec = SPECS[name]
    keys = set(_meta(spec).state_dict())
    assert keys == documented_keys(spec.extra["variant"], spec.depth)


def test_documented_key_counts_and_shapes() -> None:
    assert len(_meta(SPECS["spikingformer_8_384"]).state_dict()) == 376
    sd = _meta(SPECS["spikingformer_8_768"]).state_dict()
    d = 768
    assert sd["patch_embed.proj_conv.weight"].shape == (d // 8, 3, 3, 3)
    assert sd["patch_embed.proj4_conv.weight"].shape == (d, d, 3, 3)
    assert sd["block.0.attn.q_conv.weight"].shape == (d, d, 1)
    assert sd["block.0.attn.proj_conv.weight"].shape == (d, d, 1)
    assert sd["block.7.mlp.mlp1_conv.weight"].shape == (4 * d, d, 1, 1)
    assert sd["block.7.mlp.mlp2_conv.weight"].shape == (d, 4 * d, 1, 1)
    sd = _meta(SPECS["spikingformer_4_384"]).state_dict()
    assert sd["patch_embed.block0_conv.weight"].shape == (48, 3, 3, 3)
    assert sd["patch_embed.block4_conv.weight"].shape == (384, 384, 3, 3)


@pytest.mark.parametrize(
    "name", ["spikingformer_4_384", "spikingformer_8_768", "spikingformer_2_256_cifar10dvs"]
)
def test_neuron_settings(name: str) -> None:
    spec = SPECS[name]
    model = _meta(spec)
    neurons = {n: m for n, m in model.named_modules() if is_neuron(m)}
    tau = 1.5 if spec.extra["variant"] == "dvs" else 2.0
    for n, m in neurons.items():
        assert isinstance(m, MultiStepLIFNode)
        assert (m.tau, m.decay_input, m.v_reset, m.detach_reset) == (tau, True, 0.0, True)
        assert m.v_threshold == (0.5 if n.endswith("attn_lif") else 1.0)
    # tokenizer: 4; block: proj, q, k, v, attn, mlp1, mlp2
    assert len(neurons) == 4 + 7 * spec.depth
    # Pre-activation: no neuron after the attention projection or at the end of the MLP.
    assert not any(n.endswith(("proj_lif", "mlp_lif")) and "patch" in n for n in neurons)


def test_attention_order() -> None:
    assert _meta(SPECS["spikingformer_8_512"]).block[0].attn.kv_first
    assert not _meta(SPECS["spikingformer_4_384"]).block[0].attn.kv_first
    assert not _meta(SPECS["spikingformer_2_256_cifar10dvs"]).block[0].attn.kv_first


def test_invalid_variant() -> None:
    with pytest.raises(ValueError):
        spikingformer.Spikingformer(variant="vit")
