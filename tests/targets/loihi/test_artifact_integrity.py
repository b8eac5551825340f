"""Every manifest field and every file of an artifact is covered: each edit is detected.

Naive edits (a field or file changed, the digest not recomputed) are AR101 / LV503 naming
what changed; forged edits (the plain digest recomputed) of the fields that decide results are
still refused by validation (AR102), and any forged edit fails a signed artifact's HMAC
(AR103).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from snncompile.diagnostics import SnnCompileError
from snncompile.targets.loihi import load
from tests.hostile.triggers import artifact, edit_manifest, forge

KEY = b"producer key"


def _changed(value: Any) -> Any:
    """A different value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 2 + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return [*value, value[0]] if value else ["x"]
    if isinstance(value, dict):
        return {**value, "extra": 1}
    return "x"  # None


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return artifact(tmp_path_factory.mktemp("sealed"), key=KEY)


def _fields(manifest: dict[str, Any]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for key, value in manifest.items():
        if key == "integrity":
            continue
        paths.append((key,))
        if key in ("config", "source", "files") and isinstance(value, dict):
            paths += [(key, k) for k in value]
    return paths


def _edit(manifest: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    out = json.loads(json.dumps(manifest))
    holder = out
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = _changed(holder[path[-1]])
    return out


def _copy(sealed: Path, tmp_path: Path) -> Path:
    import shutil

    out = tmp_path / "art"
    shutil.copytree(sealed, out)
    return out


def test_every_naive_manifest_edit_is_named(sealed: Path, tmp_path: Path) -> None:
    manifest = json.loads((sealed / "manifest.json").read_text())
    fields = _fields(manifest)
    assert len(fields) > 25  # top-level fields, every config field, every file entry
    out = _copy(sealed, tmp_path)
    for path in fields:
        edited = _edit(manifest, path)
        (out / "manifest.json").write_text(json.dumps(edited))
        with pytest.raises(SnnCompileError) as info:
            load(out)
        assert info.value.code in ("AR101", "LV504"), (path, info.value.render())
        if info.value.code == "AR101":
            assert ".".join(path) in info.value.message, (path, info.value.message)


def test_every_forged_edit_fails_the_signature(sealed: Path, tmp_path: Path) -> None:
    manifest = json.loads((sealed / "manifest.json").read_text())
    out = _copy(sealed, tmp_path)
    for path in _fields(manifest):
        edited = _edit(manifest, path)
        (out / "manifest.json").write_text(json.dumps(manifest))
        forge(out, **{k: v for k, v in edited.items() if k != "integrity"})
        with pytest.raises(SnnCompileError) as info:
            load(out, key=KEY)
        assert info.value.code in ("AR103", "LV504"), (path, info.value.render())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_steps": 1}, "time_steps"),
        ({"time_steps": "four"}, "time_steps"),
        ({"time_steps": 10**9}, "time_steps"),
        ({"pipeline_depth": 7}, "pipeline_depth"),
        ({"pipeline_depth": 10**9}, "pipeline_depth"),
        ({"pipeline_depth": -1}, "pipeline_depth"),
        ({"inputs": [{"name": "x", "shape": [9], "dtype": "f64", "kind": "real"}]}, "inputs"),
        ({"outputs": []}, "outputs"),
        ({"model": "other"}, "model"),
    ],
)
def test_forged_fields_that_decide_results_are_validated(
    sealed: Path, tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    out = _copy(sealed, tmp_path)
    forge(out, **changes)
    with pytest.raises(SnnCompileError) as info:
        load(out)
    assert info.value.code == "AR102" and field in info.value.message, info.value.render()


def test_forged_config_time_steps_disagreeing_with_the_manifest_is_refused(
    sealed: Path, tmp_path: Path
) -> None:
    out = _copy(sealed, tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    forge(out, config={**manifest["config"], "time_steps": 1})
    with pytest.raises(SnnCompileError) as info:
        load(out)
    assert info.value.code == "AR102"


def test_every_file_edit_is_detected(sealed: Path, tmp_path: Path) -> None:
    manifest = json.loads((sealed / "manifest.json").read_text())
    assert len(manifest["files"]) >= 6  # network text, weights and reports
    for name in manifest["files"]:
        out = tmp_path / name.replace("/", "_")
        import shutil

        shutil.copytree(sealed, out)
        data = bytearray((out / name).read_bytes())
        data[len(data) // 2] ^= 0x01  # one bit
        (out / name).write_bytes(bytes(data))
        with pytest.raises(SnnCompileError) as info:
            load(out)
        assert info.value.code == "LV503" and name in info.value.render(), name


def test_a_stripped_digest_is_refused(sealed: Path, tmp_path: Path) -> None:
    out = _copy(sealed, tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["integrity"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SnnCompileError) as info:
        load(out)
    assert info.value.code == "AR101"


def test_an_unsigned_artifact_fails_when_a_key_is_given(tmp_path: Path) -> None:
    out = artifact(tmp_path)
    load(out)
    with pytest.raises(SnnCompileError) as info:
        load(out, key=KEY)
    assert info.value.code == "AR103" and "not signed" in info.value.message


def test_edits_are_named_when_the_manifest_is_edited_in_place(sealed: Path, tmp_path: Path) -> None:
    out = _copy(sealed, tmp_path)
    edit_manifest(out, time_steps=1)
    with pytest.raises(SnnCompileError) as info:
        load(out)
    assert info.value.code == "AR101" and "time_steps" in info.value.message
