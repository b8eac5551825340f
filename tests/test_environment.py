"""The core installs into a current environment and works there without Lava.

- pyproject's core dependencies carry no upper pin that only Lava needs (numpy < 2, networkx);
- in an interpreter where ``import lava`` fails, `check`, compiling to every target that does
  not need Lava (``fixed``, ``ir``, ``loihi``, ``netx``, ``nir``, ``onnx``), ``run --backend
  sim|float``, and reading the NIR and ONNX exports back all work, and ``run --backend lava``
  stops with LV501;
- ``make test`` (CI) runs in the modern world: numpy 2 and spikingjelly 2.0.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _core_dependencies() -> dict[str, str]:
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    assert block is not None
    found = {}
    for requirement in re.findall(r'^\s*"([^"]+)"', block.group(1), re.MULTILINE):
        name = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()
        found[name] = requirement
    return found


def test_core_dependencies_have_no_lava_only_upper_pins() -> None:
    deps = _core_dependencies()
    assert "<" not in deps["numpy"], deps["numpy"]
    assert "networkx" not in deps or "<" not in deps["networkx"]
    assert not any(name.startswith("lava") for name in deps)


def test_loihi_requirements_do_not_cap_numpy_or_networkx() -> None:
    lines = (ROOT / "requirements" / "loihi.txt").read_text().splitlines()
    pins = [line for line in lines if line.startswith(("numpy", "networkx"))]
    assert pins and not any("<" in line for line in pins), pins


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="CI's .venv is the modern world")
def test_ci_runs_the_modern_world() -> None:
    assert int(np.__version__.split(".")[0]) >= 2
    assert importlib.metadata.version("spikingjelly").startswith("2.")


_WITHOUT_LAVA = r"""
import sys, importlib.abc

class NoLava(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "lava" or name.startswith("lava."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoLava())
from snncompile.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_LAVA, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_every_non_lava_path_works_without_lava(tmp_path: Path) -> None:
    model = str(ROOT / "examples" / "digits" / "spikingformer.pt")
    checked = _cli(tmp_path, "check", model, "--samples", "4", "--json", "c.json")
    assert checked.returncode in (0, 2), checked.stderr[-3000:]
    assert (tmp_path / "c.json").is_file()
    outputs = {
        "fixed": "m.snnir",
        "ir": "m.ir.snnir",
        "loihi": "m.loihi",
        "netx": "m.net",
        "nir": "m.nir",
        "onnx": "m.onnx",
    }
    for target, out in outputs.items():
        args = [model, "--target", target, "-o", out]
        if target == "nir":
            args.append("--nir-extensions")
        done = _cli(tmp_path, *args)
        if target == "netx" and done.returncode != 0:
            # netx holds sequential chains only: a refusal with its code, never a crash
            assert "error[" in done.stderr and "Traceback" not in done.stderr, done.stderr
            continue
        assert done.returncode == 0, (target, done.stderr[-3000:])
        assert (tmp_path / out).exists(), target
    for backend in ("sim", "float"):
        source = "m.loihi" if backend == "sim" else model
        ran = _cli(tmp_path, "run", source, "--backend", backend, "--limit", "8")
        assert ran.returncode == 0, (backend, ran.stderr[-3000:])
        assert "accuracy" in ran.stdout + ran.stderr
    for exported in ("m.nir", "m.onnx"):  # the exports read back
        back = _cli(tmp_path, "check", exported, "--samples", "4")
        assert back.returncode in (0, 2), (exported, back.stderr[-3000:])
    lava = _cli(tmp_path, "run", "m.loihi", "--backend", "lava", "--limit", "1")
    assert lava.returncode != 0 and "LV501" in lava.stderr, lava.stderr[-3000:]
