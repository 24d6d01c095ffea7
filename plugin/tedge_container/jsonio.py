"""JSON read without importing `json` on `list`'s path (the engine's answers, image records).

`json` imports `re` (and with it `enum`, ~8 ms on every `list`) for its
pure-Python parts. The C scanner that json.loads runs on CPython
(`_json.make_scanner`) needs neither, so `loads` runs it directly on a
document that starts with `[` or `{`, decoded as json.loads decodes it.
Anything else (other encodings, leading whitespace, errors, data after the
document, a Python without `_json`) goes to json.loads itself: the result, or
the exception, is always json.loads'.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}
_scanner: Callable[[str, int], tuple[Any, int]] | None = None
_no_scanner = False


class _Settings:
    """What the C scanner reads from the JSONDecoder it is made for: json.loads' defaults."""

    def __init__(self) -> None:
        self.strict = True
        self.object_hook = None
        self.object_pairs_hook = None
        self.parse_float = float
        self.parse_int = int
        self.parse_constant = _CONSTANTS.__getitem__
        self.memo: dict[str, str] = {}


def _scan() -> Callable[[str, int], tuple[Any, int]] | None:
    global _scanner, _no_scanner
    if _scanner is None and not _no_scanner:
        try:
            from _json import make_scanner
        except ImportError:
            _no_scanner = True
        else:
            _scanner = make_scanner(_Settings())
    return _scanner


def _text(data: str | bytes | bytearray) -> str | None:
    """`data` as json.loads decodes it, when it opens a document; None otherwise."""
    if isinstance(data, str):
        return data if data[:1] in ("[", "{") else None
    # An opening bracket and no zero byte after it: json.loads detects UTF-8 (no BOM, not UTF-16/32).
    if isinstance(data, (bytes, bytearray)) and data[:1] in (b"[", b"{") and data[1:2] != b"\x00":
        try:
            return data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return None
    return None


def loads(data: str | bytes | bytearray) -> Any:
    """json.loads(data)."""
    scan = _scan()
    text = _text(data) if scan is not None else None
    if text is not None and scan is not None:
        try:
            value, end = scan(text, 0)
        except (StopIteration, ValueError):
            pass
        else:
            if not text[end:].strip(" \t\n\r"):  # json.loads allows only whitespace after it
                return value
    import json

    return json.loads(data)


def dumps(value: Any) -> str:
    """json.dumps(value): only what writes JSON (changes to the engine, records) imports `json`."""
    import json

    return json.dumps(value)
