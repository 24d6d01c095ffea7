"""`--since` and `--until` of the log plugins: what the operator wrote → what podman is asked.

podman reads a duration (`42m`) as "that long ago" for `since` but as "that
long from now" for `until`; thin-edge and the Go plugin read both as ago. So
a duration becomes the unix time it names here; RFC 3339 times, dates and
unix seconds pass unchanged (podman reads them). Anything else is refused
in one line naming the accepted forms, before podman is asked.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

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
