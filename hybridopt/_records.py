"""Immutable records and their pickle-free serialization.

Every run-time value that has to cross a process boundary or be checkpointed (strategy
states, batches, problem metadata) is a frozen dataclass deriving from :class:`Record`.
:func:`to_data` turns such a value into plain JSON-compatible data and
:func:`from_data` rebuilds it. Only classes that derive from :class:`Record` can be
rebuilt, so loading data never runs arbitrary code, unlike ``pickle``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, ClassVar

import numpy as np

__all__ = ["Record", "dumps", "from_data", "loads", "to_data"]

_RECORD_TYPES: dict[str, type[Record]] = {}


class Record:
    """Mixin for frozen dataclasses that can be serialized without pickle."""

    __slots__ = ()
    _record_key: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        key = f"{cls.__module__}.{cls.__qualname__}"
        cls._record_key = key
        _RECORD_TYPES[key] = cls


def to_data(value: Any) -> Any:
    """Converts records, arrays, tuples and numpy scalars to JSON-compatible data."""
    if isinstance(value, Record):
        fields = {
            f.name: to_data(getattr(value, f.name))
            for f in dataclasses.fields(value)  # type: ignore[arg-type]
        }
        return {"__record__": type(value)._record_key, "fields": fields}
    if isinstance(value, np.ndarray):
        return {
            "__array__": value.dtype.str,
            "shape": list(value.shape),
            "data": value.ravel().tolist(),
        }
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [to_data(v) for v in value]}
    if isinstance(value, list):
        return [to_data(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("only dicts with string keys can be serialized")
        return {k: to_data(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot serialize a value of type {type(value).__name__}")


def from_data(data: Any) -> Any:
    """Rebuilds what :func:`to_data` produced.

    Raises:
        ValueError: For anything :func:`to_data` cannot have produced: unknown
            record types, arrays of other than numeric or boolean dtype, data that
            does not fill the stated shape, malformed records.
    """
    if isinstance(data, list):
        return [from_data(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__record__" in data:
        key = data["__record__"]
        cls = _RECORD_TYPES.get(key) if isinstance(key, str) else None
        if cls is None:
            raise ValueError(
                f"unknown record type {key!r}; import the module that defines it first"
            )
        fields = data.get("fields")
        if not isinstance(fields, dict):
            raise ValueError(f"record {key!r} has no field table")
        try:
            return cls(**{k: from_data(v) for k, v in fields.items()})
        except TypeError as err:
            raise ValueError(
                f"record {key!r} does not match its fields: {err}"
            ) from None
    if "__array__" in data:
        return _array(data)
    if "__tuple__" in data:
        items = data["__tuple__"]
        if not isinstance(items, list):
            raise ValueError("a serialized tuple must hold a list")
        return tuple(from_data(v) for v in items)
    return {k: from_data(v) for k, v in data.items()}


def _array(data: dict[str, Any]) -> np.ndarray:
    try:
        dtype = np.dtype(data["__array__"])
        shape = tuple(int(n) for n in data["shape"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"malformed serialized array: {err}") from None
    # Only what to_data writes: plain numbers and booleans, never objects, and
    # no dtype or shape that would allocate more than the data itself holds.
    if dtype.kind not in "biuf" or dtype.itemsize > 8:
        raise ValueError(f"serialized arrays must be numeric, got dtype {dtype}")
    values = data.get("data")
    if not isinstance(values, list) or any(n < 0 for n in shape):
        raise ValueError("malformed serialized array")
    if math.prod(shape) != len(values):
        raise ValueError(
            f"serialized array of shape {shape} holds {len(values)} values"
        )
    try:
        arr = np.asarray(values, dtype=dtype).reshape(shape)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"malformed serialized array: {err}") from None
    arr.setflags(write=False)
    return arr


def dumps(value: Any) -> str:
    """Serializes a record (or nested data) to a JSON string."""
    return json.dumps(to_data(value), separators=(",", ":"))


def loads(text: str) -> Any:
    """Inverse of :func:`dumps`.

    Raises:
        ValueError: If the text is not JSON or not data that :func:`dumps` writes.
    """
    return from_data(json.loads(text))


def frozen_array(values: Any, dtype: Any = float) -> np.ndarray:
    """Returns a read-only copy, so arrays stored in records cannot be mutated."""
    arr = np.array(values, dtype=dtype)
    arr.setflags(write=False)
    return arr
