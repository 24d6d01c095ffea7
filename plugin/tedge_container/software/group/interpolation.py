"""Compose's `${VAR}` interpolation, done once per distinct string and bounded in output and nesting.

What multiplies here is not the file's size: a string aliased 100,000 times,
a `.env` value used 200,000 times, `${A:-${B:-...}}` nested thousands deep.
So each block and each string of the document is interpolated once (memoised
by id: PyYAML gives every alias of a node the same object), and shared in the
result; every piece interpolation produces is counted against
`container_group.max_interpolated_size` before it is kept, and so is the
result's size with its aliases expanded (compose, a separate program, copies
each alias: a 500 KB string aliased 1,000 times is 500 MB there); `${...}` nested
deeper than `container_group.max_interpolation_depth` is refused. Every pass
that interpolates (the install's, the hosts override's, the one naming the
users of unset variables) goes through here.
"""

from __future__ import annotations

import re

from ...config.values import format_size
from .archive.limits import MAX_INTERPOLATED_SIZE_KEY, MAX_INTERPOLATION_DEPTH_KEY, LimitExceeded, Limits
from .errors import ProjectError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?\Z", re.S)
_BRACES = re.compile(r"[{}]")


class Budget:
    """What interpolation may still produce, in characters (one per pass over a document)."""

    __slots__ = ("left", "limit", "where")

    def __init__(self, limit: int, where: str) -> None:
        self.limit = limit
        self.left = limit
        self.where = where

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise LimitExceeded(
                f"{self.where}: interpolating its variables produces more than "
                f"{format_size(self.limit)} (the limit {MAX_INTERPOLATED_SIZE_KEY}); refused."
            )


class Interpolation:
    """Compose's `$VAR`, `${VAR}`, `${VAR:-def}`, `${VAR-def}`, `${VAR:?error}`, `${VAR:+alt}`, `$$`.

    `missing`, when given, collects the variables used without a default that are not set.
    """

    def __init__(
        self,
        variables: Mapping[str, str],
        where: str,
        missing: set[str] | None = None,
        limits: Limits | None = None,
    ) -> None:
        limits = limits or Limits()
        self.variables = variables
        self.where = where
        self.missing = missing
        self.budget = Budget(limits.interpolated_size, where)
        self.max_depth = limits.interpolation_depth

    def document(self, value: Any) -> Any:
        """`value` with every string interpolated; blocks and strings shared through aliases are
        interpolated once and stay shared in the result. The result's size with its aliases
        expanded (what compose, which copies them, will hold) is bounded too, computed without
        expanding. The document's nesting is bounded before (Limits.check_nodes), so the walk's
        recursion is too."""
        done: dict[int, tuple[Any, int]] = {}  # id → (result, size with aliases expanded)
        limit = self.budget.limit

        def walk(node: Any) -> tuple[Any, int]:
            if not isinstance(node, (dict, list, str)):
                return node, 8
            key = id(node)
            if key not in done:
                if isinstance(node, dict):
                    result: Any = {}
                    size = 0
                    for name, item in node.items():
                        result[name], item_size = walk(item)
                        size += item_size + len(str(name)) if isinstance(name, str) else item_size + 8
                        if size > limit:
                            raise self._too_large()
                elif isinstance(node, list):
                    result, size = [], 0
                    for item in node:
                        value, item_size = walk(item)
                        result.append(value)
                        size += item_size
                        if size > limit:
                            raise self._too_large()
                else:
                    result = self.text(node) if "$" in node else node
                    size = len(result)
                done[key] = result, size
            return done[key]

        result, size = walk(value)
        if size > limit:
            raise self._too_large()
        return result

    def _too_large(self) -> LimitExceeded:
        return LimitExceeded(
            f"{self.where} is larger than {format_size(self.budget.limit)} once interpolated, its aliases "
            f"expanded (the limit {MAX_INTERPOLATED_SIZE_KEY}); refused."
        )

    def text(self, text: str, depth: int = 0) -> str:
        """One string, interpolated (`depth`: the `${...}` it is the default of, counted)."""
        out: list[str] = []
        index, length = 0, len(text)
        while index < length:
            dollar = text.find("$", index)
            if dollar < 0 or dollar + 1 >= length:
                self._keep(out, text[index:])
                break
            if dollar > index:
                self._keep(out, text[index:dollar])
            following = text[dollar + 1]
            if following == "$":
                self._keep(out, "$")
                index = dollar + 2
            elif following == "{":  # to the matching brace: defaults may hold ${...} themselves
                end = self._closing(text, dollar + 2, depth)
                self._keep(out, self._braced(text[dollar + 2 : end], depth + 1))
                index = end + 1
            else:
                name = _NAME.match(text, dollar + 1)
                if name is None:
                    self._keep(out, "$")
                    index = dollar + 1
                    continue
                if self.missing is not None and name.group(0) not in self.variables:
                    self.missing.add(name.group(0))
                self._keep(out, self.variables.get(name.group(0), ""))
                index = name.end()
        return "".join(out)

    def _keep(self, out: list[str], piece: str) -> None:
        self.budget.spend(len(piece))
        out.append(piece)

    def _closing(self, text: str, start: int, depth: int) -> int:
        """The index of the brace closing the `${` before `start`; refused past the nesting bound."""
        level = 1
        for brace in _BRACES.finditer(text, start):
            level += 1 if brace.group(0) == "{" else -1
            if level == 0:
                return brace.start()
            if depth + level > self.max_depth:
                raise LimitExceeded(
                    f"{self.where}: {text[:40]!r}... nests ${{...}} more than {self.max_depth} deep "
                    f"(the limit {MAX_INTERPOLATION_DEPTH_KEY}); refused."
                )
        raise ProjectError(f"{self.where}: unclosed interpolation {text[start - 2 : start + 38]!r}.")

    def _braced(self, body: str, depth: int) -> str:
        braced = _BRACED.match(body)
        if not braced:
            raise ProjectError(f"{self.where}: invalid interpolation ${{{body[:60]}}}.")
        name, operator, argument = braced.groups()
        current = self.variables.get(name, "")
        if not operator:
            if self.missing is not None and name not in self.variables:
                self.missing.add(name)
            return current
        # With ':' an empty value counts as unset.
        is_set = bool(current) if operator.startswith(":") else name in self.variables
        kind = operator[-1]
        if kind == "-":
            return current if is_set else self.text(argument or "", depth)
        if kind == "+":
            return self.text(argument or "", depth) if is_set else ""
        if not is_set:  # "?"
            raise ProjectError(f"{self.where}: required variable {name} is missing: {argument or 'not set'}.")
        return current


def interpolate(
    value: Any,
    variables: Mapping[str, str],
    where: str,
    missing: set[str] | None = None,
    limits: Limits | None = None,
) -> Any:
    """The document `value` interpolated (see Interpolation)."""
    return Interpolation(variables, where, missing, limits).document(value)
