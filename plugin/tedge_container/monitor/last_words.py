"""What a crash-looping container said last, for the alarm's text: its exit code and last output line.

Asked of the engine when the alarm is raised or its count updated (at most
once per `container.crash_loop_update_interval` per container), bounded by a
short timeout; any failure leaves the text as it was. The line is cut short and
carries no secret: the values of the container's environment variables with a
secret-looking name (`DB_PASSWORD`, `API_TOKEN`: credentials.model.secret_values,
as for compose's quotes) and what the credentials redaction
recognises (`password=...`, `Bearer ...`, JWTs) are hidden.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import PluginError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ..engine import Engine

MAX_LINE = 160  # characters of the last output line quoted in the alarm
_TIMEOUT = 2.0  # seconds for each engine call: the monitor's loop waits on them
# Lines asked for: podman cuts the tail before `until`, so the runs since the death (a few
# lines each, by the time the alarm asks) must not fill it.
_LOOKBACK = 20


def _environment(data: dict) -> dict[str, str]:
    entries = (data.get("Config") or {}).get("Env") or []
    return dict(str(entry).partition("=")[::2] for entry in entries if isinstance(entry, str))


class Death(NamedTuple):
    """How a container's run ended: its exit code, and when (UNIX time; None if podman did not say)."""

    code: int
    at: float | None = None


def died_exit_code(event: Mapping[str, Any]) -> tuple[str, Death] | None:
    """A `died` event → (container id, how its run ended); None for any other event.

    The event is the one place that knows how a run ended: by the time the alarm asks,
    a crash-looping container may run again, and podman 5 then reports exit code 0.
    """
    if str(event.get("Action") or event.get("status") or "") != "died":
        return None
    actor = event.get("Actor") or {}
    code = str((actor.get("Attributes") or {}).get("containerExitCode") or "")
    container_id = str(actor.get("ID") or event.get("id") or "")
    if not container_id or not code.lstrip("-").isdigit():
        return None
    return container_id, Death(int(code), _event_time(event))


def _event_time(event: Mapping[str, Any]) -> float | None:
    nanoseconds, seconds = event.get("timeNano"), event.get("time")
    if isinstance(nanoseconds, int) and nanoseconds > 0:
        return nanoseconds / 1e9
    return float(seconds) if isinstance(seconds, (int, float)) and seconds > 0 else None


class ExitCodes:
    """Container id → how its last run ended, from `died` events; bounded (MAX_REMEMBERED)."""

    MAX_REMEMBERED = 10_000

    def __init__(self) -> None:
        self.codes: dict[str, Death] = {}

    def note(self, event: Mapping[str, Any], removed: str = "") -> None:
        """Take a died event's exit code and time; forget `removed` (a container that is gone)."""
        died = died_exit_code(event)
        if died is not None:
            if len(self.codes) >= self.MAX_REMEMBERED and died[0] not in self.codes:
                self.codes.clear()  # only a crash loop's alarm reads them, and its next death tells again
            self.codes[died[0]] = died[1]
        elif removed:
            self.codes.pop(removed, None)

    def get(self, container_id: str) -> Death | None:
        return self.codes.get(container_id)


def _unix_time(text: str) -> float | None:
    """podman's `2026-12-07T01:02:03.123456789Z` (or with an offset) as a UNIX time; None when not one."""
    import re
    from datetime import datetime

    found = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text.strip())
    if found is None:
        return None
    head, digits, zone = found.groups()
    fraction = (digits or "")[:6].ljust(6, "0")  # nanoseconds; Python 3.9 reads exactly 6 digits
    try:
        moment = datetime.fromisoformat(f"{head}.{fraction}{'+00:00' if zone == 'Z' else zone}")
    except ValueError:
        return None
    return moment.timestamp() if moment.year > 1 else None


def last_words(engine: Engine | None, container_id: str, death: Death | None = None) -> str:
    """` It last exited with code 1; its last output: '...'.` ('' when the engine cannot tell).

    `death` is what its last `died` event said. The output asked for is what it wrote
    before that death, so a run the engine has started since does not answer. Without
    the event's time, a running container is asked for what it wrote before its start;
    a new run's first line can still slip in then (it may write before podman records
    the start).
    """
    if engine is None or not container_id:
        return ""
    from ..credentials.model import redact, secret_values

    try:
        data = dict(engine.inspect_container(container_id, timeout=_TIMEOUT) or {})
        state = data.get("State") or {}
        running = state.get("Status") == "running"
        until = _unix_time(str(state.get("StartedAt") or "")) if running else None
    except PluginError:
        return ""
    if death is not None and death.at is not None:
        until = death.at
    try:
        output = engine.log_tail(container_id, _LOOKBACK, timeout=_TIMEOUT, until=until)
    except PluginError:  # logs too slow to read: the exit code alone
        output = ""
    code = death.code if death is not None else None if running else state.get("ExitCode")
    said = ""
    lines = [" ".join(line.split()) for line in output.splitlines() if line.strip()]
    if lines:
        line = redact(lines[-1], secret_values(_environment(data)), opaque=False)
        line = "".join(char if char.isprintable() else "?" for char in line)
        if len(line) > MAX_LINE:
            line = line[: MAX_LINE - 3] + "..."
        said = f"its last output: {line!r}"
    exited = f"it last exited with code {code}" if isinstance(code, int) else ""
    words = "; ".join(part for part in (exited, said) if part)
    return f" {words[0].upper()}{words[1:]}." if words else ""
