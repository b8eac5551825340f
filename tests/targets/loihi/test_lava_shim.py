"""The Lava shim: lava-nc 0.10 imports on this Python, and a two-population LIF network runs
under Loihi2SimCfg(select_tag='fixed_pt') with exactly the spikes of Lava's integer equations
(lava.md section 1.2) as snncompile's bit-accurate kernels (snncompile.chip with the Loihi 2
model of targets.loihi.arch) compute them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from snncompile.chip import dense_current
from snncompile.targets.loihi import _lava
from snncompile.targets.loihi.arch import LOIHI2, effective_weights

pytestmark = [pytest.mark.lava, pytest.mark.timeout(180)]


def _reference_lif_chain(
    current: np.ndarray, weights: list[np.ndarray], du: int, dv: int, vth: int, bias: int
) -> list[np.ndarray]:
    """The same network through snncompile's bit-accurate kernels (one step per Dense hop)."""
    lif = LOIHI2.lif(du=du, dv=dv, vth=vth, bias_mant=bias)
    sizes = [current.shape[0]] + [w.shape[0] for w in weights]
    steps = current.shape[1]
    u = [np.zeros((1, n), np.int64) for n in sizes]
    v = [np.zeros((1, n), np.int64) for n in sizes]
    effective = [effective_weights(w) for w in weights]
    pending = [np.zeros((1, w.shape[0]), np.int64) for w in weights]
    spikes = [np.zeros((n, steps), np.int64) for n in sizes]
    for t in range(steps):
        inputs = [current[None, :, t].astype(np.int64), *pending]
        fired = [lif.step(u[k], v[k], inputs[k]) for k in range(len(sizes))]
        for k, s in enumerate(fired):
            spikes[k][:, t] = s[0]
        pending = [dense_current(w, fired[k]) for k, w in enumerate(effective)]
    return spikes


def test_two_population_network_is_bit_exact() -> None:
    rng = np.random.default_rng(7)
    steps = 12
    current = rng.integers(-2, 12, size=(6, steps))
    weights = [rng.integers(-40, 90, size=(5, 6))]
    got = _lava.run_lif_chain(current, weights, du=4095, dv=2048, vth=5, bias_mant=3)
    want = _reference_lif_chain(current, weights, du=4095, dv=2048, vth=5, bias=3)
    assert got[0].sum() > 0 and got[1].sum() > 0, "the test network must spike"
    for population, (g, w) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_array_equal(g, w, err_msg=f"population {population}")


def test_current_memory_and_odd_mixed_weights_are_bit_exact() -> None:
    rng = np.random.default_rng(11)
    current = rng.integers(0, 6, size=(4, 10))
    weights = [np.array([[3, -3, 5, 7], [-5, 9, 1, 1], [101, 77, -1, 0]])]
    got = _lava.run_lif_chain(current, weights, du=2048, dv=1024, vth=5)
    want = _reference_lif_chain(current, weights, du=2048, dv=1024, vth=5, bias=0)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_lava_status_reports_available() -> None:
    status = _lava.lava_status()
    assert status.available, status.reason
    expected_patch = 8 if sys.version_info >= (3, 11) else 0
    assert status.patched_fields in (0, expected_patch)  # 0 if imported before the hook counted


# --- the import hook --------------------------------------------------------------------------


def _var_model_path() -> Path:
    spec = importlib.util.find_spec("lava")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "magma/compiler/var_model.py"


def test_patch_rewrites_exactly_the_mutable_defaults() -> None:
    source = _var_model_path().read_text()
    patched, count = _lava.patch_var_model_source(source)
    assert count == source.count("ByteEncoder = ByteEncoder()") == 8
    assert "ByteEncoder = ByteEncoder()" not in patched
    assert patched.count("_snnc_field(default_factory=ByteEncoder)") == 8
    compile(patched, "var_model.py", "exec")
    lines = patched.splitlines()
    future = next(i for i, line in enumerate(lines) if line.startswith("from __future__"))
    assert "_snnc_field" in lines[future + 1]


def test_patch_is_a_no_op_on_fixed_source() -> None:
    fixed = (
        "from dataclasses import dataclass, field\n@dataclass\nclass A:\n"
        "    x: B = field(default_factory=B)\n"
    )
    assert _lava.patch_var_model_source(fixed) == (fixed, 0)


def test_hook_is_idempotent_and_patches_var_model_only_on_311() -> None:
    assert _lava.install_compat_hook()
    _lava.install_compat_hook()
    finders = [f for f in sys.meta_path if type(f).__name__ == "_CompatFinder"]
    assert len(finders) == 1
    assert (_lava.PATCHED_MODULE in _lava._patches()) == (sys.version_info >= (3, 11))


def test_start_method_patch() -> None:
    source = (
        "import platform\nif platform.system() != 'Windows':\n    mp.set_start_method('fork')\n"
    )
    patched, count = _lava.patch_start_method_source(source)
    assert count == 1 and "mp.set_start_method('fork', force=True)" in patched


def test_lava_imports_after_the_start_method_was_set() -> None:
    import subprocess

    code = (
        "import multiprocessing as mp; mp.set_start_method('spawn');"
        "from snncompile.targets.loihi._lava import lava_status;"
        "s = lava_status(); assert s.available, s.reason; print('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


def test_patched_module_imports() -> None:
    module = _lava.lava_module(_lava.PATCHED_MODULE)
    encoder = module.CoreEncoder()
    assert encoder.x is not module.CoreEncoder().x  # fresh default per instance


# --- numpy 2 -------------------------------------------------------------------------------------


def _lava_file(relative: str) -> Path:
    return _var_model_path().parents[2] / relative


def test_reshape_patch_passes_the_shape_positionally() -> None:
    source = _lava_file("magma/core/process/ports/ports.py").read_text()
    patched, count = _lava.patch_reshape_source(source)
    assert count == source.count("np.reshape, newshape=") == 2
    assert "newshape" not in patched
    compile(patched, "ports.py", "exec")
    # the rewritten expression on its own: a closure over the shape at creation time
    make = eval("(lambda _snnc_s: lambda a: np.reshape(a, _snnc_s))", {"np": np})
    shape = (2, 3)
    reshape = make(shape)
    shape = (6,)
    assert reshape(np.arange(6)).shape == (2, 3)


def test_netx_int_patch_keeps_the_one_element_check() -> None:
    source = _lava_file("lib/dl/netx/hdf5.py").read_text()
    patched, count = _lava.patch_netx_int_source(source)
    assert count == 2
    assert "int(np.asarray(layer_config['weight']).item())" in patched
    compile(patched, "hdf5.py", "exec")
    layer_config = {"weight": np.array([7]), "bias": np.array([[1, 2]])}
    assert eval("int(np.asarray(layer_config['weight']).item())", {"np": np, **locals()}) == 7
    with pytest.raises(ValueError):  # more than one element: refused, as int() did on numpy 1
        eval("int(np.asarray(layer_config['bias']).item())", {"np": np, **locals()})


def test_numpy2_patches_apply_exactly_on_numpy2() -> None:
    numpy2 = int(np.__version__.split(".")[0]) >= 2
    table = _lava._patches()
    assert (_lava.PORTS_MODULE in table) == numpy2 == (_lava.NETX_HDF5_MODULE in table)
    module = _lava.lava_module(_lava.PORTS_MODULE)
    assert module is not None
    if numpy2:
        assert _lava.PATCH_COUNTS.get(_lava.PORTS_MODULE) in (None, 2)  # None: loaded earlier
