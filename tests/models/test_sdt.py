"""Spike-Driven Transformer v1: structure, parameter counts and state_dict keys of every config.

The expected numbers come from ``shared/reference/seed_models.md`` section 4 (code-verified against
``BICLab/Spike-Driven-Transformer`` at 3faa822) and the paper's tables.
"""

from __future__ import annotations

import pytest
import torch
import torch.fx
from torch import nn

from snncompile.models import sdt
from snncompile.models.counting import count_parameters_paper
from snncompile.models.neuron import (
    MultiStepLIFNode,
    MultiStepParametricLIFNode,
    is_neuron,
    reset_net,
)
from snncompile.models.registry import ModelSpec, count_parameters

torch.set_num_threads(1)

SPECS = {spec.name: spec for spec in sdt.MODELS}

# Every configuration named by the seed document (plus the digits member).
EXPECTED_NAMES = {
    "sdt_8_384",
    "sdt_6_512",
    "sdt_8_512",
    "sdt_10_512",
    "sdt_8_768",
    "sdt_2_256",
    "sdt_2_512",
    "sdt_2_256_cifar100",
    "sdt_2_512_cifar100",
    "sdt_2_256_cifar10dvs",
    "sdt_2_256_dvs128gesture",
    "sdt_digits",
}

# Code counts (sum of numel of the built model), seed_models.md 4.5 "params code" to 0.001 M; the
# exact values were checked against the official code's state_dict shapes.
CODE_PARAMS = {
    "sdt_8_384": 16_816_536,  # 16.817M
    "sdt_6_512": 23_373_736,  # 23.374M
    "sdt_8_512": 29_689_896,  # 29.690M
    "sdt_10_512": 36_006_056,  # 36.006M
    "sdt_8_768": 66_339_144,  # 66.339M (= third-party count of the released checkpoint)
    "sdt_2_256": 2_567_082,  # 2.567M
    "sdt_2_512": 10_233_546,  # 10.234M
    "sdt_2_512_cifar100": 10_279_716,  # 10.280M
    "sdt_2_256_cifar10dvs": 2_566_794,  # 2.567M
    "sdt_2_256_dvs128gesture": 2_567_051,  # 2.567M
}

# Papers' numbers (Tables 1-3; all parameters counted).
PAPER_PARAMS = {
    "sdt_8_384": 16_810_000,
    "sdt_6_512": 23_370_000,
    "sdt_8_512": 29_680_000,
    "sdt_10_512": 36_010_000,
    "sdt_8_768": 66_340_000,
    "sdt_2_512_cifar100": 10_280_000,
    "sdt_2_256_cifar10dvs": 2_570_000,
    "sdt_2_256_dvs128gesture": 2_570_000,
}

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _meta(spec: ModelSpec, **overrides: object) -> nn.Module:
    with torch.device("meta"):
        return spec.build(**overrides)


