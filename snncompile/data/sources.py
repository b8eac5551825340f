"""User data for ``snncompile run``: arrays, image folders and the embedded digits, streamed.

A :class:`DataSource` is a lazily read, sliceable sequence of model inputs: ``len(source)``
samples, ``source[a:b]`` the preprocessed ``[b - a, *input_shape]`` float32 batch (read from
disk only then), ``source.labels`` the integer labels (or None). Sources pickle as their
description (paths and preprocessing, never the data), so a distributed run ships them to its
workers cheaply (:mod:`snncompile.distributed`).

Sources (:func:`open_source`):

- ``.npy``: memory-mapped (``mmap_mode="r"``); labels from ``X_labels.npy`` beside ``X.npy``;
- ``.npz``: the array ``x`` (else the first), labels ``y`` or ``labels``; members stored
  uncompressed (``np.savez``) are memory-mapped too, compressed ones are read on first use;
- a folder of images with one sub-folder per class (``root/cat/1.png``): the sorted class
  names are the label indices; images are decoded per batch (Pillow);
- ``digits``: the embedded digits test split at the model's resolution (already prepared:
  no preprocessing is applied to it).

Preprocessing (:class:`Preprocessing`), in this order: images are scaled to [0, 1] (``/255``;
arrays are taken as they are), converted to the model's channel count (RGB to grayscale with
ITU-R 601-2 luma, as Pillow; grayscale to RGB by repetition), resized to ``H x W`` (bilinear,
``align_corners=False``; by default the model's input size when it differs) and normalized
per channel, ``(x - mean) / std``. Explicit options (``--resize``, ``--normalize``) win over the
model card's ``preprocessing`` entry (see ``docs/scale_out.md``)::

    "preprocessing": {"resize": [32, 32], "mean": [0.49, 0.48, 0.45], "std": [0.25, 0.24, 0.26]}
"""

from __future__ import annotations

import hashlib
import math
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snncompile.diagnostics import error
from snncompile.fileio import require_regular_file
from snncompile.limits import require_memory

__all__ = [
    "IMAGE_SUFFIXES",
    "ArraySource",
    "DataSource",
    "DigitsSource",
    "ImageFolderSource",
    "Preprocessing",
    "open_source",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


@dataclass(frozen=True)
class Preprocessing:
    """How raw samples become model inputs (see the module docstring).

    Attributes:
        input_shape: the model's per-sample shape (``(C, H, W)`` for images).
        resize: ``(H, W)`` to resize to (None: the model's, when the data differ).
        mean: per-channel means (one value: every channel), or None.
        std: per-channel standard deviations, with ``mean``.
    """

    input_shape: tuple[int, ...]
    resize: tuple[int, int] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if (self.mean is None) != (self.std is None):
            raise error("CF201", "normalize needs both a mean and a std", node="normalize")
        values = (*(self.mean or ()), *(self.std or ()))
        if not all(math.isfinite(v) for v in values):
            raise error(
                "CF201",
                f"normalize takes finite numbers, got {self.mean} {self.std}",
                node="normalize",
            )
        if self.std is not None and any(s <= 0 for s in self.std):
            raise error("CF201", f"normalize std must be > 0, got {self.std}", node="normalize")

    @classmethod
    def build(
        cls,
        input_shape: tuple[int, ...],
        *,
        resize: Sequence[int] | None = None,
        normalize: tuple[Sequence[float], Sequence[float]] | None = None,
        card: dict[str, Any] | None = None,
    ) -> Preprocessing:
        """Explicit options first, then the model card's ``preprocessing`` entry."""
        entry = (card or {}).get("preprocessing") or {}
        if not isinstance(entry, dict):
            raise error("ML402", "the model card's preprocessing must be an object", node="card")
        size = resize if resize is not None else entry.get("resize")
        mean, std = normalize if normalize is not None else (entry.get("mean"), entry.get("std"))
        if size is not None and (len(size) != 2 or any(int(n) < 1 for n in size)):
            raise error("CF201", f"resize takes H W >= 1, got {list(size)}", node="resize")
        return cls(
            tuple(input_shape),
            None if size is None else (int(size[0]), int(size[1])),
            None if mean is None else tuple(float(m) for m in mean),
            None if std is None else tuple(float(s) for s in std),
        )

    def describe(self) -> dict[str, Any]:
        """JSON-ready, for reports and resume checks."""
        return {
            "input_shape": list(self.input_shape),
            "resize": None if self.resize is None else list(self.resize),
            "mean": None if self.mean is None else list(self.mean),
            "std": None if self.std is None else list(self.std),
        }

    def __call__(self, x: np.ndarray, *, where: str) -> np.ndarray:
        """``x`` (``[N, ...]`` float32 raw samples) as ``[N, *input_shape]`` model inputs."""
        x = np.asarray(x, dtype=np.float32)
        shape = self.input_shape
        if x.ndim == len(shape) and len(shape) == 3:  # [N, H, W] grayscale
            x = x[:, None]
        image = len(shape) == 3 and x.ndim == 4
        if image:
            x = _channels(x, shape[0], where)
            size = self.resize or (shape[1], shape[2])
            if tuple(x.shape[2:]) != tuple(size):
                x = _resize(x, size)
        if x.shape[1:] != shape:
            raise error(
                "IN601",
                f"{where} holds samples of shape {list(x.shape[1:])}; the model takes "
                f"[{', '.join(map(str, shape))}]",
                node=where,
            )
        if self.mean is not None and self.std is not None:
            channels = shape[0] if image else 1
            mean = _per_channel(self.mean, channels, "mean")
            std = _per_channel(self.std, channels, "std")
            extra = (1,) * (len(shape) - 1) if image else ()
            x = (x - mean.reshape(channels, *extra)) / std.reshape(channels, *extra)
        return np.ascontiguousarray(x, dtype=np.float32)


def _per_channel(values: tuple[float, ...], channels: int, name: str) -> np.ndarray:
    if len(values) not in (1, channels):
        raise error(
            "CF201",
            f"normalize {name} has {len(values)} values; the model has {channels} channel(s)",
            node="normalize",
        )
    return np.broadcast_to(np.asarray(values, np.float32), (channels,)).copy()


def _channels(x: np.ndarray, channels: int, where: str) -> np.ndarray:
    have = x.shape[1]
    if have == channels:
        return x
    if have == 3 and channels == 1:  # ITU-R 601-2 luma, as Pillow's convert("L")
        weights = np.asarray([0.299, 0.587, 0.114], np.float32).reshape(1, 3, 1, 1)
        return (x * weights).sum(axis=1, keepdims=True)
    if have == 1:
        return np.repeat(x, channels, axis=1)
    raise error("IN601", f"{where} has {have} channels; the model takes {channels}", node=where)


def _resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False).numpy()


