"""Every JSON report the product writes validates against its schema, and the schemas are
strict enough to reject broken reports (``snncompile/report/schemas``, docs/schemas.md).

The reports are real: written by the CLI on the shipped digits models (check, run in the
simulator, in float and sharded, the Loihi artifact's manifest and compliance report, the
network report, info, zoo) and by ``run_demo`` on one model; Lava runs (``run --compare
sim``, the whole demo) are marked ``slow``/``lava``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from rich.console import Console

from snncompile.cli import cli
from snncompile.config import CompileConfig
from snncompile.diagnostics import CODES
from snncompile.ir.ops.network import NEURON_KINDS
from snncompile.ir.types import DTYPES
from snncompile.models import zoo_table
from snncompile.report.schemas import SCHEMAS, load_schema
from tools.gen_docs import ROOT, schemas_markdown

DIGITS = ROOT / "examples" / "digits"
SCHEMA_DIR = ROOT / "snncompile" / "report" / "schemas"


def errors(name: str, data: Any) -> list[str]:
    """Why ``data`` does not validate against schema ``name`` (empty when it does)."""
    validator = Draft202012Validator(load_schema(name))
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}"
        for e in validator.iter_errors(data)
    ]


def cli_run(args: list[str], exit_code: int = 0) -> str:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == exit_code, result.output
    return result.stdout


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The real JSON reports, written once for the module (about 15 s)."""
    out = tmp_path_factory.mktemp("reports")
    artifact = out / "sf.loihi"
    cli_run([str(DIGITS / "spikingformer.pt"), "--target", "loihi", "-o", str(artifact)])
    cli_run(["check", str(DIGITS / "spikformer.pt"), "--json", str(out / "c1.json")], 2)
    cli_run(["check", str(DIGITS / "spikingformer.pt"), "--json", str(out / "c2.json")])
    sdt = str(DIGITS / "sdt.pt")
    runs: dict[str, Any] = {}
    for kind, args in {
        "sim": [str(artifact), "--limit", "4"],
        "lw": [str(artifact), "--mode", "layerwise", "--limit", "2"],
        "float": [sdt, "--backend", "float", "--limit", "2"],
        "shards": [str(artifact), "--limit", "4", "--shard-size", "2"],
    }.items():
        cli_run(["run", *args, "--json", str(out / f"{kind}.json")])
        runs[kind] = json.loads((out / f"{kind}.json").read_text())
    loaded = {name: json.loads((out / f"{name}.json").read_text()) for name in ("c1", "c2")}
    cli_run(["report", str(artifact), "--json", str(out / "net.json")])
    sdt_options = ["--allow-host-ops", "--no-cores"]
    cli_run(["report", str(DIGITS / "sdt.pt"), *sdt_options, "--json", str(out / "net2.json")])
    networks = [json.loads((out / f"{name}.json").read_text()) for name in ("net", "net2")]
    return {
        "check": loaded,
        "run": runs,
        "manifest": json.loads((artifact / "manifest.json").read_text()),
        "compliance": json.loads((artifact / "reports" / "compliance.json").read_text()),
        "zoo": json.loads(cli_run(["zoo", "--json"])),
        "network": networks,
        "artifact": artifact,
    }


# --- the schemas themselves ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema.get("title") and schema.get("description")


