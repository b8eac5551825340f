"""Every command the documentation shows exists, and the fast ones run as written.

Commands are read from the fenced shell blocks of README.md and docs/*.md (lines starting with
``snncompile``, ``.venv/bin/snncompile``, ``$S`` (README: ``S=.venv/bin/snncompile``),
``make X``, ``python -m X``, ``.venv/bin/python -m X`` or ``path/script.py``; a trailing
``\\`` or an indented ``[--option ...]`` line continues a command) and from inline code spans
in the prose (`` `snncompile run --backend float` ``, `` `--expand-sew` ``). For each ``snncompile``
command the click subcommand is resolved as the CLI resolves it (``snncompile MODEL ...`` is
``compile``) and every option must be one of that command's, every value must convert
(choices, ints, floats) unless it is an UPPER-CASE placeholder, and ``a|b`` alternatives are
checked one by one; a bare `` `--flag` `` span must be an option of some command. ``make X``
needs a Makefile target X, ``python -m X`` an importable module and ``script.py`` a file of
the repository that define every flag used. A representative subset of the examples then
runs in a scratch directory (beside a link to ``examples/``) with click's ``CliRunner``, in
document order.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from snncompile.cli import cli
from snncompile.diagnostics import InternalError, SnnCompileError

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
#: Languages of fenced blocks that hold shell commands (``text`` blocks hold output).
SHELL_LANGS = frozenset({"", "sh", "bash", "shell", "console"})
_FENCE = re.compile(r"^\s*```\s*(?P<lang>[\w+-]*)")
_COMMAND = re.compile(
    r"^(?:\$ )?(?P<prog>(?:\.venv/bin/)?snncompile|\$S|make|(?:\.venv/bin/)?python3?"
    r"|[\w./-]+\.py)"
    r"(?:\s+(?P<rest>.*))?$"
)
_INLINE = re.compile(r"`(?P<code>[^`\n]+)`")
_PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*$")
_NUMBER = re.compile(r"^-\d")


@dataclass(frozen=True)
class DocCommand:
    """One command of the documentation.

    Attributes:
        path: the Markdown file.
        line: its (first) line.
        program: ``snncompile``, ``make``, ``python`` (``-m MODULE``) or a script path.
        argv: the arguments after the program (comments dropped, ``[``/``]`` of optional
            groups kept as written).
        inline: from a code span in the prose (a fragment: no positional arguments checked).
    """

    path: Path
    line: int
    program: str
    argv: tuple[str, ...]
    inline: bool = False

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def text(self) -> str:
        return " ".join(self.argv)

    def __str__(self) -> str:
        return f"{self.where}: {self.program} {self.text}"


def _program(prog: str) -> str:
    if prog.endswith("snncompile") or prog == "$S":
        return "snncompile"
    if prog.endswith(".py"):
        return prog
    return "make" if prog == "make" else "python"


def _parse(path: Path, line: int, text: str, *, inline: bool = False) -> DocCommand | None:
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    program = _program(match.group("prog"))
    argv = tuple(shlex.split(match.group("rest") or "", comments=True))
    if program == "python" and argv[:1] != ("-m",):
        return None  # python snippets, not module runs
    if inline and (program == "make" or not argv):
        return None  # a name in the prose (`snncompile`), not a command
    return DocCommand(path, line, program, argv, inline)


def fenced_commands(path: Path) -> Iterator[DocCommand]:
    """The commands of ``path``'s fenced shell blocks, continuation lines joined."""
    lang: str | None = None
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        fence = _FENCE.match(raw)
        if fence is not None:
            lang = fence.group("lang") if lang is None else None
            continue
        if lang is None or lang not in SHELL_LANGS:
            continue
        stripped = raw.strip()
        if pending is not None and (
            pending[1].endswith("\\") or (raw[:1].isspace() and stripped.startswith(("[", "-")))
        ):
            pending = (pending[0], pending[1].removesuffix("\\") + " " + stripped)
            continue
        if pending is not None and (command := _parse(path, *pending)) is not None:
            yield command
        pending = (number, stripped)
    if pending is not None and (command := _parse(path, *pending)) is not None:
        yield command


