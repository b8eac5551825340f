"""Every zoo family traced to the IR computes exactly what PyTorch computes (float64).

Acceptance bar of issue 4: IR logits equal PyTorch logits within 1e-5 relative and every
neuron's spike tensor is identical, for the digits models (random weights, several seeds) and
small-resolution CIFAR, ImageNet and DVS variants of each family.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

import snncompile
import snncompile.frontend.torch
import snncompile.models as zoo
from tests.frontend.equivalence import assert_equivalent, compare, randomize

DIGITS = ["spikformer_digits", "spikingformer_digits", "sdt_digits", "spikingresformer_digits"]

_SMALL_VIT = {"embed_dims": 32, "num_heads": 2, "depths": 1}
_SMALL_RES = {
    "planes": (16, 32),
    "num_heads": (1, 2),
    "layers": (("DSSA", "GWFFN"), ("DSSA", "GWFFN")),
    "patch_sizes": (4, 2),
    "group_size": 16,
}

#: (zoo name, constructor overrides, input shape of one sample, T)
VARIANTS: list[tuple[str, dict[str, Any], tuple[int, ...], int]] = [
    ("spikformer_4_384", {**_SMALL_VIT, "img_size_h": 16, "img_size_w": 16}, (3, 16, 16), 4),
    ("spikformer_8_512", {**_SMALL_VIT, "img_size_h": 32, "img_size_w": 32}, (3, 32, 32), 4),
    (
        "spikformer_2_256_cifar10dvs",
        {**_SMALL_VIT, "img_size_h": 32, "img_size_w": 32, "T": 2},
        (2, 2, 32, 32),
        2,
    ),
    ("spikingformer_4_256", {**_SMALL_VIT, "img_size_h": 16, "img_size_w": 16}, (3, 16, 16), 4),
    ("spikingformer_8_384", {**_SMALL_VIT, "img_size_h": 32, "img_size_w": 32}, (3, 32, 32), 4),
    ("sdt_2_256", {**_SMALL_VIT, "img_size_h": 16, "img_size_w": 16}, (3, 16, 16), 4),
    ("sdt_8_384", {**_SMALL_VIT, "img_size_h": 32, "img_size_w": 32}, (3, 32, 32), 4),
    (
        "sdt_2_256_cifar10dvs",
        {**_SMALL_VIT, "img_size_h": 16, "img_size_w": 16, "T": 2},
        (2, 2, 16, 16),
        2,
    ),
    ("spikingresformer_cifar10", {**_SMALL_RES, "img_size": 16}, (3, 16, 16), 4),
    ("spikingresformer_ti", {**_SMALL_RES, "img_size": 32}, (3, 32, 32), 4),
    ("spikingresformer_dvsg", {**_SMALL_RES, "img_size": 16, "T": 2}, (2, 3, 16, 16), 2),
]


def _batch(sample: tuple[int, ...], seed: int, batch: int = 3) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1000 + seed)
    return torch.rand((batch, *sample), generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", DIGITS)
def test_digits_models_match_pytorch(name: str, seed: int) -> None:
    torch.manual_seed(seed)
    model = randomize(zoo.create(name).double(), seed)
    spec = zoo.get_spec(name)
    x = _batch((spec.in_channels, spec.image_size, spec.image_size), seed)
    result = compare(model, x, spec.time_steps)
    assert_equivalent(result)
    assert result.graph.op_counts()["lif"] == len(result.torch_spikes)
    # the comparison is not vacuous: neurons do fire
    assert sum(float(s[0].sum()) for s in result.torch_spikes.values()) > 0


@pytest.mark.parametrize(
    ("name", "overrides", "sample", "steps"), VARIANTS, ids=[v[0] for v in VARIANTS]
)
def test_small_variants_match_pytorch(
    name: str, overrides: dict[str, Any], sample: tuple[int, ...], steps: int
) -> None:
    torch.manual_seed(0)
    model = randomize(zoo.create(name, **overrides).double(), 0)
    assert_equivalent(compare(model, _batch(sample, 0), steps))


def test_public_api_trace_and_simulate_match_pytorch() -> None:
    torch.manual_seed(3)
    model = randomize(zoo.create("sdt_digits").double(), 3).eval()
    x = _batch((1, 16, 16), 3)
    graph = snncompile.trace(model, x, time_steps=4)
    logits = snncompile.simulate(graph, x, time_steps=4)
    with torch.no_grad():
        expected = model(x).numpy()
    zoo.reset_net(model)
    assert logits.shape == expected.shape
    assert abs(logits - expected).max() <= 1e-5 * abs(expected).max()
    # [T, B, ...] inputs give the same result as static ones
    repeated = x.unsqueeze(0).repeat(4, 1, 1, 1, 1)
    assert (snncompile.simulate(graph, repeated, time_steps=4) == logits).all()


def test_per_step_output_model_is_averaged_by_simulate() -> None:
    """SDT with ``TET`` returns [T, B, classes]; the graph output is per step either way."""
    torch.manual_seed(4)
    model = randomize(zoo.create("sdt_digits", TET=True).double(), 4).eval()
    x = _batch((1, 16, 16), 4)
    info = snncompile.frontend.torch.trace_with_info(model, x, time_steps=4)
    assert not info.output_averaged
    with torch.no_grad():
        expected = model(x).mean(0).numpy()
    zoo.reset_net(model)
    logits = snncompile.simulate(info.graph, x, time_steps=4)
    assert abs(logits - expected).max() <= 1e-12 * abs(expected).max()


def test_float32_models_match_pytorch() -> None:
    torch.manual_seed(5)
    model = randomize(zoo.create("spikformer_digits"), 5)
    x = _batch((1, 16, 16), 5).float()
    result = compare(model, x, 4)
    assert result.graph.inputs[0].type.dtype == "f32"
    assert_equivalent(result)
