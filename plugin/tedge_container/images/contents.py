"""What an image archive read as a stream holds, checked to its last byte before anything is loaded.

archive.py looks at an archive given as a file for the names it declares;
a group bundle's image archives are members of another archive, read once
here as a stream (plain or gzip) to learn their images (names and ids) and
to prove them whole: every member's data is there, every layer and config
the manifest names is in the archive, gzip ends where it should. Memory stays
bounded: layers are read in chunks and dropped; only index documents and
small OCI blobs (for the image id) are kept, within fixed budgets.
"""

from __future__ import annotations

import gzip
import json
import tarfile
import zlib

from ..errors import ArchiveError
from ..tarheaders import BoundedHeader, HeaderRefused
from .archive import CHUNK_SIZE, GZIP_MAGIC, names_in_index, names_in_manifest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

_MAX_INDEX_SIZE = 16 << 20
_MAX_SMALL_BLOB = 64 << 10  # OCI manifests and configs are a few kB
_MAX_KEPT_BLOBS = 4 << 20
_MAX_ENTRIES = 100_000
# What reading a broken or hostile image archive raises (HeaderRefused: a header held unbounded).
_UNREADABLE = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError, ValueError, HeaderRefused)


class Prepended:
    """A read-only stream that gives `head` first, then the rest of `source` (a peek on any stream)."""

    def __init__(self, head: bytes, source: IO[bytes]) -> None:
        self._head = head
        self._source = source

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                data, self._head = self._head + self._source.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._source.read(size)


def uncompressed(source: IO[bytes]) -> IO[bytes]:
    """`source` as an uncompressed stream: gzip is undone on the fly (podman 4.3 refuses it)."""
    head = source.read(2)
    stream = Prepended(head, source)
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[arg-type,return-value]
    return stream  # type: ignore[return-value]


class Counted:
    """Counts the bytes read through it, and refuses to read past `limit` (raises `over`)."""

    def __init__(self, source: IO[bytes], limit: int, over: ArchiveError) -> None:
        self._source = source
        self._limit = limit
        self._over = over
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self.count += len(data)
        if self.count > self._limit:
            raise self._over
        return data


class Contents:
    """The images of one archive: `names` as declared, `ids` by name, `size` uncompressed bytes."""

    __slots__ = ("ids", "names", "size")

    def __init__(self, names: list[str], ids: dict[str, str], size: int) -> None:
        self.names = names
        self.ids = ids
        self.size = size


def inspect(source: IO[bytes], display: str, limit: int, over: ArchiveError) -> Contents:
    """Read the image archive `source` to its end; ArchiveError naming `display` when it is not whole."""
    counted = Counted(uncompressed(source), limit, over)
    try:
        # tarfile.RECORDSIZE, not CHUNK_SIZE: a stream copies its whole buffer for each 512-byte
        # header (100,000 headers: 50 s of CPU with a 1 MiB buffer); data is still read in chunks.
        with tarfile.open(  # type: ignore[call-overload]
            fileobj=counted, mode="r|", bufsize=tarfile.RECORDSIZE, tarinfo=BoundedHeader
        ) as tar:
            members, documents, blobs = _read_all(tar, display)
        # Whatever follows the last member (end blocks, padding) must be there too.
        while counted.read(CHUNK_SIZE):
            pass
    except _UNREADABLE as error:
        raise ArchiveError(
            f"{display} is not a whole image archive ({error or type(error).__name__}); "
            "it is truncated or not `podman save` / `docker save` output."
        ) from None
    if not documents:
        raise ArchiveError(
            f"{display} is not an image archive: it has no manifest.json or index.json "
            "(create it with `podman save` or `docker save`)."
        )
    names, ids, needed = _describe(documents, blobs)
    missing = [name for name in needed if name not in members]
    if missing:
        raise ArchiveError(
            f"{display} is incomplete: it lacks {', '.join(missing[:3])}"
            f"{' and more' if len(missing) > 3 else ''}, which its manifest names; save it again."
        )
    if not names:
        raise ArchiveError(
            f"{display} holds no tagged image; save it with a name (`podman save -o FILE IMAGE:TAG`)."
        )
    return Contents(names, ids, counted.count)


