"""The command line: argv → command, and every failure → one stderr line and an exit code.

Called as `container` (the file name tedge-agent runs from
/etc/tedge/sm-plugins), the program is the sm-plugin and accepts exactly its
commands. Called as `tedge-container-plugin`, it also offers operator
commands that the sm-plugin contract has no room for; called as
`tedge-container` (the Go plugin's program), the same, plus the Go CLI's
`tedge-container TYPE COMMAND ...` forms (go_cli.py). Every entry point takes
the global options of global_options.py (`--log-level`, `-v`, `-c`, `--version`).

Exit codes: 0 success, 1 usage, 2 failure, 3 when a later retry can help.
"""

from __future__ import annotations

import os
import sys

from . import __version__, global_options
from .errors import PluginError, UsageError

PROGRAM = "tedge-container-plugin"
# File names that run the operator program (the Go plugin's program name included).
OPERATOR_PROGRAMS = (PROGRAM, "tedge-container", "__main__.py", "-m")
OPERATOR_USAGE = """\
usage: {prog} --version
       {prog} credentials IMAGE     which registry credentials an install of IMAGE would use
       {prog} monitor               run the container monitor (the tedge-container-plugin service)
       {prog} TYPE COMMAND ...      an sm-plugin command of a software type ({types})
       {prog} log-plugins PLUGIN list|get ...   a log plugin (container, container-group)
       {prog} service-command-check TYPE   the service-command workflows' first step
       {prog} COMMAND ...           any sm-plugin command, as /etc/tedge/sm-plugins/container"""
DEFAULT_TYPE = "container"
# Run from a link in this directory (/usr/share/tedge/log-plugins), the program is the log plugin.
LOG_PLUGINS_DIR = "log-plugins"
# ... and from one in this directory (/usr/share/tedge/service-plugins), a service plugin (service/).
SERVICE_PLUGINS_DIR = "service-plugins"


def sm_usage(prog: str, type_name: str) -> str:
    from .software import contract, software_type

    software = software_type(type_name) or software_type(DEFAULT_TYPE)
    return contract.usage(prog, software)


def run_sm_command(type_name: str, command: str, args: list[str]) -> int:
    from .software import contract, software_type

    # Any other file name (a copy, a differently named link) is the `container` type, as before.
    software = software_type(type_name) or software_type(DEFAULT_TYPE)
    return contract.run(software, command, args)


def run_typed_command(prog: str, type_name: str, args: list[str]) -> int:
    """`PROG TYPE COMMAND ...` (`tedge-container container list`, as with the Go plugin)."""
    if not args:
        raise UsageError(f"{prog} {type_name}: give an sm-plugin command, e.g. `{prog} {type_name} list`.")
    if args[0] in ("-h", "--help", "help"):
        print(sm_usage(f"{prog} {type_name}", type_name))
        return 0
    return run_sm_command(type_name, args[0], args[1:])


def run_log_plugin_command(prog: str, args: list[str]) -> int:
    """`PROG log-plugins PLUGIN list|get ...` (the Go CLI's form of its log plugins)."""
    from .config import Config
    from .logplugin import PLUGINS
    from .logplugin import run as run_log_plugin

    if not args or args[0] not in PLUGINS:
        raise UsageError(
            f"{prog} log-plugins: give a log plugin ({' or '.join(PLUGINS)}), "
            f"e.g. `{prog} log-plugins {PLUGINS[0]} list`."
        )
    return run_log_plugin(Config.load(), args[1:], args[0])


def run_operator_command(prog: str, args: list[str]) -> int:
    from .software import TYPES

    if not args or args[0] in ("-h", "--help", "help"):
        print(OPERATOR_USAGE.format(prog=prog, types=", ".join(TYPES)))
        print(global_options.USAGE)
        print(sm_usage(prog, DEFAULT_TYPE))
        return 0 if args else 1
    if args[0] == "credentials":
        from .commands import credentials
        from .config import Config

        return credentials.run(Config.load(), args[1:])
    if args[0] == "monitor":
        from .config import Config
        from .monitor import command as monitor

        return monitor.run(Config.load(), args[1:])
    if args[0] == "service-command-check":
        from .service import workflow

        return workflow.run(args[1:])
    if args[0] in TYPES:
        return run_typed_command(prog, args[0], args[1:])
    if args[0] == "log-plugins":
        return run_log_plugin_command(prog, args[1:])
    from .go_cli import not_offered

    error = not_offered(args[0])
    if error is not None:
        raise error
    return run_sm_command(DEFAULT_TYPE, args[0], args[1:])


def main(argv: list[str] | None = None) -> int:
    from . import config, log

    argv = sys.argv if argv is None else argv
    prog = os.path.basename(argv[0]) if argv else PROGRAM
    if argv and os.path.basename(os.path.dirname(argv[0])) == SERVICE_PLUGINS_DIR:
        # A service plugin has its own argv (ACTION NAME, no options) and its own exit codes.
        from .service.dispatch import main as service_main

        return service_main(prog, argv[1:])
    is_operator = prog in OPERATOR_PROGRAMS
    if is_operator and prog != "tedge-container":
        prog = PROGRAM
    try:
        options, args = global_options.split(argv[1:])
        if options.version:
            print(f"{PROGRAM} {__version__}")
            return 0
        config.set_command_line(options.config_file, options.effective_log_level)
        if options.effective_log_level:
            log.set_level(options.effective_log_level)
        if is_operator:
            return run_operator_command(prog, args)
        if os.path.basename(os.path.dirname(argv[0])) == LOG_PLUGINS_DIR:
            from .config import Config
            from .logplugin import run as run_log_plugin

            return run_log_plugin(Config.load(), args, prog)
        if not args or args[0] in ("-h", "--help"):
            print(sm_usage(prog, prog), file=sys.stderr)
            return 0 if args else 1
        return run_sm_command(prog, args[0], args[1:])
    except UsageError as error:
        print(sm_usage(prog, prog if not is_operator else DEFAULT_TYPE), file=sys.stderr)
        print(global_options.USAGE, file=sys.stderr)
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
    finally:  # the options belong to this call only (tests call main() many times)
        config.set_command_line()
