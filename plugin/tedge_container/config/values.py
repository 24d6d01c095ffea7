"""Setting values read as the Go plugin's config library (viper, spf13/cast) reads them.

The type of a setting is the type of its default in `config.DEFAULTS`; any
value is converted to it the way spf13/cast would, plus a few forms an
operator obviously means (`yes`/`no`). A value that cannot be converted
raises `BadValue` with the reason; the caller warns and keeps the default.

- bool: TOML booleans; numbers (0 is false, anything else true);
  strings `1 t true yes on` / `0 f false no off` in any letter case.
- int: integers; floats without a fraction; booleans (1/0); strings in Go's
  forms (`1883`, `0x75b`, `0o3533`, `1_883`, `1883.0`).
- float (our timeouts, in seconds): numbers; strings `5`, `2.5`, or Go
  durations (`300s`, `1m30s`, `500ms`, `1h`).
- str: strings; numbers and booleans as Go prints them (`5`, `true`).
- size (`ByteSize`, bytes): whole numbers, or strings with a unit
  (`256MiB`, `1GiB`, `512M`, `100k`, `2G`: units are binary, as an
  operator sizing flash means them).
- list: an array (each item split on commas, as the Go plugin's filters do)
  or a string (split on commas and whitespace); empty items are dropped.

Every number is a count, a port or a duration here: negative numbers,
infinities and NaN are rejected.
"""

from __future__ import annotations

import math

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class BadValue(ValueError):
    """The value cannot be read as the setting's type; str() says why."""


_TRUE = frozenset({"1", "t", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "f", "false", "no", "n", "off"})
# Pattern texts, compiled by `re`'s cache on first use: most values are typed TOML and need none,
# so `re` itself is imported only by the conversions that use it (~4 ms that `list` does not pay).
_GO_OCTAL = r"[-+]?0[0-7]+\Z"
_ZERO_FRACTION = r"([-+]?[0-9_]+)\.0*\Z"
_DURATION_PART = r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)"
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


class ByteSize(int):
    """A setting counted in bytes; its values may carry a unit (`256MiB`)."""


_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def to_size(value: Any) -> ByteSize:
    if isinstance(value, str):  # parsed by hand: `list` reads this key and must not import `re`
        text = value.strip().lower().removesuffix("b").removesuffix("i")
        unit = text[-1:] if text[-1:] in _SIZE_UNITS else ""
        number = text[: len(text) - len(unit)].strip()
        if number.replace(".", "", 1).isdigit() and number.isascii():
            return ByteSize(int(float(number) * _SIZE_UNITS[unit]))
        try:
            return ByteSize(to_int(value))  # Go's integer forms (`0x10`, `1_000`)
        except BadValue:
            raise BadValue("expected a size in bytes, such as 268435456, 256MiB or 1GiB") from None
    return ByteSize(to_int(value))


def format_size(count: int) -> str:
    """`count` bytes as an operator reads them: `812 B`, `3.0 KiB`, `256 MiB`, `1.5 GiB`."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            break
        size /= 1024
    if unit == "B":
        return f"{count} B"
    return f"{size:.0f} {unit}" if size.is_integer() or size >= 100 else f"{size:.1f} {unit}"


def _describe(value: Any) -> str:
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list"}
    return kind.get(type(value), "a table" if isinstance(value, dict) else type(value).__name__)


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            raise BadValue("NaN is not a boolean")
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise BadValue("expected true or false")
    raise BadValue(f"expected true or false, not {_describe(value)}")


def _non_negative(number: Any) -> Any:
    if isinstance(number, float) and not math.isfinite(number):
        raise BadValue("expected a finite number")
    if number < 0:
        raise BadValue("expected a number that is not negative")
    return number


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return _non_negative(value)
    if isinstance(value, float):
        _non_negative(value)
        if not value.is_integer():
            raise BadValue("expected a whole number")
        return int(value)
    if isinstance(value, str):
        import re

        text = value.strip()
        zero_fraction = re.match(_ZERO_FRACTION, text)
        if zero_fraction:
            text = zero_fraction.group(1)
        try:
            number = int(text, 8) if re.match(_GO_OCTAL, text) else int(text, 0)
        except ValueError:
            raise BadValue("expected a whole number") from None
        return _non_negative(number)
    raise BadValue(f"expected a whole number, not {_describe(value)}")


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration (`1m30s`, `500ms`, `2h`) in seconds; BadValue when it is not one."""
    import re

    rest = text.strip()
    if not rest:
        raise BadValue("expected a duration")
    seconds = 0.0
    position = 0
    for match in re.finditer(_DURATION_PART, rest):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if position != len(rest):
        raise BadValue("expected seconds or a duration such as 30s, 5m or 1h30m")
    return seconds


def to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise BadValue("expected a number of seconds, not a boolean")
    if isinstance(value, (int, float)):
        return float(_non_negative(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            return _non_negative(parse_duration(text))
        return float(_non_negative(number))
    raise BadValue(f"expected a number of seconds, not {_describe(value)}")


def to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value).removesuffix(".0") if value.is_integer() else repr(value)
    raise BadValue(f"expected a string, not {_describe(value)}")


def to_list(value: Any) -> list[str]:
    if isinstance(value, str):  # split on commas and whitespace (`\s` and split() agree on what that is)
        return value.replace(",", " ").split()
    if isinstance(value, (list, tuple)):
        items: list[str] = []
        for item in value:
            if isinstance(item, (list, dict)):
                raise BadValue(f"expected a list of strings, not one holding {_describe(item)}")
            items += [part.strip() for part in to_str(item).split(",") if part.strip()]
        return items
    if isinstance(value, (bool, int, float)):
        return [to_str(value)]
    raise BadValue(f"expected a list of strings, not {_describe(value)}")


_CONVERTERS = {bool: to_bool, int: to_int, ByteSize: to_size, float: to_float, str: to_str, list: to_list}


def convert(default: Any, value: Any, choices: tuple[str, ...] = ()) -> Any:
    """`value` as the type of `default`; `choices` (lower case) limit a string setting."""
    converted = _CONVERTERS[type(default)](value)
    if choices:
        converted = converted.strip().lower()
        if converted not in choices:
            raise BadValue(f"expected one of {', '.join(choices)}")
    return converted
