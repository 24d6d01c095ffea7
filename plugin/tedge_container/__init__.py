"""thin-edge.io software-management plugin that deploys containers through podman."""

__version__ = "0.1.0"
