"""SpikingResformer: structure, parameter counts and state_dict keys of every configuration.

Expected numbers: ``shared/reference/seed_models.md`` section 5 (code-verified against
``xyshi2000/SpikingResformer`` at 3f75127) and the paper.
"""

from __future__ import annotations

import pytest
import torch
import torch.fx
from torch import nn

from snncompile.models import spikingresformer as srf
from snncompile.models.counting import count_parameters_paper
from snncompile.models.neuron import LIFNode, ParametricLIFNode, is_neuron, reset_net
from snncompile.models.registry import ModelSpec, count_parameters

torch.set_num_threads(1)

SPECS = {spec.name: spec for spec in srf.MODELS}

EXPECTED_NAMES = {
    "spikingresformer_ti",
    "spikingresformer_s",
    "spikingresformer_m",
    "spikingresformer_l",
    "spikingresformer_cifar10",
    "spikingresformer_cifar100",
    "spikingresformer_cifar10dvs",
    "spikingresformer_dvsg",
    "spikingresformer_digits",
}

# (all parameters, conv + linear weights only): seed_models.md 5.4, to 0.001 M; exact values
# checked against the official code's state_dict shapes.
CODE_PARAMS = {
    "spikingresformer_ti": (11_180_992, 11_141_312),  # 11.181M / 11.141M
    "spikingresformer_s": (17_813_824, 17_761_472),  # 17.814M / 17.761M
    "spikingresformer_m": (35_601_472, 35_523_776),  # 35.601M / 35.524M
    "spikingresformer_l": (60_375_680, 60_270_976),  # 60.376M / 60.271M
    "spikingresformer_cifar10": (10_793_152, 10_753_472),  # 10.793M
    "spikingresformer_cifar100": (10_827_712, 10_788_032),  # 10.828M
    "spikingresformer_dvsg": (2_709_830, 2_689_952),  # 2.710M
}

# The paper's numbers (conv + linear weights only, BN excluded).
PAPER_PARAMS = {"spikingresformer_ti": 11_140_000, "spikingresformer_m": 35_520_000}

BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _meta(spec: ModelSpec, **overrides: object) -> nn.Module:
    with torch.device("meta"):
        return spec.build(**overrides)


def _small_res(spec: ModelSpec) -> int:
    return 32 if spec.kwargs["stem"] == "imagenet" else 16


