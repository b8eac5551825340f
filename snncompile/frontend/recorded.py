"""What a text IR file records about its model: T and the input shape, in a header comment.

The ``ir`` and ``fixed`` targets start their ``.snnir`` output with one comment line::

    # snncompile: time_steps=8 input_shape=1,28,28

The IR grammar treats it as a comment; :func:`read_header` gives it back to the loader, so that
running a ``.snnir`` file uses the T it was compiled with (``--time-steps`` still wins). A header
that names these keys with values that are not positive integers is refused (ML412).
"""

from __future__ import annotations

import re
from typing import Any

from snncompile.diagnostics import error

__all__ = ["HEADER_PREFIX", "header", "read_header"]

HEADER_PREFIX = "# snncompile:"
_FIELD = re.compile(r"(\w+)=(\S+)")


def header(time_steps: int | None, input_shape: tuple[int, ...] | None) -> str:
    """The header line (with its newline) recording ``time_steps`` and ``input_shape``; empty
    when neither is known."""
    fields = []
    if time_steps is not None:
        fields.append(f"time_steps={time_steps}")
    if input_shape is not None:
        fields.append("input_shape=" + ",".join(str(n) for n in input_shape))
    return f"{HEADER_PREFIX} {' '.join(fields)}\n" if fields else ""


def read_header(text: str, where: str = "text IR") -> dict[str, Any]:
    """``time_steps`` (int) and ``input_shape`` (tuple) from the header comment of ``text``
    (only comment lines before the graph are read); ``{}`` when there is none."""
    found: dict[str, Any] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
        if not stripped.startswith(HEADER_PREFIX):
            continue
        for key, value in _FIELD.findall(stripped[len(HEADER_PREFIX) :]):
            if key == "time_steps":
                found[key] = _positive(value, key, where)
            elif key == "input_shape":
                found[key] = tuple(_positive(v, key, where) for v in value.split(","))
    return found


def _positive(text: str, key: str, where: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise error(
            "ML412",
            f"{where}: the header's {key} must be positive integers, got {text!r}",
            node=where,
        )
    return int(text)
