"""The crash-loop alarm says how the container ended (issue 26): exit code and last output line,
cut short, secrets hidden. Real podman, real mosquitto, the monitor as a process."""

from __future__ import annotations

import pytest
from tests.support.monitor import podman, service_topic, unique, wait_until

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
