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

The bridge of a network it creates is the first podmanN that is neither live nor named in its
own network_config_dir: two services creating networks at the same moment would take the same
one (the bridge goes live only with the first container), then tear it down under each other
(aardvark-dns: "Cannot assign requested address"). So the slot's network_config_dir also
holds placeholder definitions (never used, internal, in 172.31/16) of podman0 up to its own
band, podman{BAND_START + BAND * N} and after.
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import json
import os
from collections.abc import Sequence
from pathlib import Path

from .proc import ServiceError

SLOTS = 100
BAND_START, BAND = 10, 20  # podman0..9: services without slots (the machine's own podman, older runs)
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

    def write_networks(self, network_config_dir: Path) -> None:
        """The default network's definition (podman makes one in memory only when none is on disk,
        always on the bridge podman0), and the placeholders that keep others' bridge names."""
        subnet = self._subnet()
        _write_network(network_config_dir, self.network, f"tedgetest{self.number}", subnet, internal=False)
        for index in range(BAND_START + BAND * self.number):
            name = f"tedge-test-placeholder-{index}"
            placeholder = f"172.31.{index // 64}.{index % 64 * 4}/30"
            _write_network(network_config_dir, name, f"podman{index}", placeholder, internal=True)

    def _subnet(self) -> str:
        return f"10.{100 + self.number}.0.0/24"


def _write_network(directory: Path, name: str, bridge: str, subnet: str, *, internal: bool) -> None:
    gateway = str(ipaddress.ip_network(subnet)[1])
    definition = {
        "name": name,
        "id": hashlib.sha256(name.encode()).hexdigest(),
        "driver": "bridge",
        "network_interface": bridge,
        "created": "2026-01-01T00:00:00Z",
        "subnets": [{"subnet": subnet, "gateway": gateway}],
        "ipv6_enabled": False,
        "internal": internal,
        "dns_enabled": False,
        "ipam_options": {"driver": "host-local"},
    }
    (directory / f"{name}.json").write_text(json.dumps(definition, indent=2))


def private_run_dir_argv(run_dir: Path, argv: Sequence[str]) -> list[str]:
    """ARGV (the host's podman) with RUN_DIR as its /run/containers/networks.

    Mount propagation "slave": mounts made on the host later (a test's tmpfs) still show.
    """
    return [
        "unshare", "--mount", "--propagation", "slave", "sh", "-c", _PRIVATE_RUN_DIR_SCRIPT, "sh",
        str(run_dir), *argv,
    ]  # fmt: skip
