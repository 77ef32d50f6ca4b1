"""Plain data between the grader and the sandbox: JSON lines, arrays as base64.

The grader (the *judge*) and the process that runs student code (the *worker*)
exchange one JSON object per line.  Values are encoded so that nothing live
crosses the pipe: no pickles, no objects, no code.  What the judge decodes is
built from scratch by :func:`decode`, which checks every node:

==================  ==========================================
Python value        encoding
==================  ==========================================
None, bool, str     themselves
int                 itself (at most 4300 digits)
float               itself; ``{"f": "nan"}``, ``{"f": "inf"}``, ``{"f": "-inf"}``
complex             ``{"c": [re, im]}``
list                a JSON list
tuple               ``{"t": [...]}``
dict                ``{"d": [[key, value], ...]}``
ndarray             ``{"a": [dtype, shape, base64 bytes]}`` (bool, int, uint, float, complex)
NumPy scalar        ``{"n": [dtype, base64 bytes]}``
anything else       ``{"o": [type name, repr]}``: an :class:`Opaque` stand-in
==================  ==========================================

An object with ``__array__`` is converted by the *worker* (``np.asarray`` runs
there, never in the judge).  This module imports only the standard library and
NumPy: the worker runs it without ebm (see :mod:`ebm.grading._sandbox`).

>>> import numpy as np
>>> value = (1.5, float("nan"), np.arange(3.0), [True, None], {"k": np.float32(2)})
>>> back = decode(encode(value))
>>> back[0], bool(np.isnan(back[1])), back[2].tolist(), back[3], type(back[4]["k"]).__name__
(1.5, True, [0.0, 1.0, 2.0], [True, None], 'float32')
>>> decode({"a": ["|O8", [1], ""]})
Traceback (most recent call last):
...
ValueError: array dtype '|O8' is not a plain number type
"""

from __future__ import annotations

import base64
import json
import math
import re

import numpy as np

__all__ = ["encode", "decode", "dumps", "loads", "Opaque", "MAX_DEPTH", "MAX_NODES", "MAX_TEXT"]

#: Deepest nesting accepted (lists in tuples in dicts...).
MAX_DEPTH = 32
#: Most values (nodes) accepted in one decoded message.
MAX_NODES = 200_000
#: Longest string kept, in characters (longer ones are cut, and say so).
MAX_TEXT = 20_000

_DTYPE = re.compile(r"^[<>|=]?[biufc][0-9]{1,2}$")


class Opaque:
    """A value the worker could not send as data: its type name and a short ``repr``.

    Checks see it as what it is, an object of the wrong type; comparing it with
    a number fails.
    """

    __slots__ = ("type_name", "text")

    def __init__(self, type_name, text):
        self.type_name = str(type_name)
        self.text = str(text)

    def __repr__(self):
        return self.text

    def __eq__(self, other):
        return isinstance(other, Opaque) and (self.type_name, self.text) == (other.type_name, other.text)

    __hash__ = None


# --------------------------------------------------------------------------- encoding (both sides)


def _float(x):
    return x if math.isfinite(x) else {"f": "nan" if x != x else ("inf" if x > 0 else "-inf")}


def _cut(text, limit=MAX_TEXT):
    return text if len(text) <= limit else text[:limit] + f"[... {len(text) - limit} more characters]"


def _repr(value):
    try:
        return _cut(repr(value), 200)
    except BaseException:  # a __repr__ that raises (or is stopped by the timer)
        return f"<a {type(value).__name__} whose repr failed>"


def _array(a):
    a = np.ascontiguousarray(a)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return {"a": [a.dtype.str, list(a.shape), base64.b64encode(a.tobytes()).decode("ascii")]}


def encode(value, _depth=0):
    """``value`` as JSON-ready plain data (see the module's table).  Never raises."""
    if _depth >= MAX_DEPTH:
        return {"o": ["nested", f"<nested {MAX_DEPTH} levels deep or more>"]}
    kind = type(value)
    if value is None or kind is bool:
        return value
    if kind is int:
        return value if abs(value) < 10**4000 else {"o": ["int", "<an int of more than 4000 digits>"]}
    if kind is float:
        return _float(value)
    if kind is str:
        return _cut(value)
    if kind is complex:
        return {"c": [_float(value.real), _float(value.imag)]}
    if kind is list:
        return [encode(v, _depth + 1) for v in value]
    if kind is tuple:
        return {"t": [encode(v, _depth + 1) for v in value]}
    if kind is dict:
        return {"d": [[encode(k, _depth + 1), encode(v, _depth + 1)] for k, v in value.items()]}
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        a = _array(np.asarray(value))["a"]
        return {"n": [a[0], a[2]]}
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        try:
            a = np.asarray(value)  # a subclass, a tensor: its own code runs here
        except BaseException:
            return {"o": [type(value).__name__, _repr(value)]}
        if a.dtype.kind in "biufc":
            return _array(a)
    return {"o": [type(value).__name__, _repr(value)]}


