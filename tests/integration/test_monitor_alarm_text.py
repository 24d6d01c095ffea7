"""The crash-loop alarm says how the container ended (issue 26): exit code and last output line,
cut short, secrets hidden. Real podman, real mosquitto, the monitor as a process."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.monitor import podman, remove_crash_loop, service_topic, unique, wait_until

pytestmark = pytest.mark.integration

SECRET = "hunter2-secret-value"


def test_the_crash_loop_alarm_names_the_exit_code_and_the_last_output_line(
    plugin, test_images, monitor, watch
) -> None:
    name = unique("loop")
    long_tail = "$(printf x%.0s $(seq 300))"  # 300 characters more: cut short
    script = f'echo starting; echo "fatal: database refused password $DB_PASSWORD {long_tail}"; exit 3'
    podman(
        plugin, "run", "-d", "--restart", "always", "--name", name, "-e", f"DB_PASSWORD={SECRET}",
        test_images.app1, "/bin/sh", "-c", script,
    )  # fmt: skip
    alarm_topic = f"{service_topic(name)}/a/container_crash_loop"
    alarm = wait_until("the crash-loop alarm", lambda: watch.json(alarm_topic), timeout=30)
    text = alarm["text"]
    assert " It last exited with code 3; its last output: 'fatal: database refused password ***" in text, text
    assert text.endswith("...'."), text  # the line is cut short
    assert SECRET not in text
    assert len(text) < 400


def _memory_kib(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of process PID, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def test_a_crash_loop_of_huge_lines_costs_the_monitor_no_memory(plugin, test_images, monitor, watch) -> None:
    """A container decides how long its lines are: the monitor reads at most 1 MiB of its logs
    for the alarm's text, however long they are. 1 MB a line here, 20 lines asked for: podman
    answers 14 MB within the monitor's 2 s. Measured: +1 to +12 MB with the bound, +14 to +20 MB
    without (the engine's slowness, not the monitor, limited it then)."""
    assert monitor.proc is not None
    before = _memory_kib(monitor.proc.pid, "VmRSS")
    name = unique("huge")
    script = "head -c 1000000 /dev/zero | tr '\\0' x; echo; exit 3"
    podman(
        plugin, "run", "-d", "--restart", "always", "--name", name, test_images.app1, "/bin/sh", "-c", script
    )
    try:
        alarm_topic = f"{service_topic(name)}/a/container_crash_loop"
        alarm = wait_until("the crash-loop alarm", lambda: watch.json(alarm_topic), timeout=30)
    finally:
        remove_crash_loop(plugin, name)  # its log grows 1 MB a run
    peak = _memory_kib(monitor.proc.pid, "VmHWM")
    assert "It last exited with code 3" in alarm["text"] and len(alarm["text"]) < 400, alarm["text"]
    assert peak - before < 16 * 1024, f"the monitor grew from {before} KiB to a peak of {peak} KiB"
