"""Every key the plugin reads, with its default; the keys only the Go plugin reads."""

from __future__ import annotations

from .values import ByteSize

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_TEDGE_CONFIG_DIR = "/etc/tedge"
CONFIG_FILE_NAME = "tedge-container-plugin.toml"

# Every key the plugin reads, with its default. The type of the default is the
# type of the setting: any value is converted to it (values.py).
DEFAULTS: dict[str, Any] = {
    "container.host": "",
    "container.network": "tedge",
    "container.alwayspull": False,
    "container.pruneimages": True,
    "container.publish_all": True,
    "container.connect_timeout": 5.0,
    "container.api_timeout": 60.0,
    "container.pull_timeout": 1800.0,
    "container.stop_timeout": 10.0,
    "container.min_ready": 3.0,
    "container.health_timeout": 60.0,
    "container.lock_timeout": 300.0,
    "container.progress_interval": 5.0,
    # Kept free on the filesystem that a pull, a load or an unpack writes to (diskspace.py); 0: off.
    "container.min_free_space": ByteSize(256 << 20),
    "filter.include.names": [],
    "filter.include.labels": [],
    "filter.exclude.names": ["^buildx"],
    "filter.exclude.labels": ["tedge.ignore"],
    "registry.helper": "registry-credentials",
    "registry.helper_timeout": 60.0,
    "registry.credentials_path": "/data/tedge-container-plugin/credentials.toml",
    "client.mqtt.host": "",
    "client.mqtt.port": 0,
    "topic_root": "",
    "topic_id": "",
    "report.enabled": True,
    "report.timeout": 5.0,
    "log_level": "info",
    # container-group: projects live in <data_dir>/compose/<name> (the Go plugin's key).
    # A list, as the Go plugin's file has it: the first writable is used
    # (resolve_data_dir); empty: DATA_DIR_CANDIDATES.
    "data_dir": [],
    "container_group.keep_volumes": False,
    "container_group.compose_timeout": 600.0,
    # Unset: container.min_ready, the container type's gate (group/checks.py settle_seconds).
    "container_group.settle_time": 3.0,
    # Bounds on a group's --file (software/group/archive/limits.py): unpacked bytes and entries of an
    # archive, the compose file's size and its YAML nodes with aliases expanded.
    "container_group.max_unpacked_size": ByteSize(256 << 20),
    "container_group.max_entries": 10_000,
    "container_group.max_compose_size": ByteSize(1 << 20),
    "container_group.max_compose_nodes": 100_000,
    # The compose document's size once interpolated, aliases expanded (what compose holds), and
    # `${...}` nesting (software/group/interpolation.py); also bounds each `.env` file's expanded values.
    "container_group.max_interpolated_size": ByteSize(8 << 20),
    "container_group.max_interpolation_depth": 10,
    # Service names PROJECT@SERVICE (false, the Go plugin's default) or MODULE@SERVICE.
    "container_group.use_module_name": False,
    # Unknown compose keys (software/group/compose_keys.py): a warning each, or refused (exit 2) when true.
    "container_group.strict": False,
    # A bundle's service image missing from its images/: pulled (true), or the install fails (false).
    "container_group.bundle_pull": True,
    # Uncompressed bytes of the image archives under images/ of a group bundle (group/bundle/images.py).
    "container_group.max_images_size": ByteSize(4 << 30),
    "container_image.enabled": False,
    # The monitor (`tedge-container-plugin monitor`, docs/monitor.md). The Go service's keys first.
    "container.crash_loop_threshold": 3,  # restarts since first seen (or the last steady run): alarm
    "container.crash_loop_clear_after": 300.0,  # running this long without a restart clears it
    "container.crash_loop_update_interval": 60.0,  # the alarm's count (and the log line): at most this often
    # The engine the sm-plugins chose is looked up again this often, and a silent event stream pinged.
    "container.engine_probe_interval": 15.0,
    "metrics.enabled": True,
    "metrics.interval": 300.0,  # resource_usage measurements; 0: off
    # Deleting removed services in Cumulocity through tedge's proxy (monitor/cloud.py).
    "delete_from_cloud.enabled": True,
    "delete_from_cloud.delay": 30.0,
    "delete_from_cloud.max_vanished": 3,  # more vanishing in one resync: kept in the cloud, alarmed
    "client.c8y.host": "",  # "": c8y.proxy.client.host from tedge (127.0.0.1)
    "client.c8y.port": 0,  # 0: c8y.proxy.client.port from tedge (8001)
    "client.ca_file": "",
    "client.cert_file": "",
    "client.key": "",
    "device_id": "",  # "": the proxy's device user tells
    # thin-edge service commands (service/): the actions declared on every container and group
    # service, and run by the service plugins; [] turns them off.
    "service_commands.actions": ["start", "stop", "restart", "pause", "unpause"],
}

# String settings with a fixed set of values (compared in lower case).
CHOICES: dict[str, tuple[str, ...]] = {
    "log_level": ("debug", "info", "warn", "warning", "error"),
}

# Keys the Go plugin reads (its service, the types not provided here) that this
# plugin does not use: a switched device keeps them without a warning.
GO_ONLY_KEYS = frozenset(
    {
        "client.http.host",
        "client.http.port",
        "delete_from_cloud.orphans",
        "delete_from_cloud.orphans_interval",
        "delete_legacy",
        "events.enabled",
        "filter.include.ids",
        "filter.include.types",
        "reconcile.interval",
        "reconcile.retry_interval",
        "service_name",
    }
)

# The Go plugin's data_dir default: the first of these that is (or can be made) writable.
DATA_DIR_CANDIDATES = ("/data/tedge-container-plugin", "/var/tedge-container-plugin")