def _small_input(spec: ModelSpec, batch: int, res: int, steps: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    if spec.extra["input"] == "frames":
        shape = (batch, steps, spec.in_channels, res, res)
        return (torch.rand(shape, generator=gen) < 0.3).float()
    return torch.rand((batch, spec.in_channels, res, res), generator=gen) * 2.0


def test_every_named_configuration_is_in_the_zoo() -> None:
    assert set(SPECS) == EXPECTED_NAMES
    for spec in SPECS.values():
        assert spec.family == "spikingresformer"
        assert spec.dim == spec.kwargs["planes"][-1]
    for name in ("ti", "s", "m", "l"):
        spec = SPECS[f"spikingresformer_{name}"]
        assert spec.depth == 6 and spec.time_steps == 4 and spec.image_size == 224
        assert spec.kwargs["stem"] == "imagenet"
        # head dim 64 in every stage
        planes, heads = spec.kwargs["planes"], spec.kwargs["num_heads"]
        assert [p // h for p, h in zip(planes, heads, strict=True)] == [64, 64, 64]


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_forward_small_resolution(name: str) -> None:
    """Shape, finite logits (train and eval), binary neuron outputs, firing-rate buffers set."""
    spec = SPECS[name]
    res, steps, batch = _small_res(spec), 2, 2
    torch.manual_seed(0)
    model = spec.build(T=steps, img_size=res)
    outputs: dict[str, torch.Tensor] = {}
    for mname, module in model.named_modules():
        if is_neuron(module):
            module.register_forward_hook(
                lambda _m, _i, out, mname=mname: outputs.__setitem__(mname, out)
            )
    x = _small_input(spec, batch, res, steps)
    with torch.no_grad():
        model.train()  # sets the firing-rate buffers from this batch (as the official code)
        y = model(x)
        reset_net(model)
        train_outputs = dict(outputs)
        model.eval()
        y_eval = model(x)
        reset_net(model)
    for out in (y, y_eval):
        assert out.shape == (batch, spec.num_classes)
        assert torch.isfinite(out).all()
    n_dssa = spec.depth
    n_stages = len(spec.kwargs["planes"])
    # 3 neurons per DSSA, 3 per GWFFN, 1 per downsample layer; the stem has none
    assert len(outputs) == 6 * n_dssa + (n_stages - 1)
    for mname, out in {**outputs, **{k + "@train": v for k, v in train_outputs.items()}}.items():
        assert out.shape[0] == steps, mname
        assert ((out == 0) | (out == 1)).all(), mname
    assert sum(float(o.sum()) for o in train_outputs.values()) > 0
    for module in model.modules():
        if isinstance(module, srf.DSSA):
            assert module.firing_rate_x.shape == (1, 1, module.num_heads, 1, 1)
            assert (module.firing_rate_x > 0).all()
            assert (module.firing_rate_attn > 0).all()


@pytest.mark.parametrize("name", sorted(CODE_PARAMS))
def test_code_parameter_counts(name: str) -> None:
    spec = SPECS[name]
    everything, conv_linear = CODE_PARAMS[name]
    assert count_parameters(spec) == everything
    assert count_parameters_paper(spec) == conv_linear


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_paper_parameter_count(name: str) -> None:
    spec = SPECS[name]
    assert spec.paper_params == PAPER_PARAMS[name]
    assert abs(count_parameters_paper(spec) - PAPER_PARAMS[name]) <= 10_000


def test_paper_params_only_where_the_paper_reports_them() -> None:
    assert {n for n, s in SPECS.items() if s.paper_params is not None} == set(PAPER_PARAMS)


def _documented_keys(stages: list[list[str]], plif: bool, imagenet_stem: bool = True) -> list[str]:
    """The official key list (seed_models.md 5.3), in the official order."""
    keys = ["prologue.0.weight", *(f"prologue.1.bn.{s}" for s in BN_KEYS)]

    def bn(prefix: str) -> None:
        keys.extend(f"{prefix}.bn.{s}" for s in BN_KEYS)

    def neuron(name: str) -> None:
        if plif:
            keys.append(f"{name}.w")

    for s, blocks in enumerate(stages):
        j = 0
        if s > 0:
            keys.append(f"layers.{s}.0.conv.weight")
            bn(f"layers.{s}.0.norm")
            neuron(f"layers.{s}.0.activation")
            j = 1
        for block in blocks:
            p = f"layers.{s}.{j}"
            if block == "DSSA":
                keys += [f"{p}.firing_rate_x", f"{p}.firing_rate_attn"]
                neuron(f"{p}.activation_in")
                keys.append(f"{p}.W.weight")
                bn(f"{p}.norm")
                neuron(f"{p}.activation_attn")
                neuron(f"{p}.activation_out")
                keys.append(f"{p}.Wproj.weight")
                bn(f"{p}.norm_proj")
            else:
                for part, idx in (("up", ""), ("conv", "0."), ("down", "")):
                    neuron(f"{p}.{part}.{idx}0")
                    keys.append(f"{p}.{part}.{idx}1.weight")
                    bn(f"{p}.{part}.{idx}2")
            j += 1
    keys.append("classifier.weight")
    return keys


THREE_STAGES = [["DSSA", "GWFFN"] * n for n in (1, 2, 3)]


def test_full_key_list_ti() -> None:
    """211 keys with the documented shapes, in the official order."""
    state = _meta(SPECS["spikingresformer_ti"]).state_dict()
    assert list(state) == _documented_keys(THREE_STAGES, plif=False)
    assert len(state) == 211
    shapes = {
        "prologue.0.weight": (64, 3, 7, 7),
        "layers.0.0.firing_rate_x": (1, 1, 1, 1, 1),
        "layers.0.0.W.weight": (128, 64, 4, 4),
        "layers.0.1.conv.0.1.weight": (256, 64, 3, 3),
        "layers.1.0.conv.weight": (192, 64, 3, 3),
        "layers.1.3.firing_rate_attn": (1, 1, 3, 1, 1),
        "layers.1.3.W.weight": (384, 192, 2, 2),
        "layers.2.5.W.weight": (768, 384, 1, 1),
        "layers.2.5.Wproj.weight": (384, 384, 1, 1),
        "layers.2.6.up.1.weight": (1536, 384, 1, 1),
        "layers.2.6.conv.0.1.weight": (1536, 64, 3, 3),
        "layers.2.6.down.1.weight": (384, 1536, 1, 1),
        "classifier.weight": (1000, 384),
    }
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape, key


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_key_set_every_configuration(name: str) -> None:
    """Ti/S/M/L/CIFAR/DVS: 211 keys; dvsg (PLIF): 211 + 38 ``.w``; digits: 77."""
    spec = SPECS[name]
    state = _meta(spec).state_dict()
    plif = spec.kwargs.get("spike_mode") == "plif"
    stages = [list(s) for s in spec.kwargs["layers"]]
    assert list(state) == _documented_keys(stages, plif)
    expected = {"spikingresformer_dvsg": 249, "spikingresformer_digits": 77}.get(name, 211)
    assert len(state) == expected
    assert not any(k.endswith(".bias") and ".bn." not in k for k in state)  # no conv bias


def test_neuron_settings() -> None:
    for name, cls in (
        ("spikingresformer_ti", LIFNode),
        ("spikingresformer_dvsg", ParametricLIFNode),
    ):
        neurons = [m for m in _meta(SPECS[name]).modules() if is_neuron(m)]
        assert len(neurons) == 38  # "The Ti model has 38 LIF layers"
        for n in neurons:
            assert isinstance(n, cls)
            assert n.v_threshold == 1.0 and n.v_reset == 0.0 and n.decay_input
            assert n.detach_reset and n.step_mode == "m"
            assert n.surrogate_function.alpha == 2.0
            if cls is LIFNode:
                assert n.tau == 2.0


def test_lenth_follows_img_size() -> None:
    ti = _meta(SPECS["spikingresformer_ti"])
    assert [m.lenth for m in ti.modules() if isinstance(m, srf.DSSA)] == [196] * 6
    at288 = _meta(SPECS["spikingresformer_l"], img_size=288)
    assert [m.lenth for m in at288.modules() if isinstance(m, srf.DSSA)] == [324] * 6
    cifar = _meta(SPECS["spikingresformer_cifar10"])
    assert [m.lenth for m in cifar.modules() if isinstance(m, srf.DSSA)] == [64] * 6


def test_dssa_equation() -> None:
    """A = SN(c1 Y1^T X), O = SN(c2 Y2 A); Y's halves interleaved per head."""
    torch.manual_seed(2)
    heads, dim, t, b, h, w, p = 2, 8, 2, 1, 4, 4, 2
    block = srf.DSSA(dim, heads, lenth=(h // p) * (w // p), patch_size=p).eval()
    block.firing_rate_x.copy_(torch.tensor([0.3, 0.2]).view(1, 1, 2, 1, 1))
    block.firing_rate_attn.copy_(torch.tensor([0.1, 0.4]).view(1, 1, 2, 1, 1))
    seen: dict[str, torch.Tensor] = {}
    for name in ("activation_in", "activation_attn", "activation_out"):
        getattr(block, name).register_forward_hook(
            lambda _m, i, o, name=name: seen.update({name + ".in": i[0], name: o})
        )
    block.norm.register_forward_hook(lambda _m, _i, o: seen.update({"y": o}))
    with torch.no_grad():
        block(torch.randn(t, b, dim, h, w) * 3)
    x = seen["activation_in"].reshape(t, b, heads, dim // heads, h * w)
    y = seen["y"].reshape(t, b, heads, 2 * dim // heads, -1)
    c1 = 1 / torch.sqrt(block.firing_rate_x * (dim // heads))
    c2 = 1 / torch.sqrt(block.firing_rate_attn * block.lenth)
    y1, y2 = y[:, :, :, : dim // heads], y[:, :, :, dim // heads :]
    torch.testing.assert_close(seen["activation_attn.in"], (y1.transpose(-1, -2) @ x) * c1)
    out_in = (y2 @ seen["activation_attn"]) * c2
    torch.testing.assert_close(seen["activation_out.in"], out_in.reshape(t, b, dim, h, w))


def test_fx_traceable_with_neuron_leaves() -> None:
    class Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
            return is_neuron(m) or super().is_leaf_module(m, qualname)

    for name in ("spikingresformer_digits", "spikingresformer_dvsg"):
        spec = SPECS[name]
        res = _small_res(spec)
        model = spec.build(T=2, img_size=res)
        x = _small_input(spec, 2, res, 2)
        with torch.no_grad():
            model.train()
            model(x)  # set the firing-rate buffers
            reset_net(model)
            model.eval()
            graph_module = torch.fx.GraphModule(model, Tracer().trace(model))
            expected = model(x)
            reset_net(model)
            assert torch.equal(graph_module(x), expected)
            reset_net(model)


def test_per_step_output_and_bad_arguments() -> None:
    spec = SPECS["spikingresformer_digits"]
    model = spec.build(per_step_output=True)
    with torch.no_grad():
        assert model(torch.rand(3, 1, 32, 32)).shape == (spec.time_steps, 3, 10)
    with pytest.raises(ValueError, match="spike_mode"):
        spec.build(spike_mode="if")
    with pytest.raises(ValueError, match="stem"):
        spec.build(stem="resnet")
