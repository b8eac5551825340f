"""The hostile-input corpus: hand-made bad files of every format snncompile reads, and the
harness that runs one CLI command on them in-process and judges the outcome.

A case builds its files in a fresh directory and returns the CLI arguments; :func:`run_case`
runs them with click's ``CliRunner`` under a timeout and returns an :class:`Outcome`. A case
passes when the command ends with a coded diagnostic from its ``expect`` set (or succeeds when
``expect`` is None), and never with an uncoded exception (an "internal error"), a hang, a
partial output file, a temporary file left behind, a NaN in a JSON output, or a payload's
marker file.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from click.testing import CliRunner

from snncompile.cli import cli
from snncompile.diagnostics import InternalError, SnnCompileError

#: Seconds one case may take before it counts as a hang.
CASE_TIMEOUT_S = 60
MARKER = "PWNED"

TINY_ARCH = """
import torch
from torch import nn
from snncompile.models.neuron import MultiStepLIFNode

class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(8, 6)
        self.bn = nn.BatchNorm1d(6)
        self.n1 = MultiStepLIFNode(tau=2.0, detach_reset=True)
        self.l2 = nn.Linear(6, 4)
        self.n2 = MultiStepLIFNode(tau=2.0, detach_reset=True)

    def forward(self, x):
        x = x.unsqueeze(0).repeat(4, 1, 1)
        y = self.l1(x)
        y = self.bn(y.flatten(0, 1)).reshape(y.shape)
        return self.n2(self.l2(self.n1(y))).mean(0)
"""


@dataclass(frozen=True)
class Case:
    """One hostile input and the command that reads it.

    Attributes:
        category: what is hostile (``checkpoint``, ``card``, ``text-ir``, ``data``,
            ``artifact``, ``output``).
        name: what this case does.
        build: makes the files in a directory and returns the CLI arguments.
        expect: the diagnostic codes allowed, plus ``ok`` where a correct result is too (None:
            the command must succeed, exit 0 or 2).
        outputs: output files (relative to the directory) that must be whole or absent.
    """

    category: str
    name: str
    build: Callable[[Path], list[str]]
    expect: frozenset[str] | None
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What a case ended with: ``ok``, ``usage``, ``error[CODE]``, or a failure."""

    kind: str
    code: str | None
    detail: str
    command: str


class CaseTimeout(Exception):
    """A case ran past :data:`CASE_TIMEOUT_S` (a hang)."""


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _command(args: list[str]) -> str:
    first = args[0] if args else ""
    known = ("check", "run", "report", "info", "zoo", "card", "demo")
    return first if first in known else "compile"


def run_case(case: Case, root: Path) -> Outcome:
    """Build ``case`` in ``root`` and run it; see the module docstring for what passes."""
    from snncompile.limits import set_memory_limit

    args = case.build(root)
    command = _command(args)
    try:
        with _deadline(CASE_TIMEOUT_S):
            result = CliRunner().invoke(cli, args, catch_exceptions=True)
    except CaseTimeout as exc:
        return Outcome("hang", None, str(exc), command)
    finally:
        set_memory_limit(None)
    exc = result.exception
    if isinstance(exc, SnnCompileError) and not isinstance(exc, InternalError):
        outcome = Outcome("error", exc.code, exc.render(), command)
    elif exc is None or isinstance(exc, SystemExit):
        usage = result.exit_code == 2 and "Usage:" in (result.output or "")
        if result.exit_code in (0, 2):
            outcome = Outcome("usage" if usage else "ok", None, result.output[-300:], command)
        else:
            outcome = Outcome("exit", str(result.exit_code), result.output[-500:], command)
    else:
        import traceback

        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return Outcome("internal", type(exc).__name__, text[-2000:], command)
    problem = _leftovers(case, root)
    if problem:
        return Outcome("partial", None, problem, command)
    return outcome


def _no_nan(text: str) -> None:
    def refuse(name: str) -> float:
        raise ValueError(f"{name} in a JSON output")

    json.loads(text, parse_constant=refuse)


def _leftovers(case: Case, root: Path) -> str | None:
    for path in root.rglob("*"):
        if ".tmp-" in path.name or ".old-" in path.name:
            return f"temporary {path} left behind"
        if path.name == MARKER:
            return f"the payload ran: {path}"
    for name in case.outputs:
        path = root / name
        if path.is_file() and path.suffix == ".json":
            try:
                _no_nan(path.read_text())
            except ValueError as exc:
                return f"{name} is partial or holds NaN: {exc}"
    return None


