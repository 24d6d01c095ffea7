"""The command line: argv → command, and every failure → one stderr line and an exit code.

Called as `container` (the file name tedge-agent runs from
/etc/tedge/sm-plugins), the program is the sm-plugin and accepts exactly its
commands. Called as `tedge-container-plugin`, it also offers operator
commands that the sm-plugin contract has no room for.

Exit codes: 0 success, 1 usage, 2 failure, 3 when a later retry can help.
"""

from __future__ import annotations

import os
import sys

from . import __version__
from .errors import PluginError, UsageError

PROGRAM = "tedge-container-plugin"
SM_COMMANDS = ("list", "prepare", "finalize", "install", "remove", "update-list")
SM_USAGE = """\
usage: {prog} list
       {prog} prepare
       {prog} finalize
       {prog} install NAME [--module-version IMAGE] [--file ARCHIVE]
       {prog} remove NAME [--module-version IMAGE] [--file ARCHIVE]
       {prog} update-list < ACTIONS"""
OPERATOR_USAGE = """\
usage: {prog} --version
       {prog} credentials IMAGE     which registry credentials an install of IMAGE would use
       {prog} COMMAND ...           any sm-plugin command, as /etc/tedge/sm-plugins/container"""


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


def run_sm_command(command: str, args: list[str]) -> int:
    from .config import Config

    if command not in SM_COMMANDS:
        raise UsageError(f"unknown command {command!r}; expected one of {', '.join(SM_COMMANDS)}.")
    if command not in ("install", "remove") and args:
        raise UsageError(f"{command} takes no arguments, got {' '.join(args)!r}.")
    if command in ("prepare", "finalize"):
        return 0  # see commands/prepare.py and commands/finalize.py: nothing to do, by design

    config = Config.load()
    if command == "list":
        from .commands import list as list_command

        output = list_command.run(config)
        sys.stdout.buffer.write(output.encode("utf-8"))
        sys.stdout.flush()
        return 0

    from . import log

    log.set_level(config.get("log_level"))
    # MQTT status (reporter.py): published after the operation, before its own error
    # line, so that a reporting warning never is the last stderr line of a failure.
    from .reporter import Reporter

    reporter = Reporter(config)
    if command == "update-list":
        from .commands import update_list

        text = sys.stdin.buffer.read().decode("utf-8", "replace") if sys.stdin else ""
        failures = update_list.run(config, text, reporter)
        reporter.flush()
        for failure in failures:
            print(failure, file=sys.stderr)
        return 2 if failures else 0

    name, version, file = parse_module_args(command, args)
    try:
        if command == "install":
            from .commands.install import install

            installed = install(config, name, version, file)
            reporter.installed(installed)
            log.info(f"container {installed.name} runs {installed.image}")
        else:
            from .commands.remove import remove

            removed = remove(config, name)
            reporter.removed(name)
            log.info(f"container {name} removed" if removed else f"container {name} was not installed")
    except PluginError as error:
        reporter.failed(command, name, error, version)
        reporter.flush()
        raise
    reporter.flush()
    return 0


def run_operator_command(prog: str, args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        print(OPERATOR_USAGE.format(prog=prog))
        print(SM_USAGE.format(prog=prog))
        return 0 if args else 1
    if args[0] == "--version":
        print(f"{PROGRAM} {__version__}")
        return 0
    if args[0] == "credentials":
        from . import log
        from .commands import credentials
        from .config import Config

        config = Config.load()
        log.set_level(config.get("log_level"))
        return credentials.run(config, args[1:])
    return run_sm_command(args[0], args[1:])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    prog = os.path.basename(argv[0]) if argv else PROGRAM
    args = argv[1:]
    is_operator = prog in (PROGRAM, "__main__.py", "-m")
    try:
        if is_operator:
            return run_operator_command(PROGRAM, args)
        if not args or args[0] in ("-h", "--help"):
            print(SM_USAGE.format(prog=prog), file=sys.stderr)
            return 0 if args else 1
        return run_sm_command(args[0], args[1:])
    except UsageError as error:
        print(SM_USAGE.format(prog=prog), file=sys.stderr)
        print(error, file=sys.stderr)
        return error.exit_code
    except PluginError as error:
        print(error, file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("Interrupted; run the command again to finish the operation.", file=sys.stderr)
        return 3
    except Exception as error:  # never a traceback on the device; the type helps a bug report
        print(
            f"Unexpected {type(error).__name__}: {error}; please report this with the command that was run.",
            file=sys.stderr,
        )
        return 2
