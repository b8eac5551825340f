"""Bit-accurate Loihi 2 arithmetic, as Lava's fixed-point process models compute it.

These kernels are the integer meaning of the quantized ops (``lif_fixed``, ``shift``) and of
populations and projections at the network level; the reference simulator runs them and
``tests/targets/loihi`` checks them bit for bit against
Lava's own ``PyLifModelBitAcc`` and ``PyDenseModelBitAcc`` (``shared/reference/lava.md``
sections 1.2 and 2.1). All state is int64 with a leading batch axis.

LIF, per step (``du`` offset by one, truncation toward zero, u wraps, v saturates)::

    b  = bias_mant << bias_exp            (bias_exp >= 0)
       = bias_mant >> -bias_exp           (bias_exp < 0, floor)
    u  = trunc(u · (4096 - (du + 1)) / 4096) + (a << 6)     wrapped to (-2^23, 2^23]
    v  = trunc(v · (4096 - dv) / 4096) + u + b              clipped to ±(2^23 - 1)
    s  = v > (vth << 6)                                      strict
    v  = 0 where s                                           (u is not reset)

Dense synapses (8-bit weights; a matrix with mixed signs loses its least significant bit)::

    W' = effective_weights(W)             once: clip and truncate by sign mode
    a  = (W' @ s) << weight_exp           weight_exp >= 0
       = (W' @ s) >> -weight_exp          weight_exp < 0 (floor of the sum)

The accumulated current is sent one step later (a synapse costs one step of latency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CURRENT_LIMIT",
    "VOLTAGE_LIMIT",
    "LifFixed",
    "dense_current",
    "effective_weights",
    "quantize_weights",
    "shift",
    "trunc_div_4096",
]

#: u wraps into (-2^23, 2^23]; v saturates at ±(2^23 - 1).
CURRENT_LIMIT = 2**23
VOLTAGE_LIMIT = 2**23 - 1


def trunc_div_4096(x: np.ndarray) -> np.ndarray:
    """``sign(x) · (|x| >> 12)``: division by 4096 rounding toward zero, computed as
    ``(x + (4095 if x < 0 else 0)) >> 12`` on int64 in place of one temporary."""
    result = x >> 63  # -1 where negative, else 0
    result &= 4095
    result += x
    result >>= 12
    return result


def shift(x: np.ndarray, exponent: int) -> np.ndarray:
    """``x << e`` for ``e >= 0``, ``x >> -e`` (arithmetic: floor) otherwise."""
    return x << exponent if exponent >= 0 else x >> -exponent


def _wrap24(u: np.ndarray) -> np.ndarray:
    """Lava's u wrap: above 2^23 subtract 2^24; at or below -2^23 add 2^24."""
    u = np.where(u > CURRENT_LIMIT, u - 2 * CURRENT_LIMIT, u)
    return np.where(u <= -CURRENT_LIMIT, u + 2 * CURRENT_LIMIT, u)


@dataclass(frozen=True)
class LifFixed:
    """A LIF population's integer parameters, in Lava's units.

    Attributes:
        du: current decay (0..4095; 4095 = no current memory).
        dv: voltage decay (0..4096; 4096 = no voltage memory).
        vth: threshold mantissa (scalar or per neuron); the neuron spikes when ``v > vth << 6``.
        bias_mant: bias mantissa, scalar or per neuron.
        bias_exp: bias exponent.
    """

    du: int
    dv: int
    vth: np.ndarray | int
    bias_mant: np.ndarray | int = 0
    bias_exp: int = 0

    def bias(self) -> np.ndarray:
        return shift(np.asarray(self.bias_mant, dtype=np.int64), self.bias_exp)

    def step(self, u: np.ndarray, v: np.ndarray, a_in: np.ndarray) -> np.ndarray:
        """Advance ``u`` and ``v`` in place by one step with input ``a_in``; return spikes."""
        u[...] = _wrap24(trunc_div_4096(u * (4096 - (self.du + 1))) + (a_in.astype(np.int64) << 6))
        v[...] = np.clip(
            trunc_div_4096(v * (4096 - self.dv)) + u + self.bias(), -VOLTAGE_LIMIT, VOLTAGE_LIMIT
        )
        spikes = v > (np.asarray(self.vth, dtype=np.int64) << 6)
        v[spikes] = 0
        return spikes.astype(np.int64)


