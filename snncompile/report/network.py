"""The compiled network at a glance: one row per population, joined from the pass reports.

Sources (``NetworkProgram.reports``, also the artifact's ``reports/*.json``):

- ``quantize-fixed-point``: per neuron its scale ``s`` (``v ≈ 64·s·H``) and threshold
  mantissa; per population the worst-case current and voltage (``passes/overflow.py``) and the
  margin in bits below 24-bit overflow: ``margin = log2((2^23 - 1) / max(|v|))``;
- ``lower-to-network``: kind, shape, neurons, fan-in, and per projection its synapses and
  stored weights (synapses into a population = ``Σ`` over the projections that target it);
- ``pipeline-delays``: the step at which the population's data first arrives (``start``) and
  the pipeline depth;
- ``place-cores`` (optional): the cores each population occupies.

Coincidence (``and``), OR, gated and relay populations carry no quantizer row (they have no
float neuron): their scale columns are empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

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
    reports: dict[str, Any], cores: dict[str, list[int]] | None = None
) -> NetworkReport:
    """Join the quantizer, lowering and pipeline reports into one row per population.

    Args:
        reports: pass reports keyed by pass name (``NetworkProgram.reports``).
        cores: optional population name -> core indices (``Placement.cores_of()``).
    """
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
            }
        )
    totals = dict(lowering.get("totals", {}))
    totals["depth"] = pipeline.get("depth")
    totals["scales"] = quant.get("scales", [])
    margins = [r["margin_bits"] for r in rows if r["margin_bits"] is not None]
    totals["smallest_margin_bits"] = min(margins) if margins else None
    if cores is not None:
        totals["cores"] = len({c for indices in cores.values() for c in indices})
    return NetworkReport(rows, totals)


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
    if t.get("smallest_margin_bits") is not None:
        parts.append(f"smallest overflow margin {t['smallest_margin_bits']:.1f} bits")
    console.print("totals: " + ", ".join(parts), highlight=False)
