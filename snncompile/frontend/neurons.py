r"""Recognizers: spiking-neuron modules of the supported libraries -> the IR ``lif`` op.

The torch frontend keeps every recognised neuron as one leaf node of the traced graph and asks
:func:`recognize` for its :class:`~snncompile.ir.ops.tensor.LifAttrs`. The table
:data:`RECOGNIZERS` is one explicit dict keyed by the public ``(module, class name)`` a library
exports its neuron under; a module's class is matched by identity with that export (so
spikingjelly 2.0's ``neuron/lif.py`` classes are found as well as 0.0.0.0.14's ``neuron.py``
ones), and only when the library is already imported: nothing registers itself by import side
effect, and spikingjelly is never imported here. A spikingjelly neuron class that is not in the
table is refused (FE704) rather than traced into.

Supported neurons and what they become (spikingjelly's semantics, SEMANTICS.md section 2,
except for snntorch's neuron; ``detach_reset`` and the surrogate only change gradients and are
ignored):

======================================================  ========================================
class                                                   IR ``lif`` attributes
======================================================  ========================================
``snncompile.models.neuron.MultiStepLIFNode``,          ``tau``, ``v_threshold``, ``v_reset``,
``LIFNode``; spikingjelly ``clock_driven.neuron.        ``decay_input`` read from the module
MultiStepLIFNode`` and ``activation_based.neuron.
LIFNode``
``snncompile.models.neuron.MultiStepParametricLIFNode`` ``decay = sigmoid(w)`` (evaluated in the
/ ``ParametricLIFNode``; spikingjelly ``clock_driven.    dtype of ``w``) and ``tau = 1/decay``
neuron.MultiStepParametricLIFNode`` and
``activation_based.neuron.ParametricLIFNode``
spikingjelly ``activation_based.neuron.IFNode``,        ``tau = inf``, ``decay_input = false``
``clock_driven.neuron.MultiStepIFNode``                 (``H = V + X``, bit-identical)
``snntorch.Leaky`` (every ``snntorch.SpikingNeuron``    ``dynamics='snntorch'``, ``decay =
is a leaf; the other classes are refused, FE701)        beta``, ``reset_mechanism``,
                                                        ``reset_delay``, ``v_threshold``; tensor
                                                        ``beta``/``threshold`` as ``decay_map``/
                                                        ``v_threshold_map`` (snntorch semantics,
                                                        :mod:`snncompile.frontend.snntorch`)
======================================================  ========================================

Exactness: for the fixed-tau LIF the ``lif`` kernel computes ``V + (X - (V - V_reset)) / tau``,
which is bit-identical to spikingjelly's ``V + (X - V) / tau`` when ``V_reset`` is 0 (as in all
four seed families). For the parametric LIF, ``decay`` carries ``sigmoid(w)`` itself and the kernel
multiplies by it (``V + (X - V) · decay``), as spikingjelly does, so spikes are bit-identical too;
``tau = 1/decay`` is informative (a later quantizer uses it) and is not exactly representable in
general. Known limit: with ``decay_input=False`` and ``V_reset = 0``, spikingjelly's clock-driven
neurons (and activation-based ones in training mode) evaluate ``V·(1 - 1/tau) + X`` while the
kernel evaluates ``V - V/tau + X``: equal in exact arithmetic, possibly one ulp apart in floats.

Only multi-step spikingjelly neurons are traced (``step_mode='m'``, the clock-driven
``MultiStep*`` classes, or a ``layer.MultiStepContainer`` around a single-step neuron): a
single-step neuron called on ``[T, B, ...]`` is refused with FE705, which names the option.
snntorch neurons are single-step by design; :mod:`snncompile.frontend.snntorch` traces their
per-step models.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from snncompile.diagnostics import error
from snncompile.ir.ops.tensor import LifAttrs

__all__ = ["RECOGNIZERS", "REFUSED_REASONS", "NeuronInfo", "is_neuron", "recognize"]


@dataclass(frozen=True)
class NeuronInfo:
    """What the frontend needs from a recognised neuron.

    Attributes:
        attrs: the IR ``lif`` attributes.
        multi_step: whether the module takes ``[T, *]`` inputs (required by the frontend).
        kind: a short description of the recognised class (for diagnostics).
    """

    attrs: LifAttrs
    multi_step: bool
    kind: str


Recognizer = Callable[[nn.Module], NeuronInfo]


def _attr(module: nn.Module, name: str) -> Any:
    """A module attribute by name (neuron settings are plain, untyped attributes)."""
    return getattr(module, name)


def _reset(module: nn.Module) -> float | None:
    """``v_reset`` as a float, or None for a soft reset."""
    v_reset = getattr(module, "v_reset", 0.0)
    return None if v_reset is None else float(v_reset)


def _multi_step(module: nn.Module, default: str) -> bool:
    """Whether the neuron runs on ``[T, *]`` inputs."""
    return str(getattr(module, "step_mode", default)) == "m"


def _lif(module: nn.Module, *, step_default: str, kind: str) -> NeuronInfo:
    """A fixed-tau LIF: ``tau``, ``v_threshold``, ``v_reset``, ``decay_input`` attributes."""
    attrs = LifAttrs(
        tau=float(_attr(module, "tau")),
        v_threshold=float(_attr(module, "v_threshold")),
        v_reset=_reset(module),
        decay_input=bool(_attr(module, "decay_input")),
    )
    return NeuronInfo(attrs, _multi_step(module, step_default), kind)


def _plif(module: nn.Module, *, step_default: str, kind: str) -> NeuronInfo:
    """A parametric LIF: ``decay = sigmoid(w)`` in ``w``'s dtype, ``tau = 1 / decay``."""
    weight = _attr(module, "w")
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"parametric LIF {type(module).__name__} has no tensor 'w'")
    decay = float(weight.detach().sigmoid().item())
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"parametric LIF decay sigmoid(w) = {decay} is outside (0, 1]")
    attrs = LifAttrs(
        tau=1.0 / decay,
        v_threshold=float(_attr(module, "v_threshold")),
        v_reset=_reset(module),
        decay_input=bool(_attr(module, "decay_input")),
        decay=decay,
    )
    return NeuronInfo(attrs, _multi_step(module, step_default), kind)


