"""`list`: one `NAME\\tVERSION` line per container, stopped ones included.

Runs on every software update, so it imports nothing heavy and changes nothing.
"""

from __future__ import annotations

import re

from ...engine import Container, Engine
from ...labels import COMPOSE_PROJECT_LABEL, MODULE_VERSION_LABEL, TRANSIENT_SUFFIXES

TYPE_CHECKING = False  # `typing` itself costs ~5 ms, and `list` must start fast
if TYPE_CHECKING:
    from collections.abc import Iterable

    from ...config import Config

# tedge-agent parses the list as CSV with quoting on: a '"' or a control character corrupts it.
_UNSAFE = re.compile(r'["\x00-\x1f\x7f]')


def clean(text: str) -> str:
    return _UNSAFE.sub("", text.encode("utf-8", "replace").decode("utf-8"))


def _has_label(labels: dict[str, str], selectors: Iterable[str]) -> bool:
    """True when `labels` has any of `selectors` (`key`, or `key=value`)."""
    for selector in selectors:
        key, eq, value = selector.partition("=")
        if key in labels and (not eq or labels[key] == value):
            return True
    return False


def _patterns(config: Config, key: str) -> list[re.Pattern[str]]:
    """The key's RE2 patterns; one that is not RE2 is skipped with a warning, as the Go plugin does."""
    from ... import log
    from ...re2_patterns import PatternError, compile_re2

    patterns = []
    for pattern in config.get(key):
        try:
            patterns.append(compile_re2(pattern))
        except PatternError as error:
            log.warning(
                f"{config.origin(key)}: {key}: the pattern {pattern!r} is skipped: "
                f"it is not a usable RE2 regular expression ({error})."
            )
    return patterns


class ContainerFilter:
    """The Go plugin's filter.include / filter.exclude settings, plus what is never a module."""

    def __init__(self, config: Config) -> None:
        self.include_names = _patterns(config, "filter.include.names")
        self.include_labels = config.get("filter.include.labels")
        self.exclude_names = _patterns(config, "filter.exclude.names")
        self.exclude_labels = config.get("filter.exclude.labels")

    def accepts(self, container: Container) -> bool:
        name, labels = container.name, container.labels
        if not name or COMPOSE_PROJECT_LABEL in labels or name.endswith(TRANSIENT_SUFFIXES):
            return False
        if self.include_names and not any(p.search(name) for p in self.include_names):
            return False
        if self.include_labels and not _has_label(labels, self.include_labels):
            return False
        if any(p.search(name) for p in self.exclude_names):
            return False
        return not _has_label(labels, self.exclude_labels)


def module_version(container: Container) -> str:
    return container.labels.get(MODULE_VERSION_LABEL) or container.image


def format_modules(containers: Iterable[Container], accepts: ContainerFilter) -> str:
    lines = []
    for container in sorted(containers, key=lambda c: c.name):
        if accepts.accepts(container):
            lines.append(f"{clean(container.name)}\t{clean(module_version(container))}\n")
    return "".join(lines)


def run(config: Config) -> str:
    return format_modules(Engine(config).list_containers(), ContainerFilter(config))