def effective_weights(weights: np.ndarray, num_weight_bits: int = 8) -> np.ndarray:
    """The weights Lava's Dense/Sparse actually use (clip, then truncate by sign mode).

    Sign mode from the matrix: excitatory (min >= 0) clips to [0, 255], inhibitory
    (max <= 0) to [-255, 0], mixed to [-256, 255] and drops one more bit:
    ``w = (w >> k) << k`` with ``k = 8 - num_weight_bits + (1 if mixed)`` (on |w| when
    inhibitory).
    """
    w = np.asarray(weights, dtype=np.int64)
    mixed = w.size > 0 and w.min() < 0 < w.max()
    inhibitory = w.size > 0 and not mixed and w.max() <= 0 and w.min() < 0
    k = 8 - num_weight_bits + (1 if mixed else 0)
    if mixed:
        return (np.clip(w, -256, 255) >> k) << k
    if inhibitory:
        return -((np.clip(-w, 0, 255) >> k) << k)
    return (np.clip(w, 0, 255) >> k) << k


def dense_current(weights: np.ndarray, spikes: np.ndarray, weight_exp: int = 0) -> np.ndarray:
    """``(W @ s) shifted by weight_exp`` for a batch of binary spikes ``[B, n_in]``.

    ``weights`` must already be :func:`effective_weights`. Any non-zero spike counts as 1.
    """
    binary = (spikes != 0).astype(np.int64)
    return shift(binary @ weights.T, weight_exp)


def quantize_weights(
    weights: np.ndarray, num_weight_bits: int = 8, *, exponent: int | None = None
) -> tuple[np.ndarray, int]:
    """Integer mantissas and an exponent with ``mantissa · 2^exponent ≈ weights``.

    The mantissas are exactly representable by Lava's Dense/Sparse (so
    ``effective_weights(m) == m``): for a matrix with mixed signs even values in [-256, 254]
    (one bit is lost), otherwise magnitudes up to 255 (fewer with ``num_weight_bits < 8``:
    multiples of ``2^(8 - num_weight_bits)``). The exponent is the smallest that keeps the largest
    magnitude representable, unless given (Conv has no exponent: pass ``exponent=0``, and
    values beyond the range are clipped). Rounding is to nearest. NaN or Inf is ML406: it is
    never cast.
    """
    w = np.asarray(weights, dtype=np.float64)
    if not np.all(np.isfinite(w)):  # never cast a NaN or Inf to an integer
        from snncompile.diagnostics import error

        raise error(
            "ML406",
            f"quantizing weights that hold {int(np.sum(~np.isfinite(w)))} NaN/Inf value(s) "
            "(after scaling)",
            node="weights",
        )
    mixed = w.size > 0 and w.min() < 0 < w.max()
    step = 2 ** (8 - num_weight_bits + (1 if mixed else 0))  # spacing of representable values
    limit = (256 if mixed else 255) // step * step  # largest representable magnitude
    largest = float(np.abs(w).max()) if w.size else 0.0
    if exponent is None:
        exponent = 0 if largest == 0 else int(np.ceil(np.log2(largest / limit)))
        while largest / 2.0**exponent > limit:  # guard against log rounding
            exponent += 1
    mantissa = np.round(w / 2.0**exponent / step) * step
    low = -256 if mixed else (-limit if w.size and w.max() <= 0 else 0)
    high = 254 if mixed else (0 if w.size and w.max() <= 0 and w.min() < 0 else limit)
    return np.clip(mantissa, low, high).astype(np.int64), exponent
