"""`update-list`: apply a batch of installs and removes read from stdin, for any software type.

Lines are tab-separated: `install\\tNAME\\tVERSION\\tFILE` and
`remove\\tNAME\\tVERSION\\t` (the trailing tab is optional). All of stdin is
read first; every line is attempted in order; one stderr line per failed
module, and exit 2 if any failed (tedge-agent reruns the whole batch one by
one on any other non-zero code).
"""

from __future__ import annotations

from typing import NamedTuple

from ..config import Config
from ..engine import Engine
from ..errors import PluginError, UsageError
from .base import SoftwareType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..status.reporter import Reporter


class Action(NamedTuple):
    verb: str
    name: str
    version: str
    file: str


def parse_line(line: str) -> Action:
    fields = line.rstrip("\r\n").split("\t")
    verb = fields[0]
    if verb not in ("install", "remove"):
        raise UsageError(f"unknown action {verb!r}; expected install or remove")
    if not 2 <= len(fields) <= 4:
        raise UsageError(f"expected {verb}<TAB>NAME<TAB>VERSION<TAB>FILE, got {len(fields)} fields")
    if not fields[1].strip():
        raise UsageError(f"{verb} without a module name (the second field is empty)")
    fields += [""] * (4 - len(fields))
    return Action(verb, fields[1], fields[2], fields[3])


def with_module(verb: str, name: str, message: str) -> str:
    """`VERB NAME: message`, without the message's own head when that already names the module.

    "install b1: give --module-version ..." and "Installing b1 failed: Pulling ..." become
    "install b1: give --module-version ..." and "install b1: Pulling ...", never
    "install b1: install b1: ...".
    """
    head, colon, rest = message.partition(": ")
    if colon and name in head.split():
        message = rest
    return f"{verb} {name}: {message}"


def run(software: SoftwareType, config: Config, text: str, reporter: Reporter | None = None) -> list[str]:
    """Apply every line of `text`; returns one message per failed line (empty: all done).

    `reporter` is told what happened to each module (MQTT status, see status/reporter.py).
    """
    from .contract import perform, report

    engine = Engine(config)
    if reporter is not None:
        reporter.use_engine(engine)
    failures = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            action = parse_line(line)
        except UsageError as error:
            failures.append(f"line {number}: {error}")
            continue
        try:
            outcome = perform(
                software, config, action.verb, action.name, action.version, action.file, engine=engine
            )
            if reporter is not None:
                report(reporter, outcome)
        except PluginError as error:
            failures.append(with_module(action.verb, action.name, str(error)))
            if reporter is not None:
                reporter.failed(action.verb, action.name, error, action.version)
    return failures
