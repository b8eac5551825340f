"""`snncompile check` on the zoo: the verdicts the issue expects, JSON, HTML and exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from snncompile.cli import main
from snncompile.data.samples import sample_inputs
from snncompile.frontend.load import load_model, to_graph
from snncompile.frontend.simulate import time_major_inputs
from snncompile.report.compliance import ComplianceReport, check_graph

_CACHE: dict[str, ComplianceReport] = {}


def _check(name: str) -> ComplianceReport:
    if name not in _CACHE:
        loaded = load_model(f"zoo:{name}", seed=0)
        graph = to_graph(loaded)
        x = sample_inputs(graph.inputs[0].type.shape, samples=4, dataset="digits")
        _CACHE[name] = check_graph(graph, time_major_inputs(graph, x, loaded.time_steps))
    return _CACHE[name]


def test_spikformer_is_not_spike_driven_at_its_sew_inputs() -> None:
    report = _check("spikformer_digits")
    assert not report.spike_driven
    flagged = {f.module for f in report.violations}
    assert all(f.code == "SD201" for f in report.violations)
    depth = 1 + max(int(m.split(".")[1]) for m in flagged if m and m.startswith("block."))
    for block in range(depth):
        for layer in ("attn.q", "attn.k", "attn.v", "mlp.fc1"):
            assert any(m and m.startswith(f"block.{block}.{layer}") for m in flagged), (
                block,
                layer,
                flagged,
            )
    first = next(f for f in report.violations if f.module and f.module.startswith("block.0."))
    assert "rpe_lif" in first.message  # the tokenizer's RPE add makes the first count(2)


def test_spikingformer_is_spike_driven_with_host_ends() -> None:
    report = _check("spikingformer_digits")
    assert report.spike_driven, [f.to_dict() for f in report.violations]
    first_conv = next(n for n in report.graph.nodes if n.op == "conv2d")
    assert first_conv.name in report.partition.host_encoder
    head = report.graph.outputs[0].producer
    assert head is not None and head.name in report.partition.host_readout


def test_sdt_maxpool_over_currents_is_flagged() -> None:
    report = _check("sdt_digits")
    codes = {(f.code, f.op) for f in report.violations}
    assert codes == {("SD203", "maxpool2d")}
    assert all(f.module and f.module.startswith("patch_embed.") for f in report.violations)


def test_spikingresformer_stem_on_host_and_gated_products_are_notes() -> None:
    report = _check("spikingresformer_digits")
    assert report.spike_driven, [f.to_dict() for f in report.violations]
    ops = [report.graph.node(n).op for n in report.partition.host_encoder]
    assert "conv2d" in ops and "maxpool2d" in ops
    notes = [f for f in report.findings if f.code == "SD301"]
    assert notes and all("real" in f.domain for f in notes)


def test_json_schema() -> None:
    data = _check("spikformer_digits").to_dict()
    assert data["spike_driven"] is False
    for entry in data["diagnostics"]:
        assert {"code", "severity", "node", "module", "domain", "message", "fix"} <= set(entry)
    assert set(data["partitions"]) == {"host_encoder", "chip", "host_readout"}
    energy = data["energy"]
    assert {"mac_ops", "ac_ops", "energy_mj", "layers"} <= set(energy)
    assert energy["mac_ops"] > 0 and len(energy["layers"]) > 5
    json.dumps(data)


@pytest.mark.slow
def test_cli_exit_codes_and_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = Path(__file__).resolve().parents[2] / "examples" / "digits" / "spikformer.pt"
    code = main(
        [
            "check",
            str(checkpoint),
            "--samples",
            "4",
            "--json",
            str(tmp_path / "r.json"),
            "--html",
            str(tmp_path / "r.html"),
        ]
    )
    assert code == 2
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["spike_driven"] is False and report["samples"] == 4
    assert report["energy"]["ac_ops"] > 0  # trained weights fire
    page = (tmp_path / "r.html").read_text()
    assert page.count("data:image/svg+xml;base64,") == 3
    # self-contained: no attribute loads or links anything outside the file (base64 image
    # data may contain any letters, so look at attribute values, not the whole page)
    external = re.findall(r'(?:src|href)="(?!data:|#)([^"]*)"', page)
    assert external == []
    assert main(["check", "zoo:spikingformer_digits", "--samples", "2"]) == 0
    assert main(["check", "zoo:no_such_model"]) == 1
    assert "error[ML401]" in capsys.readouterr().err


def test_user_inputs_from_npy(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.ones((3, 1, 16, 16), dtype=np.float32))
    x = sample_inputs((1, 16, 16), samples=8, input_path=path)
    assert x.shape == (3, 1, 16, 16)


def test_graph_without_neurons_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "plain.snnir"
    source.write_text(
        "graph @plain stage=tensor {\n  input %x : tensor<4xf32>\n"
        "  %y = scale(%x) {factor=2.0} : tensor<4xf32>\n  output %y\n}\n"
    )
    assert main(["check", str(source)]) == 1
    err = capsys.readouterr().err
    assert "error[SD101]" in err and "@plain" in err and "Traceback" not in err


@pytest.mark.slow
def test_paper_count_of_spikingformer_8_768_first_conv() -> None:
    from snncompile.report.energy import flops_of

    loaded = load_model("zoo:spikingformer_8_768")
    graph = to_graph(loaded)
    first = next(n for n in graph.nodes if n.op == "conv2d")
    assert first.loc is not None and first.loc.module == "patch_embed.proj_conv"
    # the paper: 520.2 M MACs for the first conv at T=4
    assert round(flops_of(first) * loaded.time_steps / 1e6, 1) == 520.2


def test_event_frame_models_are_checked_with_frames() -> None:
    loaded = load_model("zoo:sdt_2_256_cifar10dvs", seed=0)
    assert loaded.input_kind == "frames"
    graph = to_graph(loaded)
    x = sample_inputs((loaded.time_steps, *graph.inputs[0].type.shape), samples=1, dataset=None)
    report = check_graph(graph, time_major_inputs(graph, x, loaded.time_steps, input_layout="BT"))
    assert report.energy.time_steps == loaded.time_steps


def test_chunked_measurement_equals_one_batch() -> None:
    loaded = load_model("zoo:spikingformer_digits", seed=0)
    graph = to_graph(loaded)
    x = time_major_inputs(
        graph, sample_inputs((1, 16, 16), samples=5, dataset="digits"), loaded.time_steps
    )
    one, chunked = check_graph(graph, x, chunk=8), check_graph(graph, x, chunk=2)
    assert one.energy.to_dict() == chunked.energy.to_dict()
    assert [n.firing_rate for n in one.neurons] == pytest.approx(
        [n.firing_rate for n in chunked.neurons]
    )
