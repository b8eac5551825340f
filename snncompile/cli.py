"""The ``snncompile`` command line.

Usage::

    snncompile MODEL [--target fixed|ir|loihi|netx|nir|onnx] [-o OUT] [options]  # compile
    snncompile check MODEL [--json FILE] [--html FILE]               # spike-driven? exit 0/2
    snncompile run MODEL [--backend sim|float|lava] [--json FILE]    # accuracy, latency, energy
    snncompile report MODEL [--json FILE]                            # the network per population
    snncompile card MODEL.pt --arch ... --input-shape ... --time-steps ...  # write a model card
    snncompile demo                                                  # the shipped digits story
    snncompile info [--json]                                         # environment
    snncompile zoo [--json]                                          # model zoo

Errors print one paragraph with their diagnostic code and exit 1; internal errors exit 3;
``check`` exits 2 when the model is not spike-driven. Tracebacks only with ``--debug``.

One grammar for every command: the options of ``compile``, ``check``, ``run``, ``report`` and
``card`` are generated from :class:`snncompile.config.CompileConfig` (what the compiler does)
and :class:`snncompile.config.RunConfig` (how a model runs) by :func:`dataclass_options`, with
the same spelling everywhere (``--expand-sew/--no-expand-sew``), help for every option and
typed, ranged values (``--time-steps 0`` is a usage error). A mistyped command or option gets a
did-you-mean. Heavy libraries (torch, Lava, Ray) are imported only by the commands that use
them; the reports' plots are SVG written directly, without matplotlib.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import math
import os
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from snncompile import __version__
from snncompile.config import CompileConfig, RunConfig
from snncompile.diagnostics import InternalError, SnnCompileError, error
from snncompile.fileio import refuse_overwriting_inputs, write_text

__all__ = ["cli", "dataclass_options", "main"]

F = typing.TypeVar("F", bound=Callable[..., Any])


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class _DefaultCommandGroup(click.Group):
    """A group whose first positional argument, when it is not a command, is a MODEL to
    compile: ``snncompile model.pt --target loihi`` means ``snncompile compile model.pt ...``.

    A first word that is no command, no file and close to a command name (``chek``) is a usage
    error with a did-you-mean, not a model to compile."""

    group_flags = frozenset({"--debug", "-v", "-vv", "--verbose", "--version", "-h", "--help"})

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for index, arg in enumerate(args):
            if arg in self.group_flags:
                continue
            if not arg.startswith("-") and arg not in self.commands:
                self._refuse_typo(ctx, arg)
            if arg.startswith("-") or arg not in self.commands:
                args = [*args[:index], "compile", *args[index:]]
            break
        return super().parse_args(ctx, args)

    def _refuse_typo(self, ctx: click.Context, word: str) -> None:
        if Path(word).exists() or any(c in word for c in "./:\\"):
            return
        close = difflib.get_close_matches(word, list(self.commands), n=1, cutoff=0.6)
        if close:
            raise click.UsageError(
                f"No such command {word!r}. Did you mean {close[0]!r}? (A model to compile "
                "is a file or zoo:NAME.)",
                ctx,
            )


class IntTuple(click.ParamType):
    """Comma-separated integers, each at least ``minimum`` (``1,28,28``)."""

    name = "ints"

    def __init__(self, minimum: int | None = None) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        try:
            numbers = tuple(int(v) for v in str(value).replace("x", ",").split(",") if v.strip())
        except ValueError:
            self.fail(
                f"{value!r} is not a comma-separated list of integers, e.g. 1,28,28", param, ctx
            )
        if not numbers:
            self.fail("give at least one integer, e.g. 1,28,28", param, ctx)
        if self.minimum is not None and any(n < self.minimum for n in numbers):
            self.fail(f"{value!r}: every entry must be >= {self.minimum}", param, ctx)
        return numbers


class FiniteFloat(click.ParamType):
    """A finite float (no nan, no inf)."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def _option_type(meta: Any, annotation: Any) -> dict[str, Any]:
    """click keyword arguments (type, metavar) for a field's annotation and metadata."""
    kinds = typing.get_args(annotation) or (annotation,)
    minimum = meta.get("minimum")
    if meta.get("choices"):
        return {"type": click.Choice(meta["choices"])}
    if any(typing.get_origin(k) is tuple and typing.get_args(k)[0] is int for k in kinds):
        return {"type": IntTuple(minimum), "metavar": meta.get("metavar") or "N,N,..."}
    if int in kinds:
        return {"type": click.IntRange(min=minimum, max=meta.get("maximum"))}
    if float in kinds:
        return {"type": FiniteFloat()}
    return {"metavar": meta["metavar"]} if meta.get("metavar") else {}


