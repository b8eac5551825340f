"""How tools discretise NIR's continuous-time neurons: the conventions the NIR import knows.

A NIR file stores ODE parameters only (``tau``, ``r``, ``v_leak``, ``v_threshold``, ...); the time
step, the integration scheme, the reset and the threshold comparison are chosen by whoever runs
it, and every tool chooses differently (docs/nir.md, /shared/reference/nir.md section 1.3). A
:class:`Convention` names one such choice; :data:`CONVENTIONS` holds the ones read from each
tool's public source (their own NIR import/export and neuron code):

- ``snncompile``: what the ``nir`` target writes (and records in the file): ``dt = 1``, forward
  Euler, fire on ``>=``, the reset recorded per neuron.
- ``snntorch`` (1.0.0, ``snntorch/export_nir.py``): ``dt = 1e-4`` hard-coded,
  ``tau = dt / (1 - beta)``, ``r = tau / dt``, so forward Euler gives back ``beta``; its import
  uses ``reset_mechanism="zero"`` (reset to 0) and its Heaviside fires on ``mem > threshold``.
  ``Synaptic`` (CubaLIF) updates the current before the voltage.
- ``norse`` (1.1.0, ``norse/torch/utils/export_nir.py``): ``to_nir(..., dt=1e-3)`` writes
  ``tau = dt / tau_mem_inv`` (``dt · tau_mem``, norse issue 411), so the per-step decay
  ``dt · tau_mem_inv`` of the torch model is forward Euler with step ``dt² = 1e-6``; ``r = 1``,
  reset to ``v_reset``, fire on ``v > v_th``; ``IAFCell`` (IF) adds its input unscaled. Its
  ``LIFCell`` (CubaLIF) updates the voltage from the *previous* current (a one-step delay).
- ``sinabs`` (``sinabs/nir.py`` + ``sinabs.layers``): one time step (``dt = 1``), exponential
  leak ``alpha = exp(-1/tau)`` with the input added unscaled (``norm_input=False``), fire on
  ``v >= threshold``, reset by subtraction (``MembraneSubtract``). sinabs' default
  ``MultiSpike`` (several spikes per step) and ``min_v_mem`` clamp have no IR form: the import
  follows ``SingleSpike`` without a lower bound.
- ``rockpool`` (``rockpool/nn/modules/torch/nir.py``, ``LIFTorch``): ``dt = 1e-3``, exponential
  decays for current and voltage, input added unscaled, fire on ``v > threshold``, subtract.
  Rockpool writes every neuron as ``CubaLIF`` whose synaptic current has memory
  (``exp(-dt/tau_syn) > 0``): the tensor IR has no current state, so such files are refused.
- ``lava-dl`` (the NIR paper's ``nir_to_lava.py``): ``dt = 1e-4``, ``dv = dt/tau``, current
  updated before the voltage (Loihi CUBA), fire on ``v > vth``, reset to 0. Exact when the
  current decays fully each step (``du = 1``: ``tau_syn = dt``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

__all__ = ["CONVENTIONS", "Convention", "convention"]


@dataclass(frozen=True)
class Convention:
    """One discretisation of NIR neurons.

    Attributes:
        name: the tool it follows.
        dt: the time step, in the file's time unit.
        reset: ``value`` (to ``v_reset``) or ``subtract`` (the threshold).
        integrator: ``forward-euler`` (leak ``dt/tau``) or ``exponential`` (``1 - e^(-dt/tau)``).
        strict: fire on ``v > threshold`` (NIR's ``Threshold``) rather than ``>=``.
        unit_gain: the input is added unscaled (``v' = a·v + r·I``) instead of forward Euler's
            ``dt/tau · r · I``; IF neurons then add ``r·I`` instead of ``dt · r · I``.
        if_unit_gain: IF neurons add ``r·I`` (norse's ``IAFCell``) even under forward Euler.
        current_first: CubaLIF updates the current before the voltage (Loihi, snntorch);
            otherwise the voltage sees the previous step's current.
    """

    name: str
    dt: float
    reset: str
    integrator: str = "forward-euler"
    strict: bool = True
    unit_gain: bool = False
    if_unit_gain: bool = False
    current_first: bool = True

    def leak(self, tau: float) -> float:
        """The fraction of ``v - v_leak`` lost per step for time constant ``tau``."""
        if self.integrator == "exponential":
            return -math.expm1(-self.dt / tau)
        return self.dt / tau

    def lif_gain(self, tau: float, r: float) -> float:
        """The factor on the input current of a leaky neuron."""
        return r if self.unit_gain else self.leak(tau) * r

    def if_gain(self, r: float) -> float:
        """The factor on the input current of a non-leaky (IF) neuron."""
        return r if self.unit_gain or self.if_unit_gain else self.dt * r

    def with_options(self, dt: float | None, reset: str | None) -> Convention:
        """This convention with ``dt`` and ``reset`` replaced where given."""
        return replace(self, dt=self.dt if dt is None else float(dt), reset=reset or self.reset)


#: The conventions by name (the ``nir_convention`` config field's choices).
CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention("snncompile", dt=1.0, reset="value", strict=False),
        Convention("snntorch", dt=1e-4, reset="value"),
        Convention("norse", dt=1e-6, reset="value", if_unit_gain=True, current_first=False),
        Convention(
            "sinabs",
            dt=1.0,
            reset="subtract",
            integrator="exponential",
            strict=False,
            unit_gain=True,
        ),
        Convention("rockpool", dt=1e-3, reset="subtract", integrator="exponential", unit_gain=True),
        Convention("lava-dl", dt=1e-4, reset="value"),
    )
}

#: A file that names no convention, read with an explicit ``dt`` and ``reset``: NIR's own
#: semantics (forward Euler, ``Threshold`` fires on ``>``).
GENERIC = Convention("nir", dt=1.0, reset="value")


def convention(name: str) -> Convention:
    """The convention called ``name`` (KeyError if unknown)."""
    return CONVENTIONS[name]