def inline_spans(path: Path) -> Iterator[tuple[int, str]]:
    """The inline code spans of ``path`` outside fenced blocks, with their line."""
    in_block = False
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        if _FENCE.match(raw):
            in_block = not in_block
            continue
        if not in_block:
            for match in _INLINE.finditer(raw):
                yield number, match.group("code")


def all_commands() -> list[DocCommand]:
    out: list[DocCommand] = []
    for path in DOCS:
        out += fenced_commands(path)
        for number, code in inline_spans(path):
            command = _parse(path, number, code, inline=True)
            if command is not None:
                out.append(command)
    return out


COMMANDS = all_commands()
SNNCOMPILE = [c for c in COMMANDS if c.program == "snncompile"]


# --- the CLI as click sees it -------------------------------------------------------------------
HELP = frozenset({"-h", "--help"})


def _options(command: click.Command) -> dict[str, click.Option]:
    return {
        name: param
        for param in command.params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    }


ALL_OPTIONS = (
    frozenset(name for command in (cli, *cli.commands.values()) for name in _options(command))
    | HELP
)


def _tokens(argv: tuple[str, ...]) -> list[str]:
    """``argv`` without the brackets of optional groups and the ``|`` between alternatives;
    an optional group of prose (``[compile options]``) is dropped."""
    out = []
    prose = False
    for token in argv:
        if token.startswith("[") and not token.strip("[").startswith("-"):
            prose = not token.endswith("]")
            continue
        if prose:
            prose = not token.endswith("]")
            continue
        token = token.strip("[]")
        if token and token != "|":
            out.append(token)
    return out


def resolve(argv: tuple[str, ...]) -> tuple[click.Command, list[str]]:
    """The (sub)command ``snncompile ARGV`` runs and its arguments, as the CLI parses them:
    group flags first, then a command name, else ``compile`` (``_DefaultCommandGroup``)."""
    ctx = cli.make_context("snncompile", _tokens(argv), resilient_parsing=True)
    state = vars(ctx)  # click >= 8.2 keeps the command name in _protected_args
    rest = [*state.get("_protected_args", state.get("protected_args", [])), *ctx.args]
    if not rest:
        return cli, []
    _, command, args = cli.resolve_command(ctx, rest)
    assert command is not None
    return command, args


def problems(command: DocCommand) -> list[str]:
    """Why ``command`` would not run as documented (empty when it would)."""
    try:
        target, args = resolve(command.argv)
    except click.UsageError as exc:
        return [f"{command}: {exc.format_message()}"]
    options = _options(target)
    found: list[str] = []
    positional: list[str] = []
    ctx = click.Context(target, info_name=target.name)
    index = 0
    while index < len(args):
        token = args[index]
        index += 1
        if not token.startswith("-") or _NUMBER.match(token):
            positional.append(token)
            continue
        name, _, value = token.partition("=")
        if name in HELP:
            continue
        option = options.get(name)
        if option is None:
            found.append(f"{command}: `{target.name}` has no option {name}")
            continue
        if option.is_flag or option.count:
            continue
        values = [value] if value else args[index : index + option.nargs]
        index += 0 if value else option.nargs
        if len(values) < option.nargs and not command.inline:  # a span may name just the flag
            found.append(f"{command}: {name} needs {option.nargs} value(s)")
        for alternative in (a for v in values for a in v.split("|") if a):
            if _PLACEHOLDER.match(alternative):
                continue
            try:
                option.type.convert(alternative, option, ctx)
            except click.BadParameter as exc:
                found.append(f"{command}: {name} {alternative}: {exc.format_message()}")
    arguments = [p for p in target.params if isinstance(p, click.Argument)]
    expected = sum(max(p.nargs, 1) for p in arguments)
    if not command.inline and len(positional) != expected and target is not cli:
        found.append(
            f"{command}: `{target.name}` takes {expected} positional argument(s), "
            f"the doc gives {positional}"
        )
    return found


# --- static checks ------------------------------------------------------------------------------
def test_the_docs_show_commands() -> None:
    """The extraction works: the README's tour and the per-topic docs are found."""
    where = {c.path.name for c in SNNCOMPILE if not c.inline}
    assert {"README.md", "nir.md", "onnx.md", "reports.md", "scale_out.md", "loihi.md"} <= where
    texts = {c.text for c in SNNCOMPILE}
    assert "examples/digits/spikingformer.pt --target loihi -o sf.loihi" in texts
    assert any(c.program == "make" for c in COMMANDS)


