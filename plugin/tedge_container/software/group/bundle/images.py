"""Group bundles: image archives under `images/` of a group archive, loaded before compose runs.

A `container-group` archive (tar, tar.gz or zip) may carry `podman save` /
`docker save` output (tar or tar.gz, one or more images each) under
`images/`. Those members are never unpacked into data_dir (archive/staging.py sets
them aside: `is_bundled_image`, members.py): this module reads them from the group
archive itself, where unpacking found them, twice, as streams:

1. Inspect: every image archive is read to its end (images/contents.py):
   its image names and ids, and proof that it is whole. Their uncompressed
   total is bounded by `container_group.max_images_size`. Every service whose
   image an archive holds is served by the bundle (never pulled, even with
   `container.alwayspull`); a `localhost/` or short name that no archive holds
   and the engine lacks fails here (exit 2). Nothing has been loaded yet.
2. Load: the archives whose images the engine lacks (by id) are streamed
   from the group archive into the engine, after the disk guard checked the
   space they need, and each name is checked to have the id it was saved with.

What a version's bundle brought is recorded in `RECORD_FILE` of its project
directory (record.py), so that an upgrade prunes only those images.
"""

from __future__ import annotations

import os
import threading

from .... import log
from ....config.values import format_size
from ....errors import ArchiveError, InvalidReference, PluginError, add_context
from ....images import references, shortnames
from ....images.provenance import remember
from ..archive.staging import archive_kind
from .members import BundleError, ImageArchive, member_path, members
from .record import image_id, remove_brought

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import IO

    from ....config import Config
    from ....engine import Engine
    from ..archive.staging import SetAside
    from ..project import Project

MAX_SIZE_KEY = "container_group.max_images_size"


def ask_storage_root(engine: Engine, file: str) -> threading.Thread | None:
    """Ask podman for its storage root (~0.3 s) while the archive is unpacked and read.

    The disk guard needs it before a bundle's loads; asked only for an archive (it may be a bundle).
    """
    from ....diskspace import MIN_FREE_KEY

    if int(engine.config.get(MIN_FREE_KEY)) <= 0 or not os.path.isfile(file):  # a FIFO would block
        return None
    try:
        if archive_kind(file) not in ("zip", "tar"):
            return None
    except OSError:
        return None
    thread = threading.Thread(target=engine.storage_root, name="storage root", daemon=True)
    thread.start()
    return thread


