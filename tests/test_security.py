"""Consent before code, no output over an input, atomic outputs, signed artifacts.

Issue 24: a model card or an artifact manifest never runs code without the user's consent
(a payload's marker file must not appear), an output never replaces an input, and an
interrupted or failing write leaves nothing partial behind.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from snncompile.cli import main
from snncompile.diagnostics import SnnCompileError
from tests.hostile.triggers import ZOO, artifact, zoo_state

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "examples" / "digits" / "spikingformer.pt"


def _payload(tmp_path: Path) -> Path:
    """A module that writes a marker file when imported; returns the marker's path."""
    marker = tmp_path / "PWNED"
    (tmp_path / "card_payload.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "import torch\n"
        "class Net(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = torch.nn.Linear(4, 2)\n"
        "    def forward(self, x):\n"
        "        return self.fc(x)\n"
    )
    return marker


@pytest.mark.parametrize(
    "command",
    [
        ["check", "{model}", "--dataset", "random"],
        ["{model}", "--target", "ir"],
        ["report", "{model}"],
    ],
)
def test_a_model_card_naming_code_does_not_run_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    marker = _payload(tmp_path)
    model = tmp_path / "model.pt"
    torch.save({"fc.weight": torch.zeros(2, 4), "fc.bias": torch.zeros(2)}, model)
    (tmp_path / "model.json").write_text(
        json.dumps({"arch": "card_payload.py:Net", "input_shape": [4]})
    )
    code = main([part.format(model=model) for part in command])
    err = capsys.readouterr().err
    assert code == 1 and "error[SC101]" in err and "--trust-code" in err, err
    assert not marker.exists(), "the card's code ran without consent"


def test_trust_code_is_consent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from snncompile.frontend.load import load_model

    marker = _payload(tmp_path)
    model = tmp_path / "model.pt"
    torch.save({"fc.weight": torch.zeros(2, 4), "fc.bias": torch.zeros(2)}, model)
    (tmp_path / "model.json").write_text(json.dumps({"arch": "card_payload.py:Net"}))
    loaded = load_model(model, trust_code=True)
    assert marker.exists() and type(loaded.module).__name__ == "Net"


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.marker, "w"))  # unpickling creates the marker file


