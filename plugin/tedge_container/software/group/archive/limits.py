"""Bounds on the work any `--file` can cause: unpacked size, entries, compose file size, YAML nodes,
what interpolation produces and how deep `${...}` nests (interpolation.py).

Each is a key with a default (config/keys.py); going past one is exit 2 with
one line naming the limit and the key, before the bytes or nodes past it
exist. Aliases stay allowed (compose files share blocks with them): what is
bounded is the number of nodes the document has once every alias is
expanded, counted without expanding anything.
"""

from __future__ import annotations

from typing import NamedTuple

from ....config.keys import DEFAULTS
from ....config.values import format_size
from ..errors import ProjectError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ....config import Config

MAX_UNPACKED_SIZE_KEY = "container_group.max_unpacked_size"
MAX_ENTRIES_KEY = "container_group.max_entries"
MAX_COMPOSE_SIZE_KEY = "container_group.max_compose_size"
MAX_COMPOSE_NODES_KEY = "container_group.max_compose_nodes"
MAX_INTERPOLATED_SIZE_KEY = "container_group.max_interpolated_size"
MAX_INTERPOLATION_DEPTH_KEY = "container_group.max_interpolation_depth"
# Blocks in blocks, aliases expanded: real compose files stay within ten or so.
MAX_DEPTH = 200


class LimitExceeded(ProjectError):
    """The input is larger than a `container_group.max_*` key allows (exit 2)."""


class Limits(NamedTuple):
    unpacked_size: int = DEFAULTS[MAX_UNPACKED_SIZE_KEY]
    entries: int = DEFAULTS[MAX_ENTRIES_KEY]
    compose_size: int = DEFAULTS[MAX_COMPOSE_SIZE_KEY]
    compose_nodes: int = DEFAULTS[MAX_COMPOSE_NODES_KEY]
    interpolated_size: int = DEFAULTS[MAX_INTERPOLATED_SIZE_KEY]
    interpolation_depth: int = DEFAULTS[MAX_INTERPOLATION_DEPTH_KEY]

    @classmethod
    def of(cls, config: Config) -> Limits:
        return cls(
            int(config.get(MAX_UNPACKED_SIZE_KEY)),
            int(config.get(MAX_ENTRIES_KEY)),
            int(config.get(MAX_COMPOSE_SIZE_KEY)),
            int(config.get(MAX_COMPOSE_NODES_KEY)),
            int(config.get(MAX_INTERPOLATED_SIZE_KEY)),
            int(config.get(MAX_INTERPOLATION_DEPTH_KEY)),
        )

    def too_large(self, display: str) -> LimitExceeded:
        return LimitExceeded(
            f"{display} unpacks to more than {format_size(self.unpacked_size)} "
            f"(the limit {MAX_UNPACKED_SIZE_KEY}); refused. Raise it if the project really is that large."
        )

    def too_many(self, display: str) -> LimitExceeded:
        return LimitExceeded(
            f"{display} holds more than {self.entries} entries (the limit {MAX_ENTRIES_KEY}); refused."
        )

    def check_compose_size(self, display: str, size: int) -> None:
        """A compose file larger than the limit is refused before it is parsed."""
        if size > self.compose_size:
            raise LimitExceeded(
                f"{display} is larger than {format_size(self.compose_size)} (the limit "
                f"{MAX_COMPOSE_SIZE_KEY}): {size} bytes; refused before reading it."
            )

    def check_nodes(self, document: Any, display: str) -> int:
        """The document's node count with every alias expanded, computed without expanding (memoised by id).

        Refuses past `compose_nodes`, deeper than MAX_DEPTH once expanded (a chain of
        aliases is shallow as text, deep as a tree: code that walks it recursively would
        fail), and a document that contains itself (a recursive alias).
        """
        measured: dict[int, tuple[int, int]] = {}  # id → (nodes, height) of a block
        open_nodes: set[int] = set()
        budget = self.compose_nodes

        def too_deep() -> LimitExceeded:
            return LimitExceeded(
                f"{display} nests blocks more than {MAX_DEPTH} deep with its aliases; refused."
            )

        def measure(node: Any, depth: int) -> tuple[int, int]:  # recursion bounded by MAX_DEPTH
            if isinstance(node, dict):
                children: Any = (*node.keys(), *node.values())
            elif isinstance(node, list):
                children = node
            else:
                return 1, 1
            key = id(node)
            if key in measured:
                return measured[key]
            if key in open_nodes:
                raise LimitExceeded(f"{display}: an alias refers to a block that contains it; refused.")
            if depth >= MAX_DEPTH:
                raise too_deep()
            open_nodes.add(key)
            total, height = 1, 1
            for child in children:
                nodes, child_height = measure(child, depth + 1)
                total, height = total + nodes, max(height, child_height + 1)
                if total > budget:
                    raise LimitExceeded(
                        f"{display} expands to more than {budget} YAML nodes with its aliases "
                        f"(the limit {MAX_COMPOSE_NODES_KEY}); refused."
                    )
                if depth + height > MAX_DEPTH:
                    raise too_deep()
            open_nodes.discard(key)
            measured[key] = total, height
            return total, height

        return measure(document, 0)[0]