def dataclass_options(cls: type, *, exclude: tuple[str, ...] = ()) -> Callable[[F], F]:
    """A decorator adding one ``--flag`` per field of the config dataclass ``cls`` (help,
    choices, ranges and aliases from the field metadata; booleans as ``--x/--no-x``), except
    the fields in ``exclude``. The command receives every field by name."""
    hints = typing.get_type_hints(cls)

    def decorate(func: F) -> F:
        for f in reversed(dataclasses.fields(cls)):
            meta = f.metadata
            if not meta.get("cli", False) or f.name in exclude:
                continue
            flag = "--" + f.name.replace("_", "-")
            annotation = hints[f.name]
            default = f.default if f.default is not dataclasses.MISSING else None
            kwargs: dict[str, Any] = {"help": meta["help"], "default": default}
            if annotation is bool:
                decl = [f"{flag}/--no-{flag[2:]}"]
                decl += [f"--{a.replace('_', '-')}" for a in meta.get("aliases", ())]
                kwargs["show_default"] = True
            elif typing.get_origin(annotation) is tuple:
                decl = [flag]
                kwargs.update(multiple=True, default=(), metavar="PASS")
            else:
                decl = [flag]
                kwargs.update(_option_type(meta, annotation))
                kwargs["show_default"] = default is not None
            func = click.option(*decl, f.name, **kwargs)(func)
        return func

    return decorate


#: The compile options (every :class:`CompileConfig` field).
compile_options = dataclass_options(CompileConfig)
#: The compile options of commands that do not emit a target (check, run, report).
model_options = dataclass_options(CompileConfig, exclude=("target",))
#: The run options (every :class:`RunConfig` field).
run_options = dataclass_options(RunConfig)


def _split(options: dict[str, Any], cls: type) -> dict[str, Any]:
    """The entries of ``options`` that are fields of ``cls``, removed from ``options``."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: options.pop(k) for k in list(options) if k in names}


def _dataset_option(func: F) -> F:
    return click.option(
        "--dataset",
        type=click.Choice(["digits", "random"]),
        help="Sample inputs: the embedded digits test split (default for digits models) or "
        "seeded uniform random values in [0, 1) (no labels).",
    )(func)


@click.group(cls=_DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="snncompile")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: int) -> None:
    """snncompile: compile trained PyTorch spiking transformers to neuromorphic hardware.

    Run `snncompile MODEL --target TARGET -o OUT` to compile, or one of the commands below.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@cli.command("compile")
@click.argument("model")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write the result (`-o -`: text IR to standard output).",
)
@compile_options
def compile_command(model: str, output: Path | None, **options: Any) -> None:
    """Compile MODEL for a target.

    MODEL is zoo:NAME (seeded random weights), a checkpoint (.pt with --arch and
    --input-shape, or with a model card beside it), a pickled nn.Module (--trust-pickle), a
    text IR file (.snnir), ONNX, NIR or netx.
    """
    from snncompile.driver import compile_file

    config = CompileConfig.from_dict(options)
    refuse_overwriting_inputs([("-o", output)], [model, _card_of(model)])
    _memory_limit(config.max_memory)
    to_stdout = output is not None and str(output) == "-"
    if output is None and config.target in ("ir", "fixed") and _is_terminal(sys.stdout):
        raise error(
            "CF204",
            f"--target {config.target} writes text IR; without -o it would fill the terminal",
            node="output",
        )
    result = compile_file(model, config, output=None if to_stdout else output, dump=_dump_to_stderr)
    if result.text is not None:
        click.echo(result.text, nl=False)
        if to_stdout or output is None:
            click.echo(f"({result.summary})", err=True)
        return
    files = result.emitted.files
    if len(files) > 1 and output is not None and all(output in Path(f).parents for f in files):
        click.echo(f"wrote {output}/ ({len(files)} files; {result.summary})", err=True)
        if config.target == "loihi":
            click.echo(f"  per-population report: snncompile report {output}", err=True)
    else:
        for path in files:
            click.echo(f"wrote {path} ({result.summary})", err=True)


