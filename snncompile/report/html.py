"""Self-contained HTML reports (plots embedded as base64 PNG; no external files or scripts)."""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from snncompile.report.compliance import ComplianceReport

__all__ = ["compliance_html"]


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _ticks(ax: Any, labels: list[str]) -> None:
    """Tick labels rotated about their right end, so that each sits under its own bar."""
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=60, fontsize=7, ha="right", rotation_mode="anchor")


def _label(name: str, op: str) -> str:
    """A tick label: the module path, with the op for products (several share a module)."""
    return f"{name} ({op})" if op in ("matmul", "mul") else name


def _plots(report: ComplianceReport) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    plots = []
    neurons = report.neurons
    fig = Figure(figsize=(8, 3))
    ax = fig.add_subplot()
    ax.bar(range(len(neurons)), [n.firing_rate for n in neurons], color="#3a7")
    _ticks(ax, [n.module or n.node for n in neurons])
    ax.set_ylabel("firing rate")
    ax.set_title("firing rate per neuron layer")
    plots.append(_png(fig))

    layers = report.energy.layers
    fig = Figure(figsize=(8, 3))
    ax = fig.add_subplot()
    xs = range(len(layers))
    ax.bar(xs, [layer.macs for layer in layers], label="MAC", color="#c44")
    ax.bar(xs, [layer.acs for layer in layers], bottom=[layer.macs for layer in layers], label="AC")
    _ticks(ax, [_label(layer.module or layer.node, layer.op) for layer in layers])
    ax.set_yscale("symlog")
    ax.set_ylabel("operations per inference")
    ax.set_title("AC vs MAC per synaptic op")
    ax.legend()
    plots.append(_png(fig))

    fig = Figure(figsize=(5, 3))
    ax = fig.add_subplot()
    parts: dict[str, float] = {}
    for layer in layers:
        key = f"{layer.partition.replace('_', ' ')} {'MAC' if layer.macs else 'AC'}"
        parts[key] = parts.get(key, 0.0) + layer.energy_pj * 1e-6
    ax.barh(list(parts), list(parts.values()), color="#47a")
    ax.set_xlabel("energy per inference (µJ)")
    ax.set_title("energy breakdown")
    plots.append(_png(fig))
    return plots


def compliance_html(report: ComplianceReport) -> str:
    """The compliance report as one self-contained HTML page."""
    esc = html.escape
    verdict = (
        '<p class="ok">The chip partition is spike-driven.</p>'
        if report.spike_driven
        else f'<p class="bad">Not spike-driven: {len(report.violations)} violation(s).</p>'
    )
    rows = "".join(
        f"<tr><td>{esc(f.severity)}</td><td>{esc(f.code)}</td><td>%{esc(f.node)}</td>"
        f"<td>{esc(f.module or '')}</td><td>{esc(f.domain)}</td><td>{esc(f.message)}</td>"
        f"<td>{esc(f.fix)}</td></tr>"
        for f in report.findings
    )
    layers = "".join(
        f"<tr><td>%{esc(c.node)}</td><td>{esc(c.module or '')}</td><td>{esc(c.op)}</td>"
        f"<td>{esc(c.partition)}</td><td>{esc(c.input_domain)}</td>"
        f"<td>{'' if c.firing_rate is None else f'{c.firing_rate:.3f}'}</td>"
        f"<td>{c.macs:.4g}</td><td>{c.acs:.4g}</td><td>{c.energy_pj * 1e-9:.4g}</td></tr>"
        for c in report.energy.layers
    )
    energy = report.energy
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>snncompile check: {esc(report.model)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1100px; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; text-align: left; }}
.ok {{ color: #161; font-weight: bold; }} .bad {{ color: #a11; font-weight: bold; }}
</style></head><body>
<h1>Spike-driven check: {esc(report.model)}</h1>
{verdict}
<p>T = {energy.time_steps}, measured on {energy.samples} samples. Per inference:
{energy.mac_ops:.4g} MACs, {energy.ac_ops:.4g} ACs, {energy.energy_mj:.4g} mJ
(4.6 pJ per MAC, 0.9 pJ per AC, 45 nm, Horowitz 2014).</p>
<h2>Findings</h2>
<table><tr><th>severity</th><th>code</th><th>node</th><th>module</th><th>domain</th>
<th>message</th><th>fix</th></tr>{rows}</table>
<h2>Plots</h2>
{"".join(_plots(report))}
<h2>Synaptic operations</h2>
<table><tr><th>node</th><th>module</th><th>op</th><th>partition</th><th>input</th>
<th>rate</th><th>MACs</th><th>ACs</th><th>mJ</th></tr>{layers}</table>
<h2>Partitions</h2>
<p>host encoder: {esc(", ".join(report.partition.host_encoder))}</p>
<p>host readout: {esc(", ".join(report.partition.host_readout))}</p>
</body></html>
"""
