"""Progress bars of long runs: on stderr and only on a terminal, so that pipes, files and tests
stay clean; a shared display (the demo's) gets one task per run, removed when it ends."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from snncompile.runner import progress_display, run_model

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "digits"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.timeout(120)
def test_no_progress_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert progress_display() is None  # pytest's captured stderr is not a terminal
    run_model(EXAMPLES / "sdt.pt", backend="float", limit=8, progress=True)
    assert capsys.readouterr() == ("", "")


@pytest.mark.timeout(120)
def test_progress_on_a_terminal_goes_to_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("TERM", "xterm-256color")
    result = run_model(EXAMPLES / "sdt.pt", backend="float", limit=8, progress=True)
    assert len(result.predictions) == 8
    drawn = terminal.getvalue()
    assert "sdt [float]" in drawn and "0/8" in drawn
    assert capsys.readouterr().out == ""  # results only, never the bar, on stdout


@pytest.mark.timeout(120)
def test_a_shared_display_gets_one_task_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", _Terminal())
    monkeypatch.setenv("TERM", "xterm-256color")
    display = progress_display()
    assert display is not None
    with display:
        run_model(EXAMPLES / "sdt.pt", backend="float", limit=4, progress=display)
        assert display.tasks == []  # the run's task is gone when the run ends
    monkeypatch.setenv("TERM", "dumb")
    assert progress_display() is None


@pytest.mark.timeout(120)
def test_sharded_runs_show_progress_per_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("TERM", "xterm-256color")
    seen: list[int] = []
    result = run_model(
        EXAMPLES / "sdt.pt",
        backend="float",
        limit=8,
        shard_size=4,
        progress=True,
        on_shard=lambda shard: seen.append(shard.index),
    )
    assert len(result.predictions) == 8 and seen == [0, 1]  # the caller's hook still runs
    assert "sdt [float, shards]" in terminal.getvalue()


@pytest.mark.timeout(120)
def test_check_shows_progress_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from snncompile.cli import main

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert main(["check", str(EXAMPLES / "spikingformer.pt"), "--samples", "16"]) == 0
    drawn = terminal.getvalue()
    assert "spikingformer: measuring" in drawn and "/16" in drawn
    assert "spikingformer: measuring" not in capsys.readouterr().out
