"""Safe file boundaries: atomic outputs, regular-file inputs, no output over an input.

Every file snncompile writes goes through :func:`atomic_file` (or its shorthands
:func:`write_text` / :func:`write_bytes`), every artifact directory through
:func:`atomic_directory`: the content is written to a hidden temporary sibling
(``.NAME.tmp-XXXX`` in the same directory, hence the same file system) and renamed into place
only once it is complete, so a failure (disk full, an exception, a signal) leaves no partial
output and an existing output untouched until its replacement is whole. ``os.replace`` of a
file is atomic on POSIX; a directory is swapped by two renames (old aside, new in, old removed).

Inputs are checked by :func:`require_regular_file` (a FIFO, device or socket, also behind a
symlink, is refused with IN603 instead of blocking or reading forever), and outputs by
:func:`refuse_overwriting_inputs` (SC102 when an output path resolves to an input).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from snncompile.diagnostics import error

__all__ = [
    "atomic_directory",
    "atomic_file",
    "refuse_overwriting_inputs",
    "require_regular_file",
    "write_bytes",
    "write_text",
]


def _write_error(path: Path, exc: OSError) -> Exception:
    reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return error(
        "IN607",
        f"cannot write {path}: {reason}; nothing partial was left",
        node=str(path),
    )


def _check_parent(path: Path) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise error(
            "IN607", f"cannot write {path}: the directory {parent} does not exist", node=str(path)
        )
    if path.is_dir():
        raise error("IN607", f"cannot write {path}: it is a directory", node=str(path))
    if path.exists() and not path.is_file():  # a device (/dev/full), FIFO or socket
        raise error("IN607", f"cannot write {path}: it is not a regular file", node=str(path))


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; rename it to ``path`` when the block
    ends without an exception, remove it otherwise (``path`` stays as it was).

    Raises:
        ConfigError IN607: the directory is missing, ``path`` is a directory, or writing
            failed (disk full, permissions).
    """
    path = Path(path)
    _check_parent(path)
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{path.name}.tmp-", suffix=path.suffix, dir=path.parent
        )
    except OSError as exc:
        raise _write_error(path, exc) from exc
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # as a plain open() would create it
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _write_error(path, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_file`)."""
    path = Path(path)
    with atomic_file(path) as tmp, tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary sibling directory of ``path``; when the block succeeds it
    replaces ``path`` (an existing directory is moved aside, then removed); on failure it is
    removed and ``path`` is untouched.

    Raises:
        ConfigError IN607: ``path`` is an existing file, its parent is missing, or writing
            failed.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise error(
            "IN607",
            f"cannot write the directory {path}: a file of that name exists (give a new path)",
            node=str(path),
        )
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=parent))
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=parent))
            os.replace(path, old / "dir")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _write_error(path, exc) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def require_regular_file(path: str | Path, what: str = "input") -> Path:
    """``path`` if it is a regular file (after symlinks); IN603 for a FIFO, device or socket,
    IN601 when it does not exist."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError as exc:
        raise error("IN601", f"{path} does not exist", node=str(path)) from exc
    except OSError as exc:
        raise error("IN601", f"cannot read {path}: {exc.strerror}", node=str(path)) from exc
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
        return path
    kind = (
        "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    target = f" (a link to {os.path.realpath(path)})" if path.is_symlink() else ""
    raise error("IN603", f"the {what} {path}{target} is {kind}", node=str(path))


def _identity(path: Path) -> tuple[str, tuple[int, int] | None]:
    resolved = os.path.realpath(path)
    try:
        st = os.stat(resolved)
        return resolved, (st.st_dev, st.st_ino)
    except OSError:
        return resolved, None


def refuse_overwriting_inputs(
    outputs: Iterable[tuple[str, str | Path | None]], inputs: Iterable[str | Path | None]
) -> None:
    """SC102 when an output (``(option, path)`` pairs) resolves to an input or lies inside an
    input directory (an artifact), or when two outputs are the same file.

    Paths are compared after resolving symlinks and ``..``, and by device and inode where the
    file exists (hard links)."""
    known: list[tuple[str, Path, str, tuple[int, int] | None]] = []
    for item in inputs:
        if item is None or str(item).startswith("zoo:"):
            continue
        path = Path(item)
        resolved, ident = _identity(path)
        known.append(("input", path, resolved, ident))
    for option, item in outputs:
        if item is None:
            continue
        path = Path(item)
        resolved, ident = _identity(path)
        for role, other, other_resolved, other_ident in known:
            same = resolved == other_resolved or (ident is not None and ident == other_ident)
            inside = os.path.isdir(other_resolved) and resolved.startswith(
                other_resolved.rstrip(os.sep) + os.sep
            )
            holds = os.path.isdir(resolved) and other_resolved.startswith(
                resolved.rstrip(os.sep) + os.sep
            )
            if same or inside or holds:
                what = "is" if same else "is inside" if inside else "contains"
                raise error(
                    "SC102",
                    f"{option} {path} {what} the {role} {other}; it would be destroyed",
                    node=str(path),
                )
        known.append((f"output of {option}", path, resolved, ident))