def _if(module: nn.Module, *, step_default: str, kind: str) -> NeuronInfo:
    """An integrate-and-fire neuron: ``H = V + X``, the LIF charge without leak.

    spikingjelly's ``IFNode`` charges ``V + X``; the ``lif`` kernel with ``decay_input=False``
    and ``tau = inf`` computes ``V - (V - V_reset) / inf + X = V - 0 + X``, the same float
    operations, so spikes and potentials are bit-identical.
    """
    attrs = LifAttrs(
        tau=math.inf,
        v_threshold=float(_attr(module, "v_threshold")),
        v_reset=_reset(module),
        decay_input=False,
    )
    return NeuronInfo(attrs, _multi_step(module, step_default), kind)


def _snntorch(module: nn.Module) -> NeuronInfo:
    """``snntorch.Leaky`` -> ``lif`` with snntorch dynamics; other snntorch neurons are refused
    (FE701) by :func:`snncompile.frontend.snntorch.leaky_attrs`."""
    from snncompile.frontend.snntorch import leaky_attrs

    return NeuronInfo(leaky_attrs(module), False, "snntorch Leaky")


def _recognizer(fn: Callable[..., NeuronInfo], step_default: str, kind: str) -> Recognizer:
    """A recognizer calling ``fn`` with the class's default step mode and description."""

    def recognize_one(module: nn.Module) -> NeuronInfo:
        """Recognise one module."""
        _check_options(module, kind)
        return fn(module, step_default=step_default, kind=kind)

    return recognize_one


def _check_options(module: nn.Module, kind: str) -> None:
    """Refuse (FE705) the options of a recognised class that have no exact chip form."""
    precision = getattr(module, "_neuron_precision", None)
    if precision is not None:
        raise error(
            "FE705",
            f"{type(module).__name__} ({kind}) option precision={precision!r}: a reduced "
            f"storage/compute precision of the membrane potential has no exact form in the IR's "
            f"lif (float32/float64) or on the chip (24-bit integers)",
        )


