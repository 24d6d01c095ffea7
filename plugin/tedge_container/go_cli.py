"""`tedge-container`: the Go plugin's command line, as far as this plugin offers it.

Scripts written for the Go plugin call `tedge-container TYPE COMMAND ...`
(`tedge-container container list`): every software type of this plugin is
accepted that way, and so are its log plugins (`tedge-container log-plugins
container-group list`, cli.py). The Go program's other commands (its `cobra`
command tree: run, engine, init, self, tools, container-logs, completion) are
not offered; each says in one line what to use instead (exit 1).
"""

from __future__ import annotations

from .errors import PluginError

GO_PROGRAM = "tedge-container"

# The Go CLI's commands (cmd/root.go) this plugin does not offer → what to use instead.
REPLACEMENTS = {
    "run": "the container monitor is `tedge-container-plugin monitor`, and every install and "
    "remove reports container status over MQTT itself",
    "engine": "run podman directly (`podman --remote ps`, `podman --remote logs NAME`, ...)",
    "init": "the package installs the configuration file /etc/tedge/plugins/tedge-container-plugin.toml: "
    "edit that file",
    "self": "update the plugin with the device's package manager (apt, dnf or apk)",
    "tools": "use podman directly (`podman logs`, `podman restart`, `podman rm --force`, `podman pull`)",
    "container-logs": "read a container's log with `podman logs NAME`",
    "completion": "there is no shell completion",
    "container-group": "compose projects are not managed by this plugin version: keep the Go plugin for them",
    "container-image": "image-only modules are not managed by this plugin version: install a "
    "`container` module instead",
}


class NotOffered(PluginError):
    """A Go CLI command this plugin does not have: one line, exit 1 (usage)."""

    exit_code = 1


def not_offered(command: str) -> NotOffered | None:
    """The error for a Go-only command, or None when `command` is not one."""
    replacement = REPLACEMENTS.get(command)
    if replacement is None:
        return None
    return NotOffered(
        f"`{GO_PROGRAM} {command}` is a command of the Go plugin that this plugin does not offer; "
        f"{replacement}."
    )