@pytest.mark.parametrize("command", SNNCOMPILE, ids=str)
def test_documented_snncompile_command_exists(command: DocCommand) -> None:
    assert problems(command) == []


def test_the_checker_catches_wrong_commands() -> None:
    """A missing option, a bad choice, a bad number and a missing MODEL are all reported."""
    here = ROOT / "README.md"
    bad = [
        DocCommand(here, 1, "snncompile", ("m.pt", "--target", "fpga")),
        DocCommand(here, 1, "snncompile", ("run", "m.pt", "--chips", "2")),
        DocCommand(here, 1, "snncompile", ("run", "m.pt", "--limit", "many")),
        DocCommand(here, 1, "snncompile", ("check", "--json", "r.json")),
        DocCommand(here, 1, "snncompile", ("run", "--backend", "fixed"), inline=True),
        DocCommand(here, 1, "snncompile", ("--target", "ir|fpga"), inline=True),
        DocCommand(here, 1, "snncompile", ("check", "M", "--json")),
    ]
    for command in bad:
        assert problems(command), command
    good = DocCommand(here, 1, "snncompile", ("-v", "check", "M", "--dataset", "digits|random"))
    assert problems(good) == []
    prose = DocCommand(
        here, 1, "snncompile", ("report", "M", "[--no-cores]", "[compile", "options]")
    )
    assert problems(prose) == []
    assert problems(DocCommand(here, 1, "snncompile", ("check", "--html"), inline=True)) == []


def test_inline_flags_are_options_of_some_command() -> None:
    """A span in the prose that starts with a `--flag` names options of snncompile commands."""
    unknown = []
    for path in DOCS:
        for number, code in inline_spans(path):
            if not code.startswith("--"):
                continue
            for flag in re.findall(r"(?:^|\s|\[)(--[a-z][a-z0-9-]*)", code):
                if flag not in ALL_OPTIONS:
                    unknown.append(f"{path.relative_to(ROOT)}:{number}: {flag} in `{code}`")
    assert unknown == []


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, flags=re.MULTILINE))


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.program == "make"], ids=str)
def test_documented_make_target_exists(command: DocCommand) -> None:
    targets = [t for t in command.argv if not t.startswith("-") and "=" not in t]
    assert targets, command
    missing = set(targets) - _make_targets()
    assert not missing, f"{command}: the Makefile has no target {sorted(missing)}"


SCRIPTS = [c for c in COMMANDS if c.program not in ("snncompile", "make")]


@pytest.mark.parametrize("command", SCRIPTS, ids=str)
def test_documented_python_module_or_script_exists(command: DocCommand) -> None:
    if command.program == "python":
        module, args = command.argv[1], command.argv[2:]
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None, f"{command}: no module {module}"
        path = Path(spec.origin)
    else:
        path, args = ROOT / command.program, command.argv
        assert path.is_file(), f"{command}: no script {command.program}"
    source = path.read_text()
    for flag in (t.strip("[]") for t in args if t.strip("[]").startswith("--")):
        assert f'"{flag.partition("=")[0]}"' in source, f"{command}: {path.name} has no {flag}"


