"""Plain TOML files read without tomllib, which takes ~10 ms to import (with `typing`, `re`, `datetime`).

`list` reads the plugin's file on every software update, and files like the
shipped one use only: comments, `[table]` and `[dotted.table]` headers, and
`key = value` lines whose value is a string without escapes, true or false, a
decimal integer or float, or a one-line array of those. `parse` reads exactly
that and returns what tomllib returns for it. For anything else (escapes,
multi-line values, inline tables, dates, dotted or quoted keys, CRLF line
ends, and every mistake) it returns None and the caller asks tomllib, so an
unusual file still reads the same and a broken one fails with tomllib's message.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_DIGITS = frozenset("0123456789")
_WHITESPACE = " \t"
_SIGNS = ("+", "-")
# Control characters (tab and newline aside) are errors outside multi-line strings; with \r,
# CRLF files go to tomllib too.
_CONTROL = [chr(code) for code in (*range(0x09), *range(0x0B, 0x20), 0x7F)]


class _NotPlain(Exception):
    """The text is not in the subset: tomllib decides."""


def parse(text: str) -> dict[str, Any] | None:
    """The table tomllib makes of `text`, or None when `text` is not in the subset (or not TOML)."""
    if any(char in text for char in _CONTROL):
        return None
    try:
        return _Document().read(text)
    except _NotPlain:
        return None


class _Document:
    def __init__(self) -> None:
        self.root: dict[str, Any] = {}
        self.table = self.root
        self.headers: set[tuple[str, ...]] = set()

    def read(self, text: str) -> dict[str, Any]:
        for line in text.split("\n"):  # not splitlines(): \u2028 and the like end no TOML line
            line = line.lstrip(_WHITESPACE)
            if not line or line[0] == "#":
                continue
            if line[0] == "[":
                self.header(line)
            else:
                self.key_value(line)
        return self.root

    def header(self, line: str) -> None:
        end = line.find("]")
        if end < 0 or line.startswith("[["):  # arrays of tables are left to tomllib
            raise _NotPlain
        path = tuple(part.strip(_WHITESPACE) for part in line[1:end].split("."))
        if path in self.headers or not all(map(_is_bare_key, path)):  # a table declared twice: an error
            raise _NotPlain
        _end_of_line(line[end + 1 :])
        self.headers.add(path)
        table = self.root
        for part in path:  # missing tables on the way are made, as tomllib makes them
            table = table.setdefault(part, {})
            if not isinstance(table, dict):  # a key of that name holds a value: an error
                raise _NotPlain
        self.table = table

    def key_value(self, line: str) -> None:
        end = 0
        while end < len(line) and line[end] in _BARE_KEY:
            end += 1
        key, rest = line[:end], line[end:].lstrip(_WHITESPACE)
        # A dotted or quoted key has no `=` here; one already set (a value or a table) is an error.
        if not key or not rest.startswith("=") or key in self.table:
            raise _NotPlain
        value, rest = _value(rest[1:].lstrip(_WHITESPACE))
        _end_of_line(rest)
        self.table[key] = value


def _is_bare_key(text: str) -> bool:
    return bool(text) and _BARE_KEY.issuperset(text)


def _end_of_line(rest: str) -> None:
    rest = rest.lstrip(_WHITESPACE)
    if rest and rest[0] != "#":
        raise _NotPlain


def _value(text: str) -> tuple[Any, str]:
    """(the value at the start of `text`, the text after it)."""
    quote = text[:1]
    if quote in ('"', "'"):
        end = text.find(quote, 1)
        if end < 0 or text.startswith(quote * 3):  # multi-line strings are left to tomllib
            raise _NotPlain
        content = text[1:end]
        if quote == '"' and "\\" in content:  # escapes, too
            raise _NotPlain
        return content, text[end + 1 :]
    if quote == "[":
        return _array(text[1:])
    end = len(text)
    for delimiter in (" ", "\t", ",", "]", "#"):
        found = text.find(delimiter, 0, end)
        if found >= 0:
            end = found
    return _scalar(text[:end]), text[end:]


def _array(text: str) -> tuple[list[Any], str]:
    """A one-line array whose `[` has been read."""
    items = []
    rest = text.lstrip(_WHITESPACE)
    while not rest.startswith("]"):
        if not rest or rest[0] == "[":  # continued on the next line, or nested: tomllib
            raise _NotPlain
        item, rest = _value(rest)
        items.append(item)
        rest = rest.lstrip(_WHITESPACE)
        if rest.startswith(","):
            rest = rest[1:].lstrip(_WHITESPACE)
        elif not rest.startswith("]"):
            raise _NotPlain
    return items, rest[1:]


def _scalar(token: str) -> bool | int | float:
    """true, false, or a decimal number without `_` (`5`, `-1`, `0.25`, `1e3`); not inf or nan."""
    if token == "true":
        return True
    if token == "false":
        return False
    unsigned = token[1:] if token[:1] in _SIGNS else token
    mantissa, e, exponent = unsigned.replace("E", "e").partition("e")
    whole, dot, fraction = mantissa.partition(".")
    if not _is_digits(whole) or (whole[0] == "0" and whole != "0"):  # no leading zeros
        raise _NotPlain
    if dot and not _is_digits(fraction):
        raise _NotPlain
    if e and not _is_digits(exponent[1:] if exponent[:1] in _SIGNS else exponent):
        raise _NotPlain
    return float(token) if dot or e else int(token)


def _is_digits(text: str) -> bool:
    return bool(text) and _DIGITS.issuperset(text)
