"""docs/tutorial.md runs as written, top to bottom as one script in an empty directory: a
Python block whose first line is ``# file: NAME`` is written to NAME (the model's own file),
the other Python blocks run in one namespace (the directory importable, as in a Python session
started there), the shell blocks' ``snncompile`` commands run with the CLI (a trailing ``\\``
continues a command), all in document order.

The fast variant trains for 2 epochs instead of the tutorial's 8, skips the Lava command and
runs the CLI in process; the slow one runs everything as written, each command in its own
process, and fails when an output the page shows is stale: each ``text`` block must be what
the code block before it printed, numbers and spacing aside (:func:`shape`; timings and the
last digits of accuracies differ between machines). ``python -m tests.test_tutorial --record``
reruns the page the same way and pastes each code block's output into the ``text`` block that
follows it.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from snncompile.cli import cli

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\s*$")
_FILE = re.compile(r"^# file: (?P<name>[\w.-]+\.py)\n")
#: The fast variant's edits: (text in the tutorial, replacement).
FAST = (("EPOCHS = 8", "EPOCHS = 2"),)


@dataclass(frozen=True)
class Block:
    """A fenced block of the tutorial: its language, text, the line of its opening fence and
    how many lines it holds."""

    lang: str
    text: str
    line: int
    size: int


def blocks(text: str) -> list[Block]:
    out: list[Block] = []
    lang: str | None = None
    start, lines = 0, []
    for number, raw in enumerate(text.splitlines(), 1):
        fence = _FENCE.match(raw)
        if fence is None:
            if lang is not None:
                lines.append(raw)
        elif lang is None:
            lang, start, lines = fence.group("lang"), number, []
        else:
            out.append(Block(lang, "\n".join(lines) + "\n", start, len(lines)))
            lang = None
    return out


def file_name(block: Block) -> str | None:
    """The file a Python block is (``# file: NAME`` on its first line), else ``None``."""
    match = _FILE.match(block.text) if block.lang == "python" else None
    return match.group("name") if match else None


def commands(block: Block) -> list[list[str]]:
    """The ``snncompile`` commands of a shell block, as argument lists."""
    out = []
    for line in block.text.replace("\\\n", " ").splitlines():
        argv = shlex.split(line, comments=True)
        if argv:
            assert argv[0] == "snncompile", f"tutorial.md:{block.line}: {line}"
            out.append(argv[1:])
    return out


def _needs_lava(argv: list[str]) -> bool:
    return "--backend" in argv and argv[argv.index("--backend") + 1] == "lava"


def run_tutorial(
    workdir: Path, *, fast: bool, lava: bool, shell: bool = False
) -> list[tuple[Block, str]]:
    """Run every code block in ``workdir``; return each block with its output.

    Args:
        fast: apply :data:`FAST` (fewer epochs).
        lava: run the Lava command too.
        shell: run the shell commands as a user does (``snncompile`` from ``.venv/bin`` in a
            subprocess) instead of in process with click's CliRunner.
    """
    text = TUTORIAL.read_text()
    if fast:
        for old, new in FAST:
            assert old in text, f"the tutorial no longer has {old!r}: update FAST"
            text = text.replace(old, new)
    namespace: dict[str, object] = {"__name__": "tutorial"}
    results: list[tuple[Block, str]] = []
    cwd = Path.cwd()
    written: list[str] = []
    os.chdir(workdir)
    sys.path.insert(0, str(workdir))
    try:
        for block in blocks(text):
            name = file_name(block)
            if name is not None:
                (workdir / name).write_text(block.text)
                written.append(name.removesuffix(".py"))
            elif block.lang == "python":
                buffer = io.StringIO()
                with contextlib.redirect_stdout(buffer):
                    code = compile(block.text, f"docs/tutorial.md:{block.line}", "exec")
                    exec(code, namespace)
                results.append((block, buffer.getvalue()))
            elif block.lang == "sh":
                output = ""
                for argv in commands(block):
                    if _needs_lava(argv) and not lava:
                        continue
                    output += _shell(argv) if shell else _in_process(argv, block)
                results.append((block, output))
    finally:
        os.chdir(cwd)
        sys.path.remove(str(workdir))
        for module in written:
            sys.modules.pop(module, None)
    return results


def _in_process(argv: list[str], block: Block) -> str:
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    assert result.exit_code == 0, f"tutorial.md:{block.line}: snncompile {shlex.join(argv)}\n" + (
        result.output
    )
    return result.output


def _shell(argv: list[str]) -> str:
    """``snncompile ARGV`` in its own process, as a user's terminal runs it: this checkout's
    CLI on this interpreter, 100 columns, standard error in the output."""
    path = os.environ.get("PYTHONPATH")
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "100",
    }
    done = subprocess.run(
        [sys.executable, "-m", "snncompile.cli", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = done.stdout.decode()
    assert done.returncode == 0, output
    return output


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SPACE = re.compile(r"[\s─━]+")


def shape(output: str) -> list[str]:
    """An output's lines with every number as ``#`` and runs of spaces (and table rules) as one:
    what must not change between machines."""
    lines = (_SPACE.sub(" ", _NUMBER.sub("#", line)).strip() for line in output.splitlines())
    return [line for line in lines if line]


def stale(results: list[tuple[Block, str]]) -> list[str]:
    """The ``text`` blocks of the page that differ in :func:`shape` from what the code block
    before them printed (``tutorial.md:LINE`` and the first differing line of each)."""
    shown = {
        previous.line: block
        for previous, block in itertools.pairwise(blocks(TUTORIAL.read_text()))
        if block.lang == "text"
    }
    out = []
    for block, output in results:
        page = shown.get(block.line)
        if page is None:
            continue
        want, got = shape(page.text), shape(output)
        if want != got:
            first = next(
                (f"page {w!r} / run {g!r}" for w, g in zip(want, got, strict=False) if w != g),
                f"page {len(want)} lines / run {len(got)} lines",
            )
            out.append(f"tutorial.md:{page.line}: {first}")
    return out


def _check_outputs(results: list[tuple[Block, str]], workdir: Path) -> None:
    """What the tutorial's prose says about the outputs still holds."""
    outputs = "\n".join(output for _, output in results)
    assert "verdict: the chip partition is spike-driven" in outputs
    assert "SD301" in outputs
    assert "[sim, pipelined] T=4: 450 samples" in outputs
    assert "latency 13 steps" in outputs  # T + depth 9, as the prose says
    assert "all three reports match their schemas" in outputs
    for name in ("tiny_model.py", "tiny.pt", "check.json", "check.html", "run.json"):
        assert (workdir / name).is_file(), name
    assert (workdir / "tiny.loihi" / "manifest.json").is_file()


def test_tutorial_runs_fast(tmp_path: Path) -> None:
    results = run_tutorial(tmp_path, fast=True, lava=False)
    assert [b.lang for b, _ in results].count("python") >= 5
    _check_outputs(results, tmp_path)


@pytest.mark.slow
@pytest.mark.lava
@pytest.mark.timeout(900)
def test_tutorial_runs_as_written(tmp_path: Path) -> None:
    results = run_tutorial(tmp_path, fast=False, lava=True, shell=True)
    _check_outputs(results, tmp_path)
    assert stale(results) == [], "run `python -m tests.test_tutorial --record`"
    outputs = "\n".join(output for _, output in results)
    assert "lava vs sim: bit-exact" in outputs
    accuracy = re.findall(r"epoch 7: test accuracy ([0-9.]+)%", outputs)
    assert accuracy and float(accuracy[0]) > 85, outputs


def test_every_output_block_follows_a_code_block() -> None:
    found = blocks(TUTORIAL.read_text())
    for previous, block in itertools.pairwise(found):
        if block.lang == "text":
            assert previous.lang in ("python", "sh"), f"tutorial.md:{block.line}"
            assert file_name(previous) is None, f"tutorial.md:{block.line}: a file prints nothing"
    assert file_name(found[0]) == "tiny_model.py"  # the CLI's --arch tiny_model.py:Class


def test_shape_ignores_numbers_and_spacing_only() -> None:
    assert shape("epoch 7: 96.0% (10 s)\n\n│ a   │ 1.5 k │") == shape(
        "epoch 7: 95.1% (9 s)\n│ a │ 12 k │"
    )
    assert shape("0.0015 mJ") != shape("1.5 µJ")
    assert shape("predictions per class: [1, 0, 1]") != shape("predictions per class: [1, 0]")


def test_stale_finds_an_output_the_page_does_not_show() -> None:
    found = blocks(TUTORIAL.read_text())
    code = next(b for b, t in itertools.pairwise(found) if t.lang == "text" and b.lang == "sh")
    assert stale([(code, "something else entirely\n")]) != []


def record() -> None:
    """Rerun the tutorial as written and paste the outputs into its ``text`` blocks."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        results = run_tutorial(Path(tmp), fast=False, lava=True, shell=True)
    outputs = {block.line: output for block, output in results}
    lines = TUTORIAL.read_text().splitlines()
    found = blocks(TUTORIAL.read_text())
    for previous, block in reversed(list(itertools.pairwise(found))):
        if block.lang != "text" or previous.line not in outputs:
            continue
        body = outputs[previous.line].rstrip("\n").splitlines()
        lines[block.line : block.line + block.size] = [line.rstrip() for line in body]
    TUTORIAL.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python -m tests.test_tutorial --record")
    record()
