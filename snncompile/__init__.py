"""snncompile: a compiler toolchain from trained PyTorch spiking transformers to neuromorphic
hardware (Loihi 2 through Lava), with spike-driven compliance checks.

The core package imports without optional SDKs (Lava); see ``snncompile info``. ``trace`` and
``simulate`` and ``compile`` are loaded on first use, so ``import snncompile`` does not import
torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "compile", "simulate", "trace"]

if TYPE_CHECKING:
    from snncompile.api import compile
    from snncompile.frontend.simulate import simulate
    from snncompile.frontend.torch import trace

#: Lazily imported public names -> their module.
_LAZY = {
    "compile": "snncompile.api",
    "trace": "snncompile.frontend.torch",
    "simulate": "snncompile.frontend.simulate",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'snncompile' has no attribute {name!r}")
