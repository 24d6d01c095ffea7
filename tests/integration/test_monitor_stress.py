"""The monitor under stress, against real podman and a real mosquitto (issue 16).

- A container that podman restarts as fast as it can (`--restart always`,
  exiting at once): its topics carry a few messages, counted on the broker,
  and its last state is right soon after the loop ends.
- A container whose compose labels cannot form an MQTT topic, beside a
  normal one: skipped with one warning, the normal one still followed, the
  monitor still running.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from tests.support.monitor import Monitor, Watch, own_health, podman, service_topic, unique, wait_until

pytestmark = pytest.mark.integration

WINDOW = 25.0  # seconds of crash loop counted (the target is 10 messages in the first minute)
UPDATE_INTERVAL = 10  # container.crash_loop_update_interval here (60 s by default)


def start_monitor(plugin: Any, broker: Any, watch: Watch, tmp_path: Path) -> Monitor:
    plugin.set_config("metrics", "interval", 0)
    plugin.set_config("container", "crash_loop_update_interval", UPDATE_INTERVAL)
    monitor = Monitor(plugin, broker, tmp_path / "monitor.log").start()
    wait_until("the monitor's health is up", lambda: own_health(watch) == "up")
    return monitor


def inspect(plugin: Any, name: str, template: str) -> str:
    """`podman inspect` of the crash-looping container: podman 4.3 fails it when the container's
    process exits during the inspect ("read /proc/PID/cgroup: no such process"), so ask again."""
    for _ in range(20):
        result = plugin.podman.cli("inspect", "-f", template, name, check=False)
        if result.returncode == 0 or "no such process" not in result.stderr:
            break
        time.sleep(0.05)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_crash_loop_sends_a_few_messages_and_its_last_state_when_it_ends(
    plugin, test_images, broker, watch, tmp_path
) -> None:
    monitor = start_monitor(plugin, broker, watch, tmp_path)
    name = unique("loop")
    topic = service_topic(name)
    alarm_topic = f"{topic}/a/container_crash_loop"
    try:
        # Exits at once, until the file `steady` appears (under the service's own directory:
        # podman 5's service runs chrooted and sees only that).
        flags = plugin.podman.workdir / "loop-flags" / name
        flags.mkdir(parents=True)
        command = ["/bin/sh", "-c", "[ -f /flags/steady ] && exec sleep 600; exit 1"]
        started = time.monotonic()
        podman(
            plugin,
            "run",
            "-d",
            "--restart",
            "always",
            "-v",
            f"{flags}:/flags",
            "--name",
            name,
            test_images.app1,
            *command,
        )
        alarm = wait_until("the crash-loop alarm", lambda: watch.json(alarm_topic), timeout=30)
        assert "crash loop" in alarm["text"]
        time.sleep(max(0.0, WINDOW - (time.monotonic() - started)))
        restarts = int(inspect(plugin, name, "{{.RestartCount}}"))
        ours = [(t, p) for t, p in watch.live if t == topic or t.startswith(topic + "/")]
        summary = "\n".join(f"{t[len(topic) :] or '(registration)'} {p[:90]}" for t, p in ours)
        assert restarts >= 20, f"podman restarted it only {restarts} times: no crash loop to speak of"
        assert len(ours) <= 10, f"{len(ours)} messages in {WINDOW:g} s for {restarts} restarts:\n{summary}"
        alarms = [p for t, p in ours if t == alarm_topic]
        assert 1 <= len(alarms) <= 1 + WINDOW // UPDATE_INTERVAL, summary  # raised, then paced
        first_alarm = next(i for i, (t, _) in enumerate(ours) if t == alarm_topic)
        healths = [json.loads(p)["status"] for t, p in ours[first_alarm:] if t.endswith("/status/health")]
        assert set(healths) <= {"down"}, f"health flaps in the crash loop:\n{summary}"
        assert monitor.output().count("is in a crash loop") <= 1 + WINDOW // UPDATE_INTERVAL

        (flags / "steady").touch()  # the loop ends: its next start runs steadily
        last = ""

        def steady() -> bool:  # running, and not restarted since the last look
            nonlocal last
            now = inspect(plugin, name, "{{.State.Status}} {{.RestartCount}}")
            seen, last = last, now
            return now == seen and now.startswith("running ")

        wait_until("podman's last restart", steady, timeout=10)
        ended = time.monotonic()
        wait_until(
            "the last state (running) within 2 s of the loop's end",
            lambda: (watch.json(topic) or {}).get("container", {}).get("state") == "running",
            timeout=2,
        )
        assert time.monotonic() - ended < 2
        assert watch.health(name) == "down"  # until it has run steadily (crash_loop_clear_after)
    finally:
        assert monitor.stop() == 0
        print(monitor.output())


def test_a_container_whose_labels_cannot_be_a_topic_is_skipped_once_and_the_others_followed(
    plugin, test_images, broker, watch, tmp_path
) -> None:
    odd_labels = ["--label", "com.docker.compose.project=p", "--label", "com.docker.compose.service=x/y+#"]
    before, later, normal = unique("odd"), unique("odd"), unique("app")
    podman(plugin, "run", "-d", "--name", before, *odd_labels, test_images.app1)  # there at the start
    monitor = start_monitor(plugin, broker, watch, tmp_path)
    try:
        podman(plugin, "run", "-d", "--name", later, *odd_labels, test_images.app1)  # and one that comes
        podman(plugin, "run", "-d", "--name", normal, test_images.app1)
        wait_until(f"{normal} up", lambda: watch.health(normal) == "up")
        podman(plugin, "restart", "-t", "0", before)  # more events of the odd ones
        podman(plugin, "stop", "-t", "0", later)
        podman(plugin, "stop", "-t", "0", normal)
        wait_until(f"{normal} down", lambda: watch.health(normal) == "down", timeout=5)
        assert monitor.proc is not None and monitor.proc.poll() is None, monitor.output()
        assert own_health(watch) == "up"
        output = monitor.output()
        for odd in (before, later):
            warnings = [line for line in output.splitlines() if f"container {odd} " in line]
            assert len(warnings) == 1, output
            assert "'p@x/y+#' cannot be part of an MQTT topic" in warnings[0]
            assert "rename its compose service or project" in warnings[0]
        assert not [t for t in watch.state if "p@x" in t]
    finally:
        assert monitor.stop() == 0
        print(monitor.output())


def test_a_container_caught_mid_swap_is_reported_as_its_module(
    plugin, test_images, broker, watch, tmp_path
) -> None:
    """A monitor that starts while an install's swap was cut short (only NAME.tedge-old is left)."""
    name = unique("web")
    podman(plugin, "run", "-d", "--name", f"{name}.tedge-old", test_images.app1)
    monitor = start_monitor(plugin, broker, watch, tmp_path)
    try:
        wait_until(f"{name} up", lambda: watch.health(name) == "up")
        assert not [topic for topic in watch.state if ".tedge-old" in topic]
    finally:
        assert monitor.stop() == 0
        print(monitor.output())