def check_finite_inputs(batch: np.ndarray, where: str, start: int = 0) -> None:
    """IN605 when ``batch`` (samples ``start``, ``start + 1``, ...) holds NaN or Inf."""
    bad = ~np.isfinite(batch)
    if bad.any():
        sample = start + int(np.argwhere(bad)[0][0])
        raise error(
            "IN605",
            f"{where}: sample {sample} holds NaN or Inf ({int(bad.sum())} value(s) in samples "
            f"{start}..{start + len(batch) - 1})",
            node=where,
        )


def _malformed(where: str, message: str) -> Exception:
    return error("IN606", f"{where}: {message}", node=where)


def _check_labels(labels: Any, n: int, where: str) -> np.ndarray:
    """Integer labels, one per sample (IN606 otherwise)."""
    array = np.asarray(labels)
    integral = array.dtype.kind == "f" and np.all(np.isfinite(array))
    if integral and np.all(array == np.round(array)):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iub":
        raise _malformed(where, f"labels must be integers, got dtype {array.dtype}")
    array = array.astype(np.int64).reshape(-1)
    if len(array) != n:
        raise _malformed(where, f"{len(array)} labels for {n} samples")
    if n and array.min() < 0:
        raise _malformed(where, f"labels must be >= 0, found {int(array.min())}")
    return array


def _check_samples(array: np.ndarray, where: str) -> None:
    if array.dtype.kind not in "biuf":
        raise _malformed(where, f"samples must be numbers, got dtype {array.dtype}")
    if array.ndim < 1:
        raise _malformed(where, "holds a scalar, not samples")
    if array.shape[0] == 0:
        raise _malformed(where, "holds zero samples")


class DataSource:
    """A sliceable sequence of preprocessed samples (see the module docstring)."""

    labels: np.ndarray | None = None
    where: str = ""

    def __len__(self) -> int:
        raise NotImplementedError

    def _read(self, start: int, stop: int) -> np.ndarray:
        raise NotImplementedError

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("a data source takes contiguous slices, source[a:b]")
        start, stop, _ = index.indices(len(self))
        batch = self._read(start, max(start, stop))
        check_finite_inputs(batch, self.where, start)
        return batch

    def limited(self, limit: int | None) -> DataSource:
        """The first ``limit`` samples (all when None)."""
        if limit is None or limit >= len(self):
            return self
        return _Limited(self, limit)

    def fingerprint(self) -> dict[str, Any]:
        """What identifies the data of a run (for resuming): kind, location, size, labels."""
        labels = None if self.labels is None else np.ascontiguousarray(self.labels, np.int64)
        digest = None if labels is None else hashlib.sha256(labels.tobytes()).hexdigest()[:16]
        return {"source": self.where, "samples": len(self), "labels_sha256": digest}


