"""Golden integer traces of the bit-accurate kernels (values from lava.md, measured in Lava)."""

from __future__ import annotations

import numpy as np
import pytest

from snncompile.chip import LifNeuron, dense_current
from snncompile.targets.loihi.arch import LOIHI2, effective_weights


def _run(lif: LifNeuron, currents: list[int]) -> tuple[list[int], list[int], list[int]]:
    u = np.zeros((1, 1), np.int64)
    v = np.zeros((1, 1), np.int64)
    us, vs, ss = [], [], []
    for a in currents:
        s = lif.step(u, v, np.array([[a]]))
        us.append(int(u[0, 0]))
        vs.append(int(v[0, 0]))
        ss.append(int(s[0, 0]))
    return us, vs, ss


def test_worked_example_with_negative_rounding() -> None:
    # lava.md 1.4: du=2048 (factor 2047/4096), dv=1024 (3072/4096), vth=5 (320)
    us, vs, ss = _run(LOIHI2.lif(du=2048, dv=1024, vth=5), [3, 0, 3, 0, -2, 0])
    assert us == [192, 95, 239, 119, -69, -34]
    assert vs == [192, 239, 0, 119, 20, -19]
    assert ss == [0, 0, 1, 0, 0, 0]


def test_current_wraps_at_24_bits() -> None:
    us, _, _ = _run(LOIHI2.lif(du=0, dv=0, vth=2**16), [40000] * 4)
    assert us == [2560000, 5119375, 7678125, -6540966]


def test_voltage_saturates() -> None:
    # vth = 131072: vth << 6 = 2^23 is above the largest voltage, so the neuron never fires
    _, vs, _ = _run(LOIHI2.lif(du=4095, dv=0, vth=131072), [100000] * 3)
    assert vs[-1] == 2**23 - 1


@pytest.mark.parametrize(
    ("mant", "exp", "bias"), [(-100, -3, -13), (100, -3, 12), (-7, -1, -4), (5, 6, 320)]
)
def test_bias_shift_floors(mant: int, exp: int, bias: int) -> None:
    assert int(LOIHI2.lif(du=0, dv=0, vth=0, bias_mant=mant, bias_exp=exp).bias()) == bias


def test_threshold_is_strict() -> None:
    # a = 5 -> u = v = 320 == vth << 6: no spike; a = 6 -> 384 > 320: spike
    assert _run(LOIHI2.lif(du=4095, dv=4096, vth=5), [5, 6])[2] == [0, 1]


@pytest.mark.parametrize(
    ("weights", "bits", "expected"),
    [
        ([3, -3, 5, -5, 255, -256], 8, [2, -4, 4, -6, 254, -256]),
        ([3, 5, 255], 8, [3, 5, 255]),
        ([-3, -5, -255], 8, [-3, -5, -255]),
        ([3, 5, 255], 6, [0, 4, 252]),
        ([300, -300, 1000], 8, [254, -256, 254]),
    ],
)
def test_effective_weights(weights: list[int], bits: int, expected: list[int]) -> None:
    assert effective_weights(np.array(weights), bits).tolist() == expected


def test_dense_current_shifts_the_sum() -> None:
    w = effective_weights(np.array([[3], [5], [255]]))
    assert dense_current(w, np.array([[1]]), -1).tolist() == [[1, 2, 127]]
    three = effective_weights(np.array([[3, 3, 3], [5, 5, 5]]))
    assert dense_current(three, np.array([[1, 1, 1]]), -1).tolist() == [[4, 7]]
    assert dense_current(w, np.array([[7]]), 0).tolist() == [[3, 5, 255]]  # binary: payload ignored


@pytest.mark.parametrize("bits", [8, 6, 4])
@pytest.mark.parametrize("sign", ["mixed", "positive", "negative"])
def test_quantized_weights_are_what_lava_uses(bits: int, sign: str) -> None:
    from snncompile.targets.loihi.arch import quantize_weights

    rng = np.random.default_rng(bits)
    w = rng.normal(0, 0.02, size=(16, 8))
    if sign == "positive":
        w = np.abs(w)
    elif sign == "negative":
        w = -np.abs(w)
    mantissa, exponent = quantize_weights(w, bits)
    assert np.array_equal(effective_weights(mantissa, bits), mantissa)  # representable as is
    step = 2.0 ** (8 - bits + (1 if sign == "mixed" else 0))
    error = np.abs(mantissa * 2.0**exponent - w)
    assert error.max() <= step * 2.0**exponent / 2 + 1e-12  # round to nearest
    assert np.abs(mantissa).max() > 64  # the range is used


def test_fixed_exponent_clips() -> None:
    from snncompile.targets.loihi.arch import quantize_weights

    mantissa, exponent = quantize_weights(np.array([0.4, 300.0, 2.0]), exponent=0)
    assert exponent == 0 and mantissa.tolist() == [0, 255, 2]
