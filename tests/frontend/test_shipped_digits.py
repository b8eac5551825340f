"""The shipped trained digits models (examples/digits) traced to the IR: same logits, same
spikes, same predictions as PyTorch on real test digits (float64 on both sides)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from snncompile.data.digits import load_digits_split
from snncompile.models import load_checkpoint
from tests.frontend.equivalence import assert_equivalent, compare

DIGITS_DIR = Path(__file__).resolve().parents[2] / "examples" / "digits"
FAMILIES = ("spikformer", "spikingformer", "sdt", "spikingresformer")


@pytest.mark.parametrize("family", FAMILIES)
def test_shipped_digits_model_traces_exactly(family: str) -> None:
    ckpt, card_path = DIGITS_DIR / f"{family}.pt", DIGITS_DIR / f"{family}.json"
    if not ckpt.exists() or not card_path.exists():
        pytest.skip(f"{ckpt.name} not shipped")
    card = json.loads(card_path.read_text())
    split = card["split"]
    data = load_digits_split(
        image_size=split["image_size"], seed=split["seed"], test_fraction=split["test_fraction"]
    )
    model = load_checkpoint(ckpt, card["arch"]).double().eval()
    x = torch.as_tensor(np.asarray(data.x_test[:24]), dtype=torch.float64)
    result = compare(model, x, card["time_steps"])
    assert_equivalent(result)
    assert (result.ir_logits.argmax(-1) == result.torch_logits.argmax(-1)).all()
