"""Your own architecture from a weights-only checkpoint: --arch FILE.py:Class (or a card)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from snncompile.cli import main
from snncompile.diagnostics import SnnCompileError
from snncompile.frontend.load import load_model, to_graph
from snncompile.frontend.simulate import simulate
from snncompile.models import reset_net

MODEL_SOURCE = '''
import torch
from torch import nn
from spikingjelly.activation_based import layer, neuron


class Tiny(nn.Module):
    """conv -> LIF -> linear readout, multi-step, [B, C, H, W] images repeated over T."""

    def __init__(self, channels: int = 4, classes: int = 3, T: int = 4) -> None:
        super().__init__()
        self.T = T
        self.conv = layer.Conv2d(1, channels, 3, padding=1, step_mode="m")
        self.bn = layer.BatchNorm2d(channels, step_mode="m")
        self.lif = neuron.LIFNode(tau=2.0, detach_reset=True, step_mode="m")
        self.head = nn.Linear(channels * 8 * 8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        x = self.lif(self.bn(self.conv(x)))
        return self.head(x.flatten(2)).mean(0)
'''


def _write(tmp_path: Path, *, card: dict | None = None, channels: int = 4) -> Path:
    (tmp_path / "tiny.py").write_text(MODEL_SOURCE)
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_for_weights", tmp_path / "tiny.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    model = module.Tiny(channels=channels)
    with torch.no_grad():
        model.conv.weight.mul_(4.0)  # enough input to spike
    torch.save(model.state_dict(), tmp_path / "tiny.pt")
    if card is not None:
        (tmp_path / "tiny.json").write_text(json.dumps(card))
    return tmp_path / "tiny.pt"


CARD = {
    "arch": "tiny.py:Tiny",
    "arch_kwargs": {"channels": 4},
    "input_shape": [1, 8, 8],
    "time_steps": 4,
}


def test_a_card_naming_your_class_traces_exactly(tmp_path: Path) -> None:
    path = _write(tmp_path, card=CARD)
    with pytest.raises(SnnCompileError) as info:
        load_model(path)  # a class named by a file is imported only with consent
    assert info.value.code == "SC101" and "--trust-code" in info.value.render()
    loaded = load_model(path, trust_code=True)
    assert type(loaded.module).__name__ == "Tiny" and loaded.input_shape == (1, 8, 8)
    x = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    with torch.no_grad():
        reset_net(loaded.module)
        expected = loaded.module(torch.from_numpy(x)).numpy()
    got = simulate(to_graph(loaded), x, time_steps=loaded.time_steps)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_cli_arch_file_class_relative_to_the_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    card = {k: v for k, v in CARD.items() if k != "arch"}
    path = _write(tmp_path, card=card)
    monkeypatch.chdir(tmp_path.parent)  # tiny.py is found beside the checkpoint
    code = main(["check", str(path), "--arch", "tiny.py:Tiny", "--dataset", "random"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "spike-driven" in out


@pytest.mark.parametrize(
    ("arch", "kwargs", "message"),
    [
        ("missing.py:Tiny", {}, "no file missing.py"),
        ("tiny.py:Nope", {}, "no nn.Module subclass named 'Nope'"),
        ("tiny.py:Tiny", {"colours": 3}, "unexpected keyword argument 'colours'"),
        ("no_such_package_xyz.models:Tiny", {}, "importing no_such_package_xyz.models failed"),
        ("tiny.py:", {}, "expected FILE.py:Class"),
    ],
)
def test_what_cannot_be_built_is_ml405(
    tmp_path: Path, arch: str, kwargs: dict, message: str
) -> None:
    path = _write(tmp_path, card={**CARD, "arch": arch, "arch_kwargs": kwargs})
    with pytest.raises(SnnCompileError) as info:
        load_model(path, trust_code=True)
    assert info.value.code == "ML405"
    assert message in str(info.value)


def test_weights_of_another_shape_are_ml403_naming_the_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, card={**CARD, "arch_kwargs": {"channels": 6}}, channels=4)
    with pytest.raises(SnnCompileError) as info:
        load_model(path, trust_code=True)
    assert info.value.code == "ML403"
    assert "conv.weight" in str(info.value) and "[6, 1, 3, 3]" in str(info.value)
