"""Triggers of the security, integrity and hostile-input codes (SC1xx, AR1xx, ML406-ML408,
IN603-IN607), shared by tests/test_diagnostics.py and the hostile corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

ZOO = "spikformer_digits"


def zoo_state() -> dict[str, torch.Tensor]:
    from snncompile.models import create

    torch.manual_seed(0)
    return dict(create(ZOO).state_dict())


def bn_var_key(state: dict[str, torch.Tensor]) -> str:
    return next(k for k in state if k.endswith("running_var"))


def weight_key(state: dict[str, torch.Tensor]) -> str:
    return next(k for k in state if k.endswith("weight") and state[k].is_floating_point())


def bad_checkpoint(tmp_path: Path, kind: str) -> None:
    """A zoo checkpoint with a NaN weight (ML406) or a negative BN variance (ML407)."""
    from snncompile.frontend.load import load_model, to_graph

    state = zoo_state()
    if kind == "nan":
        key = weight_key(state)
        state[key] = state[key].clone()
        state[key].view(-1)[3] = float("nan")
    else:
        key = bn_var_key(state)
        state[key] = state[key].clone()
        state[key].view(-1)[1] = -0.5
    path = tmp_path / "model.pt"
    torch.save(state, path)
    to_graph(load_model(path, arch=ZOO))


def bad_card(tmp_path: Path, field: str = "input_shape", value: Any = "3x16x16") -> None:
    from snncompile.frontend.load import load_model

    torch.save(zoo_state(), tmp_path / "model.pt")
    (tmp_path / "model.json").write_text(json.dumps({"arch": ZOO, field: value}))
    load_model(tmp_path / "model.pt")


def fifo_model(tmp_path: Path) -> None:
    from snncompile.frontend.load import load_model

    path = tmp_path / "fifo.pt"
    os.mkfifo(path)
    load_model(path, arch=ZOO)


def memory_bomb_ir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from snncompile.frontend.load import load_model, to_graph

    monkeypatch.setenv("SNNCOMPILE_MAX_MEMORY", "1")
    path = tmp_path / "bomb.snnir"
    path.write_text(
        "graph @bomb stage=tensor {\n  input %x : tensor<1000000000xf32>\n"
        "  %y = lif(%x) : tensor<1000000000xf32, binary>\n  output %y\n}\n"
    )
    to_graph(load_model(path))


def data_input(tmp_path: Path, kind: str) -> None:
    """A hostile --input file for ``check``'s sample inputs."""
    from snncompile.data.samples import sample_inputs

    path = tmp_path / ("x.npz" if kind in ("empty_npz", "npy_as_npz") else "x.npy")
    if kind == "nan":
        x = np.zeros((4, 4), np.float32)
        x[2, 1] = np.nan
        np.save(path, x)
    elif kind == "empty_npz":
        np.savez(path)
    elif kind == "npy_as_npz":
        with open(path, "wb") as handle:
            np.save(handle, np.zeros((4, 4), np.float32))
    sample_inputs((4,), samples=4, input_path=path)


def unwritable(tmp_path: Path) -> None:
    from snncompile.fileio import write_text

    write_text(tmp_path / "missing" / "report.json", "{}")


def card_names_code(tmp_path: Path) -> None:
    """A model card naming a payload module: SC101, and the payload must not run."""
    from snncompile.frontend.load import load_model

    marker = tmp_path / "PWNED"
    (tmp_path / "payload.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\nimport torch\nNet = torch.nn.Linear\n"
    )
    torch.save({}, tmp_path / "model.pt")
    (tmp_path / "model.json").write_text(json.dumps({"arch": "payload.py:Net"}))
    try:
        load_model(tmp_path / "model.pt")
    finally:
        assert not marker.exists(), "the payload ran"


def output_over_input(tmp_path: Path) -> None:
    from snncompile.fileio import refuse_overwriting_inputs

    victim = tmp_path / "victim.pt"
    victim.write_bytes(b"weights")
    refuse_overwriting_inputs([("--json", tmp_path / "." / "victim.pt")], [victim])


def artifact(tmp_path: Path, *, key: bytes | None = None, source: Path | None = None) -> Path:
    from snncompile.targets.loihi.artifact import write_artifact
    from tests.targets.loihi.test_artifact import _program

    program, config = _program()
    out = tmp_path / "art"
    write_artifact(program, config, out, source=source, key=key)
    return out


def forge(out: Path, **changes: Any) -> None:
    """Edit manifest fields and recompute the plain digest, as a forger would."""
    from snncompile.targets.loihi.integrity import seal

    path = out / "manifest.json"
    manifest = json.loads(path.read_text())
    body = {k: v for k, v in manifest.items() if k != "integrity"}
    path.write_text(json.dumps(seal({**body, **changes}, None)))


def edit_manifest(out: Path, **changes: Any) -> None:
    path = out / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def artifact_case(tmp_path: Path, kind: str) -> None:
    from snncompile.targets.loihi import load
    from snncompile.targets.loihi.artifact import resolve_source

    if kind == "edited":
        out = artifact(tmp_path)
        edit_manifest(out, time_steps=1)
        load(out)
    elif kind == "forged":
        out = artifact(tmp_path)
        forge(out, time_steps=0)
        load(out)
    elif kind == "signature":
        out = artifact(tmp_path, key=b"the producer's key")
        load(out, key=b"another key")
    else:
        model = tmp_path / "model.snnir"
        model.write_text("graph @g stage=tensor {}\n")
        out = artifact(tmp_path, source=model)
        model.write_text("graph @other stage=tensor {}\n")
        resolve_source(out, json.loads((out / "manifest.json").read_text()))


def netx_to_fixed(tmp_path: Path) -> None:
    """``--target fixed`` of a netx file (IX830: a network has no quantized tensor form)."""
    from snncompile.config import CompileConfig
    from snncompile.driver import compile_file
    from tests.hostile.exchange_cases import _valid

    compile_file(_valid("netx"), CompileConfig(target="fixed"), output=tmp_path / "out.snnir")


def nir_threshold(tmp_path: Path, value: float = -1.0) -> None:
    """A NIR LIF whose threshold is ``value`` (IX831 at or below zero)."""
    import nir

    from snncompile.frontend.nir import read_nir
    from tests.hostile.exchange_cases import _valid

    graph = nir.read(str(_valid("nir")))
    graph.nodes["n1"].v_threshold = np.full_like(np.asarray(graph.nodes["n1"].v_threshold), value)
    path = tmp_path / "threshold.nir"
    nir.write(str(path), graph)
    read_nir(path)


def ray_without_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``run --ray auto`` with no Ray cluster running (IN608; was an internal error)."""
    from click.testing import CliRunner

    from snncompile.cli import cli

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    art = artifact(tmp_path)
    np.save(tmp_path / "x.npy", np.zeros((2, 8), np.float32))
    result = CliRunner().invoke(
        cli, ["run", str(art), "--input", str(tmp_path / "x.npy"), "--ray", "auto"]
    )
    assert result.exception is not None
    raise result.exception
