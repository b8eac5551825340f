"""Your own architecture from a weights-only checkpoint: ``--arch FILE.py:Class`` or
``--arch package.module:Class``.

The class is imported (a ``.py`` path relative to the working directory or to the checkpoint's
folder, or a module on ``sys.path``), built with the keyword arguments of the model card's
``arch_kwargs`` (``model.json`` beside ``model.pt``), and the state dict is read with
``torch.load(weights_only=True)`` and loaded strictly: missing, unexpected or reshaped keys are
ML403 with the keys named. Importing the file runs its code, as ``python FILE.py`` would: name
only code you trust. Errors importing or building the class are ML405.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from torch import nn

from snncompile.diagnostics import error

__all__ = ["build_user_arch", "is_user_arch", "load_user_checkpoint"]


def is_user_arch(arch: str | None) -> bool:
    """Whether ``arch`` names a class (``FILE.py:Class`` or ``module:Class``), not a zoo name."""
    return arch is not None and ":" in arch


def _module(target: str, near: Path | None, arch: str) -> ModuleType:
    if target.endswith(".py"):
        candidates = [Path(target)]
        if near is not None and not Path(target).is_absolute():
            candidates.append(near / target)
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            tried = ", ".join(str(p) for p in candidates)
            raise error("ML405", f"{arch}: no file {target} (tried {tried})", node=arch)
        digest = hashlib.sha1(str(found.resolve()).encode()).hexdigest()[:12]
        name = f"snncompile_user_arch_{found.stem}_{digest}"
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, found)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise error(
                "ML405", f"{arch}: importing {found} failed: {type(exc).__name__}: {exc}", node=arch
            ) from exc
        return module
    try:
        return importlib.import_module(target)
    except Exception as exc:
        raise error(
            "ML405", f"{arch}: importing {target} failed: {type(exc).__name__}: {exc}", node=arch
        ) from exc


def build_user_arch(
    arch: str, kwargs: dict[str, Any] | None = None, *, near: Path | None = None
) -> nn.Module:
    """Import the class that ``arch`` names and build it with ``kwargs``."""
    target, _, attr = arch.rpartition(":")
    if not target or not attr:
        raise error("ML405", f"{arch}: expected FILE.py:Class or package.module:Class", node=arch)
    cls = getattr(_module(target, near, arch), attr, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise error(
            "ML405", f"{arch}: {target} has no nn.Module subclass named {attr!r}", node=arch
        )
    try:
        return cls(**(kwargs or {}))
    except Exception as exc:
        raise error(
            "ML405",
            f"{arch}: {attr}(**{kwargs or {}}) failed: {type(exc).__name__}: {exc}",
            node=arch,
        ) from exc


def load_user_checkpoint(
    path: Path, arch: str, kwargs: dict[str, Any] | None = None, *, trust_pickle: bool = False
) -> nn.Module:
    """Build ``arch`` and load the weights in ``path`` strictly; return it in eval mode."""
    from snncompile.models.checkpoint import extract_state_dict, mismatch_message, read_checkpoint

    model = build_user_arch(arch, kwargs, near=path.parent)
    state = extract_state_dict(
        read_checkpoint(path, trust_pickle), source=f"checkpoint {str(path)!r}"
    )
    message = mismatch_message(arch, state, dict(model.state_dict()))
    if message is not None:
        raise error("ML403", message, node=str(path))
    model.load_state_dict(state, strict=True)
    return model.eval()