def test_every_schema_file_is_listed_and_packaged() -> None:
    files = {p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json")}
    assert files == set(SCHEMAS)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"snncompile.report.schemas" = ["*.schema.json"]' in pyproject
    assert '"jsonschema' in pyproject


def test_docs_tables_are_current() -> None:
    text = (ROOT / "docs" / "schemas.md").read_text()
    assert text == schemas_markdown(text), (
        "docs/schemas.md is stale: run `.venv/bin/python tools/gen_docs.py`"
    )
    for name in SCHEMAS:
        assert f"<!-- schema:{name} -->" in text


def test_manifest_config_is_compile_config() -> None:
    """The schema's ``config`` lists exactly CompileConfig's fields, with its choices."""
    config = load_schema("loihi-manifest")["$defs"]["config"]
    fields = {f.name: f for f in dataclasses.fields(CompileConfig)}
    assert list(config["properties"]) == list(fields)
    assert config["required"] == list(fields)
    hints = typing.get_type_hints(CompileConfig)
    for name, f in fields.items():
        choices = f.metadata.get("choices")
        if choices:
            optional = type(None) in typing.get_args(hints[name])
            assert config["properties"][name]["enum"] == [*choices, *([None] if optional else [])]


def test_enums_follow_the_code() -> None:
    check = load_schema("check")["$defs"]
    # a finding is a spike-driven/activity finding or the refusal a compile would raise
    assert check["finding"]["properties"]["code"]["enum"] == sorted(CODES)
    manifest = load_schema("loihi-manifest")
    dtype = manifest["properties"]["inputs"]["items"]["properties"]["dtype"]
    assert dtype["enum"] == list(DTYPES)
    families = sorted({row["family"] for row in zoo_table()})
    assert sorted(load_schema("zoo")["items"]["properties"]["family"]["enum"]) == families
    demo = load_schema("demo-summary")["properties"]["models"]["items"]["properties"]["model"]
    assert sorted(demo["enum"]) == families
    kind = load_schema("network")["$defs"]["population"]["properties"]["kind"]
    assert kind["enum"] == list(NEURON_KINDS)


# --- real reports validate ----------------------------------------------------------------------
def test_check_reports_validate(reports: dict[str, Any]) -> None:
    not_driven, driven = reports["check"]["c1"], reports["check"]["c2"]
    assert not not_driven["spike_driven"] and driven["spike_driven"]
    assert errors("check", not_driven) == []
    assert errors("check", driven) == []
    assert errors("check", reports["compliance"]) == []


@pytest.mark.parametrize("kind", ["sim", "lw", "float", "shards"])
def test_run_results_validate(reports: dict[str, Any], kind: str) -> None:
    data = reports["run"][kind]
    assert errors("run", data) == []
    assert ("shards" in data) == (kind == "shards")
    assert ("performance" in data) == (kind != "float")


def test_loihi_manifest_validates(reports: dict[str, Any]) -> None:
    manifest = reports["manifest"]
    assert errors("loihi-manifest", manifest) == []
    listed = set(manifest["files"])
    on_disk = {
        str(p.relative_to(reports["artifact"]))
        for p in reports["artifact"].rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert listed == on_disk


def test_network_reports_validate(reports: dict[str, Any]) -> None:
    with_cores, without = reports["network"]
    assert "cores" in with_cores["totals"] and "cores" not in without["totals"]
    assert errors("network", with_cores) == []
    assert errors("network", without) == []


def test_zoo_validates(reports: dict[str, Any]) -> None:
    assert errors("zoo", reports["zoo"]) == []


@pytest.mark.lava
@pytest.mark.timeout(180)
def test_info_validates() -> None:
    assert errors("info", json.loads(cli_run(["info", "--json"]))) == []


def _demo_summary(out: Path, *, lava_samples: int) -> dict[str, Any]:
    from snncompile.demo import run_demo

    with open(out / "log", "w") as handle:
        run_demo(out, samples=4, limit=8, lava_samples=lava_samples, console=Console(file=handle))
    data: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return data


def test_demo_summary_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo on one model, Lava reported as unusable (its summary's `skipped` form)."""
    from snncompile import demo
    from snncompile.targets.loihi import _lava

    monkeypatch.setattr(demo, "FAMILIES", ("spikingformer",))
    monkeypatch.setattr(
        _lava, "lava_status", lambda **_: _lava.LavaStatus(False, "not run by this test")
    )
    summary = _demo_summary(tmp_path, lava_samples=1)
    assert summary["loihi"]["lava"] == {"skipped": "not run by this test"}
    assert [m["model"] for m in summary["models"]] == ["spikingformer"]
    assert errors("demo-summary", summary) == []


@pytest.mark.slow
@pytest.mark.lava
@pytest.mark.timeout(900)
def test_whole_demo_summary_with_lava_validates(tmp_path: Path) -> None:
    summary = _demo_summary(tmp_path, lava_samples=1)
    assert summary["loihi"]["lava"]["bit_exact"] is True
    assert errors("demo-summary", summary) == []


@pytest.mark.slow
@pytest.mark.lava
@pytest.mark.timeout(600)
def test_lava_comparison_run_validates(reports: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "lava.json"
    args = ["run", str(reports["artifact"]), "--backend", "lava", "--lava-mode", "fused"]
    cli_run([*args, "--compare", "sim", "--limit", "1", "--json", str(path)])
    data = json.loads(path.read_text())
    assert data["bit_exact"] is True
    assert errors("run", data) == []


# --- strict enough to fail ----------------------------------------------------------------------
def _broken(data: Any, change: Any) -> Any:
    data = copy.deepcopy(data)
    change(data)
    return data


def test_schemas_reject_broken_reports(reports: dict[str, Any]) -> None:
    check = reports["check"]["c1"]
    sim, flt, shards = (reports["run"][k] for k in ("sim", "float", "shards"))
    manifest = reports["manifest"]
    cases: list[tuple[str, Any]] = [
        ("check", _broken(check, lambda d: d.update(extra=1))),
        ("check", _broken(check, lambda d: d.pop("energy"))),
        ("check", _broken(check, lambda d: d.update(spike_driven=True))),  # has violations
        ("check", _broken(check, lambda d: d["diagnostics"][0].update(severity="fatal"))),
        ("check", _broken(check, lambda d: d["energy"].update(selected="syops"))),
        ("check", _broken(check, lambda d: d["energy"]["conventions"].pop("chip"))),
        ("check", _broken(check, lambda d: d["energy"]["layers"][0].update(mac_ops="many"))),
        ("check", _broken(check, lambda d: d["neurons"][0].update(firing_rate=1.5))),
        ("check", _broken(check, lambda d: d["partitions"].update(fpga=[]))),
        ("run", _broken(sim, lambda d: d.update(accuracy=1.2))),
        ("run", _broken(sim, lambda d: d.pop("performance"))),
        ("run", _broken(sim, lambda d: d["performance"].update(extra=0))),
        ("run", _broken(sim, lambda d: d.update(bit_exact=True))),  # without populations
        ("run", _broken(sim, lambda d: d.update(backend="fpga"))),
        ("run", _broken(flt, lambda d: d.update(mode="pipelined"))),
        ("run", _broken(flt, lambda d: d.update(performance=sim["performance"]))),
        ("run", _broken(shards, lambda d: d.pop("shards_resumed"))),
        ("loihi-manifest", _broken(manifest, lambda d: d.update(format_version=2))),
        ("loihi-manifest", _broken(manifest, lambda d: d["config"].update(target="fpga"))),
        ("loihi-manifest", _broken(manifest, lambda d: d["config"].update(extra=True))),
        ("loihi-manifest", _broken(manifest, lambda d: d["files"].pop("network/weights.npz"))),
        ("loihi-manifest", _broken(manifest, lambda d: d["files"].update({"../x": {}}))),
        (
            "loihi-manifest",
            _broken(manifest, lambda d: d["files"]["network/weights.npz"].update(sha256="xyz")),
        ),
        ("network", _broken(reports["network"][0], lambda d: d["populations"][0].update(kind="x"))),
        ("network", _broken(reports["network"][0], lambda d: d["totals"].pop("depth"))),
        ("zoo", []),
        ("zoo", _broken(reports["zoo"], lambda d: d[0].update(params=-1))),
    ]
    accepted = [(name, i) for i, (name, data) in enumerate(cases) if not errors(name, data)]
    assert accepted == []
