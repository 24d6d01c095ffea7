"""Where a group's files live, and the version record the Go plugin also writes.

`<data_dir>/compose/<name>` is the working directory compose runs in. Beside
it, while an install runs: `.<name>.tedge-staging` (the new files, unpacked
and checked) and `.<name>.tedge-previous` (the files of the version being
replaced, kept until the new one runs). Hidden names: never a module.
After a successful install `<working>/version` holds the module version on
line 1 and the module name on line 2 (the Go plugin's format), so groups
either plugin installed look the same to both.
"""

from __future__ import annotations

import os

from ....config import resolve_data_dir
from ....errors import PluginError
from ....labels import check_name, is_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ....config import Config

VERSION_FILE = "version"
_PENDING_VERSION = VERSION_FILE + ".tedge-pending"  # prepared before `up`, renamed after it
_STAGING_SUFFIX = ".tedge-staging"
_PREVIOUS_SUFFIX = ".tedge-previous"


def check_module_name(name: str) -> str:
    return check_name(name, "group", 128)


def compose_root(config: Config, create: bool = True) -> str:
    """`<data_dir>/compose`; "" for `list` when no data directory exists yet."""
    data_dir = resolve_data_dir(config, create=create)
    if not data_dir:
        return ""
    root = os.path.join(data_dir, "compose")
    if create:
        try:
            os.makedirs(root, mode=0o750, exist_ok=True)
        except OSError as error:
            raise PluginError(f"Cannot create {root}: {error.strerror}; check data_dir.") from None
    return root


class Layout:
    """The directories of one group."""

    __slots__ = ("name", "previous", "root", "staging", "working")

    def __init__(self, root: str, name: str) -> None:
        self.root = root
        self.name = name
        self.working = os.path.join(root, name)
        self.staging = os.path.join(root, f".{name}{_STAGING_SUFFIX}")
        self.previous = os.path.join(root, f".{name}{_PREVIOUS_SUFFIX}")

    @classmethod
    def of(cls, config: Config, name: str) -> Layout:
        return cls(compose_root(config), check_module_name(name))

    def exists(self) -> bool:
        return any(os.path.lexists(path) for path in (self.working, self.previous, self.staging))

    def trash(self, path: str) -> None:
        """Delete a directory of this group (only ever one of ours, below the compose root)."""
        if os.path.dirname(path) != self.root or not os.path.basename(path).lstrip("."):
            raise AssertionError(f"refusing to delete {path}")
        from .removal import remove_tree  # iterative: no depth of tree makes it fail (removal.py)

        remove_tree(path)
        sync_directory(self.root)


def read_version(directory: str) -> str | None:
    """The recorded module version of a working directory; None when none was recorded."""
    try:
        with open(os.path.join(directory, VERSION_FILE), encoding="utf-8", errors="replace") as stream:
            return stream.readline().rstrip("\r\n")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def read_module_name(directory: str) -> str:
    """The module name recorded on line 2 of a working directory's version file ("" when none)."""
    if not directory:
        return ""
    try:
        with open(os.path.join(directory, VERSION_FILE), encoding="utf-8", errors="replace") as stream:
            stream.readline()
            return stream.readline().strip()
    except OSError:
        return ""


def write_version(directory: str, version: str, name: str) -> None:
    """Record the version atomically (a power loss leaves the old record or the new one)."""
    from ....safefiles import write_atomically  # never through a link the project's files hold

    write_atomically(os.path.join(directory, VERSION_FILE), f"{version}\n{name}\n".encode())
    sync_directory(directory)


def prepare_version(directory: str, version: str, name: str) -> None:
    """Write the record under a pending name before compose runs, so that recording it once the
    new version runs is one rename (commit_version), which a full disk does not refuse."""
    from ....safefiles import write_atomically

    write_atomically(os.path.join(directory, _PENDING_VERSION), f"{version}\n{name}\n".encode())


def commit_version(directory: str) -> None:
    """The prepared record becomes the record (read_version sees the new version from now on)."""
    os.replace(os.path.join(directory, _PENDING_VERSION), os.path.join(directory, VERSION_FILE))
    sync_directory(directory)


def sync_directory(path: str) -> None:
    """fsync a directory, so renames in it survive a power loss."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def installed(root: str) -> list[tuple[str, str]]:
    """(name, version) of every installed group, sorted.

    A group whose upgrade was interrupted is listed with the version it will be
    repaired to (the previous one) until its next install or remove.
    """
    if not root:
        return []
    try:
        entries = sorted(os.listdir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    names = set()
    for entry in entries:
        if entry.startswith(".") and entry.endswith(_PREVIOUS_SUFFIX):  # interrupted mid-swap
            entry = entry[1 : -len(_PREVIOUS_SUFFIX)]
        if is_name(entry):
            names.add(entry)
    modules = []
    for entry in sorted(names):
        layout = Layout(root, entry)
        version = read_version(layout.working)
        if version is None and os.path.isdir(layout.previous):
            version = read_version(layout.previous)
        if version is not None:
            modules.append((entry, version))
    return modules
