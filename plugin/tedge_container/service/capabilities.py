"""The service commands a service declares: retained `{}` on `.../service/NAME/cmd/ACTION`.

Declared with the registration (sm-plugins after an install, the monitor)
and cleared (retained empty) with the deregistration. `service_commands.actions`
chooses them (default all five; [] turns the feature off: nothing is
published, nothing is cleared). An action the engine cannot do (pause on a
rootless podman with cgroups v1) is not declared.
"""

from __future__ import annotations

from .. import log
from . import ACTIONS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any

    from ..config import Config
    from ..engine import Engine
    from ..status.topics import Topics

PAUSE_ACTIONS = frozenset({"pause", "unpause"})


def configured(config: Config) -> list[str]:
    """The actions `service_commands.actions` turns on, in the order of ACTIONS; unknown ones warned about."""
    wanted = [str(action).strip().lower() for action in config.get("service_commands.actions")]
    unknown = [action for action in wanted if action and action not in ACTIONS]
    if unknown:
        log.warning(
            f"{config.origin('service_commands.actions')}: service_commands.actions: "
            f"{', '.join(map(repr, unknown))} skipped: the actions are {', '.join(ACTIONS)}."
        )
    return [action for action in ACTIONS if action in wanted]


def pause_refusal(engine: Engine, timeout: float | None = None) -> str:
    """Why the engine cannot pause, '' when it can (or cannot tell: the command will say)."""
    try:
        return engine.pause_refusal(timeout)
    except Exception as error:  # the engine's trouble shows in the command itself
        log.debug(f"service commands: cannot ask podman whether it can pause ({error})")
        return ""


def supported(config: Config, engine: Engine | None, timeout: float | None = None) -> list[str]:
    """The actions to declare: configured, less pause/unpause when the engine cannot pause."""
    actions = configured(config)
    if engine is not None and PAUSE_ACTIONS.intersection(actions) and pause_refusal(engine, timeout):
        actions = [action for action in actions if action not in PAUSE_ACTIONS]
    return actions


def declarations(topics: Topics, name: str, actions: list[str]) -> Iterator[tuple[str, Any, bool]]:
    """(topic, payload, retain) of each capability of service `name`."""
    for action in actions:
        yield topics.capability(name, action), {}, True


def withdrawals(topics: Topics, name: str, actions: list[str]) -> Iterator[tuple[str, Any, bool]]:
    """(topic, None, retain): each capability cleared (a retained empty message)."""
    for action in actions:
        yield topics.capability(name, action), None, True


def commandable(service_type: str, labels: Mapping[str, str], group_root: str) -> bool:
    """Whether a service plugin acts on the container with `labels` (its service gets the buttons).

    `container`: one this plugin (or the Go plugin) installed; `container-group`: a
    container of a group installed under `group_root` (`<data_dir>/compose`).
    """
    from .targets import group_module_of, is_plain_module

    if service_type == "container":
        return is_plain_module(labels)
    return bool(group_root) and bool(group_module_of(labels, group_root))
