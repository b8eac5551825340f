"""snncompile: a compiler toolchain from trained PyTorch spiking transformers to neuromorphic
hardware (Loihi 2 through Lava), with spike-driven compliance checks.

The core package imports without optional SDKs (Lava); see ``snncompile info``.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