class Bundle:
    """The image archives of one group archive, checked, then loaded."""

    def __init__(self, engine: Engine, file: str, set_aside: SetAside, archives: list[ImageArchive]) -> None:
        self.engine = engine
        self.file = file
        self.set_aside = set_aside
        self.display = os.path.basename(file)
        self.archives = archives
        self.provided: set[str] = set()  # service image references (`Reference.full`) the bundle serves
        self.images: dict[str, str] = {}  # full name → id, of every image of the bundle once loaded
        self.loaded: dict[str, str] = {}  # full name → id, of the images this install loaded
        self.moved: dict[str, str] = {}  # full name → the id it named before the load took it
        self.prefetch: threading.Thread | None = None

    @classmethod
    def read(
        cls,
        engine: Engine,
        file: str,
        set_aside: SetAside,
        limit: int,
        prefetch: threading.Thread | None = None,
    ) -> Bundle | None:
        """Inspect every image archive of `file`; None when it has none.

        `set_aside`: its members under images/, as unpacking found them (archive/staging.py).
        `prefetch`: the storage root asked for already (ask_storage_root).
        """
        if not set_aside.members:
            return None  # no images/ (a compose file given as such): no tarfile, zipfile or contents imported
        import tarfile
        import zipfile
        import zlib

        from ....images import contents

        display = os.path.basename(file)
        over = ArchiveError(
            f"{display}: the image archives under images/ hold more than {MAX_SIZE_KEY} = "
            f"{format_size(limit)} (uncompressed); split the bundle or raise {MAX_SIZE_KEY}."
        )
        archives: list[ImageArchive] = []
        total = 0
        seen: set[str] = set()
        try:
            for member, stored, source in members(file, display, set_aside):
                where = f"{display}: {member}"
                if member_path(member) in seen:  # inspected from one, loaded from the other
                    raise BundleError(f"{display} holds {member} twice; keep one image archive of each name.")
                seen.add(member_path(member))
                held = contents.inspect(source, where, limit - total, over)
                total += held.size
                archives.append(ImageArchive(member, stored, where, held))
        except (OSError, EOFError) as error:
            raise BundleError(
                f"{display} cannot be read: {getattr(error, 'strerror', None) or error}."
            ) from None
        except (tarfile.TarError, zipfile.BadZipFile, zlib.error) as error:  # the group archive itself
            raise BundleError(f"{display} cannot be read ({error}).") from None
        if not archives:
            return None
        names = sum((len(archive.contents.names) for archive in archives), 0)
        log.info(f"{display}: {len(archives)} image archive(s), {names} image(s), {format_size(total)}")
        bundle = cls(engine, file, set_aside, archives)
        bundle.prefetch = prefetch
        return bundle

    # -- what the compose file needs -----------------------------------------------

    def check(self, project: Project) -> None:
        """Mark the services the bundle serves; a local name it lacks, and the engine too, is exit 2."""
        held = {name: archive for archive in self.archives for name in archive.references()}
        for spec in project.services:
            try:
                reference = references.parse(spec.image) if spec.image else None
            except InvalidReference:
                continue  # a build's local name, or a broken one that pull_images reports
            if reference is None:
                continue
            registries = self.engine.search_registries() if reference.short else ()
            candidates = shortnames.local_candidates(reference, registries)
            if any(candidate.full in held for candidate in candidates):
                self.provided.add(reference.full)
                continue
            if spec.builds or not (reference.short or reference.domain == shortnames.LOCALHOST):
                continue  # built by compose, or pulled from its registry as without a bundle
            local = (
                shortnames.find_local(self.engine, reference)
                if reference.short
                else self.engine.image_exists(reference.full) and reference.full
            )
            if not local:
                raise BundleError(self._missing(spec.name, spec.image))

    def _missing(self, service: str, image: str) -> str:
        listing = "; ".join(
            f"{archive.member} holds {', '.join(archive.contents.names)}" for archive in self.archives
        )
        return (
            f"{self.display}: service {service} uses {image}, which none of its image archives holds "
            f"({listing}) and podman does not have; a localhost/ or short name is not pulled for a "
            f"bundle: add the image under images/ (`podman save -o images/NAME.tar {image}`)."
        )

    # -- loading ---------------------------------------------------------------------

    def load(self, config: Config) -> None:
        """Load what the engine lacks (disk guard first), then check every name has its saved id."""
        from ....diskspace import require_in_engine

        before: dict[str, str] = {}  # full name → the id it named before any load ("" for none)
        for archive in self.archives:
            present = {name: image_id(self.engine, name) for name in archive.references()}
            before.update(present)
            archive.load = any(
                not saved or present[name] != saved for name, saved in archive.references().items()
            )
            saved_ids = archive.references()
            for name, current in present.items():
                if archive.load and current and current != saved_ids[name] and name not in self.moved:
                    self.moved[name] = current  # the load takes this name from another image
            if not archive.load:
                log.info(f"{archive.display}: podman has its images already, not loaded again")
        needed = sum(archive.contents.size for archive in self.archives if archive.load)
        if self.prefetch is not None:
            self.prefetch.join(float(config.get("container.connect_timeout")))
        if needed:
            require_in_engine(config, self.engine, needed, f"load the images of {self.display}")
        wanted = {archive.member: archive for archive in self.archives if archive.load}
        if wanted:
            # What the loads change is known from a look before and after them and from podman's
            # answers, not only from what the archives were read to hold: a failed install then
            # gives every name back and removes only what it added (discard).
            snapshot = self.engine.image_ids()
            answered: list[str] = []
            try:
                for member, _, source in members(self.file, self.display, self.set_aside):
                    if member in wanted:
                        answered += self._load_one(wanted[member], source)
            finally:
                self._account(snapshot, answered)
        for archive in self.archives:
            for name, saved in archive.references().items():
                current = image_id(self.engine, name)
                if not current or (saved and current != saved):
                    raise BundleError(
                        f"Loading {archive.display} did not produce {name}"
                        f"{f' with id {saved[:12]}' if saved else ''}; check that the archive holds it."
                    )
                self.images[name] = current
                if before[name] != current:  # a name the engine had already, as it is, was not brought
                    self.loaded[name] = current
                    remember(config, current, name)

    def _account(self, before: dict[str, str], answered: list[str]) -> None:
        """Record every name the loads set (`loaded`) and the id each took it from (`moved`)."""
        try:
            after = self.engine.image_ids()
            for name in answered:
                if name not in after:  # said in podman's own spelling: looked up as such
                    after[name] = image_id(self.engine, name)
        except PluginError as error:
            log.warning(f"listing the images after loading {self.display} failed: {error}")
            return
        for name, found in after.items():
            if found and before.get(name) != found:
                self.loaded[name] = found
                if before.get(name):
                    self.moved.setdefault(name, before[name])

    def _load_one(self, archive: ImageArchive, source: IO[bytes]) -> list[str]:
        from ....images import contents

        progress = self.engine.progress(f"Loading {archive.display}")
        progress.total = archive.stored
        counted = contents.Counted(source, 1 << 62, ArchiveError(""))
        stream = contents.uncompressed(counted)  # type: ignore[arg-type]

        def chunks() -> Iterable[bytes]:
            while True:
                chunk = stream.read(contents.CHUNK_SIZE)
                if not chunk:
                    return
                progress.done = counted.count
                yield chunk

        try:
            return self.engine.load_sized(chunks(), archive.contents.size, progress)
        except PluginError as error:  # its class kept: an engine that went away is still exit 3
            raise add_context(error, prefix=f"Loading {archive.display} failed: ") from None

    # -- undoing ---------------------------------------------------------------------

    def restore_names(self) -> None:
        """Give back the names this install's loads took from other images (before the old version runs)."""
        moved, self.moved = self.moved, {}
        for name, former in moved.items():
            reference = references.parse(name)
            try:
                self.engine.tag_image(former, reference.name, reference.tag or "latest")
            except PluginError as error:
                log.warning(f"giving {name} back to image {former[:12]} failed: {error}")

    def discard(self) -> None:
        """After a failed install: names given back, and what it loaded that no container uses removed."""
        from ....images.contents import plain_id

        self.restore_names()
        try:
            used = {plain_id(c.image_id) for c in self.engine.list_containers()}
            for name, loaded in self.loaded.items():
                if loaded not in used:
                    remove_brought(self.engine, name, loaded)
                    log.info(f"image {name} ({loaded[:12]}), which this failed install loaded, removed")
        except PluginError as error:
            log.warning(f"removing the images {self.display} loaded failed: {error}")
