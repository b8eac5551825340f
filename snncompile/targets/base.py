"""What a compilation target is: a name, hardware limits as data, a pipeline and an emitter.

Targets are registered in one explicit dict, :data:`snncompile.targets.TARGETS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from snncompile.config import CompileConfig
from snncompile.ir.graph import Graph
from snncompile.passes.manager import Pass, PassContext

__all__ = ["Emitted", "Target"]


@dataclass(frozen=True)
class Emitted:
    """What a target wrote: text for standard output when no file was asked for, or files."""

    summary: str
    text: str | None = None
    files: tuple[Path, ...] = field(default=())


class Target(Protocol):
    """A compilation target.

    Attributes:
        name: the ``--target`` value.
        limits: hardware limits as data (neurons per core, weight bits, ...); empty for
            software targets.
    """

    @property
    def name(self) -> str: ...

    @property
    def limits(self) -> Mapping[str, int]: ...

    def pipeline(self, config: CompileConfig) -> list[Pass]:
        """The passes to run, in order."""
        ...

    def emit(
        self, graph: Graph, config: CompileConfig, ctx: PassContext, output: Path | None
    ) -> Emitted:
        """Write the target's output for the compiled ``graph`` (to ``output`` if given)."""
        ...
