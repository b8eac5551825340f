"""The ``snncompile`` command line.

Usage::

    snncompile MODEL [--target fixed|ir|loihi|netx|nir|onnx] [-o OUT] [options]  # compile
    snncompile check MODEL [--json FILE] [--html FILE]               # spike-driven? exit 0/2
    snncompile run MODEL [--backend sim|float|lava] [--json FILE]    # accuracy, latency, energy
    snncompile report MODEL [--json FILE]                            # the network per population
    snncompile demo                                                  # the shipped digits story
    snncompile info [--json]                                         # environment
    snncompile zoo [--json]                                          # model zoo

Errors print one paragraph with their diagnostic code and exit 1; internal errors exit 3;
``check`` exits 2 when the model is not spike-driven.
Tracebacks only with ``--debug``. The compile options are generated from
:class:`snncompile.config.CompileConfig`, so the CLI and the config cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from snncompile import __version__
from snncompile.config import CompileConfig
from snncompile.diagnostics import InternalError, SnnCompileError
from snncompile.fileio import refuse_overwriting_inputs, write_text

__all__ = ["cli", "main"]

F = typing.TypeVar("F", bound=Callable[..., Any])


class _DefaultCommandGroup(click.Group):
    """A group whose first positional argument, when it is not a command, is a MODEL to
    compile: ``snncompile model.pt --target loihi`` means ``snncompile compile model.pt ...``."""

    group_flags = frozenset({"--debug", "-v", "-vv", "--verbose", "--version", "-h", "--help"})

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for index, arg in enumerate(args):
            if arg in self.group_flags:
                continue
            if arg.startswith("-") or arg not in self.commands:
                args = [*args[:index], "compile", *args[index:]]
            break
        return super().parse_args(ctx, args)


def config_options(func: F) -> F:
    """Add one ``--flag`` per :class:`CompileConfig` field (help and choices from metadata)."""
    hints = typing.get_type_hints(CompileConfig)
    for f in reversed(dataclasses.fields(CompileConfig)):
        meta = f.metadata
        if not meta.get("cli", False):
            continue
        flag = "--" + f.name.replace("_", "-")
        annotation = hints[f.name]
        kwargs: dict[str, Any] = {"help": meta["help"], "default": f.default}
        if annotation is bool:
            decl = [f"{flag}/--no-{flag[2:]}"]
            decl += [f"--{a.replace('_', '-')}" for a in meta.get("aliases", ())]
            kwargs["show_default"] = True
        else:
            decl = [flag]
            if typing.get_origin(annotation) is tuple:
                kwargs.update(multiple=True, default=(), metavar="PASS")
            elif meta.get("choices"):
                kwargs["type"] = click.Choice(meta["choices"])
                kwargs["show_default"] = True
            elif int in typing.get_args(annotation) or annotation is int:
                kwargs["type"] = int
                kwargs["show_default"] = f.default is not None
            elif float in typing.get_args(annotation) or annotation is float:
                kwargs["type"] = float
                kwargs["show_default"] = f.default is not None
        func = click.option(*decl, f.name, **kwargs)(func)
    return func


@click.group(cls=_DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="snncompile")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: int) -> None:
    """snncompile: compile trained PyTorch spiking transformers to neuromorphic hardware.

    Run `snncompile MODEL --target TARGET` to compile, or one of the commands below.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@cli.command("compile")
@click.argument("model")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Where to write the result.")
@config_options
def compile_command(model: str, output: Path | None, **options: Any) -> None:
    """Compile MODEL for a target.

    MODEL is zoo:NAME (seeded random weights), a checkpoint (.pt with --arch, or with a model
    card beside it), a pickled nn.Module (--trust-pickle) or a text IR file (.snnir).
    """
    from snncompile.driver import compile_file

    config = CompileConfig.from_dict(options)
    refuse_overwriting_inputs([("-o", output)], [model, _card_of(model)])
    _memory_limit(config.max_memory)
    result = compile_file(model, config, output=output, dump=_dump_to_stderr)
    if result.text is not None:
        click.echo(result.text, nl=False)
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