_ZOO = "snncompile.models.neuron"
_SJ_CLOCK = "spikingjelly.clock_driven.neuron"
_SJ_ACT = "spikingjelly.activation_based.neuron"
_SNNTORCH = "snntorch"

#: Neuron classes by the public ``(module, name)`` they are exported under -> recognizer. A class
#: is matched by identity (``cls is module.name``), so it is found wherever its library defines
#: it: spikingjelly 0.0.0.0.14 defines ``activation_based.neuron.LIFNode`` in ``neuron.py``,
#: 2.0 in ``neuron/lif.py`` and re-exports it from the package. A module is only looked up when
#: it is already imported (a model holding one of its classes has imported it), so the frontend
#: never imports spikingjelly or snntorch itself. Subclasses defined outside the libraries are
#: recognised through their first base class found here (method resolution order); a
#: spikingjelly neuron class that is not in this table is refused (FE704), also when it
#: subclasses one that is (``ILIFNode(LIFNode)`` has other dynamics).
RECOGNIZERS: dict[tuple[str, str], Recognizer] = {
    (_ZOO, "MultiStepLIFNode"): _recognizer(_lif, "m", "LIF (snncompile zoo)"),
    (_ZOO, "LIFNode"): _recognizer(_lif, "s", "LIF (snncompile zoo)"),
    (_ZOO, "MultiStepParametricLIFNode"): _recognizer(_plif, "m", "PLIF (snncompile zoo)"),
    (_ZOO, "ParametricLIFNode"): _recognizer(_plif, "s", "PLIF (snncompile zoo)"),
    (_SJ_CLOCK, "MultiStepLIFNode"): _recognizer(_lif, "m", "spikingjelly clock_driven LIF"),
    (_SJ_CLOCK, "MultiStepParametricLIFNode"): _recognizer(
        _plif, "m", "spikingjelly clock_driven PLIF"
    ),
    (_SJ_CLOCK, "MultiStepIFNode"): _recognizer(_if, "m", "spikingjelly clock_driven IF"),
    (_SJ_ACT, "LIFNode"): _recognizer(_lif, "s", "spikingjelly activation_based LIF"),
    (_SJ_ACT, "ParametricLIFNode"): _recognizer(_plif, "s", "spikingjelly activation_based PLIF"),
    (_SJ_ACT, "IFNode"): _recognizer(_if, "s", "spikingjelly activation_based IF"),
    # snntorch: every neuron is a leaf; Leaky is mapped, the others are refused (FE701)
    (_SNNTORCH, "SpikingNeuron"): _snntorch,
}

#: Why a spikingjelly neuron class has no exact chip form (FE704); classes not listed get
#: :data:`_DEFAULT_REASON`.
REFUSED_REASONS: dict[str, str] = {
    "ILIFNode": "its charge adds an inhibitory trace to the LIF equations",
    "LIAFNode": "it outputs an analog activation besides the spikes",
    "QIFNode": "its charge is quadratic in the potential",
    "EIFNode": "its charge is exponential in the potential",
    "IzhikevichNode": "it has a second (adaptation) state variable",
    "AdaptBaseNode": "it has a second (adaptation) state variable",
    "KLIFNode": "its potential passes through a learnable nonlinearity before firing",
    "GatedLIFNode": "its decay, reset and input are learnable gates",
    "CUBALIFNode": "its current has a second decay the IR's lif does not carry",
    "PSN": "each step's potential is a learned combination of all time steps' inputs",
    "MaskedPSN": "each step's potential is a learned combination of several steps' inputs",
    "SlidingPSN": "each step's potential is a learned combination of several steps' inputs",
    "HalfThresholdIFNode": "it fires at half its threshold with a changed reset",
    "SimpleIFNode": "it is the simplified training-speed variant (use IFNode)",
    "SimpleLIFNode": "it is the simplified training-speed variant (use LIFNode)",
    "NonSpikingIFNode": "it outputs its potential, not spikes",
    "NonSpikingLIFNode": "it outputs its potential, not spikes",
}
_DEFAULT_REASON = "its dynamics are not a LIF, parametric LIF or IF neuron with one state"


