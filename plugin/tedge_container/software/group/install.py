"""`install NAME --module-version V --file F`: stage, pull, swap, check, record; or put the old version back.

1. Unpack F into `.NAME.tedge-staging` and read it as a compose project: a
   file that is not one fails here, before anything running is touched.
2. Check and load the images a bundle carries under `images/` (bundle/images.py),
   then pull every other service image through the plugin's credential chain.
3. Swap: the working directory moves aside to `.NAME.tedge-previous`, the
   staged files take its place, `podman-compose up -d` brings the new version
   up (unchanged services keep running; changed ones are recreated; dropped
   ones are removed; named volumes stay), and the engine is checked.
4. Only then is the version recorded (prepared before step 3: one rename now, which a
   full disk does not refuse; a failure or a signal before it rolls back), `previous` deleted and the images
   only the previous version's bundle brought pruned (bundle/record.py). If step 3
   fails, the new files go, the previous ones come back and are brought up
   again, and the project's networks they do not declare and nothing uses go.
   An interruption anywhere is repaired by the next install or remove (recovery.py).
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from ... import interrupts, log
from ...errors import PluginError, UsageError, add_context
from .archive.layout import (
    Layout,
    check_module_name,
    commit_version,
    prepare_version,
    read_version,
    sync_directory,
)
from .archive.limits import Limits
from .archive.staging import unpack
from .bundle.images import MAX_SIZE_KEY, Bundle, ask_storage_root
from .bundle.members import is_bundled_image
from .bundle.record import prune, read_record, write_record
from .errors import ProjectError
from .ownership import Owner, check_bundle_names, check_collisions
from .project import Project
from .recovery import repair, restore_previous
from .volumes import nothing_left

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from ...config import Config
    from ...engine import Engine
    from .operations import Group


class Installed(NamedTuple):
    name: str
    version: str
    project: Project
    containers: dict[str, dict[str, Any]]  # service → its container's list entry
    dropped: list[str]  # services the previous version had and this one has not
    health: dict[str, str] = {}  # service → `up`/`down` as the check after compose saw it


def _rollback(
    group: Group, layout: Layout, new: Project, old: Project | None, before_restore: Callable[[], None] | None
) -> str:
    """Undo a failed swap; returns what the operator should know about the previous version."""
    try:
        if before_restore is not None:
            before_restore()
        if old is None or old.name != new.name:
            group.take_down(new, new.name, volumes=False)
        os.rename(layout.working, layout.staging)
        sync_directory(layout.root)
        layout.trash(layout.staging)
        if not os.path.isdir(layout.previous):
            return " " + nothing_left(group, new.name)
        return " " + restore_previous(group, layout)
    except (PluginError, OSError) as error:
        return f" Putting the previous version back failed too ({_described(error)}); install it again."


def swap(
    group: Group,
    layout: Layout,
    new: Project,
    version: str,
    before_restore: Callable[[], None] | None = None,
) -> Installed:
    """Put the staged project `new` in place and bring it up, or put the previous one back.

    `before_restore` runs before the previous version is brought up again (a bundle gives
    back the image names its loads took).
    """
    old: Project | None = None
    old_services: list[str] = []
    # Everything to write is written before `up`: after it only renames are left (nothing for a
    # full disk to refuse), and whatever still fails (a signal, an exception) is rolled back.
    try:
        prepare_version(layout.staging, version, layout.name)
    except OSError as error:
        layout.trash(layout.staging)
        raise PluginError(
            f"writing the version record failed: {_described(error)}; {_DATA_DIR_HINT}."
        ) from None
    if os.path.isdir(layout.working):
        old = group.try_load(layout.working, layout.name)
        old_services = old.service_names() if old is not None else []
        os.rename(layout.working, layout.previous)
    os.rename(layout.staging, layout.working)
    sync_directory(layout.root)
    new.directory = layout.working
    committed = False
    containers: dict[str, dict[str, Any]] = {}
    with interrupts.raising():
        try:
            containers = group.up(new)
            if old is not None and old.name != new.name:  # the compose file renamed the project
                old.directory = layout.previous
                try:
                    group.take_down(old, old.name, volumes=False)
                except PluginError as error:
                    log.warning(f"taking down the previous project {old.name} failed: {error}")
            commit_version(layout.working)
            committed = True
        except PluginError as error:
            with interrupts.shielded():
                suffix = _rollback(group, layout, new, old, before_restore)
            raise add_context(error, suffix=suffix) from None
        except BaseException as error:  # OSError (disk, ...), a signal, a bug: never left half done
            if committed:  # a signal after the record: the install is done, it finishes
                log.warning(f"{_described(error)}: {version} is recorded, the install finishes")
                return _finish(layout, old_services, _installed(group, layout, new, version, containers))
            with interrupts.shielded():
                suffix = _rollback(group, layout, new, old, before_restore)
            if isinstance(error, KeyboardInterrupt):  # SIGINT, SIGTERM, SIGHUP: exit 3 (cli.py)
                log.warning(f"{layout.name}: the install was interrupted and rolled back.{suffix}")
                raise
            raise PluginError(
                f"the install was cut short after the new version started ({_described(error)}); "
                f"it was rolled back.{suffix}"
            ) from None
    return _finish(layout, old_services, _installed(group, layout, new, version, containers))


def _installed(
    group: Group, layout: Layout, new: Project, version: str, containers: dict[str, dict[str, Any]]
) -> Installed:
    return Installed(layout.name, version, new, containers, [], dict(group.health))


def _finish(layout: Layout, old_services: list[str], installed: Installed) -> Installed:
    """After the record: the previous files go; returns `installed` with the services dropped."""
    if os.path.lexists(layout.previous):
        try:
            layout.trash(layout.previous)
        except OSError as error:  # recorded already: the next install or remove deletes it (recovery.py)
            log.warning(f"deleting the previous files of {layout.name} failed: {_described(error)}")
    dropped = [service for service in old_services if service not in installed.containers]
    return installed._replace(dropped=dropped)


def _described(error: BaseException) -> str:
    if isinstance(error, OSError):
        return f"{error.strerror or error} ({error.filename or 'data_dir'})"
    return str(error) or type(error).__name__


def _disk_guard(config: Config, layout: Layout, file: str) -> Callable[[int], None]:
    """Before unpacking: data_dir must keep container.min_free_space after the project's files."""
    from ... import diskspace

    def reserve(needed: int) -> None:
        diskspace.require(config, layout.root, needed, f"unpack {os.path.basename(file)}", _DATA_DIR_HINT)

    return reserve


