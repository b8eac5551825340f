"""How sensitive a shipped digits model's float predictions are to relative weight noise.

Multiplies every parameter by ``1 + eps * N(0, 1)`` (float64, seeded) and reports the fraction
of the digits test split whose prediction equals the unperturbed float64 model's; also float32
against float64. The numbers of ``docs/lowering.md`` ("How sensitive the float models
themselves are") come from::

    .venv/bin/python tools/weight_noise_sensitivity.py spikformer spikingformer
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn

from snncompile.data.digits import load_digits_split
from snncompile.frontend.load import load_model
from snncompile.models import reset_net

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "digits"


def predictions(
    model: nn.Module, x: np.ndarray, dtype: torch.dtype, noise: float = 0.0, seed: int = 0
) -> np.ndarray:
    """Predictions of a copy of ``model`` in ``dtype`` with relative weight noise ``noise``."""
    model = copy.deepcopy(model).to(dtype)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if noise:
            for p in model.parameters():
                p.mul_(1 + noise * torch.randn(p.shape, generator=generator, dtype=dtype))
        reset_net(model)
        return model(torch.from_numpy(x).to(dtype)).argmax(-1).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("families", nargs="+", help="shipped digits models (examples/digits)")
    parser.add_argument("--noise", type=float, nargs="+", default=[1e-6, 1e-4, 1e-3, 4e-3])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(2)
    for family in args.families:
        loaded = load_model(EXAMPLES / f"{family}.pt")
        assert loaded.module is not None and loaded.input_shape is not None
        x = load_digits_split(image_size=loaded.input_shape[-1]).x_test
        reference = predictions(loaded.module, x, torch.float64)
        same32 = float(np.mean(predictions(loaded.module, x, torch.float32) == reference))
        print(f"{family}: float32 vs float64 {same32:.1%}")
        for eps in args.noise:
            agree = [
                float(np.mean(predictions(loaded.module, x, torch.float64, eps, s) == reference))
                for s in range(args.seeds)
            ]
            print(f"  eps {eps:g}: " + " / ".join(f"{a:.1%}" for a in agree))


if __name__ == "__main__":
    main()
