"""`list`: one `NAME\\tVERSION` line per container, stopped ones included.

Runs on every software update, so it imports nothing heavy and changes nothing:
no `re` (a filter pattern that is plain text is matched with str methods), and
the engine only in `run` (container-group's `list` imports `clean` from here).
"""

from __future__ import annotations

from ...labels import COMPOSE_PROJECT_LABEL, MODULE_VERSION_LABEL, TRANSIENT_SUFFIXES, stands_for

TYPE_CHECKING = False  # `typing` itself costs ~5 ms, and `list` must start fast
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable

    from ...config import Config
    from ...engine import Container

# tedge-agent parses the list as CSV with quoting on: a '"' or a control character corrupts it.
_UNSAFE = dict.fromkeys([*range(0x20), ord('"'), 0x7F])  # str.translate: deleted
# What an RE2 pattern may hold, a leading `^` and a trailing `$` aside, to be plain text:
# characters RE2 gives no meaning (`.`, also in container names, matches any character).
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def clean(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8").translate(_UNSAFE)


def _has_label(labels: dict[str, str], selectors: Iterable[str]) -> bool:
    """True when `labels` has any of `selectors` (`key`, or `key=value`)."""
    for selector in selectors:
        key, eq, value = selector.partition("=")
        if key in labels and (not eq or labels[key] == value):
            return True
    return False


class PlainPattern:
    """An RE2 pattern of plain text, `^` and `$` aside (`^buildx`): searched without `re`.

    It matches what the compiled pattern matches: RE2's `^` and `$` (no flags)
    are the start and end of the text, the rest must appear as written.
    """

    __slots__ = ("anchored_end", "anchored_start", "pattern", "text")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.anchored_start = pattern.startswith("^")
        self.anchored_end = pattern.endswith("$")
        self.text = pattern[self.anchored_start : len(pattern) - self.anchored_end]

    @classmethod
    def of(cls, pattern: str) -> PlainPattern | None:
        """The pattern as plain text, or None when it needs `re`."""
        plain = cls(pattern)
        return plain if _PLAIN.issuperset(plain.text) else None

    def search(self, name: str) -> bool | None:
        """Like `re.Pattern.search`, truthy when the pattern is found in `name`."""
        if self.anchored_start and self.anchored_end:
            found = name == self.text
        elif self.anchored_start:
            found = name.startswith(self.text)
        elif self.anchored_end:
            found = name.endswith(self.text)
        else:
            found = self.text in name
        return found or None


def _patterns(config: Config, key: str) -> list[re.Pattern[str] | PlainPattern]:
    """The key's RE2 patterns; one that is not RE2 is skipped with a warning, as the Go plugin does."""
    patterns: list[re.Pattern[str] | PlainPattern] = []
    for pattern in config.get(key):
        plain = PlainPattern.of(pattern)
        if plain is not None:  # `^buildx`, the default: no `re` for it
            patterns.append(plain)
            continue
        from ... import log
        from ...re2_patterns import PatternError, compile_re2

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

    def accepts(self, container: Container, name: str = "") -> bool:
        """Whether `container` is listed; `name`: the module it stands for (see labels.stands_for)."""
        name, labels = name or container.name, container.labels
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
    """`list`'s lines; a container caught mid-swap is listed under its module's name."""
    containers = list(containers)
    names = {container.name for container in containers}
    modules = []
    for container in containers:
        module = stands_for(container.name, container.labels, names)
        if module and accepts.accepts(container, module):
            modules.append((module, module_version(container)))
    return "".join(f"{clean(module)}\t{clean(version)}\n" for module, version in sorted(modules))


def run(config: Config) -> str:
    from ...engine import Engine

    return format_modules(Engine(config).list_containers(), ContainerFilter(config))