class _Limited(DataSource):
    def __init__(self, base: DataSource, limit: int) -> None:
        self.base, self.limit = base, limit
        self.where = base.where
        self.labels = None if base.labels is None else base.labels[:limit]

    def __len__(self) -> int:
        return self.limit

    def _read(self, start: int, stop: int) -> np.ndarray:
        return self.base._read(start, min(stop, self.limit))

    def fingerprint(self) -> dict[str, Any]:
        return {**self.base.fingerprint(), **super().fingerprint()}


def _file_id(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path.resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


class ArraySource(DataSource):
    """Samples in a ``.npy`` (memory-mapped) or ``.npz`` file, labels beside or inside."""

    def __init__(self, path: Path, preprocessing: Preprocessing) -> None:
        self.path = Path(path).resolve()
        self.where = str(path)
        self.preprocessing = preprocessing
        if not Path(path).exists():
            raise error("IN601", f"input file {path} does not exist", node=str(path))
        require_regular_file(path, "data input")
        self._array: np.ndarray | None = None
        self._key = "x"
        labels: Any = None
        if self.path.suffix == ".npz":
            if not zipfile.is_zipfile(self.path):
                raise _malformed(self.where, "is not an .npz archive (a .npy file renamed?)")
            with self._npz() as data:
                keys = list(data.keys())
                if not keys:
                    raise _malformed(self.where, "holds no arrays")
                self._key = "x" if "x" in keys else keys[0]
                label_key = next((k for k in ("y", "labels") if k in keys), None)
                if label_key is not None:
                    labels = _read_member(data, label_key, self.where)
        else:
            labels_path = self.path.with_name(self.path.stem + "_labels.npy")
            if labels_path.exists():
                require_regular_file(labels_path, "labels file")
                labels = _load_small(labels_path)
        _check_samples(self.array, self.where)
        n = len(self.array)
        self.labels = None if labels is None else _check_labels(labels, n, self.where)

    def _npz(self) -> Any:
        try:
            return np.load(self.path, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise _malformed(self.where, f"does not read as .npz: {exc}") from exc

    @property
    def array(self) -> np.ndarray:
        """The (memory-mapped where possible) raw ``[N, ...]`` array."""
        if self._array is None:
            try:
                if self.path.suffix == ".npz":
                    self._array = _mmap_npz_member(self.path, self._key)
                    if self._array is None:
                        with self._npz() as data:
                            self._array = _read_member(data, self._key, self.where)
                else:
                    _npy_claim(self.path, self.where)
                    self._array = np.load(self.path, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
                raise error(
                    "IN601",
                    f"cannot read {self.path} as a .npy/.npz array: {exc}",
                    node=str(self.path),
                ) from exc
            if self._array.ndim < 1:
                raise error("IN601", f"{self.path} holds a scalar", node=str(self.path))
        return self._array

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def _read(self, start: int, stop: int) -> np.ndarray:
        return self.preprocessing(np.array(self.array[start:stop]), where=self.where)

    def fingerprint(self) -> dict[str, Any]:
        return {
            **super().fingerprint(),
            "file": _file_id(self.path),
            "preprocessing": self.preprocessing.describe(),
        }

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_array": None}  # re-opened (mapped) where it is unpickled


def _npy_claim(path: Path, where: str) -> None:
    """IN606 when a ``.npy`` header claims more data than the file holds (corrupt or
    truncated); the data is then never read."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        header = (
            np.lib.format.read_array_header_1_0(f)
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0(f)
        )
        offset = f.tell()
    shape, _, dtype = header
    claimed = math.prod(shape) * dtype.itemsize
    size = path.stat().st_size - offset
    if claimed > size:
        raise _malformed(
            where,
            f"its header claims {list(shape)} {dtype} ({claimed} bytes), the file holds {size}",
        )


def _load_small(path: Path) -> np.ndarray:
    """A small array (labels) read whole, after checking its header's claim."""
    where = str(path)
    try:
        _npy_claim(path, where)
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise _malformed(where, f"does not read as .npy: {exc}") from exc


def _read_member(data: Any, key: str, where: str) -> np.ndarray:
    """Member ``key`` of an open ``.npz``, after checking the memory it claims (IN604)."""
    try:
        with data.zip.open(key + ".npy") as member:
            version = np.lib.format.read_magic(member)
            shape, _, dtype = (
                np.lib.format.read_array_header_1_0(member)
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0(member)
            )
        require_memory(math.prod(shape) * dtype.itemsize, f"{where}[{key}]", node=where)
        return np.asarray(data[key])
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise _malformed(where, f"array {key!r} does not read: {exc}") from exc


def _mmap_npz_member(path: Path, key: str) -> np.ndarray | None:
    """Member ``key`` of an uncompressed ``.npz`` as a read-only memory map (None when it is
    compressed)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(key + ".npy")
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with open(path, "rb") as f:
            f.seek(info.header_offset)
            local = f.read(30)
            name_len = int.from_bytes(local[26:28], "little")
            extra_len = int.from_bytes(local[28:30], "little")
            start = info.header_offset + 30 + name_len + extra_len
            f.seek(start)
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            offset = f.tell()
    if dtype.hasobject:
        return None
    if math.prod(shape) * dtype.itemsize > info.file_size:
        raise _malformed(str(path), f"array {key!r} claims more data than it holds")
    return np.memmap(
        path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C"
    )


class ImageFolderSource(DataSource):
    """Images under ``root/<class>/``, one sub-folder per class, decoded per batch."""

    def __init__(self, root: Path, preprocessing: Preprocessing) -> None:
        self.root = Path(root).resolve()
        self.where = str(root)
        self.preprocessing = preprocessing
        classes = sorted(p.name for p in self.root.iterdir() if p.is_dir())
        if not classes:
            raise error(
                "IN601",
                f"{root} has no class sub-folders (expected root/<class>/<image>)",
                node=str(root),
            )
        self.classes = classes
        files: list[str] = []
        labels: list[int] = []
        for index, name in enumerate(classes):
            for file in sorted(os.listdir(self.root / name)):
                if file.lower().endswith(IMAGE_SUFFIXES):
                    files.append(f"{name}/{file}")
                    labels.append(index)
        if not files:
            raise error(
                "IN601", f"{root} holds no images ({', '.join(IMAGE_SUFFIXES)})", node=str(root)
            )
        self.files = files
        self.labels = np.asarray(labels, np.int64)

    def __len__(self) -> int:
        return len(self.files)

    def _read(self, start: int, stop: int) -> np.ndarray:
        from PIL import Image

        channels = self.preprocessing.input_shape[0] if len(self.preprocessing.input_shape) else 1
        mode = "L" if channels == 1 else "RGB"
        images = []
        size = None
        for name in self.files[start:stop]:
            require_regular_file(self.root / name, "image")
            try:
                with Image.open(self.root / name) as image:
                    require_memory(
                        4 * image.width * image.height * 3, f"{name}", node=str(self.root / name)
                    )
                    array = np.asarray(image.convert(mode), dtype=np.float32) / 255.0
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
                raise _malformed(f"{self.where}/{name}", f"is not a readable image: {exc}") from exc
            array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
            if size is not None and array.shape != size:  # mixed sizes: to the first one's
                array = _resize(array[None], (size[1], size[2]))[0]
            size = size or array.shape
            images.append(array)
        if not images:
            return np.zeros((0, *self.preprocessing.input_shape), np.float32)
        return self.preprocessing(np.stack(images), where=self.where)

    def fingerprint(self) -> dict[str, Any]:
        listing = hashlib.sha256("\n".join(self.files).encode()).hexdigest()[:16]
        return {
            **super().fingerprint(),
            "root": str(self.root.resolve()),
            "files_sha256": listing,
            "preprocessing": self.preprocessing.describe(),
        }


class DigitsSource(DataSource):
    """The embedded digits test split at ``image_size`` (in memory: it is small)."""

    def __init__(self, image_size: int) -> None:
        self.image_size = image_size
        self.where = f"digits@{image_size}"
        self._x: np.ndarray | None = None
        from snncompile.data.digits import load_digits_split

        split = load_digits_split(image_size=image_size)
        self._x = split.x_test
        self.labels = np.asarray(split.y_test, np.int64)

    def __len__(self) -> int:
        return len(self.labels) if self.labels is not None else 0

    def _read(self, start: int, stop: int) -> np.ndarray:
        if self._x is None:
            from snncompile.data.digits import load_digits_split

            self._x = load_digits_split(image_size=self.image_size).x_test
        return np.asarray(self._x[start:stop])

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_x": None}  # rebuilt where it is unpickled


def open_source(
    path: Path | str,
    input_shape: tuple[int, ...],
    *,
    resize: Sequence[int] | None = None,
    normalize: tuple[Sequence[float], Sequence[float]] | None = None,
    card: dict[str, Any] | None = None,
) -> DataSource:
    """The data source at ``path``: ``.npy``/``.npz`` arrays or a class-per-folder image tree."""
    path = Path(path)
    prep = Preprocessing.build(input_shape, resize=resize, normalize=normalize, card=card)
    if path.is_dir():
        return ImageFolderSource(path, prep)
    if path.suffix not in (".npy", ".npz"):
        raise error(
            "IN601",
            f"cannot read {path}: pass a .npy/.npz array or a folder of class sub-folders",
            node=str(path),
        )
    return ArraySource(path, prep)