def _memory_limit(gib: float | None) -> None:
    """Apply ``--max-memory`` to this process's resource guards (snncompile.limits)."""
    from snncompile.limits import set_memory_limit

    if gib is not None and not 0 < gib < float("inf"):
        raise click.BadParameter(f"--max-memory must be a positive number of GiB, got {gib}")
    set_memory_limit(gib)


def _card_of(model: str) -> Path | None:
    """The model card beside a model file (an input too: no output may replace it)."""
    card = None if model.startswith("zoo:") else Path(model).with_suffix(".json")
    return card if card is not None and card.is_file() else None


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _dump_to_stderr(pass_name: str, text: str) -> None:
    click.echo(f"// ----- IR after {pass_name} -----", err=True)
    click.echo(text, err=True, nl=False)


@cli.command("check")
@click.argument("model")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the JSON report.")
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Write the HTML report.")
@_dataset_option
@click.option(
    "--input", "input_path", type=click.Path(path_type=Path), help="Sample inputs (.npy/.npz)."
)
@click.option(
    "--samples",
    default=16,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many samples to measure.",
)
@click.option(
    "--count",
    "convention",
    type=click.Choice(["paper", "events", "chip"]),
    default="paper",
    show_default=True,
    help="Counting convention shown first: paper (rate x T x FLOPs, as the papers), events "
    "(synaptic events of the run) or chip (chip model activity); the JSON has all three.",
)
@model_options
def check_command(
    model: str,
    json_path: Path | None,
    html_path: Path | None,
    dataset: str | None,
    input_path: Path | None,
    samples: int,
    convention: str,
    **options: Any,
) -> None:
    """Check whether MODEL is spike-driven; count its operations and energy.

    MODEL is what `snncompile MODEL` compiles. With --expand-sew, SD201 findings are accepted
    (as the compile accepts them); with --allow-host-ops, SD202-SD204 (ops that run on host).
    Exits 0 when the chip partition is spike-driven, 2 when it is not, 1 on error.
    """
    from snncompile.data.samples import sample_inputs
    from snncompile.driver import load, trace
    from snncompile.frontend.simulate import time_major_inputs
    from snncompile.report.compliance import check_graph
    from snncompile.report.html import compliance_html
    from snncompile.report.terminal import render_compliance
    from snncompile.runner import progress_display

    config = CompileConfig.from_dict(options)
    refuse_overwriting_inputs(
        [("--json", json_path), ("--html", html_path)], [model, input_path, _card_of(model)]
    )
    _memory_limit(config.max_memory)
    loaded = load(model, config)
    graph = trace(loaded)
    frames = loaded.input_kind == "frames"
    shape = graph.inputs[0].type.shape
    digits = loaded.dataset == "digits" and not frames
    x = sample_inputs(
        (loaded.time_steps, *shape) if frames else shape,
        samples=samples,
        dataset=None if dataset == "random" else dataset or ("digits" if digits else None),
        input_path=input_path,
        seed=config.seed,
    )
    inputs = time_major_inputs(
        graph,
        x.astype(_numpy_dtype(graph)),
        loaded.time_steps,
        input_layout="BT" if frames else None,
    )
    display = progress_display()
    if display is None:
        report = check_graph(graph, inputs, model=loaded.name, config=config, convention=convention)
    else:
        with display:
            task = display.add_task(f"{loaded.name}: measuring", total=inputs.shape[1])
            report = check_graph(
                graph,
                inputs,
                model=loaded.name,
                config=config,
                on_chunk=lambda n: display.advance(task, n),
                convention=convention,
            )
    render_compliance(report)
    if json_path is not None:
        write_text(json_path, json.dumps(report.to_dict(), indent=2))
        click.echo(f"wrote {json_path}", err=True)
    if html_path is not None:
        write_text(html_path, compliance_html(report))
        click.echo(f"wrote {html_path}", err=True)
    if not report.spike_driven:
        raise click.exceptions.Exit(2)


