"""The engine: the only code that talks to podman (see adapter.py).

Importing this package stays cheap (no podman-py, no `typing`): `list` uses it.
"""

from __future__ import annotations

from .adapter import Engine, run_bounded
from .discovery import ENABLE_HINT, candidate_sockets, enable_hint
from .model import Container
from .pull_errors import classify_pull_error, pull_error
from .sockets import API_PREFIX, socket_path_of

__all__ = [
    "API_PREFIX",
    "ENABLE_HINT",
    "Container",
    "Engine",
    "candidate_sockets",
    "classify_pull_error",
    "enable_hint",
    "pull_error",
    "run_bounded",
    "socket_path_of",
]
