"""``snncompile info``: versions of the stack and which backends are usable, with reasons.

JSON schema::

    {"snncompile": "0.1.0",
     "python": "3.11.7",
     "versions": {"torch": "2.14.1", "lava-nc": "0.10.0", "nir": null, ...},
     "backends": {"sim":   {"available": true,  "reason": null},
                  "loihi": {"available": false, "reason": "..."}, ...}}

``backends.loihi.available`` is true exactly when Lava imports through the shim and, with
``--run-lava`` (``collect_info(run_lava=True)``), a tiny two-population network also runs under
Lava's fixed-point CPU simulation with the expected spikes (a few seconds: Lava starts its
processes), so that plain ``snncompile info`` answers in under 2 s.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import platform
from typing import Any

from snncompile import __version__

__all__ = ["DISTRIBUTIONS", "collect_info", "render_info"]

#: Distributions whose versions ``info`` reports (distribution name as on PyPI).
DISTRIBUTIONS = (
    "torch",
    "torchvision",
    "numpy",
    "scipy",
    "lava-nc",
    "lava-dl",
    "nir",
    "onnx",
    "onnxruntime",
    "h5py",
    "networkx",
    "spikingjelly",
    "snntorch",
)


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _importable(module: str) -> dict[str, Any]:
    try:
        importlib.import_module(module)
    except Exception as exc:
        return {"available": False, "reason": f"cannot import {module}: {exc}"}
    return {"available": True, "reason": None}


def collect_info(*, run_lava: bool = False) -> dict[str, Any]:
    """The ``info`` report as a JSON-ready dict (see the module docstring)."""
    from snncompile.targets.loihi._lava import lava_status

    lava = lava_status(run_network=run_lava)
    return {
        "snncompile": __version__,
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in DISTRIBUTIONS},
        "backends": {
            "sim": _importable("numpy"),
            "loihi": {"available": lava.available, "reason": lava.reason},
            "nir": _importable("nir"),
            "onnx": _importable("onnx"),
        },
    }


def render_info(report: dict[str, Any]) -> None:
    """Print the report as two tables on the terminal."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"snncompile {report['snncompile']} on Python {report['python']}")
    versions = Table(title="versions")
    versions.add_column("distribution")
    versions.add_column("version")
    for name, version in report["versions"].items():
        versions.add_row(name, version or "[dim]not installed[/dim]")
    console.print(versions)
    backends = Table(title="backends")
    backends.add_column("backend")
    backends.add_column("usable")
    backends.add_column("reason")
    for name, status in report["backends"].items():
        usable = "[green]yes[/green]" if status["available"] else "[red]no[/red]"
        backends.add_row(name, usable, status["reason"] or "")
    console.print(backends)
