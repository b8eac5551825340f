r"""Recognizers: spiking-neuron modules of the supported libraries -> the IR ``lif`` op.

The torch frontend keeps every recognised neuron as one leaf node of the traced graph and asks
:func:`recognize` for its :class:`~snncompile.ir.ops.tensor.LifAttrs`. The table
:data:`RECOGNIZERS` is one explicit dict keyed by ``(module, class name)`` of the neuron class;
nothing registers itself by import side effect, and spikingjelly is never imported here (its
classes are recognised by name, so the frontend works with or without it installed and does not
pay its import time).

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

Only multi-step spikingjelly neurons are recognised (``step_mode='m'``, or the clock-driven
``MultiStep*`` classes): a single-step neuron called once per time step in a Python loop has no
place in a one-step graph and is reported as unsupported by the frontend. snntorch neurons are
single-step by design; :mod:`snncompile.frontend.snntorch` traces their per-step models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from snncompile.ir.ops.tensor import LifAttrs

__all__ = ["RECOGNIZERS", "NeuronInfo", "is_neuron", "recognize"]


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


def _snntorch(module: nn.Module) -> NeuronInfo:
    """``snntorch.Leaky`` -> ``lif`` with snntorch dynamics; other snntorch neurons are refused
    (FE701) by :func:`snncompile.frontend.snntorch.leaky_attrs`."""
    from snncompile.frontend.snntorch import leaky_attrs

    return NeuronInfo(leaky_attrs(module), False, "snntorch Leaky")


def _recognizer(fn: Callable[..., NeuronInfo], step_default: str, kind: str) -> Recognizer:
    """A recognizer calling ``fn`` with the class's default step mode and description."""

    def recognize_one(module: nn.Module) -> NeuronInfo:
        """Recognise one module."""
        return fn(module, step_default=step_default, kind=kind)

    return recognize_one


_ZOO = "snncompile.models.neuron"
_SJ_CLOCK = "spikingjelly.clock_driven.neuron"
_SJ_ACT = "spikingjelly.activation_based.neuron"
_SNNTORCH_NEURONS = "snntorch._neurons.neurons"

#: Neuron class ``(module, qualified name)`` -> recognizer. Subclasses are recognised through
#: their first base class found here (method resolution order).
RECOGNIZERS: dict[tuple[str, str], Recognizer] = {
    (_ZOO, "MultiStepLIFNode"): _recognizer(_lif, "m", "LIF (snncompile zoo)"),
    (_ZOO, "LIFNode"): _recognizer(_lif, "s", "LIF (snncompile zoo)"),
    (_ZOO, "MultiStepParametricLIFNode"): _recognizer(_plif, "m", "PLIF (snncompile zoo)"),
    (_ZOO, "ParametricLIFNode"): _recognizer(_plif, "s", "PLIF (snncompile zoo)"),
    (_SJ_CLOCK, "MultiStepLIFNode"): _recognizer(_lif, "m", "spikingjelly clock_driven LIF"),
    (_SJ_CLOCK, "MultiStepParametricLIFNode"): _recognizer(
        _plif, "m", "spikingjelly clock_driven PLIF"
    ),
    (_SJ_ACT, "LIFNode"): _recognizer(_lif, "s", "spikingjelly activation_based LIF"),
    (_SJ_ACT, "ParametricLIFNode"): _recognizer(_plif, "s", "spikingjelly activation_based PLIF"),
    # snntorch: every neuron is a leaf; Leaky is mapped, the others are refused (FE701)
    (_SNNTORCH_NEURONS, "SpikingNeuron"): _snntorch,
}


def _recognizer_for(module: nn.Module) -> Recognizer | None:
    """The recognizer of the first class in ``module``'s MRO found in :data:`RECOGNIZERS`."""
    for cls in type(module).__mro__:
        found = RECOGNIZERS.get((cls.__module__, cls.__qualname__))
        if found is not None:
            return found
    return None


def is_neuron(module: nn.Module) -> bool:
    """Whether ``module`` is a neuron class of :data:`RECOGNIZERS` (or a subclass of one)."""
    return _recognizer_for(module) is not None


def recognize(module: nn.Module) -> NeuronInfo | None:
    """The :class:`NeuronInfo` of ``module``, or None if it is not a recognised neuron."""
    found = _recognizer_for(module)
    return None if found is None else found(module)
