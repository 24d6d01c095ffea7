"""`list`: `NAME\\tVERSION` for each image this type installed that the engine still has.

Never every image on the host: only the records of this type (records.py),
checked against one raw image list of the engine. A module whose name
(`NAME:TAG`) the engine no longer has, the image deleted or only that name
removed by hand, is not reported and its record is dropped, so that `list`
and `remove` agree. Runs on every software update: no podman-py.
"""

from __future__ import annotations

from ...engine import Engine
from ..container.list import clean
from . import records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ...config import Config


def run(config: Config) -> str:
    installed = list(records.read_all(config))
    if not installed:
        return ""
    present = Engine(config).image_names()
    lines = []
    for record in sorted(installed, key=lambda r: r.name):
        # A digest names content: it is there while the image is (podman may list another digest of it).
        if record.reference in present or ("@" in record.reference and record.image_id in present):
            lines.append(f"{clean(record.name)}\t{clean(record.version)}\n")
        else:  # its name is gone (removed or untagged by hand): the module is gone too
            records.delete(config, record.name, only=record)
    return "".join(lines)
