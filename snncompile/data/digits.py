"""The digits data set: scikit-learn's offline 8x8 handwritten digits, upsampled and split.

One pipeline for everything that touches the small trained models (``examples/train_digits.py``,
``snncompile check``/``run`` and the tests), so a recorded accuracy is always measured on the
same images:

1. ``sklearn.datasets.load_digits()``: 1797 grey 8x8 images with integer values 0..16 (bundled
   with scikit-learn, no download), labels 0..9.
2. Scale to [0, 1] by dividing by 16.
3. Upsample to ``image_size`` x ``image_size`` with bilinear interpolation
   (``torch.nn.functional.interpolate(mode='bilinear', align_corners=False)``, no antialiasing),
   in float32. Bilinear weights are convex, so values stay in [0, 1]. ``image_size=8`` keeps
   the original images.
4. Stratified split (``sklearn.model_selection.train_test_split(stratify=labels,
   random_state=seed)``): the same ``seed`` and ``test_fraction`` give the same split on every
   machine. With the defaults: 1347 training and 450 test images.

Images are ``[N, 1, H, W]`` float32 (static images: the models repeat them over the T steps),
labels int64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["DigitsSplit", "load_digits_split"]


@dataclass(frozen=True)
class DigitsSplit:
    """A train/test split of the digits images.

    Attributes:
        x_train: ``[N_train, 1, H, W]`` float32 in [0, 1].
        y_train: ``[N_train]`` int64 labels 0..9.
        x_test: ``[N_test, 1, H, W]`` float32 in [0, 1].
        y_test: ``[N_test]`` int64 labels 0..9.
        image_size: H = W.
        seed: the split's random seed.
        test_fraction: fraction of the images in the test set.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    image_size: int
    seed: int
    test_fraction: float

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return (1, self.image_size, self.image_size)

    def describe(self) -> dict[str, object]:
        """A JSON-ready description of the split (for model cards)."""
        return {
            "dataset": "sklearn.datasets.load_digits",
            "image_size": self.image_size,
            "upsampling": "bilinear (torch interpolate, align_corners=False), values / 16",
            "seed": self.seed,
            "test_fraction": self.test_fraction,
            "stratified": True,
            "n_train": len(self.y_train),
            "n_test": len(self.y_test),
        }


def upsample_digits(images: np.ndarray, image_size: int) -> np.ndarray:
    """Bilinearly resize ``[N, 8, 8]`` images in [0, 1] to ``[N, 1, image_size, image_size]``."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
    if image_size != x.shape[-1]:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return x.clamp_(0.0, 1.0).numpy()


def load_digits_split(
    image_size: int = 16, seed: int = 0, test_fraction: float = 0.25
) -> DigitsSplit:
    """Load, scale, upsample and split scikit-learn's digits (offline; deterministic).

    Args:
        image_size: output height = width (>= 1; 8 keeps the original resolution).
        seed: random state of the stratified split.
        test_fraction: fraction of the 1797 images held out for testing, in (0, 1).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    digits = load_digits()
    images = np.asarray(digits.images, dtype=np.float32) / np.float32(16.0)
    labels = np.asarray(digits.target, dtype=np.int64)
    x = upsample_digits(images, image_size)
    x_train, x_test, y_train, y_test = train_test_split(
        x, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    return DigitsSplit(
        x_train=np.ascontiguousarray(x_train),
        y_train=np.ascontiguousarray(y_train),
        x_test=np.ascontiguousarray(x_test),
        y_test=np.ascontiguousarray(y_test),
        image_size=image_size,
        seed=seed,
        test_fraction=test_fraction,
    )
