"""The compiled network at a glance: one row per population, joined from the pass reports.

Sources (``NetworkProgram.reports``, also the artifact's ``reports/*.json``):

- ``quantize-fixed-point``: per neuron its scale ``s`` (``v ≈ 64·s·H``) and threshold
  mantissa; per population the worst-case current and voltage (``passes/overflow.py``) and the
  margin in bits below 24-bit overflow: ``margin = log2((2^23 - 1) / max(|v|))``;
- ``lower-to-network``: kind, shape, neurons, fan-in, and per projection its synapses and
  stored weights (synapses into a population = ``Σ`` over the projections that target it);
- ``pipeline-delays``: the step at which the population's data first arrives (``start``) and
  the pipeline depth;
- ``place-cores`` (optional): the cores each population occupies and the limit that sets
  its core count (``binding``: ``neurons_per_core``, ``synapse_bytes_per_core``,
  ``max_fan_in``, ``max_fan_out``, or ``fits`` one core); with it the totals carry cores per
  block and per chip, and the latency: ``T + depth`` steps and the no-spike floor of the
  roofline time model in µs (:func:`snncompile.targets.sim.perf.perf_report` on a silent run:
  neuron updates and barriers only; ``snncompile run`` estimates it from the run's activity).

Coincidence (``and``), OR, gated and relay populations carry no quantizer row (they have no
float neuron): their scale columns are empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from snncompile.targets.sim.cores import Placement

__all__ = ["NetworkReport", "lowering_summary", "network_report", "render_network"]


@dataclass(frozen=True)
class NetworkReport:
    """Per-population rows and network totals (see the module docstring)."""

    rows: list[dict[str, Any]]
    totals: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"populations": self.rows, "totals": self.totals}


def lowering_summary(graph: Any) -> dict[str, Any]:
    """The ``lower-to-network`` report of a graph that was read as a network (a netx file: no
    lowering ran): per population its kind, shape, neurons and fan-in (projections into it), per
    projection its source, target, kind, synapses and stored weights, and the totals."""
    populations: dict[str, dict[str, Any]] = {}
    projections: dict[str, dict[str, Any]] = {}
    users = graph.users()
    for node in graph.nodes:
        if node.op == "projection":
            a = node.attrs
            target = next((u.name for u in users.get(node.output, [])), "")
            projections[node.name] = {
                "source": node.inputs[0].name,
                "target": target,
                "kind": a.kind,
                "graded": a.graded,
                "synapses": a.synapses(node.inputs[0].type.shape),
                "weights": 0 if a.weight is None else int(a.weight.size),
            }
        elif node.op == "population":
            populations[node.name] = {
                "kind": node.attrs.kind,
                "shape": list(node.output.type.shape),
                "neurons": node.output.type.numel,
                "fan_in": len(node.inputs),
                "vth": getattr(node.attrs, "vth", None),
            }
    return {
        "populations": populations,
        "projections": projections,
        "totals": {
            "populations": len(populations),
            "neurons": sum(p["neurons"] for p in populations.values()),
            "projections": len(projections),
            "synapses": sum(p["synapses"] for p in projections.values()),
            "weights": sum(p["weights"] for p in projections.values()),
        },
    }


def network_report(
    reports: dict[str, Any],
    cores: dict[str, list[int]] | None = None,
    *,
    placement: Placement | None = None,
    time_steps: int | None = None,
) -> NetworkReport:
    """Join the quantizer, lowering and pipeline reports into one row per population.

    Args:
        reports: pass reports keyed by pass name (``NetworkProgram.reports``).
        cores: optional population name -> core indices (``Placement.cores_of()``).
        placement: the placement itself (gives ``cores`` and, with it, the binding limit per
            population, cores per block and chip, and the latency; ``time_steps``: T).
    """
    if placement is not None:
        cores = placement.cores_of()
    quant = reports.get("quantize-fixed-point", {})
    lowering = reports.get("lower-to-network", {})
    pipeline = reports.get("pipeline-delays", {})
    neurons = quant.get("neurons", {})
    ranges = {r["node"]: r for r in quant.get("ranges", [])}
    starts = dict(pipeline.get("starts", []))
    synapses: dict[str, int] = {}
    weights: dict[str, int] = {}
    for projection in lowering.get("projections", {}).values():
        target = projection["target"]
        synapses[target] = synapses.get(target, 0) + int(projection["synapses"])
        weights[target] = weights.get(target, 0) + int(projection["weights"])
    rows = []
    for name, pop in lowering.get("populations", {}).items():
        quantized = neurons.get(name, {})
        worst = ranges.get(name, {})
        rows.append(
            {
                "population": name,
                "kind": pop["kind"],
                "shape": pop["shape"],
                "neurons": pop["neurons"],
                "fan_in": pop["fan_in"],
                "synapses": synapses.get(name, 0),
                "weights": weights.get(name, 0),
                "scale": quantized.get("scale"),
                "vth": quantized.get("vth", pop.get("vth")),
                "max_current": worst.get("max_current"),
                "max_voltage": worst.get("max_voltage"),
                "margin_bits": worst.get("margin_bits"),
                "start": starts.get(name),
                "cores": None if cores is None else len(cores.get(name, [])),
                "binding": None if placement is None else placement.binding.get(name),
            }
        )
    totals = dict(lowering.get("totals", {}))
    totals["depth"] = pipeline.get("depth")
    totals["scales"] = quant.get("scales", [])
    margins = [r["margin_bits"] for r in rows if r["margin_bits"] is not None]
    totals["smallest_margin_bits"] = min(margins) if margins else None
    if cores is not None:
        totals["cores"] = len({c for indices in cores.values() for c in indices})
    if placement is not None:
        totals["chips"] = placement.chips
        totals["cores_per_block"] = placement.per_block()
        totals["cores_per_chip"] = [c["cores"] for c in placement.per_chip()]
        if time_steps is not None and totals["depth"] is not None:
            totals["latency_steps"] = int(time_steps) + int(totals["depth"])
            totals["latency_us_floor"] = _silent_latency_us(
                placement, totals["latency_steps"], starts
            )
    return NetworkReport(rows, totals)


def _silent_latency_us(placement: Placement, steps: int, starts: dict[str, int]) -> float:
    """The roofline time of a run with no spikes: neuron updates and barriers only."""
    from snncompile.targets.sim.perf import perf_report
    from snncompile.targets.sim.stats import SimStats

    stats = SimStats(
        samples=1,
        steps=steps,
        neurons=dict(placement.populations),
        starts={p: int(starts.get(p, 0)) for p in placement.populations},
    )
    return perf_report(placement, stats).time_us_per_inference


def _count(value: int | None) -> str:
    if value is None:
        return "-"
    if abs(value) < 10_000:
        return str(value)
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.2f} {unit}"
    return str(value)


def _optional(value: Any, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def render_network(report: NetworkReport, title: str, console: Console | None = None) -> None:
    """Print ``report`` as a table and a totals line."""
    console = console or Console(width=max(Console().width, 150))
    table = Table(title=title)
    table.add_column("population", no_wrap=True)
    table.add_column("kind")
    table.add_column("shape", no_wrap=True)
    for column in ("neurons", "fan-in", "synapses", "scale", "vth", "max |v|", "margin", "start"):
        table.add_column(column, justify="right", no_wrap=True)
    with_cores = any(row["cores"] is not None for row in report.rows)
    if with_cores:
        table.add_column("cores", justify="right", no_wrap=True)
    with_binding = any(row.get("binding") is not None for row in report.rows)
    if with_binding:
        table.add_column("bound by", no_wrap=True)
    for row in report.rows:
        margin = row["margin_bits"]
        cells = [
            row["population"],
            row["kind"],
            "x".join(str(d) for d in row["shape"]),
            _count(row["neurons"]),
            str(row["fan_in"]),
            _count(row["synapses"]),
            _optional(row["scale"]),
            _optional(row["vth"]),
            _count(None if row["max_voltage"] is None else round(row["max_voltage"])),
            "-" if margin is None else f"[{'red' if margin < 1 else 'default'}]{margin:.1f} b[/]",
            _optional(row["start"]),
        ]
        if with_cores:
            cells.append(_optional(row["cores"]))
        if with_binding:
            cells.append(_optional(row.get("binding")))
        table.add_row(*cells)
    console.print(table)
    t = report.totals
    parts = [
        f"{t.get('populations', 0)} populations",
        f"{_count(t.get('neurons'))} neurons",
        f"{t.get('projections', 0)} projections",
        f"{_count(t.get('synapses'))} synapses",
        f"{_count(t.get('weights'))} stored weights",
        f"pipeline depth {t.get('depth')} steps",
    ]
    if t.get("cores") is not None:
        parts.append(f"{t['cores']} cores")
    if t.get("chips") is not None:
        parts.append(f"{t['chips']} chips")
    if t.get("smallest_margin_bits") is not None:
        parts.append(f"smallest overflow margin {t['smallest_margin_bits']:.1f} bits")
    console.print("totals: " + ", ".join(parts), highlight=False)
    if t.get("cores_per_block"):
        blocks = ", ".join(f"{b} {n}" for b, n in t["cores_per_block"].items())
        console.print(f"cores per block: {blocks}", highlight=False)
        per_chip = t["cores_per_chip"]
        shown = ", ".join(str(n) for n in per_chip[:16]) + (" ..." if len(per_chip) > 16 else "")
        console.print(f"cores per chip: {shown}", highlight=False)
    if t.get("latency_steps") is not None:
        console.print(
            f"latency: {t['latency_steps']} steps (T + pipeline depth), at least "
            f"{t['latency_us_floor']:.1f} µs (no-spike floor of the roofline model, Loihi 1 "
            "constants; `snncompile run` estimates it from the run's activity)",
            highlight=False,
        )
