"""The Loihi artifact: write, load, round trip, tamper detection and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from snncompile.cli import main
from snncompile.config import CompileConfig
from snncompile.diagnostics import SnnCompileError
from snncompile.frontend.torch import trace
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.printer import print_graph
from snncompile.models.neuron import MultiStepLIFNode
from snncompile.targets.loihi import load
from snncompile.targets.loihi.artifact import MANIFEST, WEIGHTS, write_artifact
from snncompile.targets.sim.program import NetworkProgram, build_program

T = 4
DIGITS = Path(__file__).resolve().parents[3] / "examples" / "digits" / "spikingformer.pt"


class Chain(nn.Module):
    """Linear -> LIF -> Linear -> LIF, mean over T."""

    def __init__(self) -> None:
        super().__init__()
        self.l1 = nn.Linear(8, 6)
        self.n1 = MultiStepLIFNode(tau=2.0, detach_reset=True)
        self.l2 = nn.Linear(6, 4)
        self.n2 = MultiStepLIFNode(tau=2.0, detach_reset=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(T, 1, 1)
        return self.n2(self.l2(self.n1(self.l1(x)))).mean(0)


def _program() -> tuple[NetworkProgram, CompileConfig]:
    torch.manual_seed(0)
    graph = trace(Chain().double().eval(), torch.zeros(2, 8, dtype=torch.float64), time_steps=T)
    config = CompileConfig(target="loihi", allow_host_ops=True, time_steps=T)
    return build_program(graph, config), config


@pytest.fixture
def artifact(tmp_path: Path) -> tuple[Path, NetworkProgram]:
    program, config = _program()
    out = tmp_path / "art"
    write_artifact(program, config, out, source=None)
    return out, program


def test_write_load_round_trip(artifact: tuple[Path, NetworkProgram]) -> None:
    out, program = artifact
    loaded = load(out)
    assert print_graph(loaded.pipelined) == print_graph(program.pipelined)
    assert print_graph(loaded.layerwise) == print_graph(program.layerwise)
    assert loaded.program.depth == program.depth
    assert loaded.config.target == "loihi"
    manifest = loaded.manifest
    assert manifest["counts"]["populations"] == 2
    assert manifest["pipeline_depth"] == program.depth
    assert manifest["inputs"][0]["shape"] == [8]
    assert set(manifest["versions"]) >= {"snncompile", "torch", "numpy", "lava-nc", "lava-dl"}
    assert "# " not in (out / "network/pipelined.snnir").read_text()
    assert "elided sha256:" in (out / "network/pipelined.snnir").read_text()
    # the loaded program runs like the compiled one
    x = np.random.default_rng(0).random((6, 2, 8)) * 2
    (name,) = [v.name for v in program.pipelined.outputs]
    want = run_layerwise(program.pipelined, [x])[name]
    got = run_layerwise(loaded.pipelined, [x])[name]
    np.testing.assert_array_equal(got, want)


def _expect(out: Path, code: str, text: str) -> None:
    with pytest.raises(SnnCompileError) as info:
        load(out)
    assert info.value.code == code, info.value.render()
    assert text in info.value.render()


def test_changed_byte_is_refused(artifact: tuple[Path, NetworkProgram]) -> None:
    out, _ = artifact
    path = out / "network/pipelined.snnir"
    data = bytearray(path.read_bytes())
    index = data.index(b"vth=") + 4
    data[index] = ord("9") if data[index] != ord("9") else ord("8")
    path.write_bytes(bytes(data))
    _expect(out, "LV503", "network/pipelined.snnir changed")


def test_missing_file_is_refused(artifact: tuple[Path, NetworkProgram]) -> None:
    out, _ = artifact
    (out / "reports/pipeline.json").unlink()
    _expect(out, "LV503", "reports/pipeline.json is missing")


def test_truncated_weights_are_refused(artifact: tuple[Path, NetworkProgram]) -> None:
    out, _ = artifact
    path = out / WEIGHTS
    path.write_bytes(path.read_bytes()[:-20])
    _expect(out, "LV503", "truncated")


def test_truncated_weights_with_forged_hash_do_not_parse(
    artifact: tuple[Path, NetworkProgram],
) -> None:
    out, _ = artifact
    path = out / WEIGHTS
    path.write_bytes(path.read_bytes()[:-200])
    manifest = json.loads((out / MANIFEST).read_text())
    import hashlib

    manifest["files"][WEIGHTS] = {
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "bytes": path.stat().st_size,
    }
    (out / MANIFEST).write_text(json.dumps(manifest))
    _expect(out, "AR101", "files.network/weights.npz")  # the manifest digest catches the edit
    (out / MANIFEST).write_text(json.dumps(_forge(manifest)))  # a forger recomputes it
    _expect(out, "LV503", WEIGHTS)


def _forge(manifest: dict[str, object]) -> dict[str, object]:
    """``manifest`` resealed, as a forger who recomputes the plain digest would."""
    from snncompile.targets.loihi.integrity import seal

    return seal({k: v for k, v in manifest.items() if k != "integrity"}, None)


def test_bad_manifests_are_refused(artifact: tuple[Path, NetworkProgram], tmp_path: Path) -> None:
    out, _ = artifact
    manifest = json.loads((out / MANIFEST).read_text())
    cases = {
        "version": {**manifest, "format_version": 99},
        "counts": {**manifest, "counts": {**manifest["counts"], "populations": 3}},
        "format": {**manifest, "format": "other"},
    }
    for name, bad in cases.items():
        copy = tmp_path / name
        shutil.copytree(out, copy)
        (copy / MANIFEST).write_text(json.dumps(_forge(bad)))
        _expect(copy, "LV504", "manifest" if name != "counts" else "counts")
    (out / MANIFEST).unlink()
    _expect(out, "LV503", "manifest.json is missing")


def test_build_lava_imports_the_emitter_lazily(artifact: tuple[Path, NetworkProgram]) -> None:
    out, _ = artifact
    loaded = load(out)
    assert callable(loaded.build_lava) and callable(loaded.run_lava)


def test_cli_writes_a_loadable_artifact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "digits"
    code = main(
        [str(DIGITS), "--target", "loihi", "--expand-sew", "--allow-host-ops", "-o", str(out)]
    )
    _, err = capsys.readouterr()
    assert code == 0, err
    assert f"wrote {out}/ (10 files; artifact {out}" in err  # one line for the directory
    assert f"snncompile report {out}" in err
    loaded = load(out)
    config = CompileConfig(expand_sew=True, allow_host_ops=True)
    from snncompile.driver import read_model

    graph, config = read_model(DIGITS, config)  # the API's trace: one trace dtype everywhere
    compiled = build_program(graph, config)
    assert print_graph(loaded.pipelined) == print_graph(compiled.pipelined)
    assert loaded.program.depth == compiled.depth
    for name in ("quantization", "lowering", "pipeline", "placement", "compliance"):
        assert (out / "reports" / f"{name}.json").is_file()
    assert (out / "reports/compliance.html").read_text().lstrip().startswith("<")
    assert "lava_mode" not in loaded.manifest["config"]  # a run option (RunConfig)


def test_cli_needs_an_output_directory(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(DIGITS), "--target", "loihi", "--expand-sew", "--allow-host-ops"])
    _, err = capsys.readouterr()
    assert code != 0 and "CF201" in err and "-o OUT" in err


def test_loihi_runs_each_pass_once_and_records_the_real_timings(tmp_path: Path) -> None:
    """The artifact records the loihi pipeline as it ran: every pass once, in order, with the
    timings of that run (the emitter runs no pass: BatchNorm is folded once)."""
    from snncompile.driver import compile_file
    from snncompile.pipelines import loihi_pipeline

    out = tmp_path / "art"
    config = CompileConfig(target="loihi", expand_sew=True, allow_host_ops=True)
    result = compile_file(DIGITS, config, output=out)
    recorded = load(out).manifest["passes"]
    names = [p["pass"] for p in recorded]
    assert names == [p.name for p in loihi_pipeline(config)]
    assert len(names) == len(set(names)), names
    assert names.count("fold-batchnorm") == 1 and "place-cores" in names
    assert [t.name for t in result.pipeline.timings] == names
    assert [p["seconds"] for p in recorded] == [t.seconds for t in result.pipeline.timings]
    assert all(p["seconds"] > 0 for p in recorded)
    compliance = json.loads((out / "reports/compliance.json").read_text())
    assert [p["pass"] for p in compliance["passes"]] == names[: names.index("measure-compliance")]
    placement = json.loads((out / "reports/placement.json").read_text())
    assert placement["cores"] >= 1


def test_loihi_compile_analyses_spike_domains_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A ``--target loihi`` compile computes the spike domains once; the passes that rewrite
    the graph afterwards (lower-residuals, decompose-attention, quantize) update that analysis
    node by node, and every update equals a fresh analysis of its graph."""
    from snncompile.driver import compile_file
    from snncompile.ir.dataflow import forward
    from snncompile.ir.domains import REAL, Flow, Rule
    from snncompile.ir.graph import Graph
    from snncompile.passes import analyze_spike_domain as asd

    monkeypatch.setattr(asd, "_CACHE", type(asd._CACHE)())
    for key in asd.STATS:
        monkeypatch.setitem(asd.STATS, key, 0)
    analysed: list[tuple[Graph, dict[str, Flow]]] = []

    def recording(graph: Graph, initial: Flow, transfer: Rule) -> dict[str, Flow]:
        flows = forward(graph, initial, transfer)
        analysed.append((graph, flows))
        return flows

    monkeypatch.setattr(asd, "forward", recording)
    config = CompileConfig(target="loihi", expand_sew=True, allow_host_ops=True)
    compile_file(DIGITS, config, output=tmp_path / "art")
    assert asd.STATS["computed"] == 1, asd.STATS
    assert asd.STATS["updated"] == len(analysed) - 1 >= 1
    total = sum(len(graph.nodes) for graph, _ in analysed)
    assert asd.STATS["evaluated"] < total  # the updates evaluated only changed nodes
    for graph, flows in analysed:
        assert flows == forward(graph, Flow(REAL), asd._transfer)
