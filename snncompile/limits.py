"""Resource guards: estimate before allocating, refuse what would not fit (IN604).

The limit is ``--max-memory GIB`` (``CompileConfig.max_memory``, set for the process by the
command that parsed it with :func:`set_memory_limit`), else ``$SNNCOMPILE_MAX_MEMORY`` (GiB),
else half of this machine's physical memory. :func:`require_memory` compares an estimate, in
bytes, with it and raises IN604 with both numbers, before anything is allocated.

The exchange readers (NIR, ONNX, netx) estimate from the file's *declared* shapes, before they
build a graph (:func:`declared_bytes`): every declared value in float64 over ``T`` steps plus
every stored array in float64::

    bytes = 8 · (T · Σ_values numel + Σ_arrays numel)

the estimate :func:`snncompile.frontend.load.to_graph` makes again of the built graph.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from snncompile.diagnostics import error

__all__ = ["ENV", "declared_bytes", "memory_limit", "require_memory", "set_memory_limit"]

ENV = "SNNCOMPILE_MAX_MEMORY"
_GIB = 1 << 30
_override: float | None = None


def set_memory_limit(gib: float | None) -> None:
    """Set the process's limit in GiB (None: back to the default)."""
    global _override
    _override = gib


def _physical_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 * _GIB


def memory_limit() -> int:
    """The limit in bytes (see the module docstring)."""
    gib: float | None = _override
    if gib is None and os.environ.get(ENV):
        try:
            gib = float(os.environ[ENV])
        except ValueError:
            raise error(
                "CF201", f"${ENV} must be a number of GiB, got {os.environ[ENV]!r}"
            ) from None
    if gib is not None and gib > 0 and gib != float("inf"):
        return int(gib * _GIB)
    return _physical_bytes() // 2


def declared_bytes(values: Iterable[int], arrays: Iterable[int], time_steps: int) -> int:
    """``8 · (T · Σ values + Σ arrays)``: float64 bytes of declared values (element counts)
    over ``time_steps`` steps and of stored arrays (element counts); see the module docstring."""
    return 8 * (max(int(time_steps), 1) * sum(values) + sum(arrays))


def require_memory(estimate: float, what: str, *, node: str | None = None) -> None:
    """IN604 when ``estimate`` bytes exceed :func:`memory_limit`."""
    limit = memory_limit()
    if estimate > limit:
        raise error(
            "IN604",
            f"{what} would need about {_human(estimate)}; the limit is {_human(limit)} "
            "(--max-memory)",
            node=node or what,
        )


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover
