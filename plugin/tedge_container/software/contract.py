"""The sm-plugin contract, the same for every software type.

tedge-agent runs `/etc/tedge/sm-plugins/TYPE COMMAND ...`: `list`, `prepare`,
`finalize`, `install NAME [--module-version V] [--file F]`, `remove NAME ...`
and `update-list` (actions on stdin). This module parses that, runs the
type's list/install/remove, and reports the outcome over MQTT.
"""

from __future__ import annotations

import sys

from ..errors import PluginError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Config
    from ..engine import Engine
    from ..status.reporter import Reporter
    from .base import Outcome, SoftwareType

SM_COMMANDS = ("list", "prepare", "finalize", "install", "remove", "update-list")
SM_USAGE = """\
usage: {prog} list
       {prog} prepare
       {prog} finalize
       {prog} install NAME [--module-version {version}] [--file FILE]
       {prog} remove NAME [--module-version {version}] [--file FILE]
       {prog} update-list < ACTIONS"""


def usage(prog: str, software: SoftwareType) -> str:
    return SM_USAGE.format(prog=prog, version=software.version_hint)


def parse_module_args(command: str, args: list[str]) -> tuple[str, str, str]:
    """`NAME [--module-version V] [--file F]` → (name, version, file)."""
    if not args or args[0].startswith("-"):
        raise UsageError(f"{command}: the module NAME is missing.")
    name, rest = args[0], args[1:]
    options = {"--module-version": "", "--file": ""}
    while rest:
        option, _, inline = rest[0].partition("=")
        if option not in options:
            raise UsageError(f"{command}: unexpected argument {rest[0]!r}.")
        if inline or "=" in rest[0]:
            options[option], rest = inline, rest[1:]
        elif len(rest) < 2:
            raise UsageError(f"{command}: {option} needs a value.")
        else:
            options[option], rest = rest[1], rest[2:]
    return name, options["--module-version"], options["--file"]


def report(reporter: Reporter, outcome: Outcome) -> None:
    """Queue what an install or remove did for the MQTT report (published by `flush`)."""
    for name in outcome.removed:
        reporter.removed(name)
    for service in outcome.services:
        reporter.installed(service)


def _kind_of(mode: int) -> str:
    import stat

    for test, kind in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return kind
    return "a special file"


def check_file(file: str) -> None:
    """`--file` must be a regular file (a link to one is fine), for every type.

    Checked with `stat`, before the module's lock is taken and before anything
    opens it: opening a FIFO for reading blocks until a writer comes, and a
    device can be read forever. A missing file is left to the type's own message.
    """
    import os
    import stat

    try:
        mode = os.stat(file).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise PluginError(
            f"--file {file} is {_kind_of(mode)}, not a regular file: give the path of the archive "
            "or compose file itself (nothing was changed)."
        )


# Unicode's control characters (C0, DEL, C1) and its line and paragraph separators: each
# breaks a line-oriented record (a group's version file, `list`'s NAME<TAB>VERSION lines).
_CONTROL = frozenset([*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), "\u2028", "\u2029"])


def check_printable(name: str, version: str) -> None:
    """Refuse (exit 2) a module name or version holding a control character, before anything is done."""
    for what, text in (("name", name), ("version", version)):
        found = next((char for char in text if char in _CONTROL), None)
        if found is not None:
            shown = text if len(text) <= 80 else text[:77] + "..."  # one readable line, whatever came
            raise PluginError(
                f"The module {what} {shown!r} holds the control character {found!r}; refused: "
                f"names and versions must be printable text."
            )


def perform(
    software: SoftwareType,
    config: Config,
    verb: str,
    name: str,
    version: str = "",
    file: str = "",
    engine: Engine | None = None,
) -> Outcome:
    """One install or remove, holding the module's lock (see locking.py) while it runs."""
    from ..locking import module_lock

    check_printable(name, version)
    if verb == "install" and file:
        check_file(file)
    with module_lock(software.name, name, float(config.get("container.lock_timeout")), verb):
        if verb == "install":
            outcome = software.install(config, name, version, file, engine=engine)
        else:
            outcome = software.remove(config, name, engine=engine, version=version)
        forget_commands(config, outcome)
        return outcome


def forget_commands(config: Config, outcome: Outcome) -> None:
    """A new install or a remove ends what a service command did (service/record.py)."""
    from ..service import record

    for service_name in [*outcome.removed, *(service.name for service in outcome.services)]:
        try:
            record.clear(config, service_name)
        except OSError as error:
            from .. import log

            log.warning(
                f"the service-command record of {service_name} could not be removed: {error.strerror}"
            )


def run(software: SoftwareType, command: str, args: list[str]) -> int:
    """Run one sm-plugin command of `software`; returns the exit code, raises PluginError."""
    from ..config import Config

    if command not in SM_COMMANDS:
        raise UsageError(f"unknown command {command!r}; expected one of {', '.join(SM_COMMANDS)}.")
    if command not in ("install", "remove") and args:
        raise UsageError(f"{command} takes no arguments, got {' '.join(args)!r}.")
    if command in ("prepare", "finalize"):
        # prepare: podman needs no lock or cache refresh. finalize: deliberately prunes
        # nothing (the Go plugin pruned every unused image, offline ones included); an
        # image a replaced or removed container used goes right then (container.pruneimages).
        return 0

    config = Config.load()
    if command == "list":
        output = software.list_modules(config)
        sys.stdout.buffer.write(output.encode("utf-8"))
        sys.stdout.flush()
        return 0

    from .. import log

    log.set_level(config.get("log_level"))
    # MQTT status: published after the operation, before its own error line,
    # so that a reporting warning never is the last stderr line of a failure.
    from ..status.reporter import Reporter

    reporter = Reporter(config, software.name)
    if command == "update-list":
        from . import update_list

        text = sys.stdin.buffer.read().decode("utf-8", "replace") if sys.stdin else ""
        failures = update_list.run(software, config, text, reporter)
        reporter.flush()
        for failure in failures:
            print(failure, file=sys.stderr)
        return 2 if failures else 0

    name, version, file = parse_module_args(command, args)
    try:
        from ..engine import Engine

        engine = Engine(config)
        reporter.use_engine(engine)  # the report's look at the container and pause question: same client
        outcome = perform(software, config, command, name, version, file, engine=engine)
        report(reporter, outcome)
        log.info(outcome.message)
    except UsageError:
        raise  # the command line was wrong: nothing happened on the device, nothing to tell the cloud
    except PluginError as error:
        reporter.failed(command, name, error, version)
        reporter.flush()
        raise
    reporter.flush()
    return 0
