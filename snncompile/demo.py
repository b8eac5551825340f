"""``snncompile demo``: the whole mission on the embedded default.

1. For every shipped trained digits model (``examples/digits/<family>.pt``): check it for
   spike-drivenness (verdict, MACs/ACs, energy in the papers' convention; an HTML report each)
   and run the whole digits test split in float and on the simulated chip (the pipelined
   integer network, bit-exact with Lava's fixed-point models).
2. Compile the Spikingformer model with ``--target loihi`` to an artifact directory, run the
   artifact on the test split with the reference simulator (accuracy, latency, cores, time per
   step, energy per inference) and a few samples in Lava's own fixed-point simulation, and
   check that every population's spike train is identical (bit-exact).
3. Print it all and write ``summary.json`` with the same numbers.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.table import Table

from snncompile.config import CompileConfig
from snncompile.data.samples import sample_inputs
from snncompile.driver import load, trace
from snncompile.frontend.simulate import time_major_inputs
from snncompile.report.compliance import ComplianceReport, check_graph
from snncompile.report.html import compliance_html
from snncompile.report.terminal import _wide_console
from snncompile.runner import progress_display, run_model

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["FAMILIES", "DemoRow", "run_demo"]

FAMILIES = ("spikformer", "spikingformer", "sdt", "spikingresformer")
#: Spikformer's SEW synapses are distributed over their sources; SDT's max-pool over currents
#: runs on the host. The other two compile as they are.
CHIP_CONFIG = CompileConfig(expand_sew=True, allow_host_ops=True)
LOIHI_MODEL = "spikingformer"


@dataclass(frozen=True)
class DemoRow:
    family: str
    report: ComplianceReport
    accuracy: float | None
    chip_accuracy: float | None
    agreement: float | None
    latency: int
    html: Path


def _examples_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "examples" / "digits"


class _step:
    """A step without a count (a spinner line) in the demo's progress display, if any."""

    def __init__(self, display: Progress | None, label: str) -> None:
        self.display, self.label = display, label
        self.task: Any = None

    def __enter__(self) -> None:
        if self.display is not None:
            self.task = self.display.add_task(self.label, total=None)

    def __exit__(self, *exc: object) -> None:
        if self.display is not None:
            self.display.remove_task(self.task)


def _check(
    family: str, out_dir: Path, samples: int, limit: int | None, display: Progress | None
) -> DemoRow:
    checkpoint = _examples_dir() / f"{family}.pt"
    progress: bool | Progress = display if display is not None else False
    with _step(display, f"{family}: spike-driven check on {samples} images"):
        loaded = load(checkpoint, CompileConfig())
        graph = trace(loaded)
        x = sample_inputs(graph.inputs[0].type.shape, samples=samples, dataset="digits")
        inputs = time_major_inputs(graph, x.astype(np.float64), loaded.time_steps)
        report = check_graph(graph, inputs, model=family)
    html = out_dir / f"{family}.html"
    html.write_text(compliance_html(report), encoding="utf-8")
    floats = run_model(checkpoint, backend="float", limit=limit, progress=progress)
    chip = run_model(checkpoint, backend="sim", config=CHIP_CONFIG, limit=limit, progress=progress)
    agreement = float(np.mean(floats.predictions == chip.predictions))
    return DemoRow(family, report, floats.accuracy, chip.accuracy, agreement, chip.latency, html)


def _loihi(
    out_dir: Path, limit: int | None, lava_samples: int, display: Progress | None
) -> dict[str, Any]:
    """Compile the Loihi artifact, run it in the simulator and (a few samples) in Lava."""
    from snncompile.driver import compile_file
    from snncompile.targets.loihi._lava import lava_status

    checkpoint = _examples_dir() / f"{LOIHI_MODEL}.pt"
    artifact = out_dir / f"{LOIHI_MODEL}.loihi"
    progress: bool | Progress = display if display is not None else False
    with _step(display, f"{LOIHI_MODEL}: compiling for Loihi"):
        compile_file(checkpoint, CHIP_CONFIG.replace(target="loihi"), output=artifact)
    sim = run_model(artifact, backend="sim", limit=limit, progress=progress)
    data = sim.to_dict()
    result: dict[str, Any] = {
        "model": LOIHI_MODEL,
        "artifact": str(artifact),
        "samples": data["samples"],
        "chip_accuracy": data["accuracy"],
        "latency_steps": data["latency_steps"],
        "cores": data["cores"],
        "chips": data["chips"],
        "time_us_per_step": data["time_us_per_step"],
        "energy_uj_per_inference": data["energy_uj_per_inference"],
        "lava": None,
    }
    status = lava_status(run_network=False)
    if not status.available:
        result["lava"] = {"skipped": status.reason}
        return result
    lava = run_model(
        artifact,
        backend="lava",
        limit=lava_samples,
        compare="sim",
        lava_mode="fused",
        progress=progress,
    )
    result["lava"] = {
        "form": "fused",
        "samples": len(lava.predictions),
        "bit_exact": bool(lava.comparison and lava.comparison["bit_exact"]),
        "populations": len((lava.comparison or {}).get("populations", [])),
        "predictions_equal_sim": bool(
            np.array_equal(lava.predictions, sim.predictions[: len(lava.predictions)])
        ),
        "seconds": lava.seconds,
    }
    return result


