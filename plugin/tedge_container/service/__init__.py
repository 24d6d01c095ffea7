"""thin-edge service commands: the cloud's start / stop / restart / pause / unpause buttons.

tedge-agent's workflows run `tedge service ACTION NAME --service-type TYPE`,
which runs `/usr/share/tedge/service-plugins/TYPE ACTION NAME` as root
(docs/service-commands.md). The service plugins `container` and
`container-group` are this package:

- `dispatch`: argv → action, and the service plugin's exit codes (0 done,
  2 only for an action the plugin does not have, 1 for every failure);
- `targets`: the service name → the containers behind it, only those this plugin manages;
- `actions`: the action on the engine, under the module's lock, with the install's readiness rule;
- `record`: which services were stopped (or paused) by a command, and when;
- `capabilities`: the actions declared on MQTT (`.../cmd/ACTION`) for each service.
"""

from __future__ import annotations

ACTIONS = ("start", "stop", "restart", "pause", "unpause")
SERVICE_TYPES = ("container", "container-group")
# Run from a file in a directory of this name, the program is the service plugin its file name says.
SERVICE_PLUGINS_DIR = "service-plugins"
