"""SIGINT and SIGTERM end a run within seconds: every child ended, one line, exit 130/143."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from snncompile.interrupt import _stat, descendants, end_children

ROOT = Path(__file__).resolve().parents[1]


def _group(pgid: int) -> list[int]:
    """Living processes of process group ``pgid`` (what the run started, even orphaned)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            info = _stat(int(name))
            if info is not None and info[2] == pgid and info[0] != "Z":
                found.append(int(name))
    return found


@pytest.fixture(scope="module")
def lava_run(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    from snncompile.targets.loihi.artifact import write_artifact
    from tests.targets.loihi.test_artifact import _program

    tmp = tmp_path_factory.mktemp("interrupt")
    program, config = _program()
    write_artifact(program, config, tmp / "art")
    np.save(tmp / "x.npy", np.random.default_rng(0).random((200, 8)).astype(np.float32))
    return ["run", str(tmp / "art"), "--backend", "lava", "--input", str(tmp / "x.npy")]


def _interrupt(args: list[str], sig: int, *, group: bool) -> tuple[int, str, list[int]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "snncompile.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: what it starts is findable
    )
    try:
        deadline = time.monotonic() + 120
        while len(_group(proc.pid)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)  # until Lava's workers run
        assert len(_group(proc.pid)) >= 4, "Lava never started"
        time.sleep(0.5)
        if group:  # Ctrl-C in a terminal reaches the whole group
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
        signalled = time.monotonic()
        _, err = proc.communicate(timeout=10)
        assert time.monotonic() - signalled < 10
        time.sleep(max(0.0, 10 - (time.monotonic() - signalled)))
        return proc.returncode, err, _group(proc.pid)
    finally:
        for pid in _group(proc.pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.lava
@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    ("sig", "group", "code"),
    [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130), (signal.SIGINT, False, 130)],
    ids=["sigterm", "ctrl-c-group", "sigint"],
)
def test_a_signal_ends_every_process_of_a_lava_run(
    lava_run: list[str], sig: int, group: bool, code: int
) -> None:
    returncode, err, left = _interrupt(lava_run, sig, group=group)
    assert left == [], f"processes of the run alive 10 s after {sig!r}: {left}"
    assert returncode == code, err
    lines = [  # what the run printed before the signal aside, the interruption is one line
        line for line in err.splitlines() if line.strip() and not line.startswith("reading and ")
    ]
    assert len(lines) == 1 and lines[0].startswith("interrupted by "), err
    assert "Traceback" not in err


def test_end_children_ends_descendants_and_grandchildren() -> None:
    script = (
        "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
        "'import time; time.sleep(60)']); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 10
        while len(descendants()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        ours = descendants()  # the child and grandchild (and anything earlier tests left)
        assert len(ours) >= 2
        assert end_children(grace=2.0) >= 2
        alive = [pid for pid in ours if (info := _stat(pid)) is not None and info[0] != "Z"]
        assert alive == [], [(pid, _stat(pid)) for pid in alive]
    finally:
        child.kill()
        child.wait()


def test_an_interrupt_during_a_command_is_reported_as_one(tmp_path: Path) -> None:
    """Whatever error unwinding raises (a tracing error from a half-imported module), the
    command reports the interruption with 128 + signal."""
    script = (
        "import os, signal, sys\n"
        "from snncompile import cli\n"
        "from snncompile.diagnostics import error\n"
        "def boom(*a, **k):\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        import time; time.sleep(5)\n"
        "    except KeyboardInterrupt:\n"
        "        raise error('FE701', \"module 'sympy' has no attribute 'logic'\")\n"
        "cli.compile_command.callback = boom\n"
        "sys.exit(cli.main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "zoo:x"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 143, proc.stderr
    assert "FE701" not in proc.stderr and "interrupted by SIGTERM" in proc.stderr


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_a_ray_run_and_keeps_its_shards(tmp_path: Path, sig: int, code: int) -> None:
    """Ray replaces SIGTERM's handler in ray.init; the run still shuts down cleanly."""
    shards = tmp_path / "r.json.shards.jsonl"
    args = ["run", str(ROOT / "examples/digits/spikingformer.pt"), "--ray", "local"]
    args += ["--shard-size", "16", "--json", str(tmp_path / "r.json")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "snncompile.cli", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:  # until two shards are written
            started |= set(descendants(proc.pid))
            if shards.is_file() and len(shards.read_text().splitlines()) >= 3:
                break
            time.sleep(0.1)
        os.kill(proc.pid, sig)
        signalled = time.monotonic()
        _, err = proc.communicate(timeout=30)
        time.sleep(max(0.0, 10 - (time.monotonic() - signalled)))
        left = [pid for pid in started if (info := _stat(pid)) is not None and info[0] != "Z"]
        assert left == [], f"processes of the run alive 10 s after the signal: {left}"
        assert proc.returncode == code, err
        assert f"kept the finished shards in {shards}" in err
        assert len(shards.read_text().splitlines()) >= 3  # the finished shards survive
    finally:  # only what is still in the run's group (a pid could have been reused)
        for pid in _group(proc.pid):
            os.kill(pid, signal.SIGKILL)
