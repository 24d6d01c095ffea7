"""A network namespace of its own for each pytest process (each xdist worker).

Engines side by side in one network namespace share its netfilter state: netavark's
firewall chains (NETAVARK_FORWARD, the nat table's chains) are set up and torn down by
every engine that starts or stops a container there, so one engine's teardown could remove a
chain another was still filling ("No chain/target/match by that name"), and aardvark-dns
binds the gateways' port 53 in that one namespace. Slots (networks.py) keep names, subnets
and bridges apart, but cannot keep the shared chains apart.

So each pytest process that runs tests, as root, moves itself into a new network namespace
before any service starts: every service it starts (podman and its containers, the registries, the
brokers, the rootless user's engine via runuser, podman 5's chroot) inherits it, and the
tests reach them on that namespace's own loopback. Nothing is shared with another worker or
with the machine's own engines but the kernel. TEDGE_TEST_NETNS=0 keeps the machine's
namespace (to look at a test's containers from outside while it runs).

Only the calling thread moves (unshare(2) is per thread for CLONE_NEWNET); pytest runs tests
in its main thread, which calls this, and threads and processes started from it later are in
the new namespace. execnet's I/O thread stays behind: it only reads and writes pipes.

What needs the package registries (scripts/build-packages' pip, debootstrap of the cached
Debian roots) runs in the machine's namespace, kept open for that: `in_machine_network`.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import struct
from collections.abc import Sequence

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

_machine_namespace: int | None = None  # an fd of the namespace this process started in


def enter_own_network_namespace() -> bool:
    """Move this thread into a new network namespace with loopback up; False where it cannot
    (not root, or TEDGE_TEST_NETNS=0): the tests then share the machine's namespace."""
    if os.geteuid() != 0 or os.environ.get("TEDGE_TEST_NETNS", "1") == "0":
        return False
    global _machine_namespace
    if _machine_namespace is not None:
        return True
    machine = os.open("/proc/self/ns/net", os.O_RDONLY)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        os.close(machine)
        hint = "TEDGE_TEST_NETNS=0 runs the tests in the machine's namespace"
        raise OSError(error, f"unshare(CLONE_NEWNET): {os.strerror(error)} ({hint})")
    _machine_namespace = machine
    _set_up("lo")
    return True


def in_machine_network(argv: Sequence[str]) -> list[str]:
    """ARGV to run in the machine's network namespace (where the package registries are)."""
    if _machine_namespace is None:
        return list(argv)
    return ["nsenter", f"--net=/proc/{os.getpid()}/fd/{_machine_namespace}", "--", *argv]


def _set_up(interface: str) -> None:
    """`ip link set INTERFACE up`, without needing iproute2."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", interface.encode(), 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", interface.encode(), flags | IFF_UP))
