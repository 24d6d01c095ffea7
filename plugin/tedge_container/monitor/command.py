"""`tedge-container-plugin monitor`: run in the foreground until SIGTERM or SIGINT (exit 0)."""

from __future__ import annotations

import signal

from ..errors import PluginError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..config import Config

USAGE = "monitor    run the container monitor in the foreground (the tedge-container-plugin service)"


def run(config: Config, args: list[str]) -> int:
    if args and args[0] in ("-h", "--help"):
        print(f"usage: tedge-container-plugin {USAGE}")
        return 0
    if args:
        raise UsageError(f"monitor takes no arguments (got {' '.join(args)!r}).")
    from ..status.settings import mqtt_settings, read_tedge_config
    from ..status.topics import ReportError, Topics
    from .service import Monitor

    tedge = read_tedge_config(config.config_dir)  # once: the broker's and the proxy's settings
    settings = mqtt_settings(config, tedge=tedge)
    try:
        topics = Topics(settings.topic_root, settings.device_topic_id)
        monitor = Monitor(config, settings, topics, tedge)
    except ReportError as error:
        raise PluginError(f"the monitor cannot start: {error}") from None

    def stop(_signum: int, _frame: Any) -> None:
        monitor.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return monitor.run()