def _numpy_dtype(graph: Any) -> str:
    from snncompile.ir.types import DTYPES

    return DTYPES[graph.inputs[0].type.dtype]


@cli.command("run")
@click.argument("model")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the results.")
@_dataset_option
@click.option(
    "--input",
    "input_path",
    type=click.Path(path_type=Path),
    help="Inputs: X.npy (labels from X_labels.npy beside it), X.npz (keys x, y or labels), or "
    "a folder of images with one sub-folder per class. Read batch by batch.",
)
@click.option(
    "--resize",
    nargs=2,
    type=click.IntRange(min=1),
    metavar="H W",
    help="Resize --input images to H x W (default: the model card's, else the model's size).",
)
@click.option(
    "--normalize",
    nargs=2,
    metavar="MEAN STD",
    help="Normalize --input per channel: comma-separated means and stds, e.g. "
    "0.49,0.48,0.45 0.25,0.24,0.26 (default: the model card's preprocessing).",
)
@click.option(
    "--resume-dir",
    type=click.Path(path_type=Path),
    help="Keep finished shards in DIR/shards.jsonl and resume from it "
    "(default with --json OUT and shards: OUT.shards.jsonl).",
)
@run_options
@model_options
def run_command(
    model: str,
    json_path: Path | None,
    dataset: str | None,
    input_path: Path | None,
    resize: tuple[int, int] | None,
    normalize: tuple[str, str] | None,
    resume_dir: Path | None,
    **options: Any,
) -> None:
    """Run MODEL on a data set: predictions, accuracy, latency, time and energy per inference.

    MODEL is what `snncompile MODEL` compiles, or a Loihi artifact directory. With
    --shard-size or --ray the data set is evaluated in shards (on Ray workers), each written to
    OUT.shards.jsonl (or --resume-dir) as it finishes; re-running resumes.
    """
    run = RunConfig.from_dict(_split(options, RunConfig))
    config = CompileConfig.from_dict(options)
    click.echo(f"reading and compiling {model} ...", err=True)  # before the heavy imports
    import numpy as np

    from snncompile.distributed import shards_path_for
    from snncompile.runner import run_model

    _memory_limit(config.max_memory)
    refuse_overwriting_inputs(
        [("--json", json_path), ("--resume-dir", resume_dir)],
        [model, input_path, _card_of(model)],
    )
    sharded = run.shard_size is not None or run.ray is not None or resume_dir is not None
    if sharded and shards_path_for(json_path, resume_dir) is not None:
        from snncompile.interrupt import kept

        kept(f"the finished shards in {shards_path_for(json_path, resume_dir)}")
    progress = _is_terminal(sys.stderr)
    result = run_model(
        model,
        run_config=run,
        config=config,
        dataset=dataset,
        input_path=input_path,
        progress=progress,
        resize=resize,
        normalize=None if normalize is None else _normalize_option(normalize),
        shards_path=shards_path_for(json_path, resume_dir) if sharded else None,
    )
    data = result.to_dict()
    accuracy = "n/a (no labels)" if result.accuracy is None else f"{result.accuracy:.2%}"
    where = run.backend if run.backend == "float" else f"{run.backend}, {run.mode}"
    click.echo(
        f"{result.model} [{where}] T={result.time_steps}: {_plural(data['samples'], 'sample')}, "
        f"accuracy {accuracy}, latency {data['latency_steps']} steps, "
        f"{data['time_us_per_sample'] / 1e3:.2f} ms per sample on this machine"
    )
    if data["energy_uj_per_inference"] is not None:
        click.echo(
            f"  on chip (estimated): {_plural(data['cores'], 'core')}, "
            f"{data['time_us_per_step']:.2f} µs per step, "
            f"{data['energy_uj_per_inference']:.2f} µJ per inference (chip model: Loihi 1 "
            f"per-op energies on this run; `snncompile check` gives the 45 nm compute figure)"
        )
    if result.comparison is not None:
        identical = sum(p["identical"] for p in result.comparison["populations"])
        total = len(result.comparison["populations"])
        verdict = "bit-exact" if result.comparison["bit_exact"] else "DIFFERENT"
        click.echo(f"  lava vs sim: {verdict} ({identical}/{total} populations identical)")
    if result.sharding is not None:
        info = result.sharding
        click.echo(
            f"  shards: {info['shards']} ({info['shards_resumed']} resumed), "
            f"{_plural(info['samples_evaluated'], 'sample')} evaluated, "
            f"{_plural(info['duplicates'], 'duplicate')}"
        )
    counts = np.bincount(result.predictions, minlength=result.classes)
    click.echo(f"  predictions per class: {counts.tolist()}")
    if json_path is not None:
        write_text(json_path, json.dumps(data, indent=2))
        click.echo(f"wrote {json_path}", err=True)


