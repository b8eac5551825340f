"""Float accuracy of a zoo model on a labelled set (shared by training, the CLI and the tests).

The model is run in eval mode, without gradients, batch by batch, with every neuron's state reset
before each batch (as the official evaluation loops do). On CPU in float32 the result is
deterministic for a given model, data and batch size; a different batch size can change the last
bits of some sums and so, rarely, a spike near a threshold: compare with a recorded accuracy at the
recorded batch size.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from snncompile.models.neuron import reset_net

__all__ = ["evaluate_accuracy", "predict_logits"]


def _set_time_steps(model: nn.Module, time_steps: int | None) -> None:
    if time_steps is not None and hasattr(model, "T"):
        setattr(model, "T", int(time_steps))  # noqa: B010 (plain attribute of the zoo models)


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    time_steps: int | None = None,
    batch_size: int = 256,
) -> torch.Tensor:
    """Logits ``[N, classes]`` of ``model`` on inputs ``x`` (``[N, C, H, W]`` or DVS frames).

    ``time_steps`` overrides the model's ``T`` attribute when given (static-image models repeat the
    image T times). The model is left in eval mode with its state reset.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    inputs = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    inputs = inputs.to(torch.float32)
    model.eval()
    _set_time_steps(model, time_steps)
    outs = []
    for start in range(0, inputs.shape[0], batch_size):
        reset_net(model)
        outs.append(model(inputs[start : start + batch_size]))
    reset_net(model)
    return torch.cat(outs) if outs else torch.empty(0)


def evaluate_accuracy(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    time_steps: int | None = None,
    batch_size: int = 256,
) -> float:
    """Top-1 accuracy in [0, 1] of ``model`` on ``(x, y)`` (float, eval mode)."""
    labels = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).long()
    if labels.shape[0] != (x.shape[0]):
        raise ValueError(f"{x.shape[0]} inputs but {labels.shape[0]} labels")
    if labels.numel() == 0:
        raise ValueError("cannot evaluate on an empty set")
    logits = predict_logits(model, x, time_steps=time_steps, batch_size=batch_size)
    correct = (logits.argmax(dim=1) == labels).sum().item()
    return float(correct) / float(labels.numel())
