r"""Spiking neurons with spikingjelly's exact semantics (no spikingjelly import needed).

The seed models were trained with spikingjelly: Spikformer, Spikingformer and the Spike-Driven
Transformer with ``spikingjelly.clock_driven.neuron.MultiStepLIFNode`` (0.0.0.0.12),
SpikingResformer with ``spikingjelly.activation_based.neuron.LIFNode`` / ``ParametricLIFNode``
(0.0.0.0.14). The classes here take the same constructor arguments, so the official model code
ports verbatim, and compute the same floating-point operations in the same order, so their spikes
and membrane potentials are bit-identical to spikingjelly's ``torch`` backend (tested in
``tests/models/test_neuron.py``). ``backend='cupy'`` is accepted and ignored: the CUDA kernels
compute the same equations.

Per element, with membrane state ``V`` (initially ``v_reset``, or 0 for soft reset) and input
``X[t]`` (the current of step ``t``):

Charge, ``decay_input=True``:

.. math:: H[t] = V[t-1] + \frac{1}{\tau}\left(X[t] - (V[t-1] - V_{reset})\right)

Charge, ``decay_input=False``:

.. math:: H[t] = V[t-1] - \frac{1}{\tau}\left(V[t-1] - V_{reset}\right) + X[t]

(when ``V_reset`` is 0 or ``None`` these are evaluated as ``V + (X - V)/tau`` and
``V*(1 - 1/tau) + X``, exactly as spikingjelly does). Fire:

.. math:: S[t] = \Theta(H[t] - V_{th}), \qquad \Theta(x) = 1 \text{ if } x \ge 0 \text{ else } 0

so a neuron spikes when ``H == v_threshold`` exactly. Reset, hard (``v_reset`` is a number):

.. math:: V[t] = H[t]\,(1 - S[t]) + V_{reset}\,S[t]

soft (``v_reset=None``): :math:`V[t] = H[t] - S[t]\,V_{th}`.

The parametric LIF replaces ``1/tau`` by ``sigmoid(w)`` with one learnable scalar ``w`` per
neuron layer, initialised to ``-log(init_tau - 1)``.

``detach_reset=True`` detaches ``S`` in the reset path (backward only; no effect on values).
In the backward pass the Heaviside is replaced by a surrogate derivative (:class:`Sigmoid`,
:class:`ATan`).

Multi-step neurons take ``[T, *]`` and loop over dim 0; the state persists across the ``T``
steps of one call and across calls until :func:`reset_net` (or ``neuron.reset()``) is called.
The state is a plain attribute, not a buffer: neurons have no state_dict entries except the
parametric neurons' ``w``. The settings (``tau``, ``v_threshold``, ``v_reset``, ``decay_input``,
``detach_reset``) are plain attributes that the compiler's frontend reads.

One spikingjelly quirk is reproduced: ``activation_based.LIFNode`` in eval mode with a hard reset
and ``decay_input=False`` evaluates the general form ``V - (V - V_reset)/tau + X`` even when
``V_reset`` is 0 (its training mode and the clock_driven API use ``V*(1 - 1/tau) + X``); the two
can differ in the last bit for tau other than a power of two.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

__all__ = [
    "ATan",
    "BaseNode",
    "LIFNode",
    "MultiStepLIFNode",
    "MultiStepParametricLIFNode",
    "ParametricLIFNode",
    "Sigmoid",
    "SurrogateFunction",
    "heaviside",
    "is_neuron",
    "reset_net",
]


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """Heaviside step with ``heaviside(0) = 1``: ``(x >= 0)`` in the dtype of ``x``."""
    return (x >= 0).to(x)


class _SigmoidSpike(torch.autograd.Function):
    """Heaviside forward; derivative of ``sigmoid(alpha x)`` backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, alpha: float) -> torch.Tensor:
        if x.requires_grad:
            ctx.save_for_backward(x)
            ctx.alpha = alpha
        return heaviside(x)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, None]:
        grad_x = None
        if ctx.needs_input_grad[0]:
            (x,) = ctx.saved_tensors
            sg = torch.sigmoid(x * ctx.alpha)
            grad_x = grad_output * (1.0 - sg) * sg * ctx.alpha
        return grad_x, None


