"""Compilation targets, in one explicit registry (no registration by import side effect).

Optional SDKs (Lava) are imported only by their target's shim module, when used.
"""

from __future__ import annotations

from snncompile.targets.base import Emitted, Target
from snncompile.targets.fixed import FixedTarget
from snncompile.targets.ir import IrTarget
from snncompile.targets.loihi.netx import NetxTarget
from snncompile.targets.loihi.target import LoihiTarget
from snncompile.targets.nir import NirTarget
from snncompile.targets.onnx import OnnxTarget
from snncompile.targets.onnx_network import OnnxNetworkTarget

__all__ = ["TARGETS", "Emitted", "Target"]

#: Every available target by its ``--target`` name.
TARGETS: dict[str, Target] = {
    "ir": IrTarget(),
    "fixed": FixedTarget(),
    "nir": NirTarget(),
    "onnx": OnnxTarget(),
    "loihi": LoihiTarget(),
    "netx": NetxTarget(),
    "onnx-network": OnnxNetworkTarget(),
}
