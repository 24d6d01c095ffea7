"""`list`: `NAME\\tVERSION` for each image this type installed that the engine still has.

Never every image on the host: only the records of this type (records.py),
checked against one raw image list of the engine, so an image deleted by hand
is not reported. Runs on every software update: no podman-py, no changes.
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
    lines = [
        f"{clean(record.name)}\t{clean(record.version)}\n"
        for record in sorted(installed, key=lambda r: r.name)
        if record.reference in present or record.image_id in present
    ]
    return "".join(lines)
