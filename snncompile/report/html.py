"""Self-contained HTML reports: one valid HTML5 file (doctype, ``lang``, charset, title), plots
embedded as base64 SVG images written without a plotting library (:mod:`snncompile.report.svg`),
no scripts, no external files, fonts or links.

The page (``snncompile check --html``, the demo's ``out/demo/<model>.html`` and an artifact's
``reports/compliance.html``) reads top to bottom: the verdict, the numbers that matter, the
findings grouped by code with the fix once per code, three plots (firing rate per neuron layer,
MACs and ACs per synaptic op, energy per partition), the per-op table and the partitions.
``tests/report/test_html_browser.py`` loads it in headless Chromium.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from snncompile.report.models import conventions, energy_models
from snncompile.report.svg import Bar, bar_chart, img_tag
from snncompile.targets.sim.perf import DEFAULT_ENERGY

if TYPE_CHECKING:
    from snncompile.passes.compliance import Finding
    from snncompile.report.compliance import ComplianceReport

__all__ = ["PLOTS", "compliance_html"]

#: How many plots the compliance page embeds (one ``<img>`` each).
PLOTS = 3

_MAC, _AC, _RATE, _ENERGY = "#c0392b", "#2f6db5", "#2e9e6b", "#5b6fa8"
_WHERE = {"host_encoder": "host in", "chip": "chip", "host_readout": "host out"}
_esc = html.escape
#: What a violation code means in the verdict banner (one sentence each).
_WHY = {
    "SD201": "Some synaptic ops on the chip are driven by spike counts, not binary spikes, so "
    "they multiply (MACs).",
    "SD202": "Some synaptic ops on the chip are driven by real values, not spikes, so they "
    "multiply (MACs).",
    "SD203": "A max-pool on the chip takes the maximum of real values (currents), which "
    "neurons and synapses cannot compute.",
    "SD204": "A product on the chip has no spike operand, so neurons cannot compute it.",
}


def _ops(value: float) -> str:
    """An operation count for people: ``955.6 k``, ``1.23 M``, ``-`` for none."""
    if value == 0:
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return (
                f"{value / scale:.1f} {unit}"
                if value < 100 * scale
                else f"{value / scale:.0f} {unit}"
            )
    return f"{value:.0f}"


def _energy(picojoules: float) -> str:
    """An energy in the report's one unit, µJ (per inference)."""
    return f"{picojoules * 1e-6:.4g} µJ"


