"""IR value types: tensor shapes, element dtypes, spike domains and fixed-point formats.

A value of the IR describes ONE time step of ONE sample: time and batch are run parameters,
never axes of a type (SEMANTICS.md section 1).

Text forms (used by the printer and parser)::

    tensor<16x8x8xf32, binary>          shape (16, 8, 8), float32, spike domain binary
    tensor<64xf32, count(3)>            integers 0..3 (a sum of three binary sources)
    tensor<f32, real>                   a scalar
    tensor<10xi32, int, fixp<24, 6>>    24-bit integers carrying 6 fraction bits
    tensor<4x4xf32>                     domain not analysed yet
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

__all__ = ["DTYPES", "DomainKind", "FixedPoint", "SpikeDomain", "TensorType"]

#: Element dtypes the IR knows, text name -> numpy dtype name.
DTYPES: dict[str, str] = {
    "f32": "float32",
    "f64": "float64",
    "i8": "int8",
    "i16": "int16",
    "i32": "int32",
    "i64": "int64",
    "u8": "uint8",
    "bool": "bool",
}


class DomainKind(enum.Enum):
    """The value sets a spike-domain analysis distinguishes (SEMANTICS.md section 3)."""

    BINARY = "binary"  # {0, 1}: a spiking neuron's output, OR/AND of binaries
    COUNT = "count"  # integers 0..k: a sum of k binary values
    INT = "int"  # signed integers: integer-weighted sums of the above
    REAL = "real"  # floats: images, currents, anything scaled by a real


@dataclass(frozen=True, order=True)
class SpikeDomain:
    """The set of values a tensor may hold.

    ``bound`` is ``k`` for ``count(k)`` (values 0..k) and ``None`` otherwise. Domains form a
    chain binary ⊂ count(k) ⊂ int ⊂ real; :meth:`join` is the least upper bound.
    """

    kind: DomainKind
    bound: int | None = None

    def __post_init__(self) -> None:
        if self.kind is DomainKind.COUNT:
            if self.bound is None or self.bound < 1:
                raise ValueError(f"count domain needs a bound >= 1, got {self.bound!r}")
        elif self.bound is not None:
            raise ValueError(f"{self.kind.value} domain takes no bound")

    @staticmethod
    def binary() -> SpikeDomain:
        return SpikeDomain(DomainKind.BINARY)

    @staticmethod
    def count(bound: int) -> SpikeDomain:
        return SpikeDomain(DomainKind.COUNT, bound)

    @staticmethod
    def integer() -> SpikeDomain:
        return SpikeDomain(DomainKind.INT)

    @staticmethod
    def real() -> SpikeDomain:
        return SpikeDomain(DomainKind.REAL)

    @property
    def max_value(self) -> float:
        """The largest value in the domain (inf for int and real)."""
        if self.kind is DomainKind.BINARY:
            return 1.0
        if self.kind is DomainKind.COUNT:
            assert self.bound is not None
            return float(self.bound)
        return math.inf

    def _rank(self) -> int:
        return [DomainKind.BINARY, DomainKind.COUNT, DomainKind.INT, DomainKind.REAL].index(
            self.kind
        )

    def join(self, other: SpikeDomain) -> SpikeDomain:
        """Least upper bound: the smallest domain holding the values of both."""
        if self.kind is DomainKind.COUNT and other.kind is DomainKind.COUNT:
            assert self.bound is not None and other.bound is not None
            return SpikeDomain.count(max(self.bound, other.bound))
        return self if self._rank() >= other._rank() else other

    def __str__(self) -> str:
        if self.kind is DomainKind.COUNT:
            return f"count({self.bound})"
        return self.kind.value


@dataclass(frozen=True)
class FixedPoint:
    """A signed or unsigned fixed-point integer format: ``value = mantissa * 2**-frac_bits``.

    ``bits`` counts all bits including the sign bit; the representable mantissas are
    ``[-2**(bits-1), 2**(bits-1) - 1]`` when signed, ``[0, 2**bits - 1]`` otherwise.
    """

    bits: int
    frac_bits: int = 0
    signed: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 64:
            raise ValueError(f"fixed-point width must be 1..64 bits, got {self.bits}")

    @property
    def min_mantissa(self) -> int:
        return -(2 ** (self.bits - 1)) if self.signed else 0

    @property
    def max_mantissa(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2**self.bits - 1

    def __str__(self) -> str:
        sign = "" if self.signed else ", unsigned"
        return f"fixp<{self.bits}, {self.frac_bits}{sign}>"


@dataclass(frozen=True)
class TensorType:
    """The type of an IR value: shape (per sample, per time step), dtype, domain, format.

    Attributes:
        shape: dimensions of one sample at one time step; ``()`` for a scalar.
        dtype: a key of :data:`DTYPES`.
        domain: the spike domain, or ``None`` before ``analyze-spike-domain`` ran.
        fixed: the fixed-point format at the network level after quantization, else ``None``.
    """

    shape: tuple[int, ...]
    dtype: str = "f32"
    domain: SpikeDomain | None = None
    fixed: FixedPoint | None = None

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}; known: {', '.join(DTYPES)}")
        if any((not isinstance(d, int)) or d < 0 for d in self.shape):
            raise ValueError(f"shape dimensions must be non-negative ints, got {self.shape!r}")

    @property
    def numel(self) -> int:
        """Number of elements (neurons, for a population's output)."""
        return math.prod(self.shape)

    @property
    def rank(self) -> int:
        return len(self.shape)

    def with_domain(self, domain: SpikeDomain | None) -> TensorType:
        return TensorType(self.shape, self.dtype, domain, self.fixed)

    def with_shape(self, shape: tuple[int, ...]) -> TensorType:
        return TensorType(tuple(shape), self.dtype, self.domain, self.fixed)

    def __str__(self) -> str:
        dims = "x".join(str(d) for d in self.shape)
        body = f"{dims}x{self.dtype}" if self.shape else self.dtype
        parts = [body]
        if self.domain is not None:
            parts.append(str(self.domain))
        if self.fixed is not None:
            parts.append(str(self.fixed))
        return f"tensor<{', '.join(parts)}>"