def _unreadable(file: str, error: BaseException) -> ProjectError:
    reason = str(error).split(";")[0][:120]
    return ProjectError(
        f"{os.path.basename(file)} cannot be read as a compose project ({type(error).__name__}: {reason}); "
        "refused."
    )


_DATA_DIR_HINT = "free space there: remove groups or other files no longer needed from that filesystem"


def install(
    config: Config, name: str, version: str = "", file: str = "", engine: Engine | None = None
) -> Installed:
    from ...engine import Engine
    from .operations import Group

    check_module_name(name)
    if not file:
        raise UsageError(
            f"install {name}: --file is required: a compose file, or a tar, tar.gz or zip archive "
            "with the compose file at its root."
        )
    version = version or "latest"
    group = None
    try:
        group = Group(config, engine or Engine(config))
        layout = Layout.of(config, name)
        group.owner = Owner(layout)
        group.compose.get_ready()  # its guard starts while the files are staged and checked
        repair(group, layout)
        previous_version = read_version(layout.working)
        previous_images = read_record(layout.working)
        loaded: Bundle | None = None
        storage_root = ask_storage_root(group.engine, file)  # asked while unpacking (bundle/images.py)
        try:
            set_aside = unpack(  # the members under images/: the bundle, read from where they are
                file,
                layout.staging,
                Limits.of(config),
                _disk_guard(config, layout, file),
                skip=is_bundled_image,
            )
            staged = group.load(layout.staging, name)
            check_collisions(group, layout, staged)  # before anything of another module is touched
            group.warn_about(staged)
            loaded = Bundle.read(group.engine, file, set_aside, int(config.get(MAX_SIZE_KEY)), storage_root)
            if loaded is not None:
                loaded.check(staged)
                check_bundle_names(group, layout, loaded)
            group.pull_images(staged, skip=loaded.provided if loaded is not None else (), bundle=loaded)
            if loaded is not None:
                loaded.load(config)
            brought = write_record(layout.staging, staged, loaded, previous_images)
            group.ensure_network()
        except (
            BaseException
        ) as error:  # anything: a staging directory left behind would block the next install
            if loaded is not None:
                loaded.discard()
            if os.path.lexists(layout.staging):
                layout.trash(layout.staging)
            if isinstance(error, (RecursionError, MemoryError, ValueError)):  # what a parser could not take
                raise _unreadable(file, error) from None
            raise
        try:
            installed = swap(group, layout, staged, version, loaded.restore_names if loaded else None)
        except PluginError:
            if loaded is not None:
                loaded.discard()
            raise
        prune(group.engine, config, previous_images, brought)
    except PluginError as error:
        raise add_context(error, prefix=f"Installing group {name} {version} failed: ") from None
    except OSError as error:  # the data directory: full, read-only, ...
        raise PluginError(
            f"Installing group {name} {version} failed: {error.strerror or error} "
            f"({error.filename or 'data_dir'}); check the free space and data_dir."
        ) from None
    finally:
        if group is not None:
            group.compose.close()
    if previous_version is not None and previous_version != version:
        log.info(f"group {name}: {previous_version} replaced by {version}")
    return installed
