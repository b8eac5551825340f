"""Spikformer: every configuration's forward pass, parameter counts and official state_dict keys.

Expected numbers come from ``shared/reference/seed_models.md`` section 2 (code-verified against
``ZK-Zhou/spikformer`` at 6212689) and the paper's tables; the key sets are generated from the
documented templates (section 2.4), not from our code.
"""

from __future__ import annotations

import pytest
import torch

from snncompile.models import spikformer
from snncompile.models.counting import count_parameters_paper
from snncompile.models.neuron import MultiStepLIFNode, is_neuron, reset_net
from snncompile.models.registry import ModelSpec, count_parameters

from .helpers import check_small_forward

torch.set_num_threads(1)

SPECS = {spec.name: spec for spec in spikformer.MODELS}

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def documented_keys(variant: str, depth: int) -> set[str]:
    """The official state_dict keys (seed_models.md 2.4)."""
    keys: set[str] = set()
    for conv, bn in [
        ("proj_conv", "proj_bn"),
        ("proj_conv1", "proj_bn1"),
        ("proj_conv2", "proj_bn2"),
        ("proj_conv3", "proj_bn3"),
        ("rpe_conv", "rpe_bn"),
    ]:
        keys.add(f"patch_embed.{conv}.weight")
        keys |= {f"patch_embed.{bn}.{s}" for s in BN}
    for i in range(depth):
        b = f"block.{i}"
        keys |= {f"{b}.norm1.weight", f"{b}.norm1.bias", f"{b}.norm2.weight", f"{b}.norm2.bias"}
        for name in ("q", "k", "v", "proj"):
            keys |= {f"{b}.attn.{name}_bn.{s}" for s in BN}
            if variant == "cifar":
                keys |= {f"{b}.attn.{name}_linear.weight", f"{b}.attn.{name}_linear.bias"}
            else:
                keys.add(f"{b}.attn.{name}_conv.weight")
        if variant != "cifar":
            keys.add(f"{b}.attn.proj_conv.bias")
        op = "linear" if variant == "cifar" else "conv"
        for fc in ("fc1", "fc2"):
            keys |= {f"{b}.mlp.{fc}_{op}.weight", f"{b}.mlp.{fc}_{op}.bias"}
            keys |= {f"{b}.mlp.{fc}_bn.{s}" for s in BN}
    keys |= {"head.weight", "head.bias"}
    if variant == "dvs":
        keys |= {"pos_embed", "norm.weight", "norm.bias"}
    return keys


# name -> (dataset, variant, depth, dim, heads, classes, T, paper params)
EXPECTED = {
    "spikformer_4_256": ("cifar10", "cifar", 4, 256, 8, 10, 4, 4_150_000),
    "spikformer_4_256_cifar100": ("cifar100", "cifar", 4, 256, 8, 100, 4, None),
    "spikformer_2_384": ("cifar10", "cifar", 2, 384, 12, 10, 4, 5_760_000),
    "spikformer_2_384_cifar100": ("cifar100", "cifar", 2, 384, 12, 100, 4, None),
    "spikformer_4_384": ("cifar10", "cifar", 4, 384, 12, 10, 4, 9_320_000),
    "spikformer_4_384_cifar100": ("cifar100", "cifar", 4, 384, 12, 100, 4, None),
    "spikformer_8_384": ("imagenet", "imagenet", 8, 384, 8, 1000, 4, 16_810_000),
    "spikformer_6_512": ("imagenet", "imagenet", 6, 512, 8, 1000, 4, 23_370_000),
    "spikformer_8_512": ("imagenet", "imagenet", 8, 512, 8, 1000, 4, 29_680_000),
    "spikformer_10_512": ("imagenet", "imagenet", 10, 512, 8, 1000, 4, 36_010_000),
    "spikformer_8_768": ("imagenet", "imagenet", 8, 768, 8, 1000, 4, 66_340_000),
    "spikformer_2_256_cifar10dvs": ("cifar10dvs", "dvs", 2, 256, 16, 10, 16, 2_590_000),
    "spikformer_2_256_dvs128gesture": ("dvs128gesture", "dvs", 2, 256, 8, 11, 16, None),
    "spikformer_digits": ("digits", "cifar", 2, 32, 2, 10, 4, None),
}

# Code counts from seed_models.md 2.5 (total / minus the unused LayerNorms), in M, 3 decimals.
CODE_COUNTS_M = {
    "spikformer_4_256": (4.159, 4.155),
    "spikformer_2_384": (5.768, 5.765),
    "spikformer_4_384": (9.331, 9.325),
    "spikformer_8_384": (16.828, 16.816),
    "spikformer_6_512": (23.386, 23.373),
    "spikformer_8_512": (29.706, 29.689),
    "spikformer_10_512": (36.026, 36.005),
    "spikformer_8_768": (66.363, 66.339),
    "spikformer_2_256_cifar10dvs": (2.586, None),
}


def _meta(spec: ModelSpec) -> torch.nn.Module:
    with torch.device("meta"):
        return spec.build()


