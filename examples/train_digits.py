"""Train the tiny digits member of a zoo family and write its checkpoint and model card.

    python examples/train_digits.py --family spikformer

trains ``create(f"{family}_digits")`` on scikit-learn's offline digits (the package pipeline
:func:`snncompile.data.digits.load_digits_split`: 8x8 images upsampled bilinearly to the zoo
entry's image size, stratified 75/25 split with seed 0) and writes

* ``examples/digits/<family>.pt``: the state dict (load it with
  ``snncompile.models.load_checkpoint(path, "<family>_digits")``);
* ``examples/digits/<family>.json``: the model card (``arch``, ``input_shape``, ``time_steps``,
  ``split``, ``accuracy`` = float test accuracy in eval mode, and the training settings).

Training: Adam with a cosine learning-rate schedule, cross-entropy on the logits averaged over
T (the models' output), neuron states reset after every batch, the official surrogate gradients.
Seeded and deterministic (``torch.use_deterministic_algorithms``) on CPU with
``--threads`` (default 2) threads: the same command gives the same checkpoint on the same
machine and torch version.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from snncompile.data.digits import load_digits_split
from snncompile.models import create, get_spec
from snncompile.models.evaluate import evaluate_accuracy
from snncompile.models.neuron import reset_net

FAMILIES = ("spikformer", "spikingformer", "sdt", "spikingresformer")
EVAL_BATCH_SIZE = 256
OUT_DIR = Path(__file__).resolve().parent / "digits"


def train(
    family: str,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    seed: int,
    threads: int,
    out_dir: Path,
) -> dict[str, Any]:
    """Train ``<family>_digits``; write ``<family>.pt`` and ``<family>.json``; return the card."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)

    arch = f"{family}_digits"
    spec = get_spec(arch)
    split = load_digits_split(image_size=spec.image_size, seed=0, test_fraction=0.25)
    x_train = torch.from_numpy(split.x_train)
    y_train = torch.from_numpy(split.y_train)

    model = create(arch)
    n_params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(x_train) / batch_size)
    total_steps = epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps)),
    )
    generator = torch.Generator().manual_seed(seed)

    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        total_loss = 0.0
        correct = 0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            xb, yb = x_train[idx], y_train[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            reset_net(model)
            total_loss += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
        print(
            f"[{arch}] epoch {epoch + 1}/{epochs}: loss {total_loss / len(order):.4f}, "
            f"train acc {correct / len(order):.4f} ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    train_time = time.perf_counter() - start

    model.eval()
    accuracy = evaluate_accuracy(
        model, split.x_test, split.y_test, time_steps=spec.time_steps, batch_size=EVAL_BATCH_SIZE
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / f"{family}.pt"
    torch.save(model.state_dict(), ckpt_path)
    card: dict[str, Any] = {
        "arch": arch,
        "family": family,
        "input_shape": list(split.input_shape),
        "time_steps": spec.time_steps,
        "num_classes": spec.num_classes,
        "split": split.describe(),
        "accuracy": accuracy,
        "eval_batch_size": EVAL_BATCH_SIZE,
        "params": n_params,
        "checkpoint": ckpt_path.name,
        "training": {
            "epochs": epochs,
            "batch_size": batch_size,
            "optimizer": "Adam",
            "lr": lr,
            "weight_decay": weight_decay,
            "schedule": "cosine per step",
            "loss": "cross-entropy on the mean-over-T logits",
            "seed": seed,
            "threads": threads,
            "train_time_s": round(train_time, 1),
            "torch": torch.__version__,
        },
    }
    (out_dir / f"{family}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(
        f"[{arch}] test accuracy {accuracy:.4f}; wrote {ckpt_path} "
        f"({ckpt_path.stat().st_size / 1024:.0f} KiB) in {train_time:.0f} s"
    )
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", required=True, choices=FAMILIES)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    card = train(
        args.family,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        seed=args.seed,
        threads=args.threads,
        out_dir=args.out_dir,
    )
    return 0 if card["accuracy"] >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
