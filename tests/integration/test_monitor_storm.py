"""A storm of engine events: the monitor's state stays right, nothing is lost silently (issue 23).

Containers created and removed beside crash loops, against real podman and
mosquitto. The monitor's work queue may fill up: what it cannot take is coalesced
per service or replaced by a resync (monitor/overflow.py), never dropped, so once
the storm is over the broker's retained registrations are exactly the engine's.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tests.support.monitor import podman, remove_crash_loop, service_topic, unique, wait_until

from tedge_container.monitor.overflow import Overflow

pytestmark = pytest.mark.integration

# The storm is 300 beside 10 (TEDGE_TEST_STORM_CONTAINERS=300 TEDGE_TEST_STORM_LOOPS=10: 4-7 min
# here on podman 4.3, 2 shared cores; the queue was full 6-10 times, 10-23 requests were kept aside,
# none lost; the old code dropped 2 and never deregistered the crash loops); the suite runs a smaller one.
CHURNED = int(os.environ.get("TEDGE_TEST_STORM_CONTAINERS", "60"))
LOOPS = int(os.environ.get("TEDGE_TEST_STORM_LOOPS", "4"))


def test_a_storm_of_creates_and_removes_beside_crash_loops_loses_no_state(
    plugin: Any, test_images: Any, monitor: Any, watch: Any
) -> None:
    loops = [unique("storm-loop") for _ in range(LOOPS)]
    churned = [unique("storm") for _ in range(CHURNED)]
    try:
        for name in loops:
            podman(plugin, "run", "-d", "--restart", "always", "--name", name, test_images.app1, "/bin/false")

        def churn(name: str) -> None:
            podman(plugin, "run", "-d", "--name", name, test_images.app1, "sleep", "600")
            podman(plugin, "rm", "-f", "-t", "0", name)

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(churn, churned))
        print(f"{CHURNED} creates and removes in {time.monotonic() - started:.0f} s")

        def settled() -> bool:
            registered = {t for t, p in watch.state.items() if p and t.count("/") == 4}
            return all(service_topic(name) in registered for name in loops) and not any(
                service_topic(name) in registered for name in churned
            )

        wait_until("the broker's registrations to be the engine's again", settled, timeout=120)
        for name in loops:  # their deregistrations come back from the broker while the loop is behind
            remove_crash_loop(plugin, name)

        def gone() -> bool:
            return not any(watch.state.get(service_topic(name)) for name in loops)

        wait_until("the crash loops' services to be deregistered", gone, timeout=120)
        output = monitor.output()
        assert "an item was dropped" not in output, output[-2000:]
        assert monitor.proc.poll() is None
    finally:
        for name in loops:
            plugin.podman.cli("rm", "-f", "-t", "0", name, check=False)


def test_what_the_full_queue_cannot_take_is_coalesced_per_service_or_resynced() -> None:
    """Pure logic: the queue's overflow (the storm above fills the real one only on slow machines)."""
    overflow = Overflow(bound=3)
    overflow.add(("registration", "a"))
    overflow.add(("health-check", "a"))
    overflow.add(("registration", "a"))  # the latest per (kind, service) wins
    overflow.add(("mqtt-connected",))
    assert overflow.take() == ([("health-check", "a"), ("registration", "a"), ("mqtt-connected",)], False, 4)
    assert overflow.take() == ([], False, 0)
    for name in "abcd":  # past the bound: one resync sets every service right instead
        overflow.add(("registration", name))
    items, resync, coalesced = overflow.take()
    assert resync and coalesced == 4 and len(items) <= 3