def test_zoo_names_and_metadata() -> None:
    assert set(SPECS) == set(EXPECTED)
    for name, (dataset, variant, depth, dim, heads, classes, T, paper) in EXPECTED.items():
        spec = SPECS[name]
        assert spec.family == "spikformer"
        assert (spec.dataset, spec.extra["variant"], spec.depth, spec.dim, spec.heads) == (
            dataset,
            variant,
            depth,
            dim,
            heads,
        )
        assert (spec.num_classes, spec.time_steps, spec.paper_params) == (classes, T, paper)
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
    model = _meta(spec)
    ln = sum(p.numel() for n, p in model.named_parameters() if ".norm1." in n or ".norm2." in n)
    if without_ln is not None:
        assert round((count_parameters(spec) - ln) / 1e6, 3) == without_ln
    if name == "spikformer_8_768":
        assert count_parameters(spec) == 66_363_208


@pytest.mark.parametrize("name", sorted(SPECS))
def test_state_dict_keys_are_official(name: str) -> None:
    spec = SPECS[name]
    keys = set(_meta(spec).state_dict())
    assert keys == documented_keys(spec.extra["variant"], spec.depth)


def test_documented_key_counts_and_shapes() -> None:
    assert len(_meta(SPECS["spikformer_4_384"]).state_dict()) == 216
    assert len(_meta(SPECS["spikformer_8_384"]).state_dict()) == 376
    sd = _meta(SPECS["spikformer_4_384"]).state_dict()
    d = 384
    assert sd["patch_embed.proj_conv.weight"].shape == (d // 8, 3, 3, 3)
    assert sd["patch_embed.proj_conv3.weight"].shape == (d, d // 2, 3, 3)
    assert sd["patch_embed.rpe_conv.weight"].shape == (d, d, 3, 3)
    assert sd["block.0.attn.q_linear.weight"].shape == (d, d)
    assert sd["block.3.mlp.fc1_linear.weight"].shape == (4 * d, d)
    assert sd["block.3.mlp.fc2_linear.weight"].shape == (d, 4 * d)
    assert sd["head.weight"].shape == (10, d)
    sd = _meta(SPECS["spikformer_8_512"]).state_dict()
    assert sd["block.7.attn.q_conv.weight"].shape == (512, 512, 1)
    assert sd["block.7.attn.proj_conv.bias"].shape == (512,)
    assert sd["block.0.mlp.fc1_conv.weight"].shape == (2048, 512, 1, 1)
    sd = _meta(SPECS["spikformer_2_256_cifar10dvs"]).state_dict()
    assert sd["pos_embed"].shape == (1, 64, 256)
    assert sd["block.1.mlp.fc1_conv.weight"].shape == (1024, 256, 1)
    assert "q_conv.bias" not in " ".join(sd)


@pytest.mark.parametrize(
    "name", ["spikformer_4_384", "spikformer_8_512", "spikformer_2_256_cifar10dvs"]
)
def test_neuron_settings(name: str) -> None:
    model = _meta(SPECS[name])
    neurons = {n: m for n, m in model.named_modules() if is_neuron(m)}
    assert neurons
    for n, m in neurons.items():
        assert isinstance(m, MultiStepLIFNode)
        assert (m.tau, m.decay_input, m.v_reset, m.detach_reset) == (2.0, True, 0.0, True)
        assert m.v_threshold == (0.5 if n.endswith("attn_lif") else 1.0)
    depth = SPECS[name].depth
    extra = depth if name.endswith("dvs") else 0  # DVS: unused res_lif
    assert len(neurons) == 5 + depth * 7 + extra


def test_attention_scale_and_order() -> None:
    cifar = _meta(SPECS["spikformer_4_384"])
    imagenet = _meta(SPECS["spikformer_8_512"])
    dvs = _meta(SPECS["spikformer_2_256_cifar10dvs"])
    assert cifar.block[0].attn.scale == 0.125
    assert (imagenet.block[0].attn.scale, imagenet.block[0].attn.kv_first) == (0.125, True)
    assert (dvs.block[0].attn.scale, dvs.block[0].attn.kv_first) == (0.25, False)


def test_same_output_as_spikingjelly_neurons() -> None:
    """Swapping every neuron for spikingjelly's clock_driven one gives the same logits."""
    sj = pytest.importorskip("spikingjelly.clock_driven.neuron")
    torch.manual_seed(0)
    model = SPECS["spikformer_digits"].build(T=3).eval()
    x = torch.rand(4, 1, 16, 16)
    with torch.no_grad():
        ours = model(x)
    for name, module in list(model.named_modules()):
        if is_neuron(module):
            parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
            setattr(
                parent,
                name.rsplit(".", 1)[-1],
                sj.MultiStepLIFNode(
                    tau=module.tau,
                    v_threshold=module.v_threshold,
                    detach_reset=True,
                    backend="torch",
                ),
            )
    reset_net(model)
    with torch.no_grad():
        theirs = model(x)
    assert torch.equal(ours, theirs)


def test_invalid_variant() -> None:
    with pytest.raises(ValueError):
        spikformer.Spikformer(variant="vit")
