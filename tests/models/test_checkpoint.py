"""load_checkpoint: every accepted layout loads strictly; every bad input gives its code."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
import torch
from torch import nn

from snncompile.diagnostics import SnnCompileError
from snncompile.models import create, load_checkpoint
from snncompile.models.checkpoint import _drop_unused, extract_state_dict, matching_archs
from snncompile.models.registry import ModelSpec

torch.set_num_threads(1)

ARCH = "spikformer_digits"


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = create(ARCH)
    # Non-default values everywhere, so a silent non-load would be noticed.
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.randn_like(t))
    return {k: v.clone() for k, v in model.state_dict().items()}


def _assert_loaded(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    assert not model.training
    loaded = model.state_dict()
    assert loaded.keys() == state.keys()
    for k, v in state.items():
        assert torch.equal(loaded[k], v), k


def _save(obj: object, path: Path) -> Path:
    torch.save(obj, path)
    return path


def _error(path: Path, arch: str = ARCH, **kw: object) -> SnnCompileError:
    with pytest.raises(SnnCompileError) as info:
        load_checkpoint(path, arch, **kw)
    err = info.value
    assert err.__cause__ is None
    assert err.__context__ is None or err.__suppress_context__, "no chained traceback"
    return err


@pytest.mark.parametrize(
    "layout",
    ["bare", "state_dict", "model", "state_dict_ema", "module_prefix", "timm_full", "compiled"],
)
def test_accepted_layouts(tmp_path: Path, state: dict[str, torch.Tensor], layout: str) -> None:
    if layout == "bare":
        obj: object = state
    elif layout == "module_prefix":
        obj = {"state_dict": {f"module.{k}": v for k, v in state.items()}}
    elif layout == "compiled":
        obj = {f"_orig_mod.{k}": v for k, v in state.items()}
    elif layout == "timm_full":
        # What timm's CheckpointSaver writes (incl. pickled args and numpy scalars).
        obj = {
            "epoch": 299,
            "arch": "spikformer",
            "state_dict": state,
            "optimizer": {"state": {}, "param_groups": [{"lr": 1e-5, "params": [0, 1]}]},
            "version": 2,
            "args": argparse.Namespace(lr=5e-4, model="spikformer", T=4),
            "metric": np.float64(95.19),
        }
    else:
        obj = {layout: state, "epoch": 3}
    path = _save(obj, tmp_path / "ckpt.pth.tar")
    _assert_loaded(load_checkpoint(path, ARCH), state)


def test_plain_weights_preferred_over_ema_and_key_selects(
    tmp_path: Path, state: dict[str, torch.Tensor]
) -> None:
    ema = {k: (v + 1 if v.is_floating_point() else v) for k, v in state.items()}
    path = _save({"state_dict": state, "state_dict_ema": ema}, tmp_path / "c.pt")
    _assert_loaded(load_checkpoint(path, ARCH), state)
    _assert_loaded(load_checkpoint(path, ARCH, key="state_dict_ema"), ema)
    err = _error(path, key="model_ema")
    assert err.code == "ML402" and "model_ema" in err.message


def test_official_structure_loads_strictly(tmp_path: Path) -> None:
    """A CIFAR10-DVS checkpoint with all official keys (unused pos_embed, norm, LayerNorms)."""
    model = create("spikformer_2_256_cifar10dvs")
    sd = model.state_dict()
    assert "pos_embed" in sd and "block.1.norm2.bias" in sd
    path = _save({"state_dict": sd}, tmp_path / "dvs.pth.tar")
    _assert_loaded(load_checkpoint(path, "spikformer_2_256_cifar10dvs"), sd)


def test_overrides_are_applied(tmp_path: Path, state: dict[str, torch.Tensor]) -> None:
    path = _save(state, tmp_path / "c.pt")
    model = load_checkpoint(path, ARCH, T=2)
    assert model.T == 2
    _assert_loaded(model, state)


# --- ML402: unreadable ----------------------------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    err = _error(tmp_path / "nope.pt")
    assert err.code == "ML402" and "does not exist" in err.message and "nope.pt" in err.message


def test_directory(tmp_path: Path) -> None:
    assert _error(tmp_path).code == "ML402"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    err = _error(path)
    assert err.code == "ML402" and "empty" in err.message


@pytest.mark.parametrize("content", ["garbage", "text", "truncated"])
def test_corrupt_files(tmp_path: Path, state: dict[str, torch.Tensor], content: str) -> None:
    path = tmp_path / "bad.pt"
    if content == "garbage":
        path.write_bytes(os.urandom(2048))
    elif content == "text":
        path.write_text("this is not a checkpoint\n")
    else:
        _save(state, path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    err = _error(path)
    assert err.code == "ML402", err.render()
    assert "bad.pt" in err.message


@pytest.mark.parametrize(
    "obj,needle",
    [
        (torch.ones(3), "Tensor"),
        ([1, 2, 3], "list"),
        ({}, "empty"),
        ({"epoch": 3, "arch": "x"}, "'epoch'"),
        ({"state_dict": {"a": 1}}, "no state dict"),
    ],
    ids=["tensor", "list", "empty-dict", "no-weights", "not-tensors"],
)
def test_not_a_state_dict(tmp_path: Path, obj: object, needle: str) -> None:
    err = _error(_save(obj, tmp_path / "c.pt"))
    assert err.code == "ML402"
    assert needle in err.message


# --- ML404: pickled code ----------------------------------------------------------------------
def test_pickled_module_needs_trust(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create(ARCH)
    path = _save(model, tmp_path / "module.pt")
    err = _error(path)
    assert err.code == "ML404"
    assert "snncompile.models.spikformer" in err.message
    loaded = load_checkpoint(path, ARCH, trust_pickle=True)
    _assert_loaded(loaded, model.state_dict())


# --- ML403: mismatches ------------------------------------------------------------------------
def test_wrong_architecture_names_the_match(tmp_path: Path, state: dict[str, torch.Tensor]) -> None:
    path = _save({"state_dict": state}, tmp_path / "c.pt")
    err = _error(path, arch="spikingformer_digits")
    assert err.code == "ML403"
    assert "missing" in err.message and "unexpected" in err.message
    assert "patch_embed.block0_conv.weight" in err.message  # expected by spikingformer
    assert "patch_embed.proj_conv.weight" in err.message  # present in the file
    assert "The checkpoint matches: spikformer_digits" in err.message


def test_missing_key(tmp_path: Path, state: dict[str, torch.Tensor]) -> None:
    bad = {k: v for k, v in state.items() if k != "head.bias"}
    err = _error(_save(bad, tmp_path / "c.pt"))
    assert err.code == "ML403"
    assert "1 key(s) missing" in err.message and "head.bias [10]" in err.message


def test_unexpected_key(tmp_path: Path, state: dict[str, torch.Tensor]) -> None:
    bad = {**state, "block.0.attn.talking_heads.weight": torch.ones(2, 2)}
    err = _error(_save(bad, tmp_path / "c.pt"))
    assert err.code == "ML403"
    assert "1 unexpected key(s)" in err.message
    assert "block.0.attn.talking_heads.weight [2, 2]" in err.message


def test_shape_mismatch(tmp_path: Path, state: dict[str, torch.Tensor]) -> None:
    bad = {**state, "head.weight": torch.zeros(11, 32), "head.bias": torch.zeros(11)}
    err = _error(_save(bad, tmp_path / "c.pt"))
    assert err.code == "ML403"
    assert "head.weight: checkpoint [11, 32], spikformer_digits expects [10, 32]" in err.message
    assert "2 shape mismatch(es)" in err.message


def test_unknown_arch(tmp_path: Path, state: dict[str, torch.Tensor]) -> None:
    err = _error(_save(state, tmp_path / "c.pt"), arch="spikformer_9_999")
    assert err.code == "ML401"


# --- helpers ----------------------------------------------------------------------------------
def test_extract_state_dict_strips_prefix_only_when_universal() -> None:
    t = torch.ones(1)
    assert list(extract_state_dict({"module.a": t, "module.b": t})) == ["a", "b"]
    assert list(extract_state_dict({"module.a": t, "b": t})) == ["module.a", "b"]


def test_matching_archs(state: dict[str, torch.Tensor]) -> None:
    assert matching_archs(state) == [ARCH]
    assert matching_archs(state, family="spikingformer") == []


def test_drop_keys_from_spec() -> None:
    spec = ModelSpec(
        name="x",
        family="x",
        dataset="x",
        builder=nn.Linear,
        kwargs=MappingProxyType({"in_features": 1, "out_features": 1}),
        depth=0,
        dim=0,
        heads=0,
        time_steps=1,
        image_size=1,
        in_channels=1,
        num_classes=1,
        extra=MappingProxyType({"checkpoint_drop_keys": (r"talking_heads",)}),
    )
    t = torch.ones(1)
    state = {"weight": t, "bias": t, "attn.talking_heads.weight": t, "other": t}
    kept = _drop_unused(spec, state, {"weight": t, "bias": t})
    assert set(kept) == {"weight", "bias", "other"}