def _normalize_option(values: tuple[str, str]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``--normalize MEAN STD``: two comma-separated lists of finite floats."""
    try:
        mean, std = (tuple(float(v) for v in text.split(",") if v.strip()) for text in values)
    except ValueError as exc:
        raise click.BadParameter(f"{values}: expected e.g. 0.5,0.5,0.5 0.25,0.25,0.25") from exc
    if not all(math.isfinite(v) for v in (*mean, *std)) or not all(s > 0 for s in std):
        raise click.BadParameter(f"{values}: means must be finite and stds finite and > 0")
    return mean, std


@cli.command("report")
@click.argument("model")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the JSON.")
@click.option("--cores/--no-cores", default=True, show_default=True, help="Place onto cores.")
@model_options
def report_command(model: str, json_path: Path | None, cores: bool, **options: Any) -> None:
    """The compiled network per population: kind, neurons, fan-in, synapses, scale, threshold,
    worst-case voltage and overflow margin, pipeline start, cores; and the totals.

    MODEL is a Loihi artifact directory (`--target loihi -o DIR`) or anything `snncompile
    MODEL` compiles (then compiled here with the given options).
    """
    from snncompile.api import compile_config
    from snncompile.report.network import network_report, render_network

    refuse_overwriting_inputs([("--json", json_path)], [model, _card_of(model)])
    config = CompileConfig.from_dict(options)
    _memory_limit(config.max_memory)
    compiled = compile_config(model, config)
    placement = None
    if cores:
        from snncompile.targets.sim.cores import place_cores

        placement = place_cores(compiled.program).cores_of()
    report = network_report(compiled.reports, placement)
    title = f"network of {compiled.loaded.name} (T={compiled.time_steps})"
    render_network(report, title)
    if json_path is not None:
        write_text(json_path, json.dumps(report.to_dict(), indent=2) + "\n")
        click.echo(f"wrote {json_path}", err=True)


@cli.command("card")
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write the card (default: beside MODEL, MODEL.json, where loading finds it).",
)
@click.option("--force", is_flag=True, help="Replace an existing card.")
@dataclass_options(
    CompileConfig,
    exclude=tuple(
        f.name
        for f in dataclasses.fields(CompileConfig)
        if f.name not in ("arch", "input_shape", "time_steps", "trust_pickle", "seed")
    ),
)
def card_command(model: Path, output: Path | None, force: bool, **options: Any) -> None:
    """Write the model card of checkpoint MODEL, so that later commands need no flags.

    The model is loaded and traced with the given --arch, --input-shape and --time-steps
    first (a card is written only for a model that loads); the card records them.
    """
    from snncompile.driver import load, trace
    from snncompile.frontend.write_card import write_card

    config = CompileConfig.from_dict(options)
    loaded = load(model, config)
    trace(loaded)
    path = write_card(model, loaded, output=output, force=force)
    click.echo(f"wrote {path} (arch {loaded.arch}, input_shape {loaded.input_shape}, ", err=True)
    click.echo(f"  T={loaded.time_steps}); next time: snncompile check {model}", err=True)


@cli.command("demo")
@click.option(
    "--out",
    "out_dir",
    default="out/demo",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder for the HTML reports, the Loihi artifact and demo.json.",
)
@click.option(
    "--samples",
    default=32,
    show_default=True,
    type=click.IntRange(min=1),
    help="Images for the spike check.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Test images for accuracy (default: all 450).",
)
@click.option(
    "--lava-samples",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Images run in Lava vs the simulator.",
)
def demo_command(out_dir: Path, samples: int, limit: int | None, lava_samples: int) -> None:
    """The whole story on the shipped digits models: check, compile for Loihi, run, compare."""
    from snncompile.demo import run_demo

    run_demo(out_dir, samples=samples, limit=limit, lava_samples=lava_samples)


@cli.command("info")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--run-lava",
    is_flag=True,
    help="Also run a tiny network in Lava (a few seconds) before calling Lava usable.",
)
def info_command(as_json: bool, run_lava: bool) -> None:
    """Versions of the stack and which backends are usable here."""
    from snncompile.info import collect_info, render_info

    report = collect_info(run_lava=run_lava)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        render_info(report)


@cli.command("zoo")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def zoo_command(as_json: bool) -> None:
    """List the model zoo: family, dataset, depth, dim, heads, T, image size, parameters."""
    from snncompile.models import zoo_table
    from snncompile.report.terminal import render_zoo

    rows = zoo_table()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        render_zoo(rows)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn errors into one paragraph and an exit code.

    SIGINT and SIGTERM end every child process and exit 130 / 143 with one line
    (:mod:`snncompile.interrupt`)."""
    from snncompile.interrupt import handling_signals
    from snncompile.limits import set_memory_limit

    args = sys.argv[1:] if argv is None else argv
    _STANDALONE["on"] = argv is None
    if argv is None and "--debug" not in args:
        quiet_third_party()
    with handling_signals():
        try:
            code = _main(args)
        except KeyboardInterrupt:
            code = _interrupted()
        finally:
            set_memory_limit(None)  # --max-memory holds for this command only
        return code


#: Libraries whose import-time warnings the command line hides (``--debug`` shows them).
THIRD_PARTY = (
    "torch",
    "spikingjelly",
    "snntorch",
    "lava",
    "ray",
    "onnx",
    "onnxruntime",
    "nir",
    "nirtorch",
    "norse",
    "sinabs",
    "rockpool",
    "scipy",
    "sklearn",
    "h5py",
)


def quiet_third_party() -> None:
    """Hide the deprecation, future and user warnings that the libraries in
    :data:`THIRD_PARTY` raise (spikingjelly 0.0.0.0.14 floods the terminal with torch's
    ``torch.jit.script`` deprecation on import) and torch's "no CUDA runtime" log line. The
    warnings of snncompile and of the user's own code are kept."""
    import warnings

    pattern = rf"^({'|'.join(THIRD_PARTY)})(\.|$)"
    for category in (DeprecationWarning, FutureWarning, UserWarning):
        warnings.filterwarnings("ignore", category=category, module=pattern)
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)


