"""Compilation targets, in one explicit registry (no registration by import side effect).

:data:`TARGET_CLASSES` names every target's class by ``--target`` name; it is the only list of
targets (the config's choices, the CLI's ``--target`` and the Python API read it). A target's
module (and its SDK, e.g. Lava) is imported only when the target is used (:func:`get_target`),
so that ``snncompile --help`` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snncompile.targets.base import Emitted, Target

__all__ = ["TARGETS", "TARGET_CLASSES", "TARGET_NAMES", "Emitted", "Target", "get_target"]

#: Every target by its ``--target`` name: ``module:Class``.
TARGET_CLASSES: dict[str, str] = {
    "fixed": "snncompile.targets.fixed:FixedTarget",
    "ir": "snncompile.targets.ir:IrTarget",
    "loihi": "snncompile.targets.loihi.target:LoihiTarget",
    "netx": "snncompile.targets.loihi.netx:NetxTarget",
    "nir": "snncompile.targets.nir:NirTarget",
    "onnx": "snncompile.targets.onnx:OnnxTarget",
    "onnx-network": "snncompile.targets.onnx_network:OnnxNetworkTarget",
}
#: The ``--target`` names, in the order the CLI lists them.
TARGET_NAMES: tuple[str, ...] = tuple(TARGET_CLASSES)

_instances: dict[str, Any] = {}


def get_target(name: str) -> Target:
    """The target called ``name`` (its module imported on first use); KeyError if none."""
    if name not in _instances:
        module, _, cls = TARGET_CLASSES[name].partition(":")
        _instances[name] = getattr(importlib.import_module(module), cls)()
    target: Target = _instances[name]
    return target


class _Targets(Mapping[str, "Target"]):
    """:data:`TARGET_CLASSES` as a mapping of target objects, built when looked up."""

    def __getitem__(self, name: str) -> Target:
        return get_target(name)

    def __iter__(self) -> Iterator[str]:
        return iter(TARGET_CLASSES)

    def __len__(self) -> int:
        return len(TARGET_CLASSES)


#: Every available target by its ``--target`` name (lazily built objects).
TARGETS: Mapping[str, Target] = _Targets()


def __getattr__(name: str) -> Any:
    if name in ("Emitted", "Target"):
        from snncompile.targets import base

        return getattr(base, name)
    raise AttributeError(name)
