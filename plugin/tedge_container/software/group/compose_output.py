"""What podman-compose said, made fit to quote: its last error line, cut short, without secrets.

podman-compose reports failures in three ways: podman's own `Error: ...`
lines, its `log.error`/`log.warning` lines, and, for some mistakes (a
missing build context), a Python traceback whose last line is the
exception. The operator gets the last of these in the failure's last line,
with a hint when the cause is a common one; at debug level every line is
logged. Values that may be secret never get through: the project's
variables with a secret-looking name, and anything the credentials
redaction recognises (`password=...`, `Bearer ...`, JWTs; not long unbroken
strings, which here are mostly file paths).
"""

from __future__ import annotations

import os
import re

from ...credentials.model import redact

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

MAX_QUOTE = 200
_ECHOED = ("podman ", "['podman'", "[podman", "exit code:")
_EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?([A-Z]\w*(?:Error|Exception|Exit))(?::\s*(.*))?$")
_CONTAINER_ID = re.compile(r"\b([0-9a-f]{12})[0-9a-f]{52}\b")
_ECHO_OF_A_FAILED_CREATE = ": no such container"
# A known cause → what the operator can do about it.
_HINTS = (
    (
        "address already in use",
        "a port the compose file publishes is already in use on the device: free it "
        "(`ss -ltnp` shows who holds it) or publish another port",
    ),
    (
        "Dockerfile not found in",
        "a service's build context is not in the module's files: put its directory (with a "
        "Dockerfile or Containerfile) next to the compose file, or give the service an image",
    ),
)


def clean(line: str, directory: str = "", secrets: Iterable[str] = ()) -> str:
    """One line of compose's output, safe to show: ids shortened, secrets hidden, paths relative."""
    text = _CONTAINER_ID.sub(r"\1", line.strip())  # podman's 64-hex ids would look like tokens
    if directory:
        text = text.replace(os.path.join(directory, ""), "./").replace(directory, ".")
    return redact(text, secrets, opaque=False)


def error_lines(output: str) -> list[str]:
    """podman's and compose's error lines, in order, without echoed command lines (they hold env values)."""
    found = []
    lines = output.splitlines()
    for index, line in enumerate(lines):
        text = line.strip()
        if not text or text.startswith(_ECHOED):
            continue
        lowered = text.lower()
        exception = _EXCEPTION.match(text)
        if exception and index > 0 and _in_traceback(lines, index):
            found.append(exception.group(2) or exception.group(1))
        elif lowered.startswith("error") or " error" in lowered[:40] or "fatal" in lowered[:20]:
            found.append(text)
    return found


def _in_traceback(lines: list[str], index: int) -> bool:
    """Whether line `index` ends a Python traceback (compose died of an exception)."""
    return any(line.startswith("Traceback (most recent call last)") for line in lines[:index])


def last_error(output: str, directory: str = "", secrets: Iterable[str] = ()) -> str:
    """Compose's last error line, clean and at most MAX_QUOTE characters; '' when it said none.

    podman's "no such container" after a failed create is an echo of the cause, not the cause:
    the line before it is quoted when there is one.
    """
    found = error_lines(output)
    causes = [line for line in found if not line.endswith(_ECHO_OF_A_FAILED_CREATE)]
    found = causes or found
    if not found:
        return ""
    text = clean(found[-1], directory, secrets)
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"


def hint(quote: str) -> str:
    """What to do about a cause compose names, or ''."""
    for marker, advice in _HINTS:
        if marker in quote:
            return advice
    return ""


def said(quote: str) -> str:
    """` (compose said: QUOTE); HINT`: the tail a failure's line gets, or '' when compose said nothing."""
    if not quote:
        return ""
    advice = hint(quote)
    return f" (compose said: {quote})" + (f"; {advice}" if advice else "")
