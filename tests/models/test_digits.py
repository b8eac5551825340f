"""The shipped digits checkpoints (examples/digits) reach the accuracy their cards record.

Evaluation is deterministic (CPU float32, eval mode, fixed batch size), so the accuracy must be
exactly the recorded one. The spikformer and spikingformer checkpoints must exist; the others are
checked when present.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from snncompile.data.digits import load_digits_split
from snncompile.models import evaluate_accuracy, get_spec, load_checkpoint

torch.set_num_threads(1)

DIGITS_DIR = Path(__file__).resolve().parents[2] / "examples" / "digits"
REQUIRED = ("spikformer", "spikingformer")
OPTIONAL = ("sdt", "spikingresformer")


@pytest.mark.parametrize("family", REQUIRED + OPTIONAL)
def test_shipped_model_reaches_recorded_accuracy(family: str) -> None:
    ckpt = DIGITS_DIR / f"{family}.pt"
    card_path = DIGITS_DIR / f"{family}.json"
    if family in OPTIONAL and not ckpt.exists():
        pytest.skip(f"{ckpt} not shipped yet")
    assert ckpt.exists(), f"missing {ckpt}: run examples/train_digits.py --family {family}"
    assert card_path.exists(), f"missing model card {card_path}"
    card = json.loads(card_path.read_text())
    for field in ("arch", "input_shape", "time_steps", "split", "accuracy"):
        assert field in card, f"card lacks {field!r}"
    assert card["arch"] == f"{family}_digits"
    spec = get_spec(card["arch"])
    assert card["input_shape"] == [spec.in_channels, spec.image_size, spec.image_size]
    assert card["time_steps"] == spec.time_steps
    split_info = card["split"]
    split = load_digits_split(
        image_size=split_info["image_size"],
        seed=split_info["seed"],
        test_fraction=split_info["test_fraction"],
    )
    assert split.input_shape == tuple(card["input_shape"])
    model = load_checkpoint(ckpt, card["arch"])
    accuracy = evaluate_accuracy(
        model,
        split.x_test,
        split.y_test,
        time_steps=card["time_steps"],
        batch_size=card.get("eval_batch_size", 256),
    )
    assert accuracy == card["accuracy"]
    assert accuracy >= 0.9


def test_shipped_checkpoints_are_small() -> None:
    total = sum(p.stat().st_size for p in DIGITS_DIR.glob("*.pt"))
    assert total < 2 * 1024 * 1024, f"examples/digits/*.pt take {total} bytes (limit 2 MiB)"
