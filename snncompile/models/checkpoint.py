"""Load a trained checkpoint into a zoo model, safely and with clear errors.

:func:`load_checkpoint` accepts the layouts the official training scripts write:

* a bare state dict (``torch.save(model.state_dict(), path)``);
* a dict holding it under ``state_dict`` (timm's ``CheckpointSaver``: Spikformer, Spikingformer,
  SDT), ``model`` (SpikingResformer's ``main.py``, DeiT-style scripts) or ``state_dict_ema`` /
  ``model_ema`` (EMA weights; used only when no plain weights are present, or when asked for with
  ``key=``);
* keys prefixed by ``module.`` (``DataParallel``/``DistributedDataParallel``) or ``_orig_mod.``
  (``torch.compile``): the prefix is removed when every key has it.

Files are always read with ``torch.load(path, weights_only=True, map_location='cpu')``: nothing in
the file is executed. timm checkpoints also pickle the training ``args`` (an
``argparse.Namespace``) and numpy scalars; these plain-data classes are allowed explicitly
(:data:`SAFE_GLOBALS`). Any other class in the file (e.g. a pickled ``nn.Module``) is refused with
ML404 unless ``trust_pickle=True``.

Keys that an official checkpoint holds but the zoo model does not build can be listed per
configuration in ``ModelSpec.extra['checkpoint_drop_keys']`` (regular expressions); matching keys
are dropped before the strict comparison. The Spikformer and Spikingformer models build every
official key (including the unused LayerNorms), so they drop nothing.

Errors (never a raw traceback for bad input):

* ML401: ``arch`` is not a zoo name;
* ML402: missing, empty, unreadable or corrupt file; not a dict; no state dict inside;
* ML403: keys missing or unexpected, or shapes that differ, listing a few of each with the
  expected shapes, and naming zoo configurations the checkpoint does match when there are any;
* ML404: the file pickles classes other than plain data.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from snncompile.diagnostics import error
from snncompile.models.neuron import reset_net
from snncompile.models.registry import ModelSpec, get_spec, zoo

__all__ = [
    "SAFE_GLOBALS",
    "extract_state_dict",
    "load_checkpoint",
    "matching_archs",
    "mismatch_message",
    "read_checkpoint",
]

#: Top-level keys searched for the weights, in this order.
STATE_DICT_KEYS = ("state_dict", "model", "state_dict_ema", "model_ema")

#: Prefixes removed when every key carries them.
PREFIXES = ("module.", "_orig_mod.")

_SHOW = 5  # how many keys an error message lists per category


def _safe_globals() -> list[Any]:
    import numpy as np

    safe: list[Any] = [argparse.Namespace, np.dtype]
    # numpy scalars pickle as ``multiarray.scalar``: numpy._core in numpy 2, numpy.core in 1
    for module_name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            scalar = getattr(importlib.import_module(module_name), "scalar", None)
        except ImportError:
            continue
        if scalar is not None:
            safe.append(scalar)
            break
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        safe.extend(
            getattr(dtypes, name)
            for name in dir(dtypes)
            if name.endswith("DType") and isinstance(getattr(dtypes, name), type)
        )
    return safe


#: Plain-data classes allowed inside a checkpoint besides tensors and builtin containers.
SAFE_GLOBALS: list[Any] = _safe_globals()


def read_checkpoint(path: Path, trust_pickle: bool) -> Any:
    """``torch.load`` the file with the safe loader; ML402/ML404 on failure."""
    if not path.exists():
        raise error("ML402", f"checkpoint file {str(path)!r} does not exist", node=str(path))
    if path.is_dir():
        raise error("ML402", f"checkpoint path {str(path)!r} is a directory", node=str(path))
    if path.stat().st_size == 0:
        raise error("ML402", f"checkpoint file {str(path)!r} is empty (0 bytes)", node=str(path))
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        unsafe = _unsafe_globals(path)
        named = re.findall(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        if not unsafe and not named:
            detail = _unpickler_detail(exc)
            raise error(
                "ML402",
                f"checkpoint file {str(path)!r} is corrupt or not a torch.save file"
                + (f": {detail}" if detail else ""),
                node=str(path),
            ) from None
        if trust_pickle:
            try:
                return torch.load(path, weights_only=False, map_location="cpu")
            except Exception as exc2:
                raise error(
                    "ML402",
                    f"checkpoint file {str(path)!r} is corrupt: {_first_line(exc2)}",
                    node=str(path),
                ) from None
        what = ", ".join(_model_classes_first(unsafe or named)[:_SHOW])
        raise error(
            "ML404",
            f"checkpoint file {str(path)!r} pickles {what}; unpickling it would run code from "
            "the file",
            node=str(path),
        ) from None
    except Exception as exc:  # zip errors, EOF, wrong magic number, truncated data, ...
        raise error(
            "ML402",
            f"checkpoint file {str(path)!r} cannot be read by torch.load: {_first_line(exc)}",
            node=str(path),
        ) from None


def _unpickler_detail(exc: BaseException) -> str:
    for line in str(exc).splitlines():
        if "WeightsUnpickler error:" in line:
            return line.split("WeightsUnpickler error:", 1)[1].strip()
    return ""


def _unsafe_globals(path: Path) -> list[str]:
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:
        return []
    allowed = {f"{g.__module__}.{g.__qualname__}" for g in SAFE_GLOBALS}
    return [g for g in found if g not in allowed]


def _model_classes_first(names: list[str]) -> list[str]:
    """Sorted class names, the user's own (not torch, numpy or the standard library) first."""
    library = ("torch.", "numpy.", "collections.", "builtins.", "_codecs.", "argparse.")
    return sorted(set(names), key=lambda name: (name.startswith(library), name))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _is_state_dict(obj: Any) -> bool:
    return (
        isinstance(obj, Mapping)
        and len(obj) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def extract_state_dict(
    obj: Any, key: str | None = None, source: str = "checkpoint"
) -> dict[str, torch.Tensor]:
    """The weights inside a loaded checkpoint object (any accepted layout); ML402 otherwise.

    ``key`` forces one top-level entry (e.g. ``'state_dict_ema'``). Prefixes in
    :data:`PREFIXES` are removed when every key has them.
    """
    if isinstance(obj, nn.Module):  # only with trust_pickle
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise error(
            "ML402",
            f"{source} holds a {type(obj).__name__}, not a dict of tensors",
            node=source,
        )
    if not obj:
        raise error("ML402", f"{source} is an empty dict: it holds no weights", node=source)
    state: Any
    if key is not None:
        if key not in obj:
            raise error(
                "ML402",
                f"{source} has no entry {key!r}; top-level keys: {_preview(list(obj))}",
                node=source,
            )
        state = obj[key]
    elif _is_state_dict(obj):
        state = obj
    else:
        state = None
        for candidate in STATE_DICT_KEYS:
            value = obj.get(candidate)
            if isinstance(value, nn.Module):
                value = value.state_dict()
            if _is_state_dict(value):
                state = value
                break
        if state is None:
            raise error(
                "ML402",
                f"{source} is a dict but holds no state dict: expected tensors by parameter name, "
                f"or one of {', '.join(STATE_DICT_KEYS)}; top-level keys: {_preview(list(obj))}",
                node=source,
            )
    if isinstance(state, nn.Module):
        state = state.state_dict()
    if not _is_state_dict(state):
        raise error("ML402", f"{source} entry {key!r} is not a dict of tensors", node=source)
    result = {str(k): v for k, v in state.items()}
    for prefix in PREFIXES:
        if all(k.startswith(prefix) for k in result):
            result = {k[len(prefix) :]: v for k, v in result.items()}
    return result


def _preview(items: list[str], n: int = _SHOW) -> str:
    shown = ", ".join(repr(i) for i in items[:n])
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return f"{shown}{more}" if items else "(none)"


def _shape(t: torch.Tensor) -> str:
    return str(list(t.shape))


def _expected_state(spec: ModelSpec) -> dict[str, torch.Tensor]:
    with torch.device("meta"):
        model = spec.build()
    return dict(model.state_dict())


@functools.cache
def _signature(name: str) -> dict[str, tuple[int, ...]]:
    """Key -> shape of zoo configuration ``name`` as built (cached; meta device)."""
    return {k: tuple(v.shape) for k, v in _expected_state(get_spec(name)).items()}


def matching_archs(state: Mapping[str, torch.Tensor], family: str | None = None) -> list[str]:
    """Zoo configurations whose state_dict keys and shapes equal ``state``'s.

    ``family`` restricts the search to one family. Built once per configuration on the meta
    device and cached.
    """
    names = []
    wanted = {k: tuple(v.shape) for k, v in state.items()}
    for name, spec in zoo().items():
        if family is not None and spec.family != family:
            continue
        try:
            signature = _signature(name)
        except Exception:  # pragma: no cover - a broken zoo entry must not hide the real error
            continue
        if signature == wanted:
            names.append(name)
    return names


def _drop_unused(
    spec: ModelSpec, state: dict[str, torch.Tensor], expected: Mapping[str, Any]
) -> dict[str, torch.Tensor]:
    patterns = [re.compile(p) for p in spec.extra.get("checkpoint_drop_keys", ())]
    if not patterns:
        return state
    return {
        k: v for k, v in state.items() if k in expected or not any(p.search(k) for p in patterns)
    }


def mismatch_message(
    arch: str,
    state: Mapping[str, torch.Tensor],
    expected: Mapping[str, torch.Tensor],
) -> str | None:
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k}: checkpoint {_shape(state[k])}, {arch} expects {_shape(expected[k])}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    if not (missing or unexpected or shapes):
        return None
    parts = []
    if missing:
        parts.append(
            f"{len(missing)} key(s) missing from the checkpoint: "
            + "; ".join(f"{k} {_shape(expected[k])}" for k in missing[:_SHOW])
            + (f"; ... ({len(missing) - _SHOW} more)" if len(missing) > _SHOW else "")
        )
    if unexpected:
        parts.append(
            f"{len(unexpected)} unexpected key(s): "
            + "; ".join(f"{k} {_shape(state[k])}" for k in unexpected[:_SHOW])
            + (f"; ... ({len(unexpected) - _SHOW} more)" if len(unexpected) > _SHOW else "")
        )
    if shapes:
        parts.append(
            f"{len(shapes)} shape mismatch(es): "
            + "; ".join(shapes[:_SHOW])
            + (f"; ... ({len(shapes) - _SHOW} more)" if len(shapes) > _SHOW else "")
        )
    return (
        f"checkpoint does not match {arch} ({len(expected)} keys expected, "
        f"{len(state)} in the checkpoint): " + ". ".join(parts)
    )


