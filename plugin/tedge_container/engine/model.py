"""What the plugin needs to know about one container, from either of podman's answers."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


class Container:
    """What the plugin needs to know about one container."""

    __slots__ = ("id", "image", "image_id", "labels", "name", "state")

    def __init__(
        self, id: str, name: str, image: str, image_id: str, labels: dict[str, str], state: str
    ) -> None:
        self.id = id
        self.name = name
        self.image = image
        self.image_id = image_id
        self.labels = labels
        self.state = state

    @classmethod
    def from_list_entry(cls, entry: Mapping[str, Any]) -> Container:
        names = entry.get("Names") or [""]
        return cls(
            id=entry.get("Id", ""),
            name=names[0].lstrip("/"),
            image=entry.get("Image", ""),
            image_id=entry.get("ImageID", ""),
            labels=entry.get("Labels") or {},
            state=entry.get("State", ""),
        )

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> Container:
        config = data.get("Config") or {}
        return cls(
            id=data.get("Id", ""),
            name=data.get("Name", "").lstrip("/"),
            image=data.get("ImageName") or config.get("Image", ""),
            image_id=data.get("Image", ""),
            labels=config.get("Labels") or {},
            state=(data.get("State") or {}).get("Status", ""),
        )