def _public_class(module: str, name: str) -> type | None:
    """The class exported as ``module.name`` when ``module`` is already imported, else None."""
    loaded = sys.modules.get(module)
    found = getattr(loaded, name, None) if loaded is not None else None
    return found if isinstance(found, type) else None


def _zoo_classes() -> dict[type, Recognizer]:
    from snncompile.models import neuron as zoo

    return {
        getattr(zoo, name): found for (module, name), found in RECOGNIZERS.items() if module == _ZOO
    }


def _library_classes() -> dict[type, Recognizer]:
    """The recognised classes of the libraries imported so far, by identity."""
    found: dict[type, Recognizer] = {}
    for (module, name), recognizer in RECOGNIZERS.items():
        if module != _ZOO:
            cls = _public_class(module, name)
            if cls is not None:
                found.setdefault(cls, recognizer)
    return found


def _is_spikingjelly_neuron_class(cls: type) -> bool:
    """Whether ``cls`` is a neuron class defined by spikingjelly (in a ``neuron`` module)."""
    parts = cls.__module__.split(".")
    return parts[0] == "spikingjelly" and "neuron" in parts and issubclass(cls, nn.Module)


def _refuse(cls: type) -> Recognizer:
    """A recognizer that refuses ``cls`` (FE704) with the reason it has no exact chip form."""

    def refuse(module: nn.Module) -> NeuronInfo:
        """Refuse one module."""
        reason = REFUSED_REASONS.get(cls.__name__, _DEFAULT_REASON)
        shown = type(module).__name__
        via = "" if type(module) is cls else f" (through its base class {cls.__name__})"
        raise error(
            "FE704",
            f"spikingjelly neuron {cls.__module__}.{cls.__qualname__}{via} has no exact chip "
            f"form: {reason}; {shown} cannot be compiled",
        )

    return refuse


def _recognizer_for(module: nn.Module) -> Recognizer | None:
    """The recognizer of ``module``'s class: the first class of its MRO that is a recognised
    class (by identity), or a refusal when that first match is an unrecognised spikingjelly
    neuron class."""
    known = {**_zoo_classes(), **_library_classes()}
    for cls in type(module).__mro__:
        found = known.get(cls)
        if found is not None:
            return found
        if _is_spikingjelly_neuron_class(cls):
            return _refuse(cls)
    return None


#: spikingjelly containers that run a single-step module over ``[T, *]`` inputs, step by step.
MULTI_STEP_CONTAINERS = (
    ("spikingjelly.activation_based.layer", "MultiStepContainer"),
    ("spikingjelly.clock_driven.layer", "MultiStepContainer"),
)


def _single_step_inside(module: nn.Module) -> nn.Module | None:
    """The one neuron of a spikingjelly ``MultiStepContainer`` holding exactly one neuron."""
    containers = [_public_class(m, n) for m, n in MULTI_STEP_CONTAINERS]
    if not any(c is not None and type(module) is c for c in containers):
        return None
    children = list(module.children())
    if len(children) == 1 and _recognizer_for(children[0]) is not None:
        return children[0]
    return None


def is_neuron(module: nn.Module) -> bool:
    """Whether ``module`` is a neuron class of :data:`RECOGNIZERS` (or a subclass of one)."""
    return _recognizer_for(module) is not None or _single_step_inside(module) is not None


def recognize(module: nn.Module) -> NeuronInfo | None:
    """The :class:`NeuronInfo` of ``module``, or None if it is not a recognised neuron.

    A ``MultiStepContainer`` around one single-step neuron runs it over ``[T, *]`` step by step,
    which is the neuron's multi-step form: its info with ``multi_step=True``.

    Raises:
        UnsupportedOpError FE704: a spikingjelly neuron class without an exact chip form.
        UnsupportedOpError FE705: an option of a recognised class without an exact form.
    """
    inner = _single_step_inside(module)
    if inner is not None:
        info = recognize(inner)
        assert info is not None
        if info.multi_step:
            raise error(
                "FE705",
                f"{type(inner).__name__} ({info.kind}) option step_mode='m' inside a "
                f"MultiStepContainer: the container would loop over T and the neuron again",
            )
        return dataclasses.replace(info, multi_step=True)
    found = _recognizer_for(module)
    return None if found is None else found(module)