def _small_input(spec: ModelSpec, batch: int, res: int, steps: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    if spec.extra["input"] == "frames":
        shape = (batch, steps, spec.in_channels, res, res)
        return (torch.rand(shape, generator=gen) < 0.3).float()
    return torch.rand((batch, spec.in_channels, res, res), generator=gen) * 2.0


def test_every_named_configuration_is_in_the_zoo() -> None:
    assert set(SPECS) == EXPECTED_NAMES
    for spec in SPECS.values():
        assert spec.family == "sdt"
        assert spec.heads == 8
        assert spec.extra["input"] in ("image", "frames")


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_forward_small_resolution(name: str) -> None:
    """Shape, finite logits, binary neuron outputs (a few of them spiking), state reset."""
    spec = SPECS[name]
    res = 32 if spec.kwargs["pooling_stat"] in ("1111", "0111") else 16
    steps, batch = 2, 2
    torch.manual_seed(0)
    model = spec.build(T=steps, img_size_h=res, img_size_w=res)
    outputs: dict[str, torch.Tensor] = {}
    for mname, module in model.named_modules():
        if is_neuron(module):
            module.register_forward_hook(
                lambda _m, _i, out, mname=mname: outputs.__setitem__(mname, out)
            )
    x = _small_input(spec, batch, res, steps)
    with torch.no_grad():
        model.train()  # batch statistics: the random network then spikes
        y = model(x)
        reset_net(model)
        train_outputs = dict(outputs)
        model.eval()
        y_eval = model(x)
        reset_net(model)
    assert y.shape == (batch, spec.num_classes)
    assert y_eval.shape == (batch, spec.num_classes)
    assert torch.isfinite(y).all() and torch.isfinite(y_eval).all()
    # all neurons run in forward except the two the official code builds but never calls
    depth = spec.depth
    assert len(outputs) == 4 + 7 * depth + 1
    assert not any(k.endswith(("attn_lif", "rpe_lif")) for k in outputs)
    for mname, out in outputs.items():
        assert out.shape[0] == steps, mname
        assert ((out == 0) | (out == 1)).all(), mname
    assert len(train_outputs) == len(outputs)
    assert all(((o == 0) | (o == 1)).all() for o in train_outputs.values())
    assert sum(float(o.sum()) for o in train_outputs.values()) > 0
    # SDSA neuron: [T, B, heads, 1, head_dim]
    kv = outputs["block.0.attn.talking_heads_lif"]
    assert kv.shape == (steps, batch, 8, 1, spec.dim // 8)


@pytest.mark.parametrize("name", sorted(CODE_PARAMS))
def test_code_parameter_count(name: str) -> None:
    assert count_parameters(SPECS[name]) == CODE_PARAMS[name]


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_paper_parameter_count(name: str) -> None:
    """The paper counts every parameter of the code (the unused talking_heads included)."""
    spec = SPECS[name]
    assert spec.paper_params == PAPER_PARAMS[name]
    assert spec.extra["paper_excludes"] == ()
    assert abs(count_parameters_paper(spec) - PAPER_PARAMS[name]) <= 10_000


def test_paper_params_only_where_the_paper_reports_them() -> None:
    with_paper = {name for name, spec in SPECS.items() if spec.paper_params is not None}
    assert with_paper == set(PAPER_PARAMS)


def _documented_keys(depth: int, spike_mode: str = "lif") -> list[str]:
    """The official state_dict keys (seed_models.md 4.4), in the official order."""
    keys: list[str] = []

    def bn(prefix: str) -> None:
        keys.extend(f"{prefix}.{s}" for s in BN)

    def lif(name: str) -> None:
        if spike_mode == "plif":
            keys.append(f"{name}.w")

    for suffix in ("", "1", "2", "3"):
        keys.append(f"patch_embed.proj_conv{suffix}.weight")
        bn(f"patch_embed.proj_bn{suffix}")
        lif(f"patch_embed.proj_lif{suffix}")
    keys.append("patch_embed.rpe_conv.weight")
    bn("patch_embed.rpe_bn")
    lif("patch_embed.rpe_lif")
    for i in range(depth):
        a, m = f"block.{i}.attn", f"block.{i}.mlp"
        for n in ("q", "k", "v"):
            keys.append(f"{a}.{n}_conv.weight")
            bn(f"{a}.{n}_bn")
            lif(f"{a}.{n}_lif")
        lif(f"{a}.attn_lif")
        keys.append(f"{a}.talking_heads.weight")
        lif(f"{a}.talking_heads_lif")
        keys += [f"{a}.proj_conv.weight", f"{a}.proj_conv.bias"]
        bn(f"{a}.proj_bn")
        lif(f"{a}.shortcut_lif")
        for fc in ("fc1", "fc2"):
            keys += [f"{m}.{fc}_conv.weight", f"{m}.{fc}_conv.bias"]
            bn(f"{m}.{fc}_bn")
            lif(f"{m}.{fc}_lif")
    lif("head_lif")
    keys += ["head.weight", "head.bias"]
    return keys


def test_full_key_list_sdt_8_384() -> None:
    """The documented key list, in order, with the documented shapes (352 keys)."""
    spec = SPECS["sdt_8_384"]
    state = _meta(spec).state_dict()
    assert list(state) == _documented_keys(8)
    assert len(state) == 352
    d = 384
    shapes = {
        "patch_embed.proj_conv.weight": (d // 8, 3, 3, 3),
        "patch_embed.proj_conv1.weight": (d // 4, d // 8, 3, 3),
        "patch_embed.proj_conv2.weight": (d // 2, d // 4, 3, 3),
        "patch_embed.proj_conv3.weight": (d, d // 2, 3, 3),
        "patch_embed.rpe_conv.weight": (d, d, 3, 3),
        "block.7.attn.q_conv.weight": (d, d, 1, 1),
        "block.7.attn.talking_heads.weight": (8, 8, 1),
        "block.7.attn.proj_conv.weight": (d, d, 1, 1),
        "block.7.attn.proj_conv.bias": (d,),
        "block.7.mlp.fc1_conv.weight": (4 * d, d, 1, 1),
        "block.7.mlp.fc2_conv.weight": (d, 4 * d, 1, 1),
        "head.weight": (1000, d),
        "head.bias": (1000,),
    }
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape, key


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
@pytest.mark.parametrize("spike_mode", ["lif", "plif"])
def test_key_set_every_configuration(name: str, spike_mode: str) -> None:
    """32 + 40 L keys (lif); plif adds a ``w`` per neuron: 6 + 8 L (rpe_lif, attn_lif too)."""
    spec = SPECS[name]
    state = _meta(spec, spike_mode=spike_mode).state_dict()
    depth = spec.depth
    expected = 32 + 40 * depth + (6 + 8 * depth if spike_mode == "plif" else 0)
    assert len(state) == expected
    assert list(state) == _documented_keys(depth, spike_mode)
    assert not any("norm" in k or "drop" in k or "pool" in k for k in state)


def test_neuron_settings() -> None:
    model = _meta(SPECS["sdt_2_256"])
    neurons = {n: m for n, m in model.named_modules() if is_neuron(m)}
    for name, neuron in neurons.items():
        assert isinstance(neuron, MultiStepLIFNode)
        assert neuron.tau == 2.0 and neuron.v_reset == 0.0 and neuron.decay_input
        assert neuron.detach_reset
        assert neuron.surrogate_function.alpha == 4.0
        half = name.endswith(("talking_heads_lif", "attn_lif"))
        assert neuron.v_threshold == (0.5 if half else 1.0), name
    plif = _meta(SPECS["sdt_2_256"], spike_mode="plif")
    assert all(isinstance(m, MultiStepParametricLIFNode) for m in plif.modules() if is_neuron(m))
    with pytest.raises(ValueError, match="spike_mode"):
        sdt.SpikeDrivenTransformer(spike_mode="alif")


def test_strict_load_roundtrip() -> None:
    spec = SPECS["sdt_digits"]
    a, b = spec.build(), spec.build()
    b.load_state_dict(a.state_dict(), strict=True)
    x = torch.rand(2, 1, 16, 16)
    a.eval()
    b.eval()
    with torch.no_grad():
        assert torch.equal(a(x), b(x))


def test_sdsa_equation() -> None:
    """talking_heads_lif sees Σ_tokens K⊙V per head; the attention output is Q ⊙ that spike."""
    torch.manual_seed(1)
    block = sdt.MS_SSA_Conv(dim=16, num_heads=4)
    for bn in (block.q_bn, block.k_bn, block.v_bn):
        bn.bias.data.fill_(1.5)  # make q, k, v spike often
    seen: dict[str, torch.Tensor] = {}

    for name in ("q_lif", "k_lif", "v_lif", "talking_heads_lif"):
        getattr(block, name).register_forward_hook(
            lambda _m, inp, out, name=name: seen.update({name + ".in": inp[0], name: out})
        )
    proj_in: list[torch.Tensor] = []
    block.proj_conv.register_forward_hook(lambda _m, i, _o: proj_in.append(i[0]))
    t, b, c, h, w = 3, 2, 16, 4, 4
    with torch.no_grad():
        block.eval()
        block(torch.randn(t, b, c, h, w))

    def heads(x: torch.Tensor) -> torch.Tensor:  # [T,B,C,H,W] -> [T,B,h,N,d], heads contiguous
        return x.reshape(t, b, 4, c // 4, h * w).transpose(-1, -2)

    q, k, v = heads(seen["q_lif"]), heads(seen["k_lif"]), heads(seen["v_lif"])
    assert seen["k_lif"].sum() > 0 and seen["v_lif"].sum() > 0
    assert torch.equal(seen["talking_heads_lif.in"], (k * v).sum(dim=-2, keepdim=True))
    expected = (q * seen["talking_heads_lif"]).transpose(-1, -2).reshape(t * b, c, h, w)
    assert torch.equal(proj_in[0], expected)


def test_fx_traceable_with_neuron_leaves() -> None:
    class Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
            return is_neuron(m) or super().is_leaf_module(m, qualname)

    for name, res in (("sdt_digits", 16), ("sdt_2_256_cifar10dvs", 16)):
        spec = SPECS[name]
        model = spec.build(T=2, embed_dims=32, depths=1).eval()
        graph_module = torch.fx.GraphModule(model, Tracer().trace(model))
        x = _small_input(spec, 2, res, 2)
        with torch.no_grad():
            expected = model(x)
            reset_net(model)
            assert torch.equal(graph_module(x), expected)
            reset_net(model)
