"""``snncompile card``: write the model card of a checkpoint, so later commands need no flags.

A model card is the JSON file beside a checkpoint (``model.json`` for ``model.pt``) that
:mod:`snncompile.frontend.load` reads: ``arch``, ``input_shape``, ``time_steps`` (and, written
by hand, ``arch_kwargs``, ``dataset``, preprocessing). :func:`write_card` records what a
successful load used; it keeps the entries of an existing card it does not set and refuses to
replace one without ``force`` (ML413).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from snncompile.diagnostics import error
from snncompile.frontend.load import CHECKPOINT_SUFFIXES, LoadedModel

__all__ = ["write_card"]


def write_card(
    model: Path, loaded: LoadedModel, *, output: Path | None = None, force: bool = False
) -> Path:
    """Write the card of checkpoint ``model`` as ``loaded`` loaded it; returns its path."""
    if model.suffix not in CHECKPOINT_SUFFIXES:
        raise error(
            "ML413",
            f"{model}: a model card describes a checkpoint ({', '.join(CHECKPOINT_SUFFIXES)}); "
            "other formats record their model themselves",
            node=str(model),
        )
    path = output or model.with_suffix(".json")
    existing: dict[str, Any] = {}
    if path.exists():
        if not force:
            raise error(
                "ML413",
                f"{path} exists; pass --force to replace it (entries not given are kept)",
                node=str(path),
            )
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            existing = {}
        if not isinstance(existing, dict):
            existing = {}
    card: dict[str, Any] = dict(existing)
    if loaded.arch is not None:
        card["arch"] = loaded.arch
    if loaded.input_shape is not None:
        card["input_shape"] = [int(n) for n in loaded.input_shape]
    card["time_steps"] = int(loaded.time_steps)
    if loaded.input_kind != "image":
        card["input"] = loaded.input_kind
    from snncompile.fileio import write_text  # atomic; IN607 when it cannot be written

    write_text(path, json.dumps(card, indent=2) + "\n")
    return path
