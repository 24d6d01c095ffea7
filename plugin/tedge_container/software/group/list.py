"""`list`: `NAME\\tVERSION` of every group this plugin or the Go plugin installed, sorted.

Read from the version records in `<data_dir>/compose`, without asking the
engine: compose projects started by hand are not software modules.
"""

from __future__ import annotations

from ..container.list import clean
from .archive.layout import compose_root, installed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ...config import Config


def run(config: Config) -> str:
    modules = installed(compose_root(config, create=False))
    return "".join(f"{clean(name)}\t{clean(version)}\n" for name, version in modules)