def _interrupted() -> int:
    """Stop every child process; one line on what was kept; ``128 + signal``. Run as the
    command line, the process ends here (``os._exit``): Ray's and Lava's exit handlers would
    otherwise join children that were just ended, or exit with their own status."""
    import signal

    from snncompile.interrupt import end_children, kept, received

    signum = received() or signal.SIGINT
    where = kept()
    click.echo(
        f"interrupted by {signal.Signals(signum).name}: stopping every child process, "
        f"no partial output left; {f'kept {where}' if where else 'nothing kept'}",
        err=True,
    )
    end_children()
    if _STANDALONE["on"]:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + int(signum))
    return 128 + int(signum)


#: Whether ``main`` runs as the command line (``argv`` None), not called from Python.
_STANDALONE = {"on": False}


def _main(args: list[str]) -> int:
    from snncompile.interrupt import received

    debug = "--debug" in args
    try:
        code = cli.main(args=args, prog_name="snncompile", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        if received() is not None:
            return _interrupted()
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 1
    except SnnCompileError as exc:
        if received() is not None:  # an error raised while stopping is the interruption
            return _interrupted()
        if debug:
            raise
        click.echo(exc.render(), err=True)
        return 3 if isinstance(exc, InternalError) else 1
    except Exception as exc:
        if received() is not None:
            return _interrupted()
        if debug:
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "  this is a bug in snncompile; rerun with --debug for the traceback and report it",
            err=True,
        )
        return 3
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
