"""`tedge-container-plugin service-command-check TYPE`: the first step of the shipped workflows.

The workflows /etc/tedge/operations/service_{start,stop,pause,unpause}.toml
apply to every service of the device; only container and container-group
services may go on to `tedge service`. This prints the next state in
tedge-agent's script-output form (always exit 0, so the agent reads it):
`execute`, or `failed` with a reason naming the type.
"""

from __future__ import annotations

import json
import sys

from . import SERVICE_TYPES

_TYPE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


def next_state(service_type: str) -> dict[str, str]:
    if service_type in SERVICE_TYPES:
        return {"status": "execute"}
    shown = service_type if service_type and _TYPE_CHARS.issuperset(service_type) else ""
    shown = f"'{shown[:64]}'" if shown else "not a valid service type"
    return {
        "status": "failed",
        "reason": (
            f"Not run: this workflow of tedge-podman-plugin acts only on services of type "
            f"{' and '.join(SERVICE_TYPES)}; this service's type is {shown}"
        ),
    }


def run(args: list[str]) -> int:
    state = next_state(args[0] if len(args) == 1 else "")
    sys.stdout.write(f":::begin-tedge:::\n{json.dumps(state)}\n:::end-tedge:::\n")
    sys.stdout.flush()
    return 0