# --- running the examples -----------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """A documented command run as written (brackets of optional groups dropped).

    Attributes:
        doc: the file it is shown in.
        text: the command as extracted (:attr:`DocCommand.text`).
        extra: arguments added to keep it fast (e.g. ``--limit 2``).
        placeholders: values for UPPER-CASE placeholders.
        exit_code: the status it must end with.
        output: text that must be in its output.
        files: what it must leave in the scratch directory.
        marks: pytest marks (slow, lava).
    """

    doc: str
    text: str
    extra: tuple[str, ...] = ()
    placeholders: tuple[tuple[str, str], ...] = ()
    exit_code: int = 0
    output: str = ""
    files: tuple[str, ...] = ()
    marks: tuple[pytest.MarkDecorator, ...] = ()

    @property
    def argv(self) -> list[str]:
        names = dict(self.placeholders)
        tokens = [t for t in shlex.split(self.text) if t not in ("[", "]", "|")]
        return [names.get(t.strip("[]"), t.strip("[]")) for t in tokens] + list(self.extra)


SPIKINGFORMER = ("MODEL", "examples/digits/spikingformer.pt")
SPIKFORMER = ("MODEL", "examples/digits/spikformer.pt")
#: In document order: a later run may read what an earlier one wrote.
RUNS = (
    Run("README.md", "zoo [--json]", output='"family"'),
    Run("README.md", "info [--json]", output='"backends"', marks=(pytest.mark.lava,)),
    Run(
        "README.md",
        "check examples/digits/spikformer.pt --json r.json --html r.html",
        exit_code=2,
        output="verdict: NOT spike-driven",
        files=("r.json", "r.html"),
    ),
    Run(
        "README.md",
        "check zoo:sdt_8_512",
        exit_code=2,
        output="verdict",
        marks=(pytest.mark.slow,),
    ),
    Run(
        "README.md",
        "examples/digits/spikingformer.pt --target loihi -o sf.loihi",
        output="artifact sf.loihi",
        files=("sf.loihi/manifest.json", "sf.loihi/network/weights.npz"),
    ),
    Run("README.md", "report sf.loihi", output="totals: 24 populations"),
    Run("README.md", "run sf.loihi", extra=("--limit", "2"), output="[sim, pipelined] T=4"),
    Run(
        "README.md",
        "run sf.loihi --backend lava --lava-mode fused --compare sim --limit 2",
        output="lava vs sim: bit-exact",
        marks=(pytest.mark.slow, pytest.mark.lava, pytest.mark.timeout(600)),
    ),
    Run(
        "README.md",
        "run examples/digits/sdt.pt --backend float",
        extra=("--limit", "2"),
        output="sdt [float] T=4: 2 samples",
    ),
    Run(
        "README.md",
        "examples/digits/sdt.pt --target ir -o sdt.snnir --dump-ir-after dead-code",
        output="IR after dead-code",
        files=("sdt.snnir",),
    ),
    Run(
        "README.md",
        "examples/digits/spikformer.pt --target onnx -o spikformer.onnx",
        files=("spikformer.onnx",),
    ),
    Run(
        "README.md",
        "examples/digits/spikformer.pt --target onnx-network --expand-sew -o chip.onnx",
        files=("chip.onnx",),
    ),
    Run(
        "README.md",
        "examples/digits/spikingformer.pt --target nir --nir-extensions -o sf.nir",
        files=("sf.nir",),
    ),
    Run(
        "README.md",
        "check my.pt --arch my_net.py:Net --input-shape 1,28,28 --time-steps 8",
        output="spike-driven check of my (T=8)",
    ),
    Run(
        "README.md",
        "card my.pt --arch my_net.py:Net --input-shape 1,28,28 --time-steps 8",
        files=("my.json",),
    ),
    Run(
        "nir.md",
        "MODEL --target nir --nir-extensions -o model.nir",
        placeholders=(SPIKINGFORMER,),
        files=("model.nir",),
    ),
    Run("nir.md", "model.nir --target ir", output="graph @"),
    Run(
        "onnx.md",
        "MODEL --target onnx -o model.onnx [--time-steps T]",
        placeholders=(SPIKFORMER, ("T", "4")),
        files=("model.onnx",),
    ),
    Run("onnx.md", "model.onnx --target ir", output="graph @"),
    Run(
        "loihi.md",
        "examples/digits/spikingformer.pt --target netx -o sf.net",
        exit_code=1,
        output="error[LV505]",
    ),
    Run(
        "scale_out.md",
        "run MODEL --dataset digits --shard-size 64 --json out.json",
        extra=("--limit", "128"),
        placeholders=(SPIKINGFORMER,),
        output="shards: 2 (0 resumed)",
        files=("out.json", "out.json.shards.jsonl"),
    ),
)


#: The README's own model: ``my_net.py`` with a class ``Net`` (spikingjelly neurons, 28x28
#: inputs, T = 8), saved as ``my.pt`` with ``torch.save(model.state_dict(), "my.pt")``.
MY_NET = """
import torch
from spikingjelly.activation_based import layer, neuron
from torch import nn


