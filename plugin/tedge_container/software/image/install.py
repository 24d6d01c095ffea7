"""`install NAME --module-version TAG [--file ARCHIVE]`: get image NAME:TAG into the engine and keep it.

The image comes as the container type gets its images (images/obtain.py): from the
archive after checking that it holds NAME:TAG, else from the local store or
its registry through the credential chain with its one refresh retry. Only
then is the record written. A new tag of a module replaces the previous one,
whose name is removed unless a container still uses it.
"""

from __future__ import annotations

from ... import log
from ...engine import Engine
from ...errors import PluginError, add_context
from ...images.obtain import obtain_image
from ...images.provenance import kept_reason
from ..base import Outcome
from . import records
from .common import describe_users, module_reference, require_enabled, users_through

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ...config import Config


def install(config: Config, name: str, version: str, file: str, engine: Engine | None = None) -> Outcome:
    require_enabled(config, "Installing", name)
    wanted = module_reference(name, version)
    version = version or "latest"
    engine = engine or Engine(config)
    try:
        reference = obtain_image(engine, config, wanted.text, file)
        data = engine.find_image(reference) or {}
        record = records.Record(name, version, reference, str(data.get("Id") or ""))
        previous = records.find(config, name)
        try:
            records.write(config, record)
        except OSError as error:
            raise PluginError(
                f"cannot record it under {records.records_dir(config)} ({error.strerror}); check data_dir"
            ) from None
    except PluginError as error:
        raise add_context(error, prefix=f"Installing image {name} failed: ") from None
    if previous is not None and previous.reference != reference:
        _drop_previous(engine, previous)
    return Outcome(f"image {reference} installed ({record.image_id[:12] or 'no id'})")


def _drop_previous(engine: Engine, previous: records.Record) -> None:
    """The module's former name goes, unless a container needs it (then it stays, said in a warning)."""
    try:
        data = engine.find_image(previous.reference)
        users = users_through(engine.list_containers(), previous.reference, data) if data else []
        why = kept_reason(engine.config, previous.reference, previous.image_id) if data else ""
        if users:
            log.warning(f"the previous image {previous.reference} is kept: {describe_users(users)} use it")
        elif why:
            log.info(f"the previous image {previous.reference} is kept: {why}")
        elif data and not engine.remove_image(previous.reference):
            log.warning(f"the previous image {previous.reference} could not be removed")
        elif data:
            log.info(f"the previous image name {previous.reference} removed")
    except PluginError as error:
        log.warning(f"the previous image {previous.reference} was not removed: {error}")
