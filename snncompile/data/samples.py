"""Sample inputs for measuring a model: the digits test split, a user's array, or random.

Used by ``snncompile check`` (firing rates and energy) and ``snncompile run``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from snncompile.data.sources import check_finite_inputs
from snncompile.diagnostics import error

__all__ = ["sample_inputs"]


def _load_array(path: Path, samples: int) -> np.ndarray:
    """The first ``samples`` samples of a ``.npy``/``.npz`` file, validated as ``run``'s
    inputs are (:class:`snncompile.data.sources.ArraySource`: regular file, header claims,
    numeric dtype, at least one sample)."""
    from snncompile.data.sources import ArraySource, Preprocessing

    if path.suffix not in (".npy", ".npz"):
        raise error("IN606", f"{path}: --input takes a .npy or .npz array", node=str(path))
    source = ArraySource(path, Preprocessing(()))
    return np.array(source.array[:samples])


def sample_inputs(
    input_shape: tuple[int, ...],
    *,
    samples: int,
    dataset: str | None = None,
    input_path: Path | None = None,
    seed: int = 0,
) -> np.ndarray:
    """``[samples, *input_shape]`` float32 inputs (fewer if the source has fewer).

    ``input_path`` (a ``.npy``/``.npz`` array) wins over ``dataset='digits'`` (the first images
    of the digits test split at the model's resolution), which wins over uniform random values
    in [0, 1) drawn with ``seed``.
    """
    if samples < 1:
        raise error("CF201", f"samples must be >= 1, got {samples}", node="samples")
    if input_path is not None:
        data = _load_array(input_path, samples).astype(np.float32)
        if data.shape[1:] != tuple(input_shape):
            raise error(
                "IN601",
                f"{input_path} holds {list(data.shape)}; the model takes [N, "
                f"{', '.join(map(str, input_shape))}]",
                node=str(input_path),
            )
        check_finite_inputs(data, str(input_path))
        return data
    if dataset == "digits":
        from snncompile.data.digits import load_digits_split

        if len(input_shape) != 3 or input_shape[0] != 1 or input_shape[1] != input_shape[2]:
            raise error(
                "CF201",
                f"the digits data are [1, H, H] images; the model takes {list(input_shape)}",
                node="dataset",
            )
        return load_digits_split(image_size=input_shape[1]).x_test[:samples]
    if dataset not in (None, "random"):
        raise error(
            "CF201",
            f"no embedded data set {dataset!r} (embedded: digits); pass --input X.npy",
            node="dataset",
        )
    rng = np.random.default_rng(seed)
    return rng.random((samples, *input_shape), dtype=np.float32)
