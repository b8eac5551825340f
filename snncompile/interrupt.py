"""SIGINT and SIGTERM: stop within seconds, end every child process, say what was kept.

:func:`handling_signals` (the CLI wraps every command in it; :func:`snncompile.targets.loihi.run.
run_network` wraps each Lava run) installs one handler for both signals:

- in the process that installed it, the first signal raises :class:`Interrupted` (a
  ``KeyboardInterrupt``), so ``finally`` blocks run: Lava runs stop their processes, Ray shuts
  down, sharded runs have written every finished shard already; a second signal ends every
  child at once and exits, and so does a watchdog :data:`WATCHDOG_S` seconds after the first
  (Python drops an exception raised inside a finalizer or a logging lock);
- in a forked child (Lava's workers inherit the handler), SIGINT is ignored, because the parent
  ends its children itself, and SIGTERM exits quietly. So Ctrl-C to the whole process group
  prints no worker tracebacks.

:func:`end_children` terminates every descendant process (found by scanning ``/proc``, so
processes whose parent already died are still found when they kept the process group), waits a
few seconds and kills what is left. The CLI then prints one line and exits ``128 + signal``
(130 for SIGINT, 143 for SIGTERM). :func:`received` tells the CLI that an error raised while
stopping (a half-imported module, a tracing error) is the interruption, not a bug.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

__all__ = [
    "Interrupted",
    "descendants",
    "end_children",
    "handling_signals",
    "kept",
    "received",
]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_state: dict[str, Any] = {"pid": None, "received": None, "kept": None, "depth": 0, "ended": 0}


class Interrupted(KeyboardInterrupt):
    """The command was interrupted by ``signum``; :attr:`exit_code` is ``128 + signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def received() -> int | None:
    """The signal received during the current command (None: none)."""
    value = _state["received"]
    return int(value) if value is not None else None


def kept(text: str | None = None) -> str | None:
    """Record (with ``text``) or read what an interrupted command keeps (finished shards)."""
    if text is not None:
        _state["kept"] = text
    return _state["kept"]


def _handler(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _state["pid"]:  # a forked worker: its parent ends it
        if signum == signal.SIGTERM:
            os._exit(128 + signum)
        return
    if _state["received"] is not None:  # a second signal: stop now
        end_children(grace=0.5)
        os._exit(128 + signum)
    _state["received"] = signum
    if not _state.get("watchdog"):
        _state["watchdog"] = True
        _start_watchdog(signum)
    raise Interrupted(signum)


def _unraisable(hook: Any) -> Any:
    """A ``sys.unraisablehook`` that re-delivers an :class:`Interrupted` Python dropped (raised
    in an at-fork callback or finalizer) instead of printing it; others go to ``hook``."""

    def handle(unraisable: Any) -> None:
        exc = unraisable.exc_value
        if isinstance(exc, Interrupted) and os.getpid() == _state["pid"]:
            import threading

            _state["received"] = None  # delivered again, outside this callback, shortly
            threading.Timer(0.05, os.kill, (os.getpid(), exc.signum)).start()
            return
        hook(unraisable)

    return handle


#: Seconds an interrupted command has to unwind before the watchdog ends it.
WATCHDOG_S = 6.0


def _start_watchdog(signum: int) -> None:
    """End the process ``WATCHDOG_S`` after a signal even if the interruption was swallowed
    (raised inside a ``__del__`` or a logging lock, where Python ignores exceptions) or the
    unwinding hangs."""
    import sys
    import threading

    def watch() -> None:
        time.sleep(WATCHDOG_S)
        end_children(grace=1.0)
        sys.stderr.write(
            f"interrupted by {signal.Signals(signum).name}: stopped every child process "
            "after a stalled shutdown, no partial output left\n"
        )
        sys.stderr.flush()
        os._exit(128 + signum)

    threading.Thread(target=watch, name="snncompile-interrupt", daemon=True).start()


@contextlib.contextmanager
def handling_signals() -> Iterator[None]:
    """Install the handler (main thread only; nested uses share it) and restore the previous
    handlers afterwards."""
    import threading

    if threading.current_thread() is not threading.main_thread() or _state["depth"]:
        yield  # not the main thread, or already installed by an outer command
        return
    import sys

    previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    hook = sys.unraisablehook
    _state.update(pid=os.getpid(), received=None, kept=None, depth=1, ended=0, watchdog=False)
    for sig in _SIGNALS:
        signal.signal(sig, _handler)
    sys.unraisablehook = _unraisable(hook)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.unraisablehook = hook
        _state["depth"] = 0


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, pgrp) of ``pid`` from /proc (None when gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[2])


def descendants(root: int | None = None) -> list[int]:
    """Living (not zombie) descendants of ``root`` (default: this process)."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:  # pragma: no cover - no /proc
        return []
    states: dict[int, str] = {}
    for pid in pids:
        info = _stat(pid)
        if info is not None:
            states[pid] = info[0]
            children.setdefault(info[1], []).append(pid)
    found: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return [pid for pid in found if states.get(pid) != "Z"]


def end_children(grace: float = 3.0) -> int:
    """Terminate every descendant, kill those alive after ``grace`` seconds; return how many
    have been ended during this command so far."""
    pids = descendants()
    _state["ended"] += len(pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:  # zombies count as ended: their parents reap them
        if not descendants():
            break
        time.sleep(0.05)
    for pid in descendants():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0  # SIGKILL is not instant on a loaded machine
    while descendants() and time.monotonic() < deadline:
        time.sleep(0.02)
    return int(_state["ended"])
