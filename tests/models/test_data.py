"""The digits pipeline (snncompile.data.digits): shapes, ranges, stratification, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from snncompile.data.digits import DigitsSplit, load_digits_split, upsample_digits


@pytest.fixture(scope="module")
def split() -> DigitsSplit:
    return load_digits_split()


def test_shapes_dtypes_and_ranges(split: DigitsSplit) -> None:
    assert split.x_train.shape == (1347, 1, 16, 16)
    assert split.x_test.shape == (450, 1, 16, 16)
    assert split.x_train.dtype == np.float32 and split.x_test.dtype == np.float32
    assert split.y_train.dtype == np.int64 and split.y_test.dtype == np.int64
    for x in (split.x_train, split.x_test):
        assert x.min() >= 0.0 and x.max() <= 1.0
    assert split.x_train.max() == 1.0
    assert set(split.y_test.tolist()) == set(range(10))
    assert split.input_shape == (1, 16, 16)


def test_stratified(split: DigitsSplit) -> None:
    all_labels = np.concatenate([split.y_train, split.y_test])
    overall = np.bincount(all_labels, minlength=10) / len(all_labels)
    test = np.bincount(split.y_test, minlength=10) / len(split.y_test)
    assert np.abs(overall - test).max() < 0.01


def test_reproducible_and_seeded(split: DigitsSplit) -> None:
    again = load_digits_split()
    assert np.array_equal(split.x_test, again.x_test)
    assert np.array_equal(split.y_train, again.y_train)
    other = load_digits_split(seed=1)
    assert not np.array_equal(split.y_test, other.y_test)
    assert load_digits_split(test_fraction=0.5).x_test.shape[0] == 899


def test_original_resolution_is_the_sklearn_data() -> None:
    from sklearn.datasets import load_digits

    images = load_digits().images.astype(np.float32) / 16.0
    small = load_digits_split(image_size=8)
    assert small.x_test.shape[1:] == (1, 8, 8)
    # Every test image is one of the original images, unchanged.
    originals = {img.tobytes() for img in images}
    assert all(img[0].tobytes() in originals for img in small.x_test[:20])


def test_bilinear_upsampling_of_a_constant_is_constant() -> None:
    img = np.full((1, 8, 8), 0.5, dtype=np.float32)
    up = upsample_digits(img, 24)
    assert up.shape == (1, 1, 24, 24)
    assert np.allclose(up, 0.5)


def test_describe(split: DigitsSplit) -> None:
    d = split.describe()
    assert d["seed"] == 0 and d["image_size"] == 16 and d["test_fraction"] == 0.25
    assert d["n_train"] == 1347 and d["n_test"] == 450


@pytest.mark.parametrize(
    "kwargs", [{"image_size": 0}, {"test_fraction": 0.0}, {"test_fraction": 1.0}]
)
def test_invalid_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        load_digits_split(**kwargs)