def judge(case: Case, outcome: Outcome) -> str | None:
    """Why ``outcome`` fails ``case`` (None: it passes)."""
    if outcome.kind in ("internal", "hang", "partial", "exit"):
        return f"{outcome.kind}: {outcome.detail}"
    if case.expect is None:
        return None if outcome.kind == "ok" else f"expected success, got {outcome.detail}"
    if outcome.kind in ("usage", "ok") and outcome.kind in case.expect:
        return None  # a usage error, or a correct result, is allowed for this case
    if outcome.kind != "error":
        return f"expected {sorted(case.expect)}, got {outcome.kind}: {outcome.detail}"
    if outcome.code not in case.expect:
        return f"expected {sorted(case.expect)}, got {outcome.detail}"
    return None


# --- building blocks ------------------------------------------------------------------------


def tiny_model(
    root: Path, *, mutate: Callable[[dict[str, torch.Tensor]], None] | None = None
) -> Path:
    """``root/tiny.pt`` (a state dict of :data:`TINY_ARCH`) and ``root/tiny.py``."""
    (root / "tiny.py").write_text(TINY_ARCH)
    namespace: dict[str, Any] = {}
    exec(compile(TINY_ARCH, "tiny.py", "exec"), namespace)
    torch.manual_seed(0)
    state = dict(namespace["Tiny"]().state_dict())
    if mutate is not None:
        mutate(state)
    torch.save(state, root / "tiny.pt")
    (root / "tiny.json").write_text(json.dumps({"input_shape": [8], "time_steps": 4}))
    return root / "tiny.pt"


def tiny_ir(root: Path) -> Path:
    """``root/tiny.snnir``: the traced Linear-LIF chain as text IR."""
    from snncompile.frontend.torch import trace
    from snncompile.ir.printer import print_graph
    from tests.targets.loihi.test_artifact import Chain, T

    torch.manual_seed(0)
    path = root / "tiny.snnir"
    path.write_text(print_graph(trace(Chain().eval(), torch.zeros(2, 8), time_steps=T)))
    return path


def tiny_artifact(root: Path) -> Path:
    from tests.hostile.triggers import artifact

    return artifact(root)


def payload_pickle(root: Path, name: str = "evil.pt") -> Path:
    class Payload:
        def __reduce__(self) -> tuple[Any, tuple[str, str]]:
            return (open, (str(root / MARKER), "w"))

    path = root / name
    with path.open("wb") as handle:
        pickle.dump({"state_dict": Payload()}, handle)
    return path


def set_key(state: dict[str, torch.Tensor], suffix: str, value: float, index: int = 0) -> None:
    key = next(k for k in state if k.endswith(suffix) and state[k].is_floating_point())
    state[key] = state[key].clone()
    state[key].view(-1)[index] = value


def _arch(root: Path) -> list[str]:
    return ["--arch", str(root / "tiny.py") + ":Tiny"]


def _check_model(path: Path, root: Path, *extra: str) -> list[str]:
    return ["check", str(path), *_arch(root), "--dataset", "random", "--samples", "2", *extra]


def npz_bytes(**arrays: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def truncated_npz(root: Path, keep: float) -> Path:
    data = npz_bytes(x=np.zeros((4, 8), np.float32), y=np.arange(4))
    path = root / "x.npz"
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def huge_npy_header(root: Path, samples: int = 10**12) -> Path:
    """A .npy whose header claims ``samples`` samples (the data is not there)."""
    header = {"descr": "<f4", "fortran_order": False, "shape": (samples, 8)}
    path = root / "bomb.npy"
    with path.open("wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        handle.write(b"\0" * 64)
    return path


def compressed_bomb(root: Path) -> Path:
    """An .npz whose compressed member claims 1e11 samples."""
    path = root / "bomb.npz"
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**11, 8)}
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", buffer.getvalue() + b"\0" * 4096)
    return path


def fifo(root: Path, name: str) -> Path:
    path = root / name
    os.mkfifo(path)
    return path


def dev_zero(root: Path, name: str) -> Path:
    path = root / name
    path.symlink_to("/dev/zero")
    return path