class _ATanSpike(torch.autograd.Function):
    """Heaviside forward; derivative of ``atan(pi/2 alpha x)/pi + 1/2`` backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, alpha: float) -> torch.Tensor:
        if x.requires_grad:
            ctx.save_for_backward(x)
            ctx.alpha = alpha
        return heaviside(x)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, None]:
        grad_x = None
        if ctx.needs_input_grad[0]:
            (x,) = ctx.saved_tensors
            alpha = ctx.alpha
            grad_x = alpha / 2 / (1 + (math.pi / 2 * alpha * x).pow(2)) * grad_output
        return grad_x, None


class SurrogateFunction(nn.Module):
    """A spike function: Heaviside forward, smooth surrogate derivative backward.

    A module (as in spikingjelly) so it prints with the neuron; it has no parameters.
    """

    def __init__(self, alpha: float) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Sigmoid(SurrogateFunction):
    r"""Surrogate ``g(x) = sigmoid(alpha x)``: backward ``alpha g (1 - g)`` (default alpha 4)."""

    def __init__(self, alpha: float = 4.0) -> None:
        super().__init__(alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SigmoidSpike.apply(x, self.alpha)


class ATan(SurrogateFunction):
    r"""Surrogate ``g(x) = atan(pi/2 alpha x)/pi + 1/2``: backward
    ``alpha / 2 / (1 + (pi/2 alpha x)^2)`` (default alpha 2)."""

    def __init__(self, alpha: float = 2.0) -> None:
        super().__init__(alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ATanSpike.apply(x, self.alpha)


class BaseNode(nn.Module):
    """Common charge-fire-reset machinery; subclasses define :meth:`neuronal_charge`.

    Attributes:
        v_threshold: firing threshold (spike iff ``H >= v_threshold``).
        v_reset: reset potential (hard reset), or ``None`` for soft reset (subtract threshold).
        decay_input: whether the input is scaled by the decay (``1/tau``) too.
        detach_reset: detach the spike in the reset path (backward only).
        step_mode: ``'m'`` (input ``[T, *]``) or ``'s'`` (one step, input ``[*]``).
        v: the membrane potential after the last step (a float before the first step).
    """

    v: float | torch.Tensor

    def __init__(
        self,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: nn.Module | None = None,
        detach_reset: bool = False,
        decay_input: bool = True,
        step_mode: str = "m",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        super().__init__()
        if step_mode not in ("s", "m"):
            raise ValueError(f"step_mode must be 's' or 'm', not {step_mode!r}")
        self.v_threshold = float(v_threshold)
        self.v_reset = None if v_reset is None else float(v_reset)
        self.detach_reset = bool(detach_reset)
        self.decay_input = bool(decay_input)
        self.step_mode = step_mode
        self.backend = backend  # accepted for compatibility; always computed with torch ops
        self.store_v_seq = bool(store_v_seq)
        self.surrogate_function = (
            surrogate_function if surrogate_function is not None else Sigmoid(alpha=4.0)
        )
        self.v_seq: torch.Tensor | None = None
        self.reset()

    # --- state ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the membrane potential (back to ``v_reset``, or 0 for soft reset)."""
        self.v = 0.0 if self.v_reset is None else self.v_reset
        self.v_seq = None

    def _v_as_tensor(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(self.v, float):
            return torch.full_like(x, self.v)
        return self.v

    # --- dynamics -------------------------------------------------------------------------
    def neuronal_charge(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Return ``H`` from the input ``x`` and the previous potential ``v``."""
        raise NotImplementedError

    def neuronal_fire(self, h: torch.Tensor) -> torch.Tensor:
        """``S = Theta(H - v_threshold)`` (surrogate gradient in backward)."""
        return self.surrogate_function(h - self.v_threshold)

    def neuronal_reset(self, h: torch.Tensor, spike: torch.Tensor) -> torch.Tensor:
        """Potential after the step: hard reset to ``v_reset`` or soft reset by the threshold."""
        spike_d = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:
            return h - spike_d * self.v_threshold
        return (1.0 - spike_d) * h + spike_d * self.v_reset

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step: charge, fire, reset; returns the spikes and updates ``self.v``."""
        h = self.neuronal_charge(x, self._v_as_tensor(x))
        spike = self.neuronal_fire(h)
        self.v = self.neuronal_reset(h, spike)
        return spike

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``x_seq`` is ``[T, *]``; returns the ``[T, *]`` spikes (state carried over steps)."""
        if x_seq.dim() < 2:
            raise ValueError(f"multi-step input must be [T, *], got shape {tuple(x_seq.shape)}")
        spikes = []
        v_seq = []
        for t in range(x_seq.shape[0]):
            spikes.append(self.single_step_forward(x_seq[t]))
            if self.store_v_seq:
                assert isinstance(self.v, torch.Tensor)
                v_seq.append(self.v)
        if self.store_v_seq:
            self.v_seq = torch.stack(v_seq)
        return torch.stack(spikes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "m":
            return self.multi_step_forward(x)
        return self.single_step_forward(x)

    def extra_repr(self) -> str:
        return (
            f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, "
            f"detach_reset={self.detach_reset}, decay_input={self.decay_input}, "
            f"step_mode={self.step_mode}"
        )


class _LIFBase(BaseNode):
    """LIF with a fixed time constant ``tau`` (decay ``1/tau``)."""

    def __init__(
        self,
        tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: nn.Module | None = None,
        detach_reset: bool = False,
        step_mode: str = "m",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        if not float(tau) >= 1.0:
            raise ValueError(f"tau must be >= 1, got {tau}")
        super().__init__(
            v_threshold=v_threshold,
            v_reset=v_reset,
            surrogate_function=surrogate_function,
            detach_reset=detach_reset,
            decay_input=decay_input,
            step_mode=step_mode,
            backend=backend,
            store_v_seq=store_v_seq,
        )
        self.tau = float(tau)

    def neuronal_charge(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        tau = self.tau
        v_reset = 0.0 if self.v_reset is None else self.v_reset
        reset0 = v_reset == 0.0
        if self.decay_input:
            if reset0:
                return v + (x - v) / tau
            return v + (x - (v - v_reset)) / tau
        if reset0 and not self._general_no_decay_form():
            return v * (1.0 - 1.0 / tau) + x
        return v - (v - v_reset) / tau + x

    def _general_no_decay_form(self) -> bool:
        return False

    def extra_repr(self) -> str:
        return super().extra_repr() + f", tau={self.tau}"


class MultiStepLIFNode(_LIFBase):
    """spikingjelly ``clock_driven.neuron.MultiStepLIFNode``: LIF on ``[T, *]`` inputs.

    Default surrogate ``Sigmoid(alpha=4.0)`` (as spikingjelly 0.0.0.0.12). See the module
    docstring for the equations.
    """

    def __init__(
        self,
        tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: nn.Module | None = None,
        detach_reset: bool = False,
        backend: str = "torch",
        lava_s_cale: int = 1 << 6,
    ) -> None:
        super().__init__(
            tau=tau,
            decay_input=decay_input,
            v_threshold=v_threshold,
            v_reset=v_reset,
            surrogate_function=(
                surrogate_function if surrogate_function is not None else Sigmoid(alpha=4.0)
            ),
            detach_reset=detach_reset,
            step_mode="m",
            backend=backend,
        )


class LIFNode(_LIFBase):
    """spikingjelly ``activation_based.neuron.LIFNode`` (``step_mode`` ``'s'`` or ``'m'``).

    Defaults differ from spikingjelly's where the SpikingResformer code overrides them anyway:
    surrogate ``ATan(alpha=2.0)`` (spikingjelly: ``Sigmoid``) and ``step_mode='m'``
    (spikingjelly: ``'s'``). In eval mode with a hard reset and
    ``decay_input=False`` the charge uses the general form (see the module docstring), like
    spikingjelly's eval kernels.
    """

    def __init__(
        self,
        tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: nn.Module | None = None,
        detach_reset: bool = False,
        step_mode: str = "m",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        super().__init__(
            tau=tau,
            decay_input=decay_input,
            v_threshold=v_threshold,
            v_reset=v_reset,
            surrogate_function=(
                surrogate_function if surrogate_function is not None else ATan(alpha=2.0)
            ),
            detach_reset=detach_reset,
            step_mode=step_mode,
            backend=backend,
            store_v_seq=store_v_seq,
        )

    def _general_no_decay_form(self) -> bool:
        return not self.training and self.v_reset is not None


class _ParametricLIFBase(BaseNode):
    """LIF with a learnable decay ``sigmoid(w)`` (one scalar ``w`` per layer)."""

    def __init__(
        self,
        init_tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: nn.Module | None = None,
        detach_reset: bool = False,
        step_mode: str = "m",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        if not float(init_tau) > 1.0:
            raise ValueError(f"init_tau must be > 1, got {init_tau}")
        super().__init__(
            v_threshold=v_threshold,
            v_reset=v_reset,
            surrogate_function=surrogate_function,
            detach_reset=detach_reset,
            decay_input=decay_input,
            step_mode=step_mode,
            backend=backend,
            store_v_seq=store_v_seq,
        )
        self.w = nn.Parameter(torch.tensor(-math.log(float(init_tau) - 1.0)))

    @property
    def tau(self) -> float:
        """The current time constant ``1 / sigmoid(w)`` (a float; read-only)."""
        return float(1.0 / torch.sigmoid(self.w.detach()).item())

    def neuronal_charge(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        k = self.w.sigmoid()
        if self.decay_input:
            if self.v_reset is None or self.v_reset == 0.0:
                return v + (x - v) * k
            return v + (x - (v - self.v_reset)) * k
        if self.v_reset is None or self.v_reset == 0.0:
            return v * (1.0 - k) + x
        return v - (v - self.v_reset) * k + x

    def extra_repr(self) -> str:
        if self.w.is_meta:
            return super().extra_repr()
        return super().extra_repr() + f", tau={self.tau}"


class MultiStepParametricLIFNode(_ParametricLIFBase):
    """spikingjelly ``clock_driven.neuron.MultiStepParametricLIFNode`` (PLIF on ``[T, *]``)."""

    def __init__(
        self,
        init_tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: nn.Module | None = None,
        detach_reset: bool = False,
        backend: str = "torch",
    ) -> None:
        super().__init__(
            init_tau=init_tau,
            decay_input=decay_input,
            v_threshold=v_threshold,
            v_reset=v_reset,
            surrogate_function=(
                surrogate_function if surrogate_function is not None else Sigmoid(alpha=4.0)
            ),
            detach_reset=detach_reset,
            step_mode="m",
            backend=backend,
        )


class ParametricLIFNode(_ParametricLIFBase):
    """spikingjelly ``activation_based.neuron.ParametricLIFNode`` (``step_mode`` 's' or 'm').

    Defaults as the SpikingResformer code uses it: surrogate ``ATan(alpha=2.0)`` and
    ``step_mode='m'`` (spikingjelly's defaults: ``Sigmoid`` and ``'s'``).
    """

    def __init__(
        self,
        init_tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: nn.Module | None = None,
        detach_reset: bool = False,
        step_mode: str = "m",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        super().__init__(
            init_tau=init_tau,
            decay_input=decay_input,
            v_threshold=v_threshold,
            v_reset=v_reset,
            surrogate_function=(
                surrogate_function if surrogate_function is not None else ATan(alpha=2.0)
            ),
            detach_reset=detach_reset,
            step_mode=step_mode,
            backend=backend,
            store_v_seq=store_v_seq,
        )


def is_neuron(module: nn.Module) -> bool:
    """Whether ``module`` is one of this module's spiking neurons."""
    return isinstance(module, BaseNode)


def reset_net(net: nn.Module) -> None:
    """Reset the state of every stateful submodule of ``net`` (spikingjelly's ``reset_net``).

    Calls ``reset()`` on every submodule that has one (every neuron here, plus any custom
    stateful module of a family that defines ``reset``).
    """
    for module in net.modules():
        reset = getattr(module, "reset", None)
        if callable(reset):
            reset()
