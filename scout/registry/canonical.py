"""Canonical JSON: how the registry writes a legacy JSON text, and when it keeps the text verbatim.

Canonical = keys sorted, no whitespace, strings as JSON writes them (non-ASCII kept), numbers exactly
as written (``1.50`` stays ``1.50``: a float round trip would lose digits). A text is kept verbatim
instead (``None`` here) when it is not strict JSON (``NaN``, a trailing comma, a raw control character
in a string) or when an object repeats a key (one of the values would be lost).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


class _NotCanonical(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotCanonical(name)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _NotCanonical(f"key {key!r} twice")
        out[key] = value
    return out


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value)):
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, Decimal):
        out.append(str(value))
    else:  # str, int, bool, None
        out.append(json.dumps(value, ensure_ascii=False))


def canonical_json(text: str) -> str | None:
    """The canonical form of ``text``, or None when it must be kept verbatim."""
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_no_constant, object_pairs_hook=_unique)
        out: list[str] = []
        _write(value, out)
    except (ValueError, RecursionError):
        return None
    return "".join(out)
