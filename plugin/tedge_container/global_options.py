"""Options every entry point accepts, anywhere on its command line (as the Go CLI's cobra does).

    --log-level LEVEL     debug, info, warn or error (overrides `log_level`)
    -v, --verbose         the same as --log-level debug
    -c, --config FILE     read FILE instead of $TEDGE_CONFIG_DIR/plugins/tedge-container-plugin.toml
    --version             print the version and exit

They are taken out of argv before the command is looked at, so every command
and software type, present and future, gets them. The value of a command's
own option (`--module-version V`, `--file F`) is never mistaken for one.
`--` ends the options.
"""

from __future__ import annotations

from .config import CHOICES
from .errors import UsageError

LEVELS = CHOICES["log_level"]
USAGE = "global options: [--log-level debug|info|warn|error] [-v|--verbose] [-c|--config FILE] [--version]"
# Options of the sm-plugin commands that take a value: their value is passed on untouched.
_COMMAND_VALUE_OPTIONS = ("--module-version", "--file")


class GlobalOptions:
    __slots__ = ("config_file", "log_level", "verbose", "version")

    def __init__(self) -> None:
        self.config_file = ""
        self.log_level = ""
        self.verbose = False
        self.version = False

    @property
    def effective_log_level(self) -> str:
        """The command line's log level: debug with -v, else --log-level, else "" (the config decides)."""
        return "debug" if self.verbose else self.log_level


def _value(option: str, inline: str | None, rest: list[str]) -> str:
    if inline is not None:
        value = inline
    elif rest:
        value = rest.pop(0)
    else:
        raise UsageError(f"{option} needs a value.")
    if not value:
        raise UsageError(f"{option} needs a value.")
    return value


def split(args: list[str]) -> tuple[GlobalOptions, list[str]]:
    """(the global options, the remaining arguments in order); UsageError for a bad one."""
    options = GlobalOptions()
    remaining: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        name, eq, inline_value = arg.partition("=")
        inline = inline_value if eq else None
        if arg == "--":
            remaining += rest
            break
        if name in _COMMAND_VALUE_OPTIONS and inline is None:
            remaining.append(arg)
            if rest:
                remaining.append(rest.pop(0))
        elif arg in ("-v", "--verbose"):
            options.verbose = True
        elif arg == "--version":
            options.version = True
        elif name == "--log-level":
            level = _value(name, inline, rest).lower()
            if level not in LEVELS:
                raise UsageError(f"--log-level {level}: expected one of debug, info, warn, error.")
            options.log_level = level
        elif name in ("-c", "--config"):
            options.config_file = _value(name, inline, rest)
        elif arg.startswith("-c") and not arg.startswith("--"):  # -cFILE, as pflag accepts
            options.config_file = arg[2:]
        else:
            remaining.append(arg)
    return options, remaining
