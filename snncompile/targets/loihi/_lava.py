"""The one module that imports Lava (lava-nc, lava-dl). Everything else goes through it.

lava-nc 0.10.0 (the last release) declares Python < 3.11 and fails to import on 3.11:
``lava/magma/compiler/var_model.py`` declares dataclass fields with mutable defaults
(``x: ByteEncoder = ByteEncoder()``), which Python 3.11's dataclasses reject. Instead of editing
site-packages, :func:`install_compat_hook` puts an import hook on ``sys.meta_path`` that rewrites
exactly that module's source while it loads::

    x: ByteEncoder = ByteEncoder()   ->   x: ByteEncoder = _snnc_field(default_factory=ByteEncoder)

The same hook makes ``lava/magma/runtime/message_infrastructure/multiprocessing.py`` survive an
already chosen multiprocessing start method: it calls ``mp.set_start_method('fork')`` at import,
which raises "context has already been set" when anything (tqdm's lock, for one) touched
multiprocessing before; the hook adds ``force=True``.

On numpy >= 2 (measured with numpy 2.4 against the whole Lava test suite; docs/install.md) two
more rewrites make Lava run as it does on numpy 1.26:

- ``lava/magma/core/process/ports/ports.py`` reshapes port data with
  ``ft.partial(np.reshape, newshape=...)``; numpy 2.4 removed the ``newshape`` keyword, so every
  reshaping connection (Conv/flatten into Dense) failed inside a Lava child process. The hook
  passes the shape positionally (``np.reshape(a, shape)`` means the same in numpy 1 and 2).
- ``lava/lib/dl/netx/hdf5.py`` calls ``int(layer_config['weight'])`` (and ``'bias'``) on the
  one-element arrays h5py returns; numpy 2.4 raises "only 0-dimensional arrays can be converted
  to Python scalars". The hook rewrites them to ``int(np.asarray(...).item())``, which still
  raises for more than one element, as numpy 1 did.

No other numpy-2 change reaches Lava's fixed-point arithmetic: its integer models compute on
int32/int64 arrays (NEP 50 changes only mixes with Python or numpy *scalars*), and the Lava
bit-exactness tests pass unchanged on numpy 2 with these rewrites.

The hook only acts on these modules (var_model only on Python >= 3.11, the numpy rewrites only
on numpy >= 2) and leaves a source untouched when its pattern is absent (a fixed Lava), so it is
a no-op where Lava imports cleanly.

If Lava is absent the core package still imports; :func:`require_lava` raises LV501 saying how
to install it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from snncompile.diagnostics import error

__all__ = [
    "NETX_HDF5_MODULE",
    "NUMPY2",
    "PATCHED_MODULE",
    "PATCH_COUNTS",
    "PORTS_MODULE",
    "START_METHOD_MODULE",
    "LavaStatus",
    "install_compat_hook",
    "lava_module",
    "lava_status",
    "patch_netx_int_source",
    "patch_reshape_source",
    "patch_start_method_source",
    "patch_var_model_source",
    "require_lava",
    "run_lif_chain",
]

#: The Lava module with mutable dataclass defaults.
PATCHED_MODULE = "lava.magma.compiler.var_model"
#: The Lava module that sets the multiprocessing start method at import.
START_METHOD_MODULE = "lava.magma.runtime.message_infrastructure.multiprocessing"
#: The Lava module that reshapes port data with numpy's removed ``newshape`` keyword.
PORTS_MODULE = "lava.magma.core.process.ports.ports"
#: The lava-dl module that converts one-element arrays with ``int()``.
NETX_HDF5_MODULE = "lava.lib.dl.netx.hdf5"
#: Whether the numpy-2 rewrites apply (numpy >= 2).
NUMPY2 = int(np.__version__.split(".")[0]) >= 2

_MUTABLE_DEFAULT = re.compile(
    r"^(?P<indent>[ \t]+)(?P<name>\w+)\s*:\s*(?P<type>\w+)\s*=\s*(?P=type)\(\)\s*$",
    re.MULTILINE,
)


def patch_var_model_source(source: str) -> tuple[str, int]:
    """Rewrite ``name: T = T()`` dataclass defaults to ``default_factory=T``.

    Returns the new source and the number of fields rewritten (0: the source is unchanged).
    """
    new, count = _MUTABLE_DEFAULT.subn(
        r"\g<indent>\g<name>: \g<type> = _snnc_field(default_factory=\g<type>)", source
    )
    if count == 0:
        return source, 0
    # Import after any ``from __future__`` line, which must stay first.
    header = "from dataclasses import field as _snnc_field  # added by snncompile\n"
    lines = new.splitlines(keepends=True)
    insert_at = 0
    for i, line in enumerate(lines):
        if line.startswith("from __future__"):
            insert_at = i + 1
    lines.insert(insert_at, header)
    return "".join(lines), count


_START_METHOD = re.compile(r"mp\.set_start_method\((['\"])fork\1\)")


def patch_start_method_source(source: str) -> tuple[str, int]:
    """Rewrite ``mp.set_start_method('fork')`` to ``mp.set_start_method('fork', force=True)``."""
    return _START_METHOD.subn("mp.set_start_method('fork', force=True)", source)


_NEWSHAPE = re.compile(r"ft\.partial\(np\.reshape,\s*newshape=(?P<shape>[\w.]+)\)")


def patch_reshape_source(source: str) -> tuple[str, int]:
    """Rewrite ``ft.partial(np.reshape, newshape=S)`` to pass ``S`` positionally.

    ``np.reshape(a, S)`` is the same call in numpy 1 and 2; the keyword is gone in numpy 2.4.
    """
    return _NEWSHAPE.subn(r"(lambda _snnc_s: lambda a: np.reshape(a, _snnc_s))(\g<shape>)", source)


_INT_OF_CONFIG = re.compile(r"int\((?P<arg>layer_config\[(['\"])\w+\2\])\)")


def patch_netx_int_source(source: str) -> tuple[str, int]:
    """Rewrite ``int(layer_config['k'])`` to ``int(np.asarray(layer_config['k']).item())``.

    ``item()`` returns the one element of a size-1 array of any rank and raises for more, as
    ``int()`` did on numpy 1.
    """
    return _INT_OF_CONFIG.subn(r"int(np.asarray(\g<arg>).item())", source)


def _patches() -> dict[str, Callable[[str], tuple[str, int]]]:
    table: dict[str, Callable[[str], tuple[str, int]]] = {
        START_METHOD_MODULE: patch_start_method_source
    }
    if sys.version_info >= (3, 11):
        table[PATCHED_MODULE] = patch_var_model_source
    if NUMPY2:
        table[PORTS_MODULE] = patch_reshape_source
        table[NETX_HDF5_MODULE] = patch_netx_int_source
    return table


#: Module name -> number of rewrites the hook applied when it loaded the module.
PATCH_COUNTS: dict[str, int] = {}


class _PatchingLoader(importlib.machinery.SourceFileLoader):
    """Loads one patched Lava module from its file with the rewritten source."""

    def get_data(self, path: str) -> bytes:
        data = super().get_data(path)
        patch = _patches().get(self.name)
        if path.endswith(".py") and patch is not None:
            source, count = patch(data.decode("utf-8"))
            PATCH_COUNTS[self.name] = count
            return source.encode("utf-8")
        return data

    def path_stats(self, path: str) -> Any:
        raise OSError("no bytecode cache for the patched module")  # always compile the source


class _CompatFinder(importlib.abc.MetaPathFinder):
    """Routes only the patched modules through :class:`_PatchingLoader`."""

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _patches():
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            return None
        loader = _PatchingLoader(fullname, spec.origin)
        return importlib.util.spec_from_file_location(fullname, spec.origin, loader=loader)


def install_compat_hook() -> bool:
    """Install the import hook once. Returns True (it is installed)."""
    if not any(isinstance(f, _CompatFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _CompatFinder())
    return True


def require_lava() -> ModuleType:
    """Import Lava through the shim and return the ``lava`` package.

    Raises:
        ConfigError LV501: Lava is not installed.
        InternalError LV502: Lava is installed but fails to import.
    """
    install_compat_hook()
    try:
        lava = importlib.import_module("lava")
        importlib.import_module("lava.magma.core.run_configs")
        importlib.import_module("lava.proc.lif.process")
    except ModuleNotFoundError as exc:
        if exc.name is not None and (exc.name == "lava" or exc.name.startswith("lava.")):
            raise error(
                "LV501", f"the Lava backend needs lava-nc; importing it failed: {exc}"
            ) from exc
        raise error("LV502", f"Lava is missing a dependency: {exc}") from exc
    except Exception as exc:
        raise error("LV502", f"importing Lava failed: {type(exc).__name__}: {exc}") from exc
    return lava


@dataclass(frozen=True)
class LavaStatus:
    """Whether the Lava backend is usable, and why not when it is not."""

    available: bool
    reason: str | None
    patched_fields: int = 0


def lava_status(*, run_network: bool = True) -> LavaStatus:
    """Import Lava and (by default) run a tiny network under ``Loihi2SimCfg(fixed_pt)``.

    The network is a constant current source into one LIF population for three steps; the
    backend counts as available only if it spikes exactly when the integer formula says.
    """
    try:
        require_lava()
    except Exception as exc:  # reported as a reason, never raised from `info`
        return LavaStatus(False, str(exc).splitlines()[0])
    patched = PATCH_COUNTS.get(PATCHED_MODULE, 0)
    if not run_network:
        return LavaStatus(True, None, patched)
    try:
        ok, detail = _smoke_check()
    except Exception as exc:
        return LavaStatus(False, f"a tiny Lava network failed to run: {type(exc).__name__}: {exc}")
    return LavaStatus(ok, None if ok else detail, patched)


def lava_module(name: str) -> ModuleType:
    """Import the Lava module ``name`` (e.g. ``lava.proc.lif.process``) through the shim."""
    require_lava()
    return importlib.import_module(name)


def run_lif_chain(
    input_current: np.ndarray,
    weights: list[np.ndarray],
    *,
    du: int = 4095,
    dv: int = 0,
    vth: int = 10,
    bias_mant: int = 0,
    weight_exp: int = 0,
) -> list[np.ndarray]:
    """Run ``RingBuffer -> LIF -> (Dense -> LIF)*`` under ``Loihi2SimCfg(select_tag='fixed_pt')``.

    Args:
        input_current: integer currents ``[n0, T]`` injected straight into the first LIF's
            ``a_in`` (a source wired to a neuron adds no latency).
        weights: one ``[n_out, n_in]`` integer matrix per Dense projection.
        du, dv, vth, bias_mant: the LIF parameters of every population (Lava's units).
        weight_exp: the exponent of every Dense projection.

    Returns:
        The spikes of each population, ``[n, T]`` int arrays, recorded by sink ring buffers.
        The processes are always stopped, also when the run fails.
    """
    source_mod = lava_module("lava.proc.io.source")
    sink_mod = lava_module("lava.proc.io.sink")
    lif_mod = lava_module("lava.proc.lif.process")
    dense_mod = lava_module("lava.proc.dense.process")
    conditions = lava_module("lava.magma.core.run_conditions")
    configs = lava_module("lava.magma.core.run_configs")

    steps = int(input_current.shape[1])
    source = source_mod.RingBuffer(data=np.asarray(input_current, dtype=np.int32))
    populations = []
    sinks = []
    previous = None
    sizes = [input_current.shape[0]] + [w.shape[0] for w in weights]
    for index, size in enumerate(sizes):
        lif = lif_mod.LIF(shape=(size,), du=du, dv=dv, vth=vth, bias_mant=bias_mant, bias_exp=0)
        if previous is None:
            source.s_out.connect(lif.a_in)
        else:
            dense = dense_mod.Dense(
                weights=np.asarray(weights[index - 1], dtype=np.int32), weight_exp=weight_exp
            )
            previous.s_out.connect(dense.s_in)
            dense.a_out.connect(lif.a_in)
        sink = sink_mod.RingBuffer(shape=(size,), buffer=steps)
        lif.s_out.connect(sink.a_in)
        populations.append(lif)
        sinks.append(sink)
        previous = lif
    try:
        source.run(
            condition=conditions.RunSteps(num_steps=steps),
            run_cfg=configs.Loihi2SimCfg(select_tag="fixed_pt"),
        )
        return [np.asarray(sink.data.get(), dtype=np.int64) for sink in sinks]
    finally:
        source.stop()


def _smoke_check() -> tuple[bool, str]:
    """Two LIF populations; spikes must be those the integer LIF equations give."""
    # du=4095: u = a << 6; dv=2048: v = trunc(v / 2) + u; spike iff v > 5 << 6 = 320.
    # a = 3, 0, 3, 0, 3, 3 gives v = 192, 96, 240, 120, 252, 318: never above 320, so
    # population 0 stays silent and so does population 1.
    current = np.array([[3, 0, 3, 0, 3, 3]], dtype=np.int64)
    spikes = run_lif_chain(current, [np.array([[100]])], du=4095, dv=2048, vth=5)
    expected = [np.zeros((1, 6), dtype=np.int64), np.zeros((1, 6), dtype=np.int64)]
    strong = run_lif_chain(np.array([[6, 6, 6, 6]]), [np.array([[6]])], du=4095, dv=2048, vth=5)
    # a=6 -> u=384 > 320: fires every step, v reset to 0; population 1 gets 6 one step later.
    expected_strong = [np.ones((1, 4), dtype=np.int64), np.array([[0, 1, 1, 1]])]
    for got, want in zip([*spikes, *strong], [*expected, *expected_strong], strict=True):
        if not np.array_equal(got, want):
            return False, f"Lava spikes {got.tolist()} differ from the expected {want.tolist()}"
    return True, ""