def _read_all(tar: tarfile.TarFile, display: str) -> tuple[set[str], dict[str, object], dict[str, bytes]]:
    members: set[str] = set()
    documents: dict[str, object] = {}
    blobs: dict[str, bytes] = {}
    kept = 0
    for member in tar:
        name = member.name.removeprefix("./")
        if len(members) >= _MAX_ENTRIES:
            raise ArchiveError(f"{display} has more than {_MAX_ENTRIES} entries: not an image archive.")
        if name in members and not member.isdir():  # podman would read one, the plugin the other
            raise ArchiveError(f"{display} holds {name} twice: not `podman save` output; save it again.")
        members.add(name)
        if not member.isfile():
            continue
        extracted = tar.extractfile(member)
        if extracted is None:
            continue
        keep = name in ("manifest.json", "index.json")
        if keep and member.size > _MAX_INDEX_SIZE:
            raise ArchiveError(f"{display}: {name} is implausibly large.")
        small = name.startswith("blobs/") and member.size <= _MAX_SMALL_BLOB and kept < _MAX_KEPT_BLOBS
        data = _read_member(extracted, member.size, keep or small)
        if keep:
            documents[name] = json.loads(data)
        elif small:
            blobs[name] = data
            kept += len(data)
    return members, documents, blobs


def _read_member(extracted: IO[bytes], size: int, keep: bool) -> bytes:
    """The member's data (when `keep`), read in chunks; a short member is a truncated archive."""
    parts = []
    seen = 0
    while True:
        chunk = extracted.read(CHUNK_SIZE)
        if not chunk:
            break
        seen += len(chunk)
        if keep:
            parts.append(chunk)
    if seen != size:
        raise EOFError(f"unexpected end of data: {seen} of {size} bytes")
    return b"".join(parts)


def _describe(
    documents: dict[str, object], blobs: dict[str, bytes]
) -> tuple[list[str], dict[str, str], list[str]]:
    """Names, ids by name, and the members the index documents require."""
    names: list[str] = []
    ids: dict[str, str] = {}
    needed: list[str] = []
    manifest = documents.get("manifest.json")
    if manifest is not None:  # docker-archive (podman's and docker's, also beside an OCI layout)
        for entry in manifest if isinstance(manifest, list) else []:
            if not isinstance(entry, dict):
                continue
            config = str(entry.get("Config") or "")
            layers = [str(layer) for layer in entry.get("Layers") or []]
            needed += [config, *layers] if config else layers
            image_id = config.rsplit("/", 1)[-1].removesuffix(".json")
            tags = names_in_manifest([entry])
            names += tags
            ids.update((tag, image_id) for tag in tags if image_id)
    index = documents.get("index.json")
    if manifest is None and index is not None:  # oci-archive
        names += names_in_index(index)
        for entry in index.get("manifests") or [] if isinstance(index, dict) else []:
            digest = str(entry.get("digest") or "") if isinstance(entry, dict) else ""
            blob = "blobs/" + digest.replace(":", "/", 1)
            needed.append(blob)
            image_id = _config_digest(blobs.get(blob))
            for tag in names_in_index({"manifests": [entry]}):
                if image_id:
                    ids[tag] = image_id
    return [name for name in dict.fromkeys(names) if name], ids, needed


def _config_digest(manifest: bytes | None) -> str:
    try:
        digest = str(json.loads(manifest or b"null")["config"]["digest"])
    except (ValueError, KeyError, TypeError):
        return ""
    return digest.split(":", 1)[-1]


def plain_id(image_id: str) -> str:
    """An image id without its `sha256:` prefix, as podman's lists give it."""
    return image_id.split(":", 1)[-1] if image_id.startswith("sha256:") else image_id
