"""User data for `snncompile run`: arrays (memory-mapped), image folders, preprocessing."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from snncompile.cli import main
from snncompile.data.sources import (
    ArraySource,
    DigitsSource,
    ImageFolderSource,
    Preprocessing,
    open_source,
)
from snncompile.diagnostics import SnnCompileError
from snncompile.runner import run_model

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "digits"
SHAPE = (1, 16, 16)


def _images(root: Path, classes: dict[str, int], size: int = 20, mode: str = "RGB") -> None:
    rng = np.random.default_rng(0)
    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            channels = 3 if mode == "RGB" else 1
            pixels = rng.integers(0, 256, size=(size, size, channels), dtype=np.uint8)
            Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode).save(
                root / name / f"{i}.png"
            )
    (root / "notes.txt").write_text("not a class")


def test_npy_is_memory_mapped_and_sliced_lazily(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((7, *SHAPE), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "x_labels.npy", np.arange(7) % 3)
    source = open_source(tmp_path / "x.npy", SHAPE)
    assert isinstance(source, ArraySource) and isinstance(source.array, np.memmap)
    assert len(source) == 7
    np.testing.assert_array_equal(source[2:5], x[2:5])
    np.testing.assert_array_equal(source.labels, np.arange(7) % 3)
    assert len(pickle.dumps(source)) < x.nbytes  # ships its description, not the data
    clone = pickle.loads(pickle.dumps(source))
    np.testing.assert_array_equal(clone[0:7], x)
    limited = source.limited(4)
    assert len(limited) == 4 and len(limited[0:10]) == 4
    assert limited.labels is not None and len(limited.labels) == 4


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
@pytest.mark.parametrize("label_key", ["y", "labels"])
def test_npz_with_labels(tmp_path: Path, save: object, label_key: str) -> None:
    x = np.random.default_rng(1).random((5, 16, 16), dtype=np.float32)  # [N, H, W]: 1 channel
    path = tmp_path / "data.npz"
    save(path, x=x, **{label_key: np.array([4, 3, 2, 1, 0])})  # type: ignore[operator]
    source = open_source(path, SHAPE)
    assert isinstance(source, ArraySource)
    assert isinstance(source.array, np.memmap) == (save is np.savez)
    np.testing.assert_array_equal(source[1:3], x[1:3, None])
    np.testing.assert_array_equal(source.labels, [4, 3, 2, 1, 0])


def test_image_folder_classes_grayscale_and_resize(tmp_path: Path) -> None:
    _images(tmp_path / "imgs", {"b_dog": 2, "a_cat": 3})
    source = open_source(tmp_path / "imgs", SHAPE)
    assert isinstance(source, ImageFolderSource)
    assert source.classes == ["a_cat", "b_dog"] and len(source) == 5
    np.testing.assert_array_equal(source.labels, [0, 0, 0, 1, 1])
    batch = source[3:5]
    assert batch.shape == (2, *SHAPE) and batch.dtype == np.float32
    gray = np.asarray(Image.open(tmp_path / "imgs/b_dog/0.png").convert("L"), np.float32) / 255
    want = F.interpolate(
        torch.from_numpy(gray[None, None]), size=(16, 16), mode="bilinear", align_corners=False
    )[0].numpy()
    np.testing.assert_allclose(batch[0], want, rtol=0, atol=1e-6)


def test_grayscale_images_to_rgb_and_explicit_preprocessing(tmp_path: Path) -> None:
    _images(tmp_path / "imgs", {"only": 2}, size=8, mode="L")
    source = open_source(
        tmp_path / "imgs", (3, 4, 4), resize=(4, 4), normalize=((0.5,), (0.25, 0.5, 1.0))
    )
    batch = source[0:2]
    assert batch.shape == (2, 3, 4, 4)
    raw = np.asarray(Image.open(tmp_path / "imgs/only/0.png"), np.float32) / 255
    small = F.interpolate(
        torch.from_numpy(raw[None, None]), size=(4, 4), mode="bilinear", align_corners=False
    )[0, 0].numpy()
    for c, std in enumerate((0.25, 0.5, 1.0)):
        np.testing.assert_allclose(batch[0, c], (small - 0.5) / std, rtol=1e-6, atol=1e-6)


def test_model_card_preprocessing_and_explicit_override() -> None:
    card = {"preprocessing": {"resize": [8, 8], "mean": [0.1], "std": [0.2]}}
    prep = Preprocessing.build(SHAPE, card=card)
    assert prep.resize == (8, 8) and prep.mean == (0.1,) and prep.std == (0.2,)
    explicit = Preprocessing.build(SHAPE, resize=(16, 16), normalize=((0.0,), (1.0,)), card=card)
    assert explicit.resize == (16, 16) and explicit.mean == (0.0,)
    with pytest.raises(SnnCompileError, match="CF201"):
        Preprocessing.build(SHAPE, normalize=((0.0, 0.0), (1.0, 1.0)))(
            np.zeros((1, *SHAPE)), where="x"
        )


def test_wrong_channels_and_unknown_files_are_input_errors(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 2, 16, 16), np.float32))
    with pytest.raises(SnnCompileError, match="IN601"):
        open_source(tmp_path / "x.npy", SHAPE)[0:1]
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(SnnCompileError, match="IN601"):
        open_source(tmp_path / "x.csv", SHAPE)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SnnCompileError, match="IN601"):
        open_source(tmp_path / "empty", SHAPE)


def test_digits_source_is_the_embedded_split() -> None:
    from snncompile.data.digits import load_digits_split

    split = load_digits_split(image_size=16)
    source = DigitsSource(16)
    np.testing.assert_array_equal(source[10:13], split.x_test[10:13])
    np.testing.assert_array_equal(source.labels, split.y_test)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(source))[0:2], split.x_test[:2])


def test_run_on_an_image_folder_from_the_cli(tmp_path: Path) -> None:
    """Digits images written as 32x32 PNG class folders are read, resized and classified."""
    from snncompile.data.digits import load_digits_split

    split = load_digits_split(image_size=16)
    root = tmp_path / "digits"
    for i in range(12):
        folder = root / f"class_{split.y_test[i]}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.rint(split.x_test[i, 0] * 255).astype(np.uint8)
        Image.fromarray(pixels, "L").resize((32, 32), Image.NEAREST).save(folder / f"{i:03}.png")
    out = tmp_path / "run.json"
    argv = ["run", str(EXAMPLES / "sdt.pt"), "--backend", "float", "--input", str(root)]
    assert main([*argv, "--resize", "16", "16", "--normalize", "0", "1", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["samples"] == 12 and data["accuracy"] is not None
    shutil.rmtree(root)


def test_run_model_streams_npy_batches(tmp_path: Path) -> None:
    from snncompile.data.digits import load_digits_split

    split = load_digits_split(image_size=16)
    np.save(tmp_path / "x.npy", split.x_test[:20])
    np.save(tmp_path / "x_labels.npy", split.y_test[:20])
    result = run_model(EXAMPLES / "sdt.pt", backend="float", input_path=tmp_path / "x.npy")
    embedded = run_model(EXAMPLES / "sdt.pt", backend="float", limit=20)
    np.testing.assert_array_equal(result.predictions, embedded.predictions)
    assert result.accuracy == embedded.accuracy