def load_checkpoint(
    path: str | Path,
    arch: str,
    *,
    key: str | None = None,
    trust_pickle: bool = False,
    **overrides: Any,
) -> nn.Module:
    """Build zoo model ``arch`` and load the weights in ``path`` strictly; return it in eval mode.

    Args:
        path: a file written by ``torch.save`` (see the module docstring for the layouts).
        arch: zoo name (``snncompile zoo``), e.g. ``spikformer_8_512`` or ``spikformer_digits``.
        key: take the weights from this top-level entry (e.g. ``'state_dict_ema'``).
        trust_pickle: allow unpickling arbitrary objects (runs code from the file).
        overrides: constructor overrides for the zoo configuration (e.g. ``T=2``).

    Raises:
        SnnCompileError: ML401 unknown ``arch``; ML402 unreadable file or no weights inside;
            ML403 keys or shapes differ from ``arch``; ML404 the file needs ``trust_pickle``.
    """
    spec = get_spec(arch)
    file = Path(path)
    obj = read_checkpoint(file, trust_pickle)
    state = extract_state_dict(obj, key=key, source=f"checkpoint {str(file)!r}")
    expected = _expected_state(spec) if not overrides else None
    model = spec.build(**overrides)
    if expected is None:
        expected = dict(model.state_dict())
    state = _drop_unused(spec, state, expected)
    message = mismatch_message(arch, state, expected)
    if message is not None:
        matches = [m for m in matching_archs(state) if m != arch]
        if matches:
            message += f". The checkpoint matches: {', '.join(matches[:_SHOW])}"
        raise error("ML403", message, node=str(file))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # pragma: no cover - the checks above should catch everything
        raise error("ML403", f"{_first_line(exc)}", node=str(file)) from None
    model.eval()
    reset_net(model)
    return model
