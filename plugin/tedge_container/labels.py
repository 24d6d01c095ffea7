"""Names and labels the plugin puts on containers, shared by the commands."""

from __future__ import annotations

from .errors import PluginError

# Written at install with the exact --module-version; `list` reports it (Go plugin compatible).
MODULE_VERSION_LABEL = "io.thin-edge.module.version"
# Marks containers this plugin created.
MANAGED_LABEL = "io.thin-edge.container.managed-by"
MANAGED_BY = "tedge-container-plugin"
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
# The directory compose ran in: for a group, `<data_dir>/compose/NAME` (see ownership.py).
COMPOSE_WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"

# While a container is replaced, the new one is created as NAME.tedge-new and the
# old one waits as NAME.tedge-old until the new one runs. Neither is listed while
# NAME exists; a swap cut short between its renames is (see `stands_for`).
NEW_SUFFIX = ".tedge-new"
OLD_SUFFIX = ".tedge-old"
TRANSIENT_SUFFIXES = (NEW_SUFFIX, OLD_SUFFIX)

TYPE_CHECKING = False  # `list` imports this module: no `typing` at run time
if TYPE_CHECKING:
    from collections.abc import Container, Mapping


def is_managed(labels: Mapping[str, str]) -> bool:
    """Whether a (non-compose) container is one this plugin (or the Go plugin) installed as a module."""
    return labels.get(MANAGED_LABEL) == MANAGED_BY or bool(labels.get(MODULE_VERSION_LABEL))


def stands_for(name: str, labels: Mapping[str, str], names: Container[str]) -> str:
    """The container module that container `name` (with `labels`) stands for, '' for none.

    `names` are the names of every container in the engine. A swap killed
    between its two renames leaves NAME.tedge-old (and perhaps NAME.tedge-new)
    without NAME: NAME.tedge-old then stands for NAME, as the next install
    gives it its name back. Only NAME.tedge-new, made by this plugin (a first
    install cut short after its new container ran), stands for NAME too. While
    NAME exists, both transient containers stand for nothing.
    """
    if name.endswith(OLD_SUFFIX):
        module = name[: -len(OLD_SUFFIX)]
        return module if module not in names else ""
    if name.endswith(NEW_SUFFIX):
        module = name[: -len(NEW_SUFFIX)]
        if module in names or module + OLD_SUFFIX in names or labels.get(MANAGED_LABEL) != MANAGED_BY:
            return ""
        return module
    return name


# `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, checked without `re`: group `list` checks every directory name.
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_CHARS = _NAME_START | frozenset("_.-")


# Linux refuses a longer hostname (sethostname: EINVAL over 64 bytes); a DNS label has 63.
MAX_HOSTNAME = 63


def hostname_for(name: str) -> str:
    """The hostname of container module `name`: the name, cut to 63 characters when longer.

    The cut may not end in '-', '.' or '_' (a DNS label ends in a letter or digit);
    the name starts with one, so something is always left.
    """
    return name if len(name) <= MAX_HOSTNAME else name[:MAX_HOSTNAME].rstrip("-._")


def is_name(name: str) -> bool:
    """Whether `name` is made of letters, digits, '_', '.' and '-', starting with a letter or digit."""
    return bool(name) and name[0] in _NAME_START and _NAME_CHARS.issuperset(name)


def check_name(name: str, what: str, limit: int) -> str:
    """A container's or group's name as podman and the file system take it."""
    if not is_name(name) or len(name) > limit:
        raise PluginError(
            f"{name!r} cannot be a {what} name: use letters, digits, '_', '.' and '-', "
            f"starting with a letter or digit (at most {limit} characters)."
        )
    return name


def check_container_name(name: str) -> str:
    check_name(name, "container", 200)
    if name.endswith(TRANSIENT_SUFFIXES):
        raise PluginError(f"{name!r} ends with a suffix the plugin reserves for replacements.")
    return name