class Net(nn.Module):
    def __init__(self, T: int = 8) -> None:
        super().__init__()
        self.T = T
        self.conv = layer.Conv2d(1, 4, 3, padding=1, step_mode="m")
        self.lif = neuron.LIFNode(tau=2.0, detach_reset=True, step_mode="m")
        self.head = nn.Linear(4 * 28 * 28, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        return self.head(self.lif(self.conv(x)).flatten(2)).mean(0)
"""


def _save_my_net(folder: Path) -> None:
    import sys

    import torch

    (folder / "my_net.py").write_text(MY_NET)
    namespace: dict[str, object] = {"__name__": "my_net"}
    exec(compile(MY_NET, str(folder / "my_net.py"), "exec"), namespace)
    torch.manual_seed(0)
    net = namespace["Net"]()  # type: ignore[operator]
    torch.save(net.state_dict(), folder / "my.pt")
    sys.modules.pop("my_net", None)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory where ``examples/digits/...`` resolves, with the README's own model
    (``my_net.py``, ``my.pt``), for the commands' outputs."""
    path = tmp_path_factory.mktemp("docs")
    (path / "examples").symlink_to(ROOT / "examples")
    _save_my_net(path)
    return path


def invoke(argv: list[str]) -> tuple[int, str]:
    """Run ``snncompile ARGV`` with CliRunner; errors are rendered as ``snncompile`` does."""
    result: Result = CliRunner().invoke(cli, argv, catch_exceptions=True)
    output = result.output
    code = result.exit_code
    if isinstance(result.exception, SnnCompileError):
        output += result.exception.render()
        code = 3 if isinstance(result.exception, InternalError) else 1
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return code, output


def test_every_readme_command_runs() -> None:
    """Each command of the README's fenced blocks is one of :data:`RUNS` (``make`` aside)."""
    readme = {c.text for c in COMMANDS if c.path.name == "README.md" and c.program == "snncompile"}
    readme = {text for text in readme if not any(c.inline for c in COMMANDS if c.text == text)}
    ran = {run.text for run in RUNS if run.doc == "README.md"}
    assert sorted(readme - ran) == [], "a README command no test runs: add it to RUNS"


def readme_python() -> list[str]:
    """The README's Python blocks."""
    blocks, lines, inside = [], [], False
    for raw in (ROOT / "README.md").read_text().splitlines():
        if raw.strip() == "```python":
            inside, lines = True, []
        elif inside and raw.strip() == "```":
            inside = False
            blocks.append("\n".join(lines) + "\n")
        elif inside:
            lines.append(raw)
    return blocks


def test_readme_python_runs(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python blocks run as written, in order, in one namespace."""
    found = readme_python()
    assert found, "the README shows Python"
    monkeypatch.chdir(scratch)
    namespace: dict[str, object] = {"__name__": "readme"}
    for number, code in enumerate(found):
        exec(compile(code, f"README.md python block {number}", "exec"), namespace)
    result = namespace["result"]
    assert result.logits.shape == (64, 10)  # type: ignore[attr-defined]


def test_every_run_is_still_documented() -> None:
    shown = {(c.path.name, c.text) for c in COMMANDS if not c.inline}
    missing = [(run.doc, run.text) for run in RUNS if (run.doc, run.text) not in shown]
    assert missing == [], "the docs changed: update RUNS in this test"


@pytest.mark.parametrize(
    "run", [pytest.param(r, marks=r.marks, id=f"{r.doc}: {r.text}") for r in RUNS]
)
def test_documented_example_runs(run: Run, scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(scratch)
    code, output = invoke(run.argv)
    assert code == run.exit_code, output
    assert run.output in output, output
    for name in run.files:
        assert (scratch / name).exists(), f"{run.text} did not write {name}"


@pytest.mark.parametrize("name", ["", *sorted(cli.commands)])
def test_help_of_every_command(name: str) -> None:
    code, output = invoke([name, "--help"] if name else ["--help"])
    assert code == 0, output
    assert output.startswith("Usage: "), output
    command = cli.commands[name] if name else cli
    for option in _options(command).values():
        if not option.hidden:
            assert option.opts[-1] in output, f"{name} --help does not show {option.opts[-1]}"