def dumps(message):
    """One line of JSON (no newline inside: strings are escaped)."""
    return json.dumps(message, ensure_ascii=True, allow_nan=False, separators=(",", ":")) + "\n"


# --------------------------------------------------------------------------- decoding (the judge)


class _Budget:
    def __init__(self):
        self.nodes = 0

    def tick(self):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ValueError(f"more than {MAX_NODES} values in one message")


def _text(value, what="a string"):
    if not isinstance(value, str):
        raise ValueError(f"expected {what}, got {type(value).__name__}")
    return clean_text(value)


def clean_text(text, limit=MAX_TEXT):
    """``text`` safe to print and store: no lone surrogates, no control characters but newline and tab."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", "?", text)
    return _cut(text, limit)


def _decode_float(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        if isinstance(v, dict) and set(v) == {"f"} and v["f"] in ("nan", "inf", "-inf"):
            return float(v["f"])
        raise ValueError("expected a number")
    return float(v)


def _decode_array(dtype, shape, data, *, scalar=False):
    if not isinstance(dtype, str) or not _DTYPE.match(dtype):
        raise ValueError(f"array dtype {dtype!r} is not a plain number type")
    dt = np.dtype(dtype)
    if dt.kind not in "biufc":
        raise ValueError(f"array dtype {dtype!r} is not a plain number type")
    if not isinstance(shape, list) or len(shape) > 32 or not all(type(n) is int and 0 <= n < 2**40 for n in shape):
        raise ValueError("an array shape must be a list of at most 32 non-negative integers")
    if not isinstance(data, str):
        raise ValueError("array data must be base64 text")
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    count = math.prod(shape)
    if len(raw) != count * dt.itemsize:
        raise ValueError(f"array data has {len(raw)} bytes; shape {tuple(shape)} of {dt} needs {count * dt.itemsize}")
    a = np.frombuffer(raw, dtype=dt).reshape(shape).copy()
    return a[()] if scalar else a


def decode(data, _depth=0, _budget=None):
    """The value encoded by :func:`encode`, rebuilt from checked plain data.

    Raises
    ------
    ValueError
        For anything that is not exactly that encoding (a wrong tag, a bad dtype,
        data that does not fill the shape, nesting deeper than :data:`MAX_DEPTH`).
    """
    budget = _budget or _Budget()
    budget.tick()
    if _depth > MAX_DEPTH:
        raise ValueError(f"values nested more than {MAX_DEPTH} levels deep")
    if data is None or isinstance(data, bool):
        return data
    if isinstance(data, int):
        return data
    if isinstance(data, float):
        return data
    if isinstance(data, str):
        return clean_text(data)
    if isinstance(data, list):
        return [decode(v, _depth + 1, budget) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError(f"not an encoded value: {type(data).__name__}")
    ((tag, body),) = data.items()
    if tag == "f":
        return _decode_float(data)
    if tag == "c":
        if not isinstance(body, list) or len(body) != 2:
            raise ValueError("a complex number needs [re, im]")
        return complex(_decode_float(body[0]), _decode_float(body[1]))
    if tag == "t":
        if not isinstance(body, list):
            raise ValueError("a tuple needs a list")
        return tuple(decode(v, _depth + 1, budget) for v in body)
    if tag == "d":
        if not isinstance(body, list):
            raise ValueError("a dict needs a list of pairs")
        out = {}
        for pair in body:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError("a dict item needs [key, value]")
            key = decode(pair[0], _depth + 1, budget)
            if not isinstance(key, (str, int, float, bool, tuple)) and key is not None:
                raise ValueError(f"a dict key cannot be a {type(key).__name__}")
            out[key] = decode(pair[1], _depth + 1, budget)
        return out
    if tag == "a":
        if not isinstance(body, list) or len(body) != 3:
            raise ValueError("an array needs [dtype, shape, data]")
        return _decode_array(*body)
    if tag == "n":
        if not isinstance(body, list) or len(body) != 2:
            raise ValueError("a NumPy scalar needs [dtype, data]")
        return _decode_array(body[0], [], body[1], scalar=True)
    if tag == "o":
        if not isinstance(body, list) or len(body) != 2:
            raise ValueError("an object needs [type name, repr]")
        return Opaque(_text(body[0])[:100], _text(body[1])[:300])
    raise ValueError(f"unknown value tag {tag!r}")


def loads(line):
    """One JSON line as a dict (``ValueError`` when it is not one)."""
    try:
        message = json.loads(line)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ValueError(f"a message must be a JSON object, got {type(message).__name__}")
    return message
