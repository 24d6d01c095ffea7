"""`--since` and `--until` of the log plugins: what the operator wrote → what podman is asked.

podman reads a duration (`42m`) as "that long ago" for `since` but as "that
long from now" for `until`; thin-edge and the Go plugin read both as ago. So
a duration becomes the unix time it names here; RFC 3339 times, dates and
unix seconds pass unchanged (podman reads them). Anything else is refused
in one line naming the accepted forms, before podman is asked. So is a
window that can hold nothing (a `--since` in the future, an `--until` before
the `--since`): one line, exit 1, instead of an empty log and exit 0.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from ..errors import UsageError

FORMS = (
    "an RFC 3339 time (2024-05-01T12:00:00Z), unix seconds (1714564800), "
    "or a duration meaning that long ago (42s, 30m, 1h, 1h30m)"
)
# Go's time.ParseDuration, as podman reads durations.
_DURATION = re.compile(r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+\Z")
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_UNIX = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)\Z")
# podman's time layouts: RFC 3339 (fraction optional), the same without zone, a date with or without zone.
_DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?\Z")
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?\Z")


def duration_seconds(text: str) -> float | None:
    """Seconds of a Go duration (`1h30m`, `42s`, `-5m`); None when `text` is not one."""
    if not _DURATION.match(text):
        return None
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text))
    return -seconds if text.startswith("-") else seconds


def _is_time(text: str) -> bool:
    found = _DATE_TIME.match(text)
    try:
        if found:
            datetime.strptime(f"{found.group(1)} {found.group(2)}", "%Y-%m-%d %H:%M:%S")
            return True
        found = _DATE.match(text)
        if found:
            datetime.strptime(found.group(1), "%Y-%m-%d")
            return True
    except ValueError:  # 2024-13-01, 25:00:00
        return False
    return False


def resolve(value: str, option: str, now: float | None = None) -> str:
    """The value podman gets for `--since`/`--until` `value` ("" when none was given)."""
    if not value:
        return ""
    if _is_time(value) or _UNIX.match(value):
        return value
    seconds = duration_seconds(value)
    if seconds is None:
        raise UsageError(f"{option} {value!r} is not a time podman can read: give {FORMS}.")
    return f"{(time.time() if now is None else now) - seconds:.3f}"


class EmptyWindow(UsageError):
    """A window no log line can fall in: said in one line (no usage text), exit 1."""


_ZONE = re.compile(r"(Z|[+-]\d{2}:\d{2})\Z")


def to_seconds(value: str) -> float | None:
    """Unix seconds of a value `resolve` returned (a time without a zone is local, as podman reads it)."""
    if _UNIX.match(value):
        return float(value)
    zone = _ZONE.search(value)
    bare = value[: zone.start()] if zone else value
    found = _DATE_TIME.match(bare) or _DATE.match(bare)
    if not found:
        return None
    fraction = bare.partition(".")[2] if "T" in bare else ""
    stamp = datetime.strptime(
        f"{found.group(1)} {found.group(2) if found.re is _DATE_TIME else '00:00:00'}", "%Y-%m-%d %H:%M:%S"
    )
    if zone is None:
        seconds = stamp.timestamp()  # local time
    else:
        text = zone.group(1)
        offset = 0 if text == "Z" else (int(text[1:3]) * 60 + int(text[4:6])) * (1 if text[0] == "+" else -1)
        seconds = stamp.replace(tzinfo=timezone(timedelta(minutes=offset))).timestamp()
    return seconds + (float("0." + fraction) if fraction.isdigit() else 0.0)


def check_window(since: str, until: str, given: tuple[str, str], now: float | None = None) -> None:
    """Refuse a window that holds nothing; `given`: --since and --until as the operator wrote them."""
    now = time.time() if now is None else now
    start = to_seconds(since) if since else None
    end = to_seconds(until) if until else None
    if start is not None and start > now + 1:
        raise EmptyWindow(
            f"--since {given[0]!r} is in the future: no log line can be that new; give a time in the past "
            f"(a duration means that long ago: --since 1h)."
        )
    if start is not None and end is not None and end < start:
        raise EmptyWindow(
            f"--until {given[1]!r} is before --since {given[0]!r}: the window holds nothing; swap them."
        )
