"""The Loihi target: Lava processes for Loihi 2 simulation and deployment.

Lava is imported only through :mod:`snncompile.targets.loihi._lava`. :func:`load` reads an
artifact directory written by ``snncompile MODEL --target loihi -o OUT``
(:mod:`snncompile.targets.loihi.artifact`); it needs no Lava.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["load"]

if TYPE_CHECKING:
    from pathlib import Path

    from snncompile.targets.loihi.artifact import LoihiArtifact


def load(path: str | Path, *, key: bytes | None = None) -> LoihiArtifact:
    """Verify and load a Loihi artifact directory (see :func:`.artifact.load`)."""
    from snncompile.targets.loihi.artifact import load as load_artifact

    return load_artifact(path, key=key)
