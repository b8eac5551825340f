"""Errors of the Lava emission and runs: LV507 (no exact stock form), LV508 (a Lava run failed)."""

from __future__ import annotations

from snncompile.diagnostics import SnnCompileError, error

__all__ = ["EMIT_CODE", "RUN_CODE", "lava_error"]

#: The network has no exact form in the requested Lava form.
EMIT_CODE = "LV507"
#: A Lava run failed (an exception inside a Lava process, or the runtime).
RUN_CODE = "LV508"


def lava_error(code: str, message: str) -> SnnCompileError:
    """The registered diagnostic ``code`` (see :data:`snncompile.diagnostics.CODES`)."""
    return error(code, message)
