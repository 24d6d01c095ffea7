"""The plugin run with its peak memory measured: `resource.getrusage` of the plugin alone.

A child's `ru_maxrss` starts from what its parent had mapped when it forked
(Linux keeps the high-water mark across exec), so measuring the plugin from
pytest's own process would count pytest. `Measured` runs it from a small
interpreter (`proc.PEAK_RSS_LAUNCHER`) that forks it, waits, and writes the child's peak.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid

from tests.conftest import Plugin
from tests.support.proc import PEAK_RSS_LAUNCHER, live_processes, wait_until


class Measured:
    """A plugin run whose peak RSS is measured (through `proc.PEAK_RSS_LAUNCHER`)."""

    def __init__(self, plugin: Plugin, argv: list[str], env: dict[str, str] | None = None) -> None:
        self._report = plugin.config_dir / f"peak-rss-{uuid.uuid4().hex[:8]}"
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", PEAK_RSS_LAUNCHER, str(self._report), *argv],
            env=plugin.env(env),
            cwd=str(plugin.config_dir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # the measuring process and the plugin: one group to kill
        )
        self.returncode: int | None = None
        self.stdout = self.stderr = ""
        self.peak_kb = 0

    def plugin_pid(self) -> int:
        """The plugin's own pid (the measuring process's child), once it runs."""
        found: list[int] = []

        def started() -> bool:
            found[:] = [pid for pid, (ppid, _, _) in live_processes().items() if ppid == self.process.pid]
            return bool(found)

        wait_until(started, timeout=10, what="the plugin to start")
        return found[0]

    def finish(self, timeout: float = 120) -> Measured:
        try:
            self.stdout, self.stderr = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self.returncode = self.process.returncode
        self.peak_kb = int(self._report.read_text().split()[0])
        return self

    def kill(self) -> None:
        """End the measuring process and the plugin (podman-compose goes with it: child_guard)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.communicate()


def run_measured(plugin: Plugin, software: str, *args: str, env: dict[str, str] | None = None) -> Measured:
    """`sm-plugins/SOFTWARE ARGS` to its end, with its peak RSS."""
    return Measured(plugin, plugin.run_argv(*args, software=software), env).finish()