def run_demo(
    out_dir: Path,
    *,
    samples: int = 32,
    limit: int | None = None,
    lava_samples: int = 2,
    console: Console | None = None,
) -> list[DemoRow]:
    """Run the demo (module docstring); write reports and ``summary.json`` to ``out_dir``.

    Args:
        samples: digits images for the spike-driven check (firing rates, energy).
        limit: test images for accuracy (default: the whole split, 450).
        lava_samples: images run in Lava and compared spike for spike with the simulator.
    """
    console = console or _wide_console()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    shipped = [f for f in FAMILIES if (_examples_dir() / f"{f}.pt").exists()]
    for family in sorted(set(FAMILIES) - set(shipped), key=FAMILIES.index):
        console.print(f"[yellow]{family}.pt is not shipped; skipped[/yellow]")
    # Progress on stderr, only on a terminal; nothing is printed to `console` while it runs.
    display = progress_display()
    with display or nullcontext():
        models = display.add_task("models", total=len(shipped)) if display else None
        for family in shipped:
            rows.append(_check(family, out_dir, samples, limit, display))
            if display is not None and models is not None:
                display.advance(models)
    table = Table(title="Trained digits spiking transformers: spike-driven? and on the chip")
    columns = (
        "model", "float acc.", "chip acc.", "agree", "latency", "verdict", "violations",
        "MACs", "ACs", "energy (45 nm)",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, no_wrap=column == "model")
    for row in rows:
        codes = sorted({f.code for f in row.report.violations})
        energy = row.report.energy
        table.add_row(
            row.family,
            _pct(row.accuracy),
            _pct(row.chip_accuracy),
            _pct(row.agreement),
            f"{row.latency} steps",
            "[green]spike-driven[/green]" if row.report.spike_driven else "[red]not[/red]",
            f"{len(row.report.violations)} {' '.join(codes)}",
            f"{energy.mac_ops / 1e3:.1f} k",
            f"{energy.ac_ops / 1e3:.1f} k",
            f"{energy.energy_mj * 1e3:.2f} µJ",
        )
    console.print(table)
    console.print(
        "chip acc.: the digits test split on the simulated chip (8-bit weights, 24-bit state, "
        "pipelined: latency T + depth steps); agree: same prediction as float. Spikformer's SEW "
        "synapses are distributed over their sources (--expand-sew), SDT's max-pool over "
        "currents runs on the host (--allow-host-ops)."
    )
    display = progress_display()
    with display or nullcontext():
        loihi = _loihi(out_dir, limit, lava_samples, display)
    _print_loihi(console, loihi)
    summary = {
        "models": [
            {
                "model": row.family,
                "float_accuracy": row.accuracy,
                "chip_accuracy": row.chip_accuracy,
                "prediction_agreement": row.agreement,
                "latency_steps": row.latency,
                "spike_driven": row.report.spike_driven,
                "violations": len(row.report.violations),
                "energy_uj_45nm": row.report.energy.energy_mj * 1e3,
                "html": str(row.html),
            }
            for row in rows
        ],
        "loihi": loihi,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    console.print(
        f"HTML reports: {', '.join(str(r.html) for r in rows)}; Loihi artifact: "
        f"{loihi['artifact']} (its report: {loihi['artifact']}/reports/compliance.html); "
        f"numbers: {out_dir / 'summary.json'}"
    )
    return rows


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _print_loihi(console: Console, loihi: dict[str, Any]) -> None:
    console.print(
        f"\n[bold]{loihi['model']} on Loihi 2 (simulated)[/bold]: artifact {loihi['artifact']}\n"
        f"  reference simulator, {loihi['samples']} test images: chip accuracy "
        f"{_pct(loihi['chip_accuracy'])}, latency {loihi['latency_steps']} steps, "
        f"{loihi['cores']} cores on {loihi['chips']} chip{'' if loihi['chips'] == 1 else 's'}, "
        f"{loihi['time_us_per_step']:.2f} µs per step, "
        f"{loihi['energy_uj_per_inference']:.2f} µJ per inference (chip model, Loihi 1 per-op "
        "energies; the table's energy is the 45 nm compute model)"
    )
    lava = loihi["lava"]
    if lava is None or "skipped" in lava:
        console.print(f"  Lava: skipped ({(lava or {}).get('skipped', 'not run')})")
        return
    verdict = "[green]bit-exact[/green]" if lava["bit_exact"] else "[red]DIFFERENT[/red]"
    console.print(
        f"  Lava ({lava['form']} processes, fixed_pt), {lava['samples']} images: {verdict} "
        f"with the simulator on all {lava['populations']} populations; predictions equal: "
        f"{lava['predictions_equal_sim']}"
    )
