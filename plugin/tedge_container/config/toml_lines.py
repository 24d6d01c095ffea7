"""TOML files: reading them, and where a key is written (the line numbers that warnings name).

tomllib returns values without positions, so the text is scanned once more,
line by line: table headers (`[a.b]`, `[[a]]`) and `key = ...` lines, with
multi-line strings and arrays skipped. Only used for messages, and only when
one is needed: a key that is not found is reported without a line.
"""

from __future__ import annotations

from ..errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_BARE_OR_QUOTED = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*"
# Pattern texts, compiled (by `re`'s cache) only when a line number is needed; `re` itself
# is imported only then too (~4 ms that `list` does not pay).
_HEADER = rf"\s*\[\[?\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$"
_KEY = rf"\s*({_DOTTED})\s*=(.*)$"


def _split(dotted: str) -> list[str]:
    import re

    parts = []
    for match in re.finditer(_BARE_OR_QUOTED, dotted):
        part = match.group(0)
        if part[0] in "\"'":
            part = part[1:-1]
        parts.append(part.lower())
    return parts


def _open_brackets(text: str) -> tuple[int, str]:
    """(bracket depth change, open multi-line string delimiter or "") of a value's text."""
    depth, i = 0, 0
    while i < len(text):
        for quote in ('"""', "'''"):
            if text.startswith(quote, i):
                end = text.find(quote, i + 3)
                if end < 0:
                    return depth, quote
                i = end + 3
                break
        else:
            char = text[i]
            if char == "#":
                break
            if char in "\"'":
                end = i + 1
                while end < len(text) and text[end] != char:
                    end += 2 if char == '"' and text[end] == "\\" else 1
                i = end
            elif char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
            i += 1
    return depth, ""


def key_lines(text: str) -> dict[str, list[int]]:
    """Dotted, lower-cased key → its 1-based lines, for every table and key written in `text`.

    A key is written more than once only in tables whose names differ in case (`[a]`, `[A]`).
    """
    import re

    lines: dict[str, list[int]] = {}
    table: list[str] = []
    depth, open_string = 0, ""
    for number, line in enumerate(text.splitlines(), start=1):
        if open_string:
            if open_string in line:
                depth_change, open_string = _open_brackets(line[line.index(open_string) + 3 :])
                depth += depth_change
            continue
        if depth > 0:  # inside a multi-line array or inline table
            depth_change, open_string = _open_brackets(line)
            depth += depth_change
            continue
        header = re.match(_HEADER, line)
        if header:
            table = _split(header.group(1))
            lines.setdefault(".".join(table), []).append(number)
            continue
        key = re.match(_KEY, line)
        if key:
            lines.setdefault(".".join([*table, *_split(key.group(1))]), []).append(number)
            depth_change, open_string = _open_brackets(key.group(2))
            depth += max(depth_change, 0)
    return lines


def line_of(lines: dict[str, list[int]], key: str, occurrence: int = 0) -> int | None:
    """The line of `key` (its `occurrence`-th writing), else of the nearest table holding it."""
    parts = key.split(".")
    while parts:
        found = lines.get(".".join(parts))
        if found:
            return found[min(occurrence, len(found) - 1)]
        parts.pop()
    return None


class FilePlaces:
    """`FILE:LINE` of keys, found in the text only when a message needs one (`list` pays nothing)."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self._lines: dict[str, list[int]] | None = None

    def place(self, key: str, occurrence: int) -> Place:
        return Place(self, key, occurrence)

    def describe(self, key: str, occurrence: int) -> str:
        if self._lines is None:
            self._lines = key_lines(self.text)
        line = line_of(self._lines, key, occurrence)
        return f"{self.path}:{line}" if line else self.path


class Place:
    """Where a key is written; str() is `FILE:LINE`."""

    __slots__ = ("key", "occurrence", "places")

    def __init__(self, places: FilePlaces, key: str, occurrence: int) -> None:
        self.places, self.key, self.occurrence = places, key, occurrence

    def __str__(self) -> str:
        return self.places.describe(self.key, self.occurrence)


def read_text(path: str) -> str | None:
    """The file's text; None when it does not exist; ConfigError when it cannot be read."""
    try:
        with open(path, "rb") as stream:
            return stream.read().decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"Cannot read {path}: {reason}.") from None


def parse_toml(text: str, path: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error names the file and the line (exit 2)."""
    from .toml_subset import parse

    table = parse(text)  # a plain file, as the shipped one, without importing tomllib
    if table is not None:
        return table
    from .._compat import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML ({error}); fix the file.") from None