def _code(text: str) -> str:
    """``text`` escaped, with its `backquoted` spans (as the diagnostics write them) as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _esc(text))


def _label(name: str, op: str) -> str:
    """A tick label: the module path, with the op for products (several share a module)."""
    return f"{name} ({op})" if op in ("matmul", "mul") else name


def _plots(report: ComplianceReport) -> list[tuple[str, str]]:
    """``(img tag, caption)`` of each plot, in page order (SVG written directly:
    :mod:`snncompile.report.svg`)."""
    from snncompile.report.energy import E_AC_PJ, E_MAC_PJ

    plots: list[tuple[str, str]] = []
    flagged = {f.node for f in report.violations}

    neurons = report.neurons
    rate_bars = [
        Bar(n.module or n.node, ((n.firing_rate, _RATE),), f"{n.firing_rate:.3f}") for n in neurons
    ]
    chart = bar_chart(
        "Firing rate per neuron layer",
        rate_bars,
        xlabel="firing rate (spikes per neuron and step)",
    )
    plots.append(
        (
            img_tag(chart, f"Bar chart: firing rate of each of the {len(neurons)} neuron layers"),
            "Mean spikes per neuron and time step, measured on the sample inputs, in graph "
            "order. The AC count of a synaptic op is its input's rate × T × FLOPs.",
        )
    )

    layers = report.energy.layers
    paper = report.energy.convention == "paper"  # events and chip: the run's events
    op_bars = [
        Bar(
            _label(layer.module or layer.node, layer.op),
            (
                (layer.macs if paper else layer.event_macs, _MAC),
                (layer.acs if paper else layer.event_acs, _AC),
            ),
            style="bad"
            if layer.node in flagged
            else ("muted" if layer.partition != "chip" else ""),
        )
        for layer in layers
    ]
    chart = bar_chart(
        f"MACs and ACs per synaptic op ({'paper' if paper else 'events'} convention)",
        op_bars,
        xlabel="operations per inference (log scale)",
        log_threshold=10.0,
        legend=(("MAC (multiply-accumulate)", _MAC), ("AC (accumulate)", _AC)),
    )
    plots.append(
        (
            img_tag(chart, f"Bar chart: MACs and ACs of each of the {len(layers)} synaptic ops"),
            "Operations per inference. Red labels: ops with a violation; grey italic labels: "
            "ops on the host (the encoder before the first neuron, the readout after the last).",
        )
    )

    parts: dict[str, float] = {}
    for layer in layers:
        for kind, count, cost in (("MAC", layer.macs, E_MAC_PJ), ("AC", layer.acs, E_AC_PJ)):
            if count:
                key = f"{_WHERE[layer.partition]}, {kind}"
                parts[key] = parts.get(key, 0.0) + count * cost * 1e-6
    part_bars = [
        Bar(key, ((value, _MAC if key.endswith("MAC") else _AC),), f"{value:.3f} µJ")
        for key, value in parts.items()
    ]
    chart = bar_chart("Energy per partition", part_bars, xlabel="energy per inference (µJ, 45 nm)")
    plots.append(
        (
            img_tag(chart, "Bar chart: energy per inference of each partition, MACs and ACs apart"),
            "4.6 pJ per MAC and 0.9 pJ per AC (45 nm, Horowitz 2014), per inference.",
        )
    )
    return plots


def _findings(findings: Sequence[Finding]) -> str:
    """The findings grouped by code: title, count and fix once, then one row per node."""
    from snncompile.diagnostics import CODES

    if not findings:
        return '<p id="no-findings">No findings: every synaptic op on the chip is spike-driven.</p>'
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.code, []).append(finding)
    parts = []
    for code, group in groups.items():
        severity = group[0].severity
        kind = severity if severity in ("violation", "warning") else "note"
        title = CODES[code].title if code in CODES else code
        rows = "".join(
            f"<tr><td><code>%{_esc(f.node)}</code></td><td>{_esc(f.module or '')}</td>"
            f"<td>{_esc(f.op)}</td><td>{_esc(f.domain)}</td><td>{_esc(f.message)}</td></tr>"
            for f in group
        )
        parts.append(
            f'<section class="finding {kind}"><h3><span class="code">{_esc(code)}</span> '
            f"{_esc(title)} <small>({len(group)} {kind}{'s' if len(group) > 1 else ''})</small>"
            f'</h3><p class="fix"><strong>Fix:</strong> {_code(group[0].fix)}</p>'
            '<table class="findings-table"><thead><tr><th>node</th><th>module</th><th>op</th>'
            f"<th>input domain</th><th>message</th></tr></thead><tbody>{rows}</tbody></table>"
            "</section>"
        )
    return "".join(parts)


def _summary(report: ComplianceReport) -> str:
    energy = report.energy
    rates = [n.firing_rate for n in report.neurons]
    mean_rate = sum(rates) / len(rates) if rates else 0.0
    part = report.partition
    models = energy_models(energy)
    cards = (
        ("time steps T", f"{energy.time_steps}"),
        ("samples measured", f"{energy.samples}"),
        ("counting convention", energy.convention),
        ("energy, 45 nm compute", f"{models['compute_45nm']['energy_uj']:.4g} µJ"),
        ("energy, chip model", f"{models['chip']['energy_uj']:.4g} µJ"),
        ("energy, memory traffic", f"{models['memory']['energy_uj']:.4g} µJ"),
        ("MACs per inference", _ops(energy.mac_ops)),
        ("ACs per inference", _ops(energy.ac_ops)),
        ("neuron layers (rate)", f"{len(rates)} ({mean_rate:.3f})"),
        (
            "nodes in / chip / out",
            f"{len(part.host_encoder)} / {len(part.chip)} / {len(part.host_readout)}",
        ),
    )
    return "".join(
        f'<div class="card"><div class="label">{_esc(k)}</div><div class="value">{_esc(v)}'
        "</div></div>"
        for k, v in cards
    )


def _ops_table(report: ComplianceReport) -> str:
    codes: dict[str, list[str]] = {}
    for finding in report.findings:
        codes.setdefault(finding.node, []).append(finding.code)
    rows = []
    e_synop = DEFAULT_ENERGY.e_synop_pj
    for c in report.energy.layers:
        classes = [c.partition.replace("_", "-")]
        chip = _energy((c.event_acs + c.event_macs) * e_synop) if c.partition == "chip" else "host"
        if c.macs and c.partition == "chip":
            classes.append("mac")
        rows.append(
            f'<tr class="{" ".join(classes)}"><td><code>%{_esc(c.node)}</code></td>'
            f"<td>{_esc(c.module or '')}</td><td>{_esc(c.op)}</td>"
            f"<td>{_WHERE[c.partition]}</td><td>{_esc(c.input_domain)}</td>"
            f'<td class="num">{"" if c.firing_rate is None else f"{c.firing_rate:.3f}"}</td>'
            f'<td class="num">{_ops(c.macs)}</td><td class="num">{_ops(c.acs)}</td>'
            f'<td class="num">{_energy(c.energy_pj)}</td>'
            f'<td class="num">{_ops(c.event_macs)}</td><td class="num">{_ops(c.event_acs)}</td>'
            f'<td class="num">{_energy(c.events_energy_pj)}</td><td class="num">{chip}</td>'
            f"<td>{_esc(' '.join(codes.get(c.node, [])))}</td></tr>"
        )
    return (
        '<table id="ops-table"><thead><tr><th colspan="6"></th><th colspan="3">paper (45 nm '
        'compute)</th><th colspan="3">events (45 nm compute)</th><th>chip model</th><th></th>'
        "</tr><tr><th>node</th><th>module</th><th>op</th><th>where</th>"
        '<th>input</th><th class="num">rate</th><th class="num">MACs</th><th class="num">ACs'
        '</th><th class="num">energy</th><th class="num">MACs</th><th class="num">ACs</th>'
        '<th class="num">energy</th><th class="num">synaptic energy</th><th>finding</th>'
        "</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _energy_models(report: ComplianceReport) -> str:
    """The energy models side by side, each with its source, and why they differ."""
    models = energy_models(report.energy)
    conv = conventions(report.energy)
    rows = "".join(
        f"<tr><td>{_esc(label)}</td><td>{_esc(counts)}</td>"
        f'<td class="num">{value:.4g} µJ</td><td>{_esc(source)}</td></tr>'
        for label, counts, value, source in (
            (
                "45 nm compute",
                f"paper: {_ops(conv['paper']['mac_ops'])} MACs, "
                f"{_ops(conv['paper']['ac_ops'])} ACs",
                models["compute_45nm"]["energy_uj"],
                models["compute_45nm"]["source"],
            ),
            (
                "45 nm compute",
                f"events: {_ops(conv['events']['mac_ops'])} MACs, "
                f"{_ops(conv['events']['ac_ops'])} ACs",
                models["compute_45nm"]["energy_uj_events"],
                models["compute_45nm"]["source"],
            ),
            (
                "memory traffic",
                "events, neuron updates, spikes",
                models["memory"]["energy_uj"],
                models["memory"]["source"],
            ),
            (
                "chip model",
                f"chip: {_ops(conv['chip']['synaptic_events'])} synaptic events, "
                f"{_ops(conv['chip']['neuron_updates'])} neuron updates, "
                f"{_ops(conv['chip']['spikes'])} spikes",
                models["chip"]["energy_uj"],
                models["chip"]["source"],
            ),
        )
    )
    return (
        '<table id="energy-models"><thead><tr><th>model</th><th>counts</th><th class="num">'
        "energy per inference</th><th>source</th></tr></thead>"
        f'<tbody>{rows}</tbody></table><p id="energy-explanation">'
        f"{_esc(models['explanation'])}</p>"
    )


_STYLE = """
:root { --ok: #1e7b34; --bad: #b3261e; --ink: #1d2330; --muted: #5f6673; --line: #d9dde4; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--ink); margin: 0 auto; padding: 1.5em 2em 3em; max-width: 1280px; }
h1 { font-size: 1.7em; margin: 0 0 0.4em; }
h2 { font-size: 1.25em; margin: 1.8em 0 0.6em; border-bottom: 1px solid var(--line);
  padding-bottom: 0.2em; }
h3 { font-size: 1.02em; margin: 0 0 0.3em; }
code { font: 0.92em ui-monospace, "DejaVu Sans Mono", monospace; }
.verdict { padding: 0.8em 1.1em; border-radius: 6px; font-size: 1.15em; margin: 0.6em 0; }
.verdict.ok { background: #e6f4ea; border-left: 6px solid var(--ok); }
.verdict.bad { background: #fce8e6; border-left: 6px solid var(--bad); }
.verdict strong { display: block; font-size: 1.1em; margin-bottom: 0.2em; }
.verdict.ok strong { color: var(--ok); } .verdict.bad strong { color: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
  gap: 0.6em; margin: 1em 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 0.5em 0.8em; }
.card .label { color: var(--muted); font-size: 0.8em; }
.card .value { font-size: 1.15em; font-weight: 600; font-variant-numeric: tabular-nums; }
.finding { border: 1px solid var(--line); border-radius: 6px; padding: 0.8em 1em;
  margin: 0 0 1em; }
.finding.violation { border-left: 6px solid var(--bad); }
.finding.note { border-left: 6px solid var(--muted); }
.finding.warning { border-left: 6px solid #b06000; }
.finding .code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.finding.violation .code { color: var(--bad); }
.finding small { color: var(--muted); font-weight: normal; }
.fix { margin: 0.2em 0 0.7em; }
table { border-collapse: collapse; width: 100%; font-size: 0.86em; }
.wide { overflow-x: auto; }  /* a wide table scrolls inside the page, not the page */
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left;
  vertical-align: top; }
th { background: #f3f5f8; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.host-encoder, tr.host-readout { color: var(--muted); }
tr.mac td:nth-child(7) { color: var(--bad); font-weight: 600; }
.plots { display: flex; flex-wrap: wrap; gap: 1.2em; align-items: flex-start; }
.plots > div { flex: 1 1 420px; display: flex; flex-direction: column; gap: 1.2em; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 0.6em; }
figure img { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 0.85em; margin-top: 0.4em; }
.muted, footer { color: var(--muted); }
footer { margin-top: 2.5em; font-size: 0.85em; border-top: 1px solid var(--line);
  padding-top: 0.6em; }
details { margin: 0.3em 0; } summary { cursor: pointer; }
@media print { figure, .finding { break-inside: avoid; } th { position: static; } }
"""


def compliance_html(report: ComplianceReport) -> str:
    """The compliance report as one self-contained HTML page (see the module docstring)."""
    from snncompile import __version__

    energy = report.energy
    violations = report.violations
    notes = len(report.findings) - len(violations)
    if report.spike_driven:
        verdict = (
            '<div id="verdict" class="verdict ok"><strong>Spike-driven.</strong> Every synaptic '
            "op on the chip is driven by binary spikes: accumulates (ACs) only"
            + (f", with {notes} other finding{'' if notes == 1 else 's'} below." if notes else ".")
            + "</div>"
        )
    else:
        found = sorted({f.code for f in violations})
        verdict = (
            f'<div id="verdict" class="verdict bad"><strong>Not spike-driven: '
            f"{len(violations)} violation{'s' if len(violations) > 1 else ''} "
            f"({', '.join(found)}).</strong>"
            + " ".join(_WHY[code] for code in found if code in _WHY)
            + " Each finding below names the op and the fix.</div>"
        )
    rates, ops, parts = (
        f"<figure>{img}<figcaption>{_esc(caption)}</figcaption></figure>"
        for img, caption in _plots(report)
    )
    figures = f"<div>{rates}{parts}</div><div>{ops}</div>"  # two columns on a wide screen
    part = report.partition
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="snncompile {_esc(__version__)}">
<title>snncompile check: {_esc(report.model)} ({
        "spike-driven" if report.spike_driven else "not spike-driven"
    })</title>
<style>{_STYLE}</style>
</head>
<body>
<header>
<h1>Spike-driven check: {_esc(report.model)}</h1>
{verdict}
<div id="summary" class="cards">{_summary(report)}</div>
<p class="muted">Measured on {energy.samples} sample input{
        "s" if energy.samples != 1 else ""
    } over T = {energy.time_steps} time
steps. A synaptic op whose input is binary spikes costs accumulates (ACs, 0.9 pJ); any other
input costs multiply-accumulates (MACs, 4.6 pJ), the papers' 45 nm convention.</p>
</header>
<main>
<section id="findings">
<h2>Findings</h2>
{_findings(report.findings)}
</section>
<section id="energy">
<h2>Energy per inference</h2>
{_energy_models(report)}
</section>
<section id="plots">
<h2>Plots</h2>
<div class="plots">{figures}</div>
</section>
<section id="ops">
<h2>Synaptic operations</h2>
<p class="muted">Per inference, in graph order. Red MAC counts: multiplies on the chip.</p>
<div class="wide">{_ops_table(report)}</div>
</section>
<section id="partitions">
<h2>Partitions</h2>
<p><strong>Host encoder</strong> (before the first neuron):
{_esc(", ".join(part.host_encoder)) or "none"}</p>
<p><strong>Host readout</strong> (after the last neuron):
{_esc(", ".join(part.host_readout)) or "none"}</p>
<details><summary><strong>Chip</strong>: {len(part.chip)} nodes</summary>
<p><code>{_esc(", ".join(part.chip))}</code></p></details>
</section>
</main>
<footer>Written by snncompile {_esc(__version__)} (<code>snncompile check</code>). One
self-contained file: no scripts, no external resources.</footer>
</body>
</html>
"""
