"""Benchmark of the monitor (`tedge-container-plugin monitor`), issue 9's targets:

- event → retained health latency, p50 and p95 over 50 stop/start events (target p95 ≤ 1 s);
- RSS with 50 containers, after warm-up and after many rounds of events (target ≤ 40 MB, flat);
- CPU while idle (target ≤ 0.5 % of one core).

    bench/monitor.py [--rounds N] [--idle SECONDS]

Runs its own podman service and mosquitto (tests/support), in a private
network namespace like the tests: `unshare -n bash -c 'ip link set lo up; .venv/bin/python bench/monitor.py'`.
The latency is measured from the stop/start request to the arrival of the
health message; it includes podman's own stop/start time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.services import Stack  # noqa: E402

APP = "localhost/tedge-test/app:1"
CONTAINERS = 50


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Healths:
    """Every health message under te/device/main/service/+/status/health, with its arrival time."""

    def __init__(self, host: str, port: int) -> None:
        import paho.mqtt.client as mqtt

        kwargs = {"client_id": f"bench-{os.getpid()}"}
        if hasattr(mqtt, "CallbackAPIVersion"):
            kwargs["callback_api_version"] = mqtt.CallbackAPIVersion.VERSION2
        self.client = mqtt.Client(**kwargs)
        self.changed = threading.Condition()
        self.last: dict[str, tuple[str, float]] = {}
        self.client.on_message = self._message
        self.client.on_connect = lambda c, *a: c.subscribe("te/device/main/service/+/status/health", qos=1)
        self.client.connect(host, port)
        self.client.loop_start()

    def _message(self, _c: object, _u: object, message: object) -> None:
        name = message.topic.split("/")[4]
        status = json.loads(message.payload or b"{}").get("status", "")
        with self.changed:
            self.last[name] = (status, time.monotonic())
            self.changed.notify_all()

    def wait(self, name: str, status: str, since: float, timeout: float = 10) -> float:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                seen = self.last.get(name)
                if seen and seen[0] == status and seen[1] >= since:
                    return seen[1] - since
                if time.monotonic() > deadline:
                    raise SystemExit(f"{name}: no health {status} within {timeout} s")
                self.changed.wait(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="stop/start rounds over all 50 containers")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU measurement")
    args = parser.parse_args()
    with Stack().start(containers=True, mqtt=True) as stack:
        podman, broker = stack.podman, stack.mqtt_broker
        config_dir = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
        (config_dir / "plugins").mkdir()
        (config_dir / "plugins" / "tedge-container-plugin.toml").write_text(
            f'[container]\nhost = "{podman.url}"\n[metrics]\ninterval = 0\n'
        )
        tedge_toml = f'[mqtt.client]\nhost = "{broker.host}"\nport = {broker.port}\n'
        (config_dir / "tedge.toml").write_text(tedge_toml)
        names = [f"bench-{i:02d}" for i in range(CONTAINERS)]
        for name in names:
            podman.cli("run", "-d", "--name", name, APP)
        healths = Healths(broker.host, broker.port)
        env = {**os.environ, "TEDGE_CONFIG_DIR": str(config_dir), "PYTHONPATH": str(REPO / "plugin")}
        monitor = subprocess.Popen(
            [sys.executable, "-m", "tedge_container", "monitor"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            start = time.monotonic()
            for name in names:
                healths.wait(name, "up", since=0, timeout=60)
            print(f"startup: {CONTAINERS} services up after {time.monotonic() - start:.2f} s")
            warm_rss = rss_mb(monitor.pid)

            latencies = []
            target = names[0]
            for _ in range(25):
                for action, status in (("stop", "down"), ("start", "up")):
                    since = time.monotonic()
                    query = "?t=0" if action == "stop" else ""
                    path = f"/v4.0.0/libpod/containers/{target}/{action}{query}"
                    podman.api("POST", path)
                    latencies.append(healths.wait(target, status, since))
            latencies.sort()
            p50 = statistics.median(latencies)
            p95 = latencies[int(len(latencies) * 0.95) - 1]

            for _ in range(args.rounds):  # many events over all containers
                for name in names:
                    podman.api("POST", f"/v4.0.0/libpod/containers/{name}/stop?t=0")
                for name in names:
                    podman.api("POST", f"/v4.0.0/libpod/containers/{name}/start")
                healths.wait(names[-1], "up", since=time.monotonic() - 5, timeout=60)
            time.sleep(2)
            end_rss = rss_mb(monitor.pid)

            before = cpu_seconds(monitor.pid)
            time.sleep(args.idle)
            idle = (cpu_seconds(monitor.pid) - before) / args.idle * 100
        finally:
            monitor.terminate()
            monitor.wait(15)
            healths.client.loop_stop()
        events = args.rounds * CONTAINERS * 2 * 4  # about 4 events per stop or start
        print("| measure | value | target | ratio |")
        print("| --- | --- | --- | --- |")
        print(f"| latency p50 (50 stop/start) | {p50 * 1000:.0f} ms | | |")
        print(f"| latency p95 | {p95 * 1000:.0f} ms | 1000 ms | {p95 / 1.0:.2f} |")
        print(f"| RSS, {CONTAINERS} containers | {warm_rss:.1f} MB | 40 MB | {warm_rss / 40:.2f} |")
        print(f"| RSS after ~{events} events | {end_rss:.1f} MB | 40 MB | {end_rss / 40:.2f} |")
        print(f"| idle CPU over {args.idle:g} s | {idle:.2f} % | 0.5 % | {idle / 0.5:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
