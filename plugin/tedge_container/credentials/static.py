"""Providers 2 and 3: the static `credentials.toml` and `CONTAINER_REGISTRYn_*` variables.

The file holds any number of tables, each with `repo`, `username` and
`password`. A table called `registryN` takes per-key overrides from
`CONTAINER_REGISTRYN_REPO` / `_USERNAME` / `_PASSWORD` (as with the Go plugin);
variables whose N has no table form entries of their own (provider 3). The
most specific matching `repo` wins (see matching.py). Both are re-read on
every lookup, so a refresh sees an updated file.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from typing import Any, NamedTuple

from .._compat import tomllib
from ..images.references import Reference
from .matching import most_specific
from .model import Credentials, Found, ProviderError

_ENV_KEY = re.compile(r"CONTAINER_REGISTRY(\d+)_(REPO|USERNAME|PASSWORD)\Z")
_TABLE_NAME = re.compile(r"registry(\d+)\Z", re.IGNORECASE)
FIELDS = ("repo", "username", "password")


class Entry(NamedTuple):
    label: str  # `[registry3]`, `CONTAINER_REGISTRY7_*`: never secret
    repo: str
    username: str
    password: str

    def describe(self) -> str:
        return f"{self.label} repo {self.repo!r}"


def environment_entries(environ: Mapping[str, str]) -> dict[int, dict[str, str]]:
    """`CONTAINER_REGISTRYn_{REPO,USERNAME,PASSWORD}` grouped by n."""
    found: dict[int, dict[str, str]] = {}
    for name, value in environ.items():
        match = _ENV_KEY.match(name)
        if match:
            found.setdefault(int(match.group(1)), {})[match.group(2).lower()] = value
    return found


def table_index(name: str) -> int | None:
    match = _TABLE_NAME.match(name)
    return int(match.group(1)) if match else None


def _line_of(error: Exception) -> str:
    lineno = getattr(error, "lineno", None)
    return f" at line {lineno}" if lineno else ""


class StaticFile:
    """The parsed file, with the environment's per-key overrides applied to `registryN` tables."""

    def __init__(self, path: str, environ: Mapping[str, str]) -> None:
        self.path = path
        self.environ = environ

    def read(self) -> tuple[list[Entry], set[int], list[str]]:
        """(entries, N of the `registryN` tables, warnings); ProviderError when unreadable.

        A missing file is no entries.
        """
        warnings: list[str] = []
        try:
            with open(self.path, "rb") as stream:
                mode = os.fstat(stream.fileno()).st_mode
                data = tomllib.load(stream)
        except FileNotFoundError:
            return [], set(), []
        except tomllib.TOMLDecodeError as error:
            # The message carries "(at line L, column C)" and never the file's values.
            raise ProviderError(
                f"{self.path} is not valid TOML ({error}); fix the file, its credentials are not used."
            ) from None
        except UnicodeDecodeError:
            raise ProviderError(
                f"{self.path} is not UTF-8 text; fix the file, its credentials are not used."
            ) from None
        except OSError as error:
            raise ProviderError(f"Cannot read {self.path}: {error.strerror or error}.") from None
        if stat.S_IMODE(mode) & 0o077:
            warnings.append(
                f"{self.path} can be read by other users (mode {stat.S_IMODE(mode):03o}); "
                f"run `chmod 600 {self.path}`."
            )
        overrides = environment_entries(self.environ)
        entries: list[Entry] = []
        indices: set[int] = set()
        for name, table in data.items():
            if not isinstance(table, dict):
                warnings.append(f"{self.path}: {name!r} is not a table and is ignored.")
                continue
            index = table_index(name)
            values: dict[str, Any] = {k: table.get(k) for k in FIELDS}
            label = f"[{name}]"
            if index is not None:
                indices.add(index)
                env = overrides.get(index, {})
                if env:
                    values.update(env)
                    label += f" (with CONTAINER_REGISTRY{index}_* overrides)"
            entry = _entry(label, values, f"{self.path}: table [{name}]", warnings)
            if entry is not None:
                entries.append(entry)
        return entries, indices, warnings


def _entry(label: str, values: Mapping[str, Any], where: str, warnings: list[str]) -> Entry | None:
    wrong = [k for k in FIELDS if values.get(k) is not None and not isinstance(values[k], str)]
    if wrong:
        warnings.append(f"{where}: {', '.join(wrong)} must be text; the entry is ignored.")
        return None
    repo = (values.get("repo") or "").strip()
    if not repo:
        warnings.append(f"{where} has no repo; the entry is ignored.")
        return None
    return Entry(label, repo, values.get("username") or "", values.get("password") or "")


def best_entry(entries: list[Entry], reference: Reference, where: str, warnings: list[str]) -> Found | None:
    """The most specific complete entry for `reference`; incomplete matches are reported and skipped."""
    for _, entry in most_specific([(e.repo, e) for e in entries], reference):
        credentials = Credentials(entry.username, entry.password)
        if credentials.complete:
            return Found(credentials, entry.describe())
        missing = "username" if not entry.username else "password"
        warnings.append(
            f"{where} {entry.describe()} matches {reference.domain} but has no {missing}; skipped."
        )
    return None


class StaticFileProvider:
    """Provider 2: `registry.credentials_path`."""

    def __init__(self, path: str, environ: Mapping[str, str] | None = None) -> None:
        self.file = StaticFile(path, os.environ if environ is None else environ)
        self.name = f"file {path}"
        self.warnings: list[str] = []

    def lookup(self, reference: Reference, refresh: bool) -> Found | None:
        entries, _, self.warnings = self.file.read()
        return best_entry(entries, reference, self.file.path, self.warnings)


class EnvironmentProvider:
    """Provider 3: `CONTAINER_REGISTRYn_*` groups whose n has no `[registryn]` table in the file."""

    name = "environment"

    def __init__(self, static_file: StaticFile, environ: Mapping[str, str] | None = None) -> None:
        self.static_file = static_file
        self.environ = os.environ if environ is None else environ
        self.warnings: list[str] = []

    def lookup(self, reference: Reference, refresh: bool) -> Found | None:
        self.warnings = []
        try:
            _, taken, _ = self.static_file.read()
        except ProviderError:
            taken = set()  # the file's own error is reported by its provider
        entries = []
        for index, values in sorted(environment_entries(self.environ).items()):
            if index in taken:
                continue
            entry = _entry(
                f"CONTAINER_REGISTRY{index}_*", values, f"CONTAINER_REGISTRY{index}_*", self.warnings
            )
            if entry is not None:
                entries.append(entry)
        return best_entry(entries, reference, "environment", self.warnings)
