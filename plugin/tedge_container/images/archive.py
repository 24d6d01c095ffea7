"""Image archives given with `--file`: what they hold, and streaming them to the engine.

An archive is a docker-archive (`manifest.json` with `RepoTags`) or an
oci-archive (`index.json` with `org.opencontainers.image.ref.name`), plain or
gzip-compressed. podman 4.3 rejects gzip, so compressed archives are
decompressed here as a stream; memory stays constant whatever the size.
"""

from __future__ import annotations

import gzip
import json
import os
import tarfile
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING

from ..errors import ArchiveError
from ..tarheaders import BoundedHeader, HeaderRefused
from . import references

if TYPE_CHECKING:
    from ..progress import Progress

# Below glibc's mmap threshold (128 KiB): 1 MiB reads grew and trimmed the heap on every chunk
# (brk twice a read), 40% of the CPU of checking a 1 GiB layer; 64 KiB reads reuse the heap.
CHUNK_SIZE = 64 << 10
GZIP_MAGIC = b"\x1f\x8b"
_MAX_INDEX_SIZE = 16 << 20
_OCI_NAME_ANNOTATIONS = ("io.containerd.image.name", "org.opencontainers.image.ref.name")


def _open(path: str) -> IO[bytes]:
    try:
        raw = open(path, "rb")  # noqa: SIM115 - handed to the caller, who closes it
    except OSError as error:
        raise ArchiveError(f"Cannot read the image archive {path}: {error.strerror}.") from None
    if raw.read(2) == GZIP_MAGIC:
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def image_names(path: str) -> list[str]:
    """The image names an archive declares, as written in it (not normalised).

    Reads the archive once, member by member, without holding layers in memory.
    """
    names: list[str] = []
    found_index = False
    try:
        with _open(path) as stream, tarfile.open(fileobj=stream, mode="r|", tarinfo=BoundedHeader) as tar:
            for member in tar:
                base = member.name.lstrip("./")
                if base not in ("manifest.json", "index.json") or not member.isfile():
                    continue
                if member.size > _MAX_INDEX_SIZE:
                    raise ArchiveError(f"{path}: {base} is implausibly large.")
                extracted = tar.extractfile(member)
                document = json.loads(extracted.read() if extracted else b"null")
                found_index = True
                names += names_in_manifest(document) if base == "manifest.json" else names_in_index(document)
    except (tarfile.TarError, EOFError, OSError, ValueError, gzip.BadGzipFile, HeaderRefused) as error:
        raise ArchiveError(
            f"{path} is not a readable image archive ({error}); "
            "expected a docker-archive or oci-archive, plain or gzip-compressed."
        ) from None
    if not found_index:
        raise ArchiveError(
            f"{path} is not an image archive: it has no manifest.json or index.json "
            "(create it with `podman save` or `docker save`)."
        )
    return list(dict.fromkeys(names))


def names_in_manifest(document: object) -> list[str]:
    if not isinstance(document, list):
        return []
    return [tag for entry in document if isinstance(entry, dict) for tag in entry.get("RepoTags") or []]


def names_in_index(document: object) -> list[str]:
    if not isinstance(document, dict):
        return []
    names = []
    for manifest in document.get("manifests") or []:
        annotations = manifest.get("annotations") or {} if isinstance(manifest, dict) else {}
        for key in _OCI_NAME_ANNOTATIONS:
            value = annotations.get(key, "")
            # A bare tag ("1.0") names no repository: it cannot identify the image.
            if value and ("/" in value or ":" in value):
                names.append(value)
                break
    return names


def select_image(
    path: str, version: str | None, wanted: Sequence[references.Reference] | None = None
) -> references.Reference:
    """The image to run from the archive: the first of `wanted` it holds, else its only image.

    `wanted` are the full names `version` may have, in order (for a short name:
    `localhost/NAME` first, see shortnames.py); by default `version` itself.
    A mismatch, or an archive without a named image, fails before anything is
    loaded.
    """
    declared = image_names(path)
    parsed = [ref for ref in map(references.try_parse, declared) if ref is not None]
    if not parsed:
        raise ArchiveError(
            f"{path} holds no tagged image; save it with a name (e.g. `podman save -o FILE IMAGE:TAG`)."
        )
    if version:
        candidates = list(wanted) if wanted else [references.parse(version)]
        for candidate in candidates:
            if candidate in parsed:
                return candidate
        looked = f" as {', '.join(c.full for c in candidates)}" if len(candidates) > 1 else ""
        raise ArchiveError(
            f"{path} does not hold {version}{looked} (it holds {', '.join(declared)}); "
            "check the module version or the file."
        )
    if len(parsed) > 1:
        raise ArchiveError(
            f"{path} holds several images ({', '.join(declared)}); give --module-version to choose one."
        )
    return parsed[0]


def unpacked_size(path: str) -> int:
    """A lower bound of the archive's uncompressed size, without reading it: what a load writes at least.

    For gzip, the trailer's ISIZE (the last member's size modulo 4 GiB) or the
    compressed size, whichever is larger; else the file's size.
    """
    try:
        with open(path, "rb") as raw:
            size = os.fstat(raw.fileno()).st_size
            if size < 18 or raw.read(2) != GZIP_MAGIC:
                return size
            raw.seek(-4, os.SEEK_END)
            return max(size, int.from_bytes(raw.read(4), "little"))
    except OSError:
        return 0


def stream(path: str, progress: Progress | None = None) -> Iterator[bytes]:
    """The archive's uncompressed bytes, in chunks; `progress` counts the file's bytes read."""
    with _open(path) as source:
        raw = getattr(source, "fileobj", None) or source  # the file under a gzip stream
        if progress is not None:
            progress.total = os.fstat(raw.fileno()).st_size
        while True:
            chunk = source.read(CHUNK_SIZE)
            if not chunk:
                return
            if progress is not None:
                progress.done = raw.tell()
            yield chunk
