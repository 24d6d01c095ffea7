"""Container networks of one test podman service that no other service on the machine shares.

Rootful podman services share the host's network namespace, and podman assumes they share
their network definitions too: netavark keeps its IP allocations and aardvark-dns its
configurations per network *name* in /run/containers/networks, and names its firewall chains
after the network's id. Test services each have their own network_config_dir, so when two run
at once (pytest-xdist workers, other test runs) the default network "podman" (one id, one
bridge, 10.88.0.0/16) and a user network of the same name in both ("tedge", a compose
project's) would be set up and torn down under each other: missing iptables chains, DNS
answered by the other service's aardvark-dns or by none.

So each service takes a free slot (a lock held while it runs) and gets from it a default
network of its own (name, id, bridge, subnet), its own pool of subnets for the networks it
creates, and (the host's podman) its own /run/containers/networks, bind-mounted in a mount
namespace of its own; podman 5's chroot has its own /run already (trixie.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from .proc import ServiceError

SLOTS = 100
SLOT_DIR = Path("/run/tedge-test-network-slots")
NETAVARK_RUN_DIR = "/run/containers/networks"

# $1 the service's own run directory for netavark, then the command.
_PRIVATE_RUN_DIR_SCRIPT = f"""\
set -e
mkdir -p {NETAVARK_RUN_DIR}
mount --bind "$1" {NETAVARK_RUN_DIR}
shift
exec "$@"
"""


class NetworkSlot:
    """Slot N (held until release()): network tedge-test-N on bridge tedgetestN, 10.(100+N).0.0/16."""

    def __init__(self) -> None:
        SLOT_DIR.mkdir(parents=True, exist_ok=True)
        for number in range(SLOTS):
            fd = os.open(SLOT_DIR / f"{number}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.number, self._fd = number, fd
            return
        raise ServiceError(f"all {SLOTS} test network slots in {SLOT_DIR} are taken")

    @property
    def network(self) -> str:
        return f"tedge-test-{self.number}"

    @property
    def pool(self) -> str:
        return f"10.{100 + self.number}.0.0/16"

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def containers_conf(self) -> str:
        """The [network] keys of containers.conf (with network_config_dir, which the caller gives)."""
        return (
            f'default_network = "{self.network}"\n'
            f'default_subnet = "{self._subnet()}"\n'
            f'default_subnet_pools = [{{"base" = "{self.pool}", "size" = 24}}]\n'
        )

    def write_default_network(self, network_config_dir: Path) -> None:
        """The default network's definition: podman makes one in memory only when none is on disk,
        always on the bridge podman0."""
        subnet = self._subnet()
        definition = {
            "name": self.network,
            "id": hashlib.sha256(self.network.encode()).hexdigest(),
            "driver": "bridge",
            "network_interface": f"tedgetest{self.number}",
            "created": "2026-01-01T00:00:00Z",
            "subnets": [{"subnet": subnet, "gateway": subnet.replace(".0/24", ".1")}],
            "ipv6_enabled": False,
            "internal": False,
            "dns_enabled": False,
            "ipam_options": {"driver": "host-local"},
        }
        (network_config_dir / f"{self.network}.json").write_text(json.dumps(definition, indent=2))

    def _subnet(self) -> str:
        return f"10.{100 + self.number}.0.0/24"


def private_run_dir_argv(run_dir: Path, argv: Sequence[str]) -> list[str]:
    """ARGV (the host's podman) with RUN_DIR as its /run/containers/networks.

    Mount propagation "slave": mounts made on the host later (a test's tmpfs) still show.
    """
    return [
        "unshare", "--mount", "--propagation", "slave", "sh", "-c", _PRIVATE_RUN_DIR_SCRIPT, "sh",
        str(run_dir), *argv,
    ]  # fmt: skip
