"""The files a compose project reads besides its compose file: `.env`, `env_file`, `include`, `extends`.

Each is bounded like the compose file (`container_group.max_compose_size`) and
read only as UTF-8 text: a FIFO, a device, a directory, a binary file (NUL
bytes, invalid UTF-8) is one line naming the file, before compose is started
on it. `.env`'s own `${VAR}` expansion (python-dotenv's: earlier lines, then
compose's environment) is counted against `container_group.max_interpolated_size`,
since a value used many times multiplies.
"""

from __future__ import annotations

import codecs
import os
import stat

from ...config.values import format_size
from .archive.limits import MAX_COMPOSE_SIZE_KEY, LimitExceeded, Limits
from .errors import ProjectError
from .interpolation import Budget

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any

DOTENV = ".env"
_CHUNK = 64 * 1024


def read_text(path: str, display: str, limits: Limits, keep: bool = True) -> str:
    """The UTF-8 text of the regular file `path`, refused past `limits.compose_size`; "" unless `keep`."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO: never waited for
    except OSError as error:
        raise ProjectError(f"Cannot read {display}: {error.strerror}.") from None
    with os.fdopen(descriptor, "rb") as stream:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ProjectError(f"{display} is not a regular file; refused.")
        if info.st_size > limits.compose_size:
            raise _too_large(display, limits, info.st_size)
        decoder = codecs.getincrementaldecoder("utf-8")()
        kept: list[str] = []
        read = 0
        try:
            while True:
                chunk = stream.read(_CHUNK)
                read += len(chunk)
                if read > limits.compose_size:  # it grew since fstat
                    raise _too_large(display, limits, read)
                if b"\0" in chunk:
                    raise UnicodeDecodeError("utf-8", chunk, chunk.index(b"\0"), len(chunk), "NUL byte")
                text = decoder.decode(chunk, final=not chunk)
                if keep:
                    kept.append(text)
                if not chunk:
                    break
        except UnicodeDecodeError:
            raise ProjectError(f"{display} is not UTF-8 text (a binary file?); refused.") from None
    return "".join(kept)


def _too_large(display: str, limits: Limits, size: int) -> LimitExceeded:
    return LimitExceeded(
        f"{display} is larger than {format_size(limits.compose_size)} (the limit "
        f"{MAX_COMPOSE_SIZE_KEY}): {size} bytes; refused before reading it."
    )


def dotenv_variables(
    directory: str, environ: Mapping[str, str], limits: Limits | None = None
) -> dict[str, str]:
    """`.env` of the project (its values expanded as python-dotenv does), overridden by `environ`."""
    from collections import ChainMap

    limits = limits or Limits()
    path = os.path.join(directory, DOTENV)
    found: dict[str, str] = {}
    if os.path.isfile(path):  # as podman-compose reads it (anything else is ignored)
        import io

        from dotenv import dotenv_values
        from dotenv.variables import parse_variables

        text = read_text(path, DOTENV, limits)
        budget = Budget(limits.interpolated_size, DOTENV)
        known: ChainMap[str, str | None] = ChainMap(found, dict(environ))  # earlier lines win (override)
        for name, value in dotenv_values(stream=io.StringIO(text), interpolate=False).items():
            pieces = []
            for atom in parse_variables(value or ""):
                piece = atom.resolve(known)
                budget.spend(len(piece))
                pieces.append(piece)
            found[name] = "".join(pieces)
    found.update(environ)
    return found


def check_referenced(document: Mapping[str, Any], directory: str, limits: Limits) -> None:
    """Every file the (interpolated) document names for compose to read: bounded UTF-8 text, or refused."""
    seen: set[tuple[int, int]] = set()
    for path, what in _referenced(document):
        full = os.path.join(directory, path)
        try:
            info = os.stat(full)
        except (OSError, ValueError):  # missing (compose says so, or it is optional), or unusable
            continue
        if (info.st_dev, info.st_ino) in seen or (
            what.startswith("env_file") and not stat.S_ISREG(info.st_mode)
        ):
            continue  # podman-compose ignores an env_file that is not a regular file
        seen.add((info.st_dev, info.st_ino))
        read_text(full, f"{path[:100]} ({what})", limits, keep=False)


def _referenced(document: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    include = document.get("include")
    for entry in include if isinstance(include, list) else ():
        if isinstance(entry, dict):
            for key in ("path", "env_file"):
                for path in _paths(entry.get(key)):
                    yield path, "included"
        else:
            yield from ((path, "included") for path in _paths(entry))
    services = document.get("services")
    for service, body in services.items() if isinstance(services, dict) else ():
        if not isinstance(body, dict):
            continue
        for path in _paths(body.get("env_file")):
            yield path, f"env_file of service {str(service)[:60]}"
        extends = body.get("extends")
        if isinstance(extends, dict) and isinstance(extends.get("file"), str):
            yield extends["file"], f"extended by service {str(service)[:60]}"


def _paths(value: Any) -> Iterator[str]:
    """`env_file` and `include` forms: a path, a list of paths, a list of {path: ..., required: ...}."""
    for entry in value if isinstance(value, list) else [value]:
        if isinstance(entry, dict):
            entry = entry.get("path")
        if isinstance(entry, str) and entry:
            yield entry