def _dump_to_stderr(pass_name: str, text: str) -> None:
    click.echo(f"// ----- IR after {pass_name} -----", err=True)
    click.echo(text, err=True, nl=False)


@cli.command("check")
@click.argument("model")
@click.option(
    "--arch",
    help="Architecture of a checkpoint: a zoo name (`snncompile zoo`) or your own class, "
    "FILE.py:Class or package.module:Class.",
)
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the JSON report.")
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Write the HTML report.")
@click.option(
    "--dataset",
    type=click.Choice(["digits", "random"]),
    help="Sample inputs: the embedded digits test split (default for digits models) or random.",
)
@click.option(
    "--input", "input_path", type=click.Path(path_type=Path), help="Sample inputs (.npy/.npz)."
)
@click.option("--samples", default=16, show_default=True, help="How many samples to measure.")
@click.option("--time-steps", type=int, help="T (default: the model card's or zoo's).")
@click.option("--seed", default=0, show_default=True, help="Seed of zoo:NAME weights and inputs.")
@click.option("--trust-pickle", is_flag=True, help="Allow a pickled nn.Module (runs code).")
@click.option("--trust-code", is_flag=True, help="Allow the class a model card names (runs code).")
@click.option("--max-memory", type=float, help="Memory limit in GiB (default: half of RAM).")
@click.option(
    "--count",
    "convention",
    type=click.Choice(["paper", "events", "chip"]),
    default="paper",
    show_default=True,
    help="Counting convention shown first: paper (rate x T x FLOPs, as the papers), events "
    "(synaptic events of the run) or chip (chip model activity); the JSON has all three.",
)
def check_command(
    model: str,
    arch: str | None,
    json_path: Path | None,
    html_path: Path | None,
    dataset: str | None,
    input_path: Path | None,
    samples: int,
    time_steps: int | None,
    seed: int,
    trust_pickle: bool,
    trust_code: bool,
    max_memory: float | None,
    convention: str,
) -> None:
    """Check whether MODEL is spike-driven; count its operations and energy.

    MODEL is zoo:NAME, a checkpoint (with --arch or a model card beside it) or a text IR
    file. Exits 0 when the chip partition is spike-driven, 2 when it is not, 1 on error.
    """
    from snncompile.data.samples import sample_inputs
    from snncompile.frontend.load import load_model, to_graph
    from snncompile.frontend.simulate import time_major_inputs
    from snncompile.report.compliance import check_graph
    from snncompile.report.html import compliance_html
    from snncompile.report.terminal import render_compliance

    refuse_overwriting_inputs(
        [("--json", json_path), ("--html", html_path)], [model, input_path, _card_of(model)]
    )
    _memory_limit(max_memory)
    loaded = load_model(
        model,
        arch=arch,
        trust_pickle=trust_pickle,
        trust_code=trust_code,
        seed=seed,
        time_steps=time_steps,
    )
    graph = to_graph(loaded)
    frames = loaded.input_kind == "frames"
    shape = graph.inputs[0].type.shape
    x = sample_inputs(
        (loaded.time_steps, *shape) if frames else shape,
        samples=samples,
        dataset=dataset or ("digits" if loaded.dataset == "digits" and not frames else None),
        input_path=input_path,
        seed=seed,
    )
    inputs = time_major_inputs(
        graph,
        x.astype(_numpy_dtype(graph)),
        loaded.time_steps,
        input_layout="BT" if frames else None,
    )
    from snncompile.runner import progress_display

    display = progress_display()
    if display is None:
        report = check_graph(graph, inputs, model=loaded.name, convention=convention)
    else:
        with display:
            task = display.add_task(f"{loaded.name}: measuring", total=inputs.shape[1])
            report = check_graph(
                graph,
                inputs,
                model=loaded.name,
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
@click.option(
    "--arch",
    help="Architecture of a checkpoint: a zoo name (`snncompile zoo`) or your own class, "
    "FILE.py:Class or package.module:Class.",
)
@click.option(
    "--backend",
    type=click.Choice(["sim", "float", "lava"]),
    default="sim",
    show_default=True,
    help="sim: the reference simulator (Loihi's integer arithmetic); float: the traced model; "
    "lava: Lava's fixed-point CPU simulation.",
)
@click.option(
    "--mode",
    type=click.Choice(["pipelined", "layerwise"]),
    default="pipelined",
    show_default=True,
    help="pipelined: one step per projection hop, as the chip runs (latency T + depth); "
    "layerwise: every step through the whole network, as PyTorch computes.",
)
@click.option("--compare", type=click.Choice(["sim"]), help="With --backend lava: check spikes.")
@click.option(
    "--lava-mode",
    type=click.Choice(["stock", "fused"]),
    default="stock",
    show_default=True,
    help="Lava processes: stock library processes or one fused process.",
)
@click.option("--dataset", type=click.Choice(["digits"]), help="The embedded digits test split.")
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
    type=int,
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
@click.option("--limit", type=int, help="Use at most this many samples.")
@click.option("--batch-size", default=64, show_default=True, help="Samples per simulated batch.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the results.")
@click.option(
    "--sim-backend",
    type=click.Choice(["numpy", "torch"]),
    default="numpy",
    show_default=True,
    help="Engine of the sim backend (bit-identical): numpy, or torch on --device.",
)
@click.option(
    "--device",
    type=click.Choice(["cpu", "cuda"]),
    default="cpu",
    show_default=True,
    help="Device of the torch engine.",
)
@click.option(
    "--ray",
    "ray_address",
    metavar="auto|ADDRESS|local",
    help="Evaluate shards on a Ray cluster (auto: the running one; local: start one here).",
)
@click.option("--workers", default=1, show_default=True, help="Ray workers (one actor each).")
@click.option("--shard-size", type=int, help="Samples per shard (default: ~4 shards per worker).")
@click.option(
    "--resume-dir",
    type=click.Path(path_type=Path),
    help="Keep finished shards in DIR/shards.jsonl and resume from it "
    "(default with --json OUT and shards: OUT.shards.jsonl).",
)
@click.option("--accept-saturation", is_flag=True, help="Run even if 24-bit overflow is possible.")
@click.option(
    "--expand-sew", is_flag=True, help="Distribute count-driven synapses over their sources."
)
@click.option("--allow-host-ops", is_flag=True, help="Run non-synaptic ops (SD202-204) on host.")
@click.option("--weight-bits", default=8, show_default=True, help="Synaptic weight bits.")
@click.option("--trust-pickle", is_flag=True, help="Allow a pickled nn.Module (runs code).")
@click.option("--trust-code", is_flag=True, help="Allow the class a model card names (runs code).")
@click.option("--max-memory", type=float, help="Memory limit in GiB (default: half of RAM).")
@click.option(
    "--sign-key",
    type=click.Path(path_type=Path),
    help="Verify the artifact's HMAC signature with this key file.",
)
def run_command(
    model: str,
    arch: str | None,
    backend: str,
    mode: str,
    compare: str | None,
    lava_mode: str,
    dataset: str | None,
    input_path: Path | None,
    resize: tuple[int, int] | None,
    normalize: tuple[str, str] | None,
    limit: int | None,
    batch_size: int,
    json_path: Path | None,
    sim_backend: str,
    device: str,
    ray_address: str | None,
    workers: int,
    shard_size: int | None,
    resume_dir: Path | None,
    accept_saturation: bool,
    expand_sew: bool,
    allow_host_ops: bool,
    weight_bits: int,
    trust_pickle: bool,
    trust_code: bool,
    max_memory: float | None,
    sign_key: Path | None,
) -> None:
    """Run MODEL on a data set: predictions, accuracy, latency, time and energy per inference.

    With --shard-size or --ray the data set is evaluated in shards (on Ray workers), each
    written to OUT.shards.jsonl (or --resume-dir) as it finishes; re-running resumes.
    """
    import numpy as np

    from snncompile.distributed import shards_path_for
    from snncompile.runner import run_model

    config = CompileConfig(
        arch=arch,
        accept_saturation=accept_saturation,
        expand_sew=expand_sew,
        allow_host_ops=allow_host_ops,
        lava_mode=lava_mode,
        weight_bits=weight_bits,
        sim_backend=sim_backend,
        device=device,
        trust_pickle=trust_pickle,
        trust_code=trust_code,
        max_memory=max_memory,
        sign_key=None if sign_key is None else str(sign_key),
    )
    _memory_limit(max_memory)
    refuse_overwriting_inputs(
        [("--json", json_path), ("--resume-dir", resume_dir)],
        [model, input_path, _card_of(model)],
    )
    sharded = shard_size is not None or ray_address is not None or resume_dir is not None
    if sharded and shards_path_for(json_path, resume_dir) is not None:
        from snncompile.interrupt import kept

        kept(f"the finished shards in {shards_path_for(json_path, resume_dir)}")
    result = run_model(
        model,
        backend=backend,
        mode=mode,
        dataset=dataset,
        input_path=input_path,
        limit=limit,
        batch_size=batch_size,
        config=config,
        compare=compare,
        progress=sys.stderr.isatty(),
        resize=resize,
        normalize=None if normalize is None else _normalize_option(normalize),
        shard_size=shard_size,
        shards_path=shards_path_for(json_path, resume_dir) if sharded else None,
        ray=ray_address,
        workers=workers,
    )
    data = result.to_dict()
    accuracy = "n/a (no labels)" if result.accuracy is None else f"{result.accuracy:.2%}"
    where = backend if backend == "float" else f"{backend}, {mode}"
    click.echo(
        f"{result.model} [{where}] T={result.time_steps}: {data['samples']} samples, "
        f"accuracy {accuracy}, latency {data['latency_steps']} steps, "
        f"{data['time_us_per_sample'] / 1e3:.2f} ms per sample on this machine"
    )
    if data["energy_uj_per_inference"] is not None:
        click.echo(
            f"  on chip (estimated): {data['cores']} cores, {data['time_us_per_step']:.2f} µs per "
            f"step, {data['energy_uj_per_inference']:.2f} µJ per inference (chip model: Loihi 1 "
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
            f"{info['samples_evaluated']} samples evaluated, {info['duplicates']} duplicates"
        )
    counts = np.bincount(result.predictions, minlength=result.classes)
    click.echo(f"  predictions per class: {counts.tolist()}")
    if json_path is not None:
        write_text(json_path, json.dumps(data, indent=2))
        click.echo(f"wrote {json_path}", err=True)


def _normalize_option(values: tuple[str, str]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``--normalize MEAN STD``: two comma-separated lists of floats."""
    try:
        mean, std = (tuple(float(v) for v in text.split(",") if v.strip()) for text in values)
    except ValueError as exc:
        raise click.BadParameter(f"{values}: expected e.g. 0.5,0.5,0.5 0.25,0.25,0.25") from exc
    return mean, std


@cli.command("report")
@click.argument("model")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the JSON.")
@click.option("--cores/--no-cores", default=True, show_default=True, help="Place onto cores.")
@config_options
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


@cli.command("demo")
@click.option(
    "--out", "out_dir", default="out/demo", show_default=True, type=click.Path(path_type=Path)
)
@click.option("--samples", default=32, show_default=True, help="Images for the spike check.")
@click.option("--limit", type=int, help="Test images for accuracy (default: all 450).")
@click.option(
    "--lava-samples", default=2, show_default=True, help="Images run in Lava vs the simulator."
)
def demo_command(out_dir: Path, samples: int, limit: int | None, lava_samples: int) -> None:
    """The whole story on the shipped digits models: check, compile for Loihi, run, compare."""
    from snncompile.demo import run_demo

    run_demo(out_dir, samples=samples, limit=limit, lava_samples=lava_samples)


@cli.command("info")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info_command(as_json: bool) -> None:
    """Versions of the stack and which backends are usable here."""
    from snncompile.info import collect_info, render_info

    report = collect_info()
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
    with handling_signals():
        try:
            code = _main(args)
        except KeyboardInterrupt:
            code = _interrupted()
        finally:
            set_memory_limit(None)  # --max-memory holds for this command only
        return code


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
