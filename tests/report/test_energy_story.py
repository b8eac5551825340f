"""One energy story: conventions side by side, one unit, labelled models; dead layers flagged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from rich.console import Console

from snncompile.cli import main
from snncompile.data.samples import sample_inputs
from snncompile.frontend.load import load_model, to_graph
from snncompile.frontend.simulate import time_major_inputs
from snncompile.ir.ops import Trait, has_trait
from snncompile.report.compliance import ComplianceReport, check_graph
from snncompile.report.html import compliance_html
from snncompile.report.terminal import render_compliance
from snncompile.targets.sim.perf import DEFAULT_ENERGY

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "digits"


def _check(convention: str = "paper", silence: str | None = None) -> ComplianceReport:
    loaded = load_model(EXAMPLES / "spikingformer.pt")
    assert loaded.module is not None
    if silence is not None:  # a dead layer: zero weights and bias, so its neurons never fire
        with torch.no_grad():
            for name, param in loaded.module.named_parameters():
                if name.startswith(silence):
                    param.zero_()
    graph = to_graph(loaded)
    x = sample_inputs(graph.inputs[0].type.shape, samples=4, dataset="digits")
    inputs = time_major_inputs(graph, x, loaded.time_steps)
    return check_graph(graph, inputs, model="spikingformer", convention=convention)


def test_json_carries_every_convention_and_labelled_models() -> None:
    report = _check("events")
    energy = report.to_dict()["energy"]
    assert energy["selected"] == "events"
    conv = energy["conventions"]
    assert set(conv) == {"paper", "events", "chip"}
    # the chip convention: every chip neuron updates every step (counted from the graph here)
    chip_neurons = sum(
        n.output.type.numel
        for n in report.graph.nodes
        if has_trait(n, Trait.NEURON) and report.partition.where(n.name) == "chip"
    )
    assert conv["chip"]["neuron_updates"] == chip_neurons * report.energy.time_steps
    assert conv["chip"]["spikes"] == pytest.approx(
        sum(s.firing_rate * s.neurons for s in report.neurons) * report.energy.time_steps
    )
    # paper ACs charge padding taps; events exclude them (3x3 padded convs of the tokenizer)
    assert conv["paper"]["ac_ops"] > conv["events"]["ac_ops"] > 0
    models = energy["models"]
    assert models["unit"] == "µJ per inference"
    assert models["compute_45nm"]["energy_uj"] == pytest.approx(energy["energy_mj"] * 1e3)
    assert "Horowitz" in models["compute_45nm"]["source"]
    assert "Lemaire" in models["memory"]["source"]
    assert models["chip"]["source"] == DEFAULT_ENERGY.name
    assert models["chip"]["energy_uj"] > models["compute_45nm"]["energy_uj"]
    assert "prices only the arithmetic" in models["explanation"]
    json.dumps(energy)


def test_html_and_terminal_use_one_unit_and_show_the_conventions_side_by_side() -> None:
    report = _check("chip")
    page = compliance_html(report)
    for label in ("energy, 45 nm compute", "energy, chip model", "energy, memory traffic"):
        assert label in page
    assert 'id="energy-models"' in page and 'id="energy-explanation"' in page
    assert " mJ" not in page and " nJ" not in page and " pJ<" not in page
    assert "paper (45 nm compute)" in page and "events (45 nm compute)" in page
    console = Console(record=True, width=160)
    render_compliance(report, console)
    text = console.export_text()
    header = next(line for line in text.splitlines() if "paper MAC" in line)
    assert header.index("chip syn") < header.index("paper MAC")  # the selected one first
    assert "per inference (chip convention" in text and " mJ" not in text
    assert "µJ 45 nm compute" in text and "µJ chip model" in text
    assert "prices only the arithmetic" in text


def test_silent_layer_is_a_warning_not_a_violation() -> None:
    clean = _check()
    assert not [f for f in clean.findings if f.code in ("SD220", "SD221")]
    report = _check(silence="block.0.attn.q_conv")
    silent = [f for f in report.findings if f.code == "SD220"]
    assert silent and silent[0].severity == "warning"
    assert silent[0].module == "block.0.attn.q_lif"
    assert report.spike_driven == clean.spike_driven  # a warning does not change the verdict
    rates = {n.module: n.firing_rate for n in report.neurons}
    assert rates["block.0.attn.q_lif"] == 0.0


def test_saturated_layer_is_flagged() -> None:
    loaded = load_model(EXAMPLES / "spikingformer.pt")
    assert loaded.module is not None
    bn = next(m for m in loaded.module.modules() if isinstance(m, torch.nn.BatchNorm2d))
    with torch.no_grad():  # the first batch norm outputs 100 everywhere: its LIF always fires
        bn.weight.zero_()
        bn.bias.fill_(100.0)
    graph = to_graph(loaded)
    x = sample_inputs(graph.inputs[0].type.shape, samples=2, dataset="digits")
    report = check_graph(graph, time_major_inputs(graph, x, loaded.time_steps))
    saturated = [f for f in report.findings if f.code == "SD221"]
    assert saturated and all(f.severity == "warning" for f in saturated)
    assert "spiked at every step" in saturated[0].message


def test_count_option_on_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    args = ["check", str(EXAMPLES / "spikingformer.pt"), "--samples", "2", "--json", str(out)]
    assert main([*args, "--count", "events"]) == 0
    assert json.loads(out.read_text())["energy"]["selected"] == "events"
    assert main([*args, "--count", "syops"]) != 0
