"""The engine adapter: the only code that talks to podman.

`Engine` is one object per operation, made of the connection (socket, raw
HTTP, podman-py on demand: connection.py) and what is done over it: images
(images.py), containers, networks and pods (containers.py), the service
commands' actions on existing containers (control.py), what compose
projects need to know of networks and pods (networks.py), and volumes, networks
and pods found by label and removed only when unused (labelled.py).
"""

from __future__ import annotations

from .containers import ContainerCalls
from .control import ControlCalls
from .images import ImageCalls, run_bounded
from .labelled import LabelledCalls
from .networks import NetworkCalls

__all__ = ["Engine", "run_bounded"]


class Engine(ContainerCalls, ControlCalls, ImageCalls, NetworkCalls, LabelledCalls):
    """A podman service reached through its unix socket."""
