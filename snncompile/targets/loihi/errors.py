"""Errors of the Lava emission and runs: LV507 (no exact stock form), LV508 (a Lava run failed).

The codes are meant for :data:`snncompile.diagnostics.CODES`; until they are registered there,
:func:`lava_error` raises :class:`LavaError`, which renders the same ``error[CODE] ...`` line.
"""

from __future__ import annotations

from snncompile.diagnostics import CODES, error

__all__ = ["EMIT_CODE", "RUN_CODE", "LavaError", "lava_error"]

#: The network has no exact form in the requested Lava form.
EMIT_CODE = "LV507"
#: A Lava run failed (an exception inside a Lava process, or the runtime).
RUN_CODE = "LV508"


class LavaError(RuntimeError):
    """A Lava emission or run error with a diagnostic ``code`` and a ``message``."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"error[{code}] {message}")


def lava_error(code: str, message: str) -> Exception:
    """The registered diagnostic for ``code`` if there is one, else a :class:`LavaError`."""
    if code in CODES:
        return error(code, message)
    return LavaError(code, message)