def test_an_artifact_manifest_cannot_enable_unpickling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 24: config.trust_pickle: true plus a source pointing at a pickle."""
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.pt"
    with evil.open("wb") as handle:
        pickle.dump(_Payload(str(marker)), handle)
    out = artifact(tmp_path, source=evil)
    from tests.hostile.triggers import forge

    manifest = json.loads((out / "manifest.json").read_text())
    forge(out, config={**manifest["config"], "trust_pickle": True, "trust_code": True})
    np.save(tmp_path / "x.npy", np.zeros((2, 8), np.float32))
    code = main(["run", str(out), "--backend", "float", "--input", str(tmp_path / "x.npy")])
    err = capsys.readouterr().err
    # refused without unpickling: ML402 (a plain pickle is not a torch.save file), ML404 or ML401
    assert code == 1 and any(c in err for c in ("ML402", "ML404", "ML401")), err
    assert not marker.exists(), "the artifact unpickled its source without consent"


def test_a_forged_artifact_arch_naming_code_needs_consent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = _payload(tmp_path)
    source = tmp_path / "model.pt"
    torch.save({"fc.weight": torch.zeros(2, 4), "fc.bias": torch.zeros(2)}, source)
    out = artifact(tmp_path, source=source)
    from tests.hostile.triggers import forge

    manifest = json.loads((out / "manifest.json").read_text())
    forge(out, config={**manifest["config"], "arch": "card_payload.py:Net"})
    np.save(tmp_path / "x.npy", np.zeros((2, 8), np.float32))
    code = main(["run", str(out), "--backend", "float", "--input", str(tmp_path / "x.npy")])
    err = capsys.readouterr().err
    assert code == 1 and "error[SC101]" in err, err
    assert not marker.exists()


def test_the_artifact_source_is_found_beside_it_not_in_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snncompile.targets.loihi.artifact import resolve_source

    work = tmp_path / "work"
    work.mkdir()
    source = work / "model.snnir"
    source.write_text("the real source\n")
    out = artifact(work, source=Path("model.snnir").absolute() if False else source)
    manifest = json.loads((out / "manifest.json").read_text())
    moved = tmp_path / "moved"
    shutil.copytree(work, moved)  # the artifact and its source move together
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "model.snnir").write_text("a different file of the same name\n")
    monkeypatch.chdir(elsewhere)
    assert resolve_source(moved / "art", manifest) == moved / "art" / ".." / "model.snnir"
    (moved / "model.snnir").write_text("changed\n")
    with pytest.raises(SnnCompileError) as info:
        resolve_source(moved / "art", manifest)
    assert info.value.code == "AR104"


def test_the_checkpoint_survives_check_json_over_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim.pt"
    torch.save(zoo_state(), victim)
    (tmp_path / "victim.json").write_text(json.dumps({"arch": ZOO}))
    before = victim.read_bytes()
    link = tmp_path / "link.json"
    link.symlink_to(victim)
    for args in (
        ["check", str(victim), "--json", str(victim)],
        ["check", str(victim), "--html", str(tmp_path / "sub" / ".." / "victim.pt")],
        ["check", str(victim), "--json", str(link)],
        ["check", str(victim), "--json", str(tmp_path / "victim.json")],  # its card
        [str(victim), "--target", "ir", "-o", str(victim)],
        ["run", str(victim), "--backend", "float", "--json", str(victim)],
    ):
        os.makedirs(tmp_path / "sub", exist_ok=True)
        code = main(args)
        err = capsys.readouterr().err
        assert code == 1 and "error[SC102]" in err, (args, err)
    assert victim.read_bytes() == before


def test_no_output_inside_the_artifact_being_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = artifact(tmp_path)
    before = (out / "manifest.json").read_bytes()
    for args in (
        ["report", str(out), "--json", str(out / "manifest.json")],
        ["run", str(out), "--json", str(out / "network" / "weights.npz")],
        ["run", str(out), "--json", str(out / "new.json")],
    ):
        assert main(args) == 1
        assert "error[SC102]" in capsys.readouterr().err
    assert (out / "manifest.json").read_bytes() == before


class _FullDisk:
    """A writable file object whose writes fail with ENOSPC past a byte budget."""

    def __init__(self, handle: Any, budget: dict[str, int]) -> None:
        self._handle, self._budget = handle, budget

    def write(self, data: Any) -> int:
        self._budget["left"] -= len(data)
        if self._budget["left"] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(self._handle.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


def _disk_full(monkeypatch: pytest.MonkeyPatch, after: int = 0) -> None:
    """Every file opened for writing fails with ENOSPC once ``after`` bytes are written."""
    import builtins
    import io

    real = io.open
    budget = {"left": after}

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real(file, mode, *args, **kwargs)
        return _FullDisk(handle, budget) if any(c in mode for c in "wax+") else handle

    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(builtins, "open", fake_open)


def test_disk_full_leaves_no_partial_file_and_the_old_one_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snncompile.fileio import write_text

    target = tmp_path / "report.json"
    target.write_text("the previous report")
    _disk_full(monkeypatch)
    with pytest.raises(SnnCompileError) as info:
        write_text(target, "x" * 100_000)
    assert info.value.code == "IN607" and "disk is full" in info.value.message
    assert target.read_text() == "the previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_disk_full_during_an_artifact_keeps_the_previous_artifact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snncompile.targets.loihi import load
    from snncompile.targets.loihi.artifact import write_artifact
    from tests.targets.loihi.test_artifact import _program

    out = artifact(tmp_path)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    program, config = _program()
    _disk_full(monkeypatch, after=2000)  # fails after the first file or so
    with pytest.raises(SnnCompileError) as info:
        write_artifact(program, config.replace(weight_bits=7), out)
    assert info.value.code == "IN607"
    monkeypatch.undo()
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]  # no temporary left
    load(out)


def test_disk_full_in_check_leaves_no_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    json_path, html_path = tmp_path / "r.json", tmp_path / "r.html"
    _disk_full(monkeypatch, after=0)
    code = main(
        [
            "check",
            "zoo:" + ZOO,
            "--samples",
            "2",
            "--json",
            str(json_path),
            "--html",
            str(html_path),
        ]
    )
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == 1 and "error[IN607]" in err, err
    assert list(tmp_path.iterdir()) == []


def test_an_artifact_never_replaces_a_foreign_directory_or_file(tmp_path: Path) -> None:
    from snncompile.targets.loihi.artifact import write_artifact
    from tests.targets.loihi.test_artifact import _program

    program, config = _program()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("years of work")
    (tmp_path / "file").write_text("a file")
    for target in (tmp_path / "docs", tmp_path / "file"):
        with pytest.raises(SnnCompileError) as info:
            write_artifact(program, config, target)
        assert info.value.code == "IN607"
    assert (tmp_path / "docs" / "thesis.tex").read_text() == "years of work"
    assert (tmp_path / "file").read_text() == "a file"


def test_signed_artifacts_verify_only_with_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.hostile.triggers import forge

    key = tmp_path / "key"
    key.write_bytes(b"a secret of the producer")
    out = tmp_path / "sf.loihi"
    args = [str(DIGITS), "--target", "loihi", "--expand-sew", "--allow-host-ops", "-o", str(out)]
    assert main([*args, "--sign-key", str(key)]) == 0
    capsys.readouterr()
    manifest = json.loads((out / "manifest.json").read_text())
    assert isinstance(manifest["integrity"]["hmac_sha256"], str)
    assert "sign_key" in manifest["config"] and manifest["config"]["sign_key"] is None
    run = ["run", str(out), "--limit", "2"]
    assert main([*run, "--sign-key", str(key)]) == 0
    monkeypatch.setenv("SNNCOMPILE_SIGN_KEY", "a secret of the producer")
    assert main(run) == 0
    monkeypatch.delenv("SNNCOMPILE_SIGN_KEY")
    capsys.readouterr()
    forge(out, time_steps=manifest["time_steps"], pipeline_depth=manifest["pipeline_depth"])
    assert main(run) == 0  # the plain digest was recomputed: without the key it passes
    assert main([*run, "--sign-key", str(key)]) == 1  # the signature does not
    assert "error[AR103]" in capsys.readouterr().err


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Any:
    """A real 64 KiB tmpfs (needs root; skipped elsewhere)."""
    import subprocess

    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)])
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_real_full_disk_leaves_no_partial_artifact(
    tiny_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tiny_disk / "sf.loihi"
    args = [str(DIGITS), "--target", "loihi", "--expand-sew", "--allow-host-ops", "-o", str(out)]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 1 and "error[IN607]" in err and "disk is full" in err, err
    assert list(tiny_disk.iterdir()) == []
