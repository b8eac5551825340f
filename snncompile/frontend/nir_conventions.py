"""How tools discretise NIR's continuous-time neurons: the conventions the NIR import knows.

A NIR file stores ODE parameters only (``tau``, ``r``, ``v_leak``, ``v_threshold``, ...); the time
step, the integration scheme, the reset, the threshold comparison and how many spikes a neuron
may emit per step are chosen by whoever runs it, and every tool chooses differently (docs/nir.md,
/shared/reference/nir.md section 1.3). A :class:`Convention` names one such choice;
:data:`CONVENTIONS` holds the ones read from each tool's public source (its own NIR export,
import and neuron code). A field left ``None`` is one the tool's files cannot say: the import
needs it from the caller (or, with ``strict=False``, assumes :attr:`Convention.assumed` and
warns):

- ``snncompile``: what the ``nir`` target writes (and records in the file): ``dt = 1``, forward
  Euler, fire on ``>=``, the reset recorded per neuron.
- ``snntorch`` (1.0.0, ``snntorch/export_nir.py``): ``dt = 1e-4`` hard-coded,
  ``tau = dt / (1 - beta)``, ``r = tau / dt``, so forward Euler gives back ``beta``. The file
  does not say ``reset_mechanism`` (the export writes ``v_reset = 0`` for both): ``value`` is
  snntorch's ``zero``, ``subtract`` its ``subtract`` (the undecayed threshold, one step later).
  The neurons run snntorch's own ``Leaky`` update (the ``lif`` op's ``snntorch`` dynamics, exact),
  firing on ``mem > threshold``. ``Synaptic`` (CubaLIF) updates the current first.
- ``norse`` (1.1.0, ``norse/torch/utils/export_nir.py``): ``to_nir(..., dt)`` writes
  ``tau = dt / tau_mem_inv`` (``dt · tau_mem``, norse issue 411) and the file does not record
  ``dt``: the caller gives it, and the model's per-step decay ``dt · tau_mem_inv`` is forward
  Euler with step ``dt²``. ``r = 1``, reset to ``v_reset``, fire on ``v > v_th``; ``IAFCell``
  (IF) adds its input unscaled. ``LIFCell`` (CubaLIF) updates the voltage from the *previous*
  current (a one-step delay). Files of older norse versions (the NIR paper's) store
  ``tau = 1 / tau_mem_inv``: read them as plain NIR (``dt`` and ``reset`` given, no convention).
- ``sinabs`` (3.1, ``sinabs/nir.py`` + ``sinabs.layers``): one time step (``dt = 1``),
  exponential leak ``alpha = exp(-1/tau)`` with the input added unscaled (``norm_input=False``,
  as sinabs' own ``from_nir`` reads every LIF), fire on ``v >= threshold``, reset by subtraction.
  sinabs' default ``MultiSpike`` (several spikes per step) and the membrane floor its reader
  puts on IF (``min_v_mem = -threshold``) have no IR form; the file cannot say whether the
  source used them, so the caller states ``spikes='single'`` (``SingleSpike``, no floor).
  A source LIF with ``norm_input=True`` (the layer's default) scales its input by
  ``1 - alpha``, which the file cannot say either: ``input_gain='leak'``.
- ``rockpool`` (3.1, ``rockpool/nn/modules/torch/nir.py``): ``LIFNeuronTorch`` is written as
  ``LIF(tau, r = tau · e^(-dt/tau) / dt)``: ``r`` is rockpool's record of ``dt`` (solved back
  from it), not an input gain; the neuron decays ``v ← e^(-dt/tau) · v``, adds its input
  unscaled, fires ``floor(v / θ)`` spikes when ``v >= θ`` (up to ``max_spikes_per_dt``, 2^16 by
  default: ``spikes='single'`` states ``max_spikes_per_dt=1``) and subtracts ``θ`` per spike.
  ``LIFTorch`` is written as ``CubaLIF`` whose synaptic current has memory: refused.
- ``lava-dl`` (the NIR paper's ``nir_to_lava.py``): ``dt = 1e-4``, ``dv = dt/tau``, current
  updated before the voltage (Loihi CUBA), fire on ``v > vth``, reset to 0. Exact when the
  current decays fully each step (``du = 1``: ``tau_syn = dt``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

__all__ = ["CONVENTIONS", "Convention", "convention", "rockpool_dt"]

#: What each input gain means: ``euler`` ``k · r`` (forward Euler), ``r`` the file's ``r``,
#: ``unit`` 1 (``r`` is the tool's bookkeeping, not a gain), ``leak`` ``k · r`` under any
#: integrator (sinabs' ``norm_input``).
INPUT_GAINS = ("euler", "r", "unit", "leak")


@dataclass(frozen=True)
class Convention:
    """One discretisation of NIR neurons.

    Attributes:
        name: the tool it follows.
        dt: the time step, in the file's time unit (None: the file cannot say; the caller must).
        reset: ``value`` (to ``v_reset``) or ``subtract`` (the threshold); None: must be given.
        integrator: ``forward-euler`` (leak ``dt/tau``) or ``exponential`` (``1 - e^(-dt/tau)``).
        strict: fire on ``v > threshold`` (NIR's ``Threshold``) rather than ``>=``.
        input_gain: the factor on a leaky neuron's input (:data:`INPUT_GAINS`); None: must be
            given (sinabs' ``norm_input``).
        if_unit_gain: IF neurons add ``r·I`` instead of ``dt · r · I``.
        current_first: CubaLIF updates the current before the voltage (Loihi, snntorch);
            otherwise the voltage sees the previous step's current.
        spikes: ``single`` (at most one spike per step) or None: the tool's neurons may emit
            several (sinabs ``MultiSpike``, rockpool ``max_spikes_per_dt``) and clamp the
            membrane; the caller must state ``single``.
        dt_squared: the file's ``tau`` holds ``dt · tau_true`` (norse issue 411): the step is
            ``dt²``.
        dt_from_r: ``r = tau · e^(-dt/tau) / dt`` records ``dt`` (rockpool).
        dynamics: the ``lif`` dynamics the neurons become (``spikingjelly`` or ``snntorch``).
        assumed: what a non-strict import assumes for each open field, with a warning.
    """

    name: str
    dt: float | None
    reset: str | None
    integrator: str = "forward-euler"
    strict: bool = True
    input_gain: str | None = "euler"
    if_unit_gain: bool = False
    current_first: bool = True
    spikes: str | None = "single"
    dt_squared: bool = False
    dt_from_r: bool = False
    dynamics: str = "spikingjelly"
    assumed: tuple[tuple[str, str | float], ...] = ()

    def leak(self, tau: float) -> float:
        """The fraction of ``v - v_leak`` lost per step for time constant ``tau``."""
        assert self.dt is not None
        dt = self.dt * self.dt if self.dt_squared else self.dt
        if self.integrator == "exponential":
            return -math.expm1(-dt / tau)
        return dt / tau

    def lif_gain(self, tau: float, r: float) -> float:
        """The factor on the input current of a leaky neuron."""
        if self.input_gain == "unit":
            return 1.0
        if self.input_gain == "r":
            return r
        return self.leak(tau) * r

    def if_gain(self, r: float) -> float:
        """The factor on the input current of a non-leaky (IF) neuron."""
        if self.input_gain == "unit":
            return 1.0
        if self.input_gain == "r" or self.if_unit_gain:  # "leak" is a LIF option (norm_input)
            return r
        assert self.dt is not None
        return self.dt * r

    def with_options(
        self,
        dt: float | None = None,
        reset: str | None = None,
        spikes: str | None = None,
        input_gain: str | None = None,
    ) -> Convention:
        """This convention with the given fields replaced."""
        return replace(
            self,
            dt=self.dt if dt is None else float(dt),
            reset=reset or self.reset,
            spikes=spikes or self.spikes,
            input_gain=input_gain or self.input_gain,
        )


#: The conventions by name (the ``nir_convention`` config field's choices).
CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention("snncompile", dt=1.0, reset="value", strict=False),
        Convention(
            "snntorch", dt=1e-4, reset=None, dynamics="snntorch", assumed=(("reset", "value"),)
        ),
        Convention(
            "norse",
            dt=None,
            reset="value",
            if_unit_gain=True,
            current_first=False,
            dt_squared=True,
            assumed=(("dt", 1e-3),),
        ),
        Convention(
            "sinabs",
            dt=1.0,
            reset="subtract",
            integrator="exponential",
            strict=False,
            input_gain=None,
            if_unit_gain=True,
            spikes=None,
            assumed=(("spikes", "single"), ("input_gain", "r")),
        ),
        Convention(
            "rockpool",
            dt=None,
            reset="subtract",
            integrator="exponential",
            strict=False,
            input_gain="unit",
            spikes=None,
            dt_from_r=True,
            assumed=(("spikes", "single"),),
        ),
        Convention("lava-dl", dt=1e-4, reset="value"),
    )
}

#: A file that names no convention, read with an explicit ``dt`` and ``reset``: NIR's own
#: semantics (forward Euler, ``Threshold`` fires on ``>``).
GENERIC = Convention("nir", dt=1.0, reset="value")


def convention(name: str) -> Convention:
    """The convention called ``name`` (KeyError if unknown)."""
    return CONVENTIONS[name]


def rockpool_dt(tau: float, r: float) -> float | None:
    """The ``dt`` with ``r = tau · e^(-dt/tau) / dt`` (rockpool's export), or None.

    ``f(dt) = tau · e^(-dt/tau) / dt`` falls strictly from ``+inf`` to 0 on ``dt > 0``, so the
    root is unique: bisection on ``log dt`` to float64 precision.
    """
    if not (tau > 0 and r > 0 and math.isfinite(tau) and math.isfinite(r)):
        return None
    lo, hi = math.log(tau) - 60.0, math.log(tau) + 10.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        dt = math.exp(mid)
        if tau * math.exp(-dt / tau) / dt > r:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))
