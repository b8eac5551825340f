"""Typed op attributes: the base dataclass and the small set of attribute kinds.

Every op declares its attributes as a frozen dataclass deriving from :class:`OpAttrs`. Field
annotations are restricted to a few kinds so that the printer, parser and verifier handle every
op the same way:

========================  ==========================  ================================
annotation                kind                        text form
========================  ==========================  ================================
``int``                   ``int``                     ``3``
``float``                 ``float``                   ``0.5``, ``1e-05``, ``inf``
``bool``                  ``bool``                    ``true`` / ``false``
``str``                   ``str``                     ``"text"`` (JSON string)
``tuple[int, ...]``       ``ints``                    ``[1, 2]``
``tuple[float, ...]``     ``floats``                  ``[0.5, 1.0]``
``Array``                 ``array``                   ``@name`` (data in ``resources``)
``X | None``              optional ``X``              ``none``
========================  ==========================  ================================

Construction normalises values (ints for float fields become floats, lists become tuples, arrays
become read-only) and rejects anything else with :class:`AttrTypeError`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from snncompile.ir.graph import freeze_array

__all__ = ["Array", "AttrKind", "AttrTypeError", "OpAttrs", "field_kinds"]

#: Annotation for array-valued attributes (weights, biases, index maps).
Array = np.ndarray


class AttrTypeError(TypeError):
    """An attribute value does not match its declared kind."""


@dataclass(frozen=True)
class AttrKind:
    """The kind of one attribute field: base kind name and whether ``None`` is allowed."""

    base: str  # int | float | bool | str | ints | floats | array
    optional: bool = False


def _kind_of(annotation: Any) -> AttrKind:
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) != 1:
            raise TypeError(f"unsupported attribute annotation {annotation!r}")
        optional = True
        annotation = members[0]
    simple = {int: "int", float: "float", bool: "bool", str: "str", np.ndarray: "array"}
    if annotation in simple:
        return AttrKind(simple[annotation], optional)
    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis and args[0] in (int, float):
            return AttrKind("ints" if args[0] is int else "floats", optional)
    raise TypeError(f"unsupported attribute annotation {annotation!r}")


_FIELD_KINDS: dict[type, dict[str, AttrKind]] = {}


def field_kinds(cls: type) -> dict[str, AttrKind]:
    """Attribute name -> kind for an :class:`OpAttrs` subclass, in declaration order."""
    if cls not in _FIELD_KINDS:
        hints = typing.get_type_hints(cls)
        _FIELD_KINDS[cls] = {f.name: _kind_of(hints[f.name]) for f in dataclasses.fields(cls)}
    return _FIELD_KINDS[cls]


def _coerce(name: str, kind: AttrKind, value: Any) -> Any:
    if value is None:
        if kind.optional:
            return None
        raise AttrTypeError(f"attribute {name!r} must not be none")
    base = kind.base
    if base == "bool":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
    elif base == "int":
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            return int(value)
    elif base == "float":
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, (bool, np.bool_)
        ):
            return float(value)
    elif base == "str":
        if isinstance(value, str):
            return value
    elif base in ("ints", "floats"):
        if isinstance(value, (list, tuple)):
            item = AttrKind("int" if base == "ints" else "float")
            return tuple(_coerce(f"{name}[{i}]", item, v) for i, v in enumerate(value))
    elif base == "array" and isinstance(value, np.ndarray):
        return freeze_array(value)
    raise AttrTypeError(
        f"attribute {name!r} expects {base}{' or none' if kind.optional else ''}, "
        f"got {type(value).__name__} {value!r:.60}"
    )


@dataclass(frozen=True, eq=False)
class OpAttrs:
    """Base of every op's attribute dataclass (frozen; normalises its fields on creation).

    Equality is structural and treats arrays by content (:meth:`same_as`); ``==`` is identity
    because numpy arrays have no boolean equality.
    """

    op_name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for name, kind in field_kinds(type(self)).items():
            object.__setattr__(self, name, _coerce(name, kind, getattr(self, name)))

    def same_as(self, other: object) -> bool:
        """Structural equality, arrays compared by dtype, shape and content."""
        if type(other) is not type(self):
            return False
        for name in field_kinds(type(self)):
            a, b = getattr(self, name), getattr(other, name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if not (
                    isinstance(a, np.ndarray)
                    and isinstance(b, np.ndarray)
                    and a.dtype == b.dtype
                    and np.array_equal(a, b, equal_nan=True)
                ):
                    return False
            elif a != b and not (a != a and b != b):  # NaN floats are equal here
                return False
        return True


@dataclass(frozen=True, eq=False)
class NoAttrs(OpAttrs):
    """For ops without attributes."""
