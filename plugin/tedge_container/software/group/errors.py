"""The group type's own error, apart so that project.py, archive/ and bundle/ share it without a circle."""

from __future__ import annotations

from ...errors import PluginError


class ProjectError(PluginError):
    """The files are not a usable compose project (exit 2), found before anything runs."""
