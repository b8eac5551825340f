"""``snncompile MODEL --target netx -o FILE.net``: sequential chains become lava-dl netx HDF5
files that read back to the same spikes; anything else stops with LV505 and its fix."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from snncompile.cli import main
from snncompile.config import CompileConfig
from snncompile.driver import compile_file
from snncompile.frontend.netx import read_netx
from snncompile.frontend.torch import trace
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.printer import print_graph
from snncompile.passes.manager import PassContext
from snncompile.passes.pipeline_delays import PipelineDelays
from tests.targets.loihi.test_netx import ConvChain, LinearChain, T

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "examples" / "digits"
STEPS = 16


def _chain_ir(tmp_path: Path, kind: type[nn.Module], shape: tuple[int, ...]) -> Path:
    """A seeded ``kind()`` (biases raised so that every layer fires) traced to text IR."""
    torch.manual_seed(0)
    model = kind()
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            p.data.add_(0.6)
    graph = trace(
        model.double().eval(), torch.zeros((2, *shape), dtype=torch.float64), time_steps=T
    )
    path = tmp_path / f"{kind.__name__}.snnir"
    path.write_text(print_graph(graph))
    return path


@pytest.mark.parametrize(
    ("kind", "shape", "layers"),
    [
        (LinearChain, (8,), ["input", "dense"]),
        (ConvChain, (1, 8, 8), ["input", "conv", "flatten", "dense"]),
    ],
)
def test_netx_target_writes_a_file_that_reads_back_to_the_same_spikes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: type[nn.Module],
    shape: tuple[int, ...],
    layers: list[str],
) -> None:
    source = _chain_ir(tmp_path, kind, shape)
    out = tmp_path / "chain.net"
    code = main([str(source), "--target", "netx", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"wrote {out} (netx {len(layers)} layers" in err
    with h5py.File(out, "r") as handle:
        types = [handle["layer"][str(i)]["type"][()][0].decode() for i in range(len(layers))]
        assert types == layers and len(handle["layer"]) == len(layers)
        assert handle.attrs["snncompile.input"] == "current"
    # the file, read back and pipelined, spikes as the compiled network does when it is fed
    # the host's input currents
    again = tmp_path / "again.net"
    compiled = compile_file(source, CompileConfig(target="netx"), output=again).pipeline.graph
    x = np.random.default_rng(1).random((STEPS, 1, *shape)) * 8
    record = run_layerwise(compiled, [x], record=True)
    populations = [n for n in compiled.nodes if n.op == "population"]
    entry = populations[0].inputs[0].producer
    assert entry is not None
    back = PipelineDelays().run(read_netx(out), PassContext())
    replay = run_layerwise(back, [record[entry.inputs[0].name]], record=True)
    read = [n for n in back.nodes if n.op == "population"]
    assert len(read) == len(populations)
    for want, got in zip(populations, read, strict=True):
        np.testing.assert_array_equal(
            replay[got.output.name], record[want.output.name], err_msg=want.name
        )
    assert record[populations[0].output.name].sum() > 0


def test_netx_target_refuses_attention_with_lv505_and_its_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sf.net"
    code = main([str(DIGITS / "spikingformer.pt"), "--target", "netx", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "error[LV505]" in err and "matmul_coincidence" in err
    assert "fix:" in err and "--target loihi" in err
    assert not out.exists()


def test_netx_target_needs_an_output_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _chain_ir(tmp_path, LinearChain, (8,))
    code = main([str(source), "--target", "netx"])
    err = capsys.readouterr().err
    assert code == 1 and "error[CF201]" in err and "-o FILE.net" in err


@pytest.mark.parametrize(("kind", "shape"), [(LinearChain, (8,)), (ConvChain, (1, 8, 8))])
def test_exported_netx_file_compiles_again_to_the_same_file(
    tmp_path: Path, kind: type[nn.Module], shape: tuple[int, ...]
) -> None:
    """A netx file is already the fixed-point network: compiling it (``--target netx``,
    ``loihi``, ``check``) skips the tensor-level passes (it used to stop with PM301 in
    quantize-fixed-point) and writes the same layers again, bit for bit."""
    source = _chain_ir(tmp_path, kind, shape)
    first, second = tmp_path / "first.net", tmp_path / "second.net"
    assert main([str(source), "--target", "netx", "-o", str(first)]) == 0
    assert main([str(first), "--target", "netx", "-o", str(second)]) == 0
    with h5py.File(first, "r") as a, h5py.File(second, "r") as b:

        def datasets(handle: h5py.File) -> dict[str, np.ndarray]:
            out: dict[str, np.ndarray] = {}
            handle["layer"].visititems(
                lambda name, obj: (
                    out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
                )
            )
            return out

        want, got = datasets(a), datasets(b)
        assert sorted(want) == sorted(got)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    assert main(["check", str(first)]) == 0
    assert main([str(first), "--target", "loihi", "-o", str(tmp_path / "art")]) == 0
