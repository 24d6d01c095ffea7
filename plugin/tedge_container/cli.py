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
OPERATOR_USAGE = """\
usage: {prog} --version
       {prog} credentials IMAGE     which registry credentials an install of IMAGE would use
       {prog} COMMAND ...           any sm-plugin command, as /etc/tedge/sm-plugins/container"""
DEFAULT_TYPE = "container"


def sm_usage(prog: str, type_name: str) -> str:
    from .software import contract, software_type

    software = software_type(type_name) or software_type(DEFAULT_TYPE)
    return contract.usage(prog, software)


def run_sm_command(type_name: str, command: str, args: list[str]) -> int:
    from .software import contract, software_type

    # Any other file name (a copy, a differently named link) is the `container` type, as before.
    software = software_type(type_name) or software_type(DEFAULT_TYPE)
    return contract.run(software, command, args)


def run_operator_command(prog: str, args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        print(OPERATOR_USAGE.format(prog=prog))
        print(sm_usage(prog, DEFAULT_TYPE))
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
    return run_sm_command(DEFAULT_TYPE, args[0], args[1:])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    prog = os.path.basename(argv[0]) if argv else PROGRAM
    args = argv[1:]
    is_operator = prog in (PROGRAM, "__main__.py", "-m")
    try:
        if is_operator:
            return run_operator_command(PROGRAM, args)
        if not args or args[0] in ("-h", "--help"):
            print(sm_usage(prog, prog), file=sys.stderr)
            return 0 if args else 1
        return run_sm_command(prog, args[0], args[1:])
    except UsageError as error:
        print(sm_usage(prog, prog if not is_operator else DEFAULT_TYPE), file=sys.stderr)
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
