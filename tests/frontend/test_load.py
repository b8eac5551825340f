"""Loading what users have: zoo names, checkpoints with cards, pickles only when trusted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from snncompile.cli import main
from snncompile.diagnostics import SnnCompileError
from snncompile.frontend.load import load_model, to_graph
from snncompile.frontend.simulate import simulate
from snncompile.models import create

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "digits"


def test_zoo_weights_are_seeded() -> None:
    a, b = load_model("zoo:sdt_digits", seed=3), load_model("zoo:sdt_digits", seed=3)
    c = load_model("zoo:sdt_digits", seed=4)
    wa, wb, wc = (
        next(iter(m.module.state_dict().values()))
        for m in (a, b, c)  # type: ignore[union-attr]
    )
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
    assert a.time_steps == 4 and a.input_shape == (1, 16, 16) and a.dataset == "digits"


def test_checkpoint_with_card_needs_no_arch() -> None:
    loaded = load_model(EXAMPLES / "spikingformer.pt")
    assert loaded.arch == "spikingformer_digits" and loaded.card is not None
    graph = to_graph(loaded)
    x = np.random.default_rng(0).random((2, 1, 16, 16), dtype=np.float32)
    logits = simulate(graph, x, time_steps=loaded.time_steps)
    assert logits.shape == (2, 10)


def test_bare_state_dict_without_arch_asks_for_it(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(create("sdt_digits").state_dict(), path)
    with pytest.raises(SnnCompileError) as info:
        load_model(path)
    assert info.value.code == "ML401" and "--arch" in info.value.message
    assert load_model(path, arch="sdt_digits").arch == "sdt_digits"


def test_pickled_module_needs_trust(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "whole.pt"
    torch.save(create("sdt_digits"), path)
    assert main(["check", str(path), "--arch", "sdt_digits"]) == 1
    err = capsys.readouterr().err
    assert "error[ML404]" in err and "--trust-pickle" in err
    loaded = load_model(path, trust_pickle=True, input_shape=(1, 16, 16))
    assert isinstance(loaded.module, torch.nn.Module)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04broken zip"])
def test_corrupt_or_empty_files_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    assert main([str(path), "--arch", "sdt_digits", "--target", "ir"]) == 1
    err = capsys.readouterr().err
    assert "error[ML402]" in err and "Traceback" not in err


def test_non_model_file_suffix_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    assert main([str(path), "--target", "ir"]) == 1
    assert "error[IN601]" in capsys.readouterr().err


def test_module_object_through_the_python_api() -> None:
    model = create("spikformer_digits")
    loaded = load_model(model, input_shape=(1, 16, 16), time_steps=4)
    assert to_graph(loaded).inputs[0].type.shape == (1, 16, 16)


def test_target_ir_writes_the_traced_model(tmp_path: Path) -> None:
    out = tmp_path / "sdt.snnir"
    assert main([str(EXAMPLES / "sdt.pt"), "--target", "ir", "-o", str(out)]) == 0
    text = out.read_text()
    header, _, graph = text.partition("\n")
    assert header == "# snncompile: time_steps=4 input_shape=1,16,16"  # T and shape recorded
    assert graph.startswith("graph @sdt stage=tensor {") and "lif(" in text
