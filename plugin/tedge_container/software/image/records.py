"""What the container-image type installed: one small JSON record per module under data_dir.

Images cannot carry a label of ours, and `list` must never report every
image on the host (the Go plugin did), so the type keeps its own record:
`<data_dir>/images/<quoted module name>.json` with the module's name, its
version (tag or `@sha256:` digest), the full reference the engine knows and
the image id. A record is written (atomically) only after the image is in
the engine, and removed after the image is gone. The container type asks
`protects()` before pruning an image, so a pre-loaded image survives the
containers that used it.
"""

from __future__ import annotations

import os

from ... import jsonio  # not `json`, nor urllib or contextlib at the top: `list` reads records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ...config import Config

SUBDIR = "images"


class Record:
    __slots__ = ("image_id", "name", "reference", "version")

    def __init__(self, name: str, version: str, reference: str, image_id: str) -> None:
        self.name = name  # the module name: the repository as given (`127.0.0.1:5000/team/app`)
        self.version = version  # the module version: a tag, or `@sha256:...`
        self.reference = reference  # the full reference in the engine (`127.0.0.1:5000/team/app:1`)
        self.image_id = image_id


def records_dir(config: Config, create: bool = False) -> str:
    """The records' directory; '' when there is none yet (and `create` is False)."""
    from ...config import resolve_data_dir

    data_dir = resolve_data_dir(config, create=create)
    return os.path.join(data_dir, SUBDIR) if data_dir else ""


def _path(directory: str, name: str) -> str:
    from urllib.parse import quote

    return os.path.join(directory, quote(name, safe="") + ".json")


def read_all(config: Config) -> Iterator[Record]:
    """Every record; unreadable files are skipped (a record is only ever written whole)."""
    directory = records_dir(config)
    try:
        entries = sorted(os.listdir(directory)) if directory else []
    except OSError:
        return
    for entry in entries:
        if not entry.endswith(".json"):
            continue
        try:
            with open(os.path.join(directory, entry), encoding="utf-8") as stream:
                data = jsonio.loads(stream.read())  # json.load(stream) is that
            yield Record(data["name"], data["version"], data["reference"], data.get("image_id", ""))
        except (OSError, ValueError, KeyError, TypeError):
            continue


def find(config: Config, name: str) -> Record | None:
    directory = records_dir(config)
    if not directory:
        return None
    try:
        with open(_path(directory, name), encoding="utf-8") as stream:
            data = jsonio.loads(stream.read())
        return Record(data["name"], data["version"], data["reference"], data.get("image_id", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write(config: Config, record: Record) -> None:
    directory = records_dir(config, create=True)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    from ...safefiles import write_atomically  # never through a link planted at the record's name

    data = {slot: getattr(record, slot) for slot in Record.__slots__}
    # What json.dump(data, stream) writes.
    write_atomically(_path(directory, record.name), jsonio.dumps(data).encode(), temporary_suffix=".tmp")


def delete(config: Config, name: str, only: Record | None = None) -> None:
    """Drop module `name`'s record; with `only`, just when it still is that record (not a newer one)."""
    directory = records_dir(config)
    if only is not None:
        current = find(config, name)
        if current is None or (current.reference, current.version) != (only.reference, only.version):
            return
    if directory:
        import contextlib

        with contextlib.suppress(FileNotFoundError):
            os.unlink(_path(directory, name))


def protects(config: Config, image: str, image_id: str) -> bool:
    """True when the container-image type installed this image (by reference or id)."""
    return any(
        (image and record.reference == image) or (image_id and record.image_id == image_id)
        for record in read_all(config)
    )
