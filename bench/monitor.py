#!/usr/bin/env python3
"""Benchmark of the monitor (`tedge-container-plugin monitor`), the targets of issues 9 and 16:

- event → retained health latency, p50 and p95 over 50 stop/start events of 25 containers (target p95 ≤ 1 s);
- RSS with 50 containers, after warm-up and after many rounds of events (target ≤ 40 MB, flat);
- CPU while idle (target ≤ 0.5 % of one core);
- a crash loop (`--restart always`, exits at once): messages on its topics in the first minute (≤ 10)
  and per minute after (≤ 3), the alarm's delay (≤ 30 s), its last state after the loop ends (≤ 2 s);
- a soak: 100 containers, 95 churned (create, start, stop, remove) and 5 crash-looping, for
  `--soak-seconds` (600): RSS flat within 5 MB, messages a minute, the monitor still running.

    bench/monitor.py [--rounds N] [--idle SECONDS] [--crash-seconds S] [--soak-seconds S] [--readme]

Sets the machine up first (scripts/setup, as scripts/demo does), then runs on
the checkout's .venv. Runs its own podman service and mosquitto
(tests/support). The latency is measured from the stop/start request to the
arrival of the health message; it includes podman's own stop/start time.
`--readme` writes the rows into README.md between the bench-monitor markers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if os.environ.get("TEDGE_BENCH_SET_UP") != "1":  # a fresh clone: set the machine up, then run on .venv
    subprocess.run([str(REPO / "scripts" / "setup")], check=True)
    os.environ["TEDGE_BENCH_SET_UP"] = "1"
    venv_python = str(REPO / ".venv" / "bin" / "python")
    os.execv(venv_python, [venv_python, __file__, *sys.argv[1:]])

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, str(REPO))

from bench import update_readme  # noqa: E402  (bench/bench.py, beside this file)
from tests.support.services import Stack  # noqa: E402

APP = "localhost/tedge-test/app:1"
CONTAINERS = 50
SOAK_CONTAINERS = 100
CRASH_LOOPERS = 5
CRASH = ["/bin/sh", "-c", "exit 1"]
SERVICE = "te/device/main/service/"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Broker:
    """Every message under te/#, with its arrival time; the last health and registration of each service."""

    def __init__(self, host: str, port: int) -> None:
        import paho.mqtt.client as mqtt

        kwargs = {"client_id": f"bench-{os.getpid()}"}
        if hasattr(mqtt, "CallbackAPIVersion"):
            kwargs["callback_api_version"] = mqtt.CallbackAPIVersion.VERSION2
        self.client = mqtt.Client(**kwargs)
        self.changed = threading.Condition()
        self.last: dict[str, tuple[str, float]] = {}  # service → (health, when)
        self.registrations: dict[str, dict] = {}
        self.messages: list[tuple[float, str]] = []
        self.client.on_message = self._message
        self.client.on_connect = lambda c, *a: c.subscribe("te/#", qos=1)
        self.client.connect(host, port)
        self.client.loop_start()

    def _message(self, _c: object, _u: object, message: object) -> None:
        now = time.monotonic()
        topic = message.topic
        with self.changed:
            self.messages.append((now, topic))
            if topic.startswith(SERVICE):
                name, _, rest = topic[len(SERVICE) :].partition("/")
                payload = json.loads(message.payload or b"{}")
                if rest == "status/health":
                    self.last[name] = (payload.get("status", ""), now)
                elif not rest:
                    self.registrations[name] = payload
            self.changed.notify_all()

    def wait(self, what: str, check, timeout: float) -> float:
        """Seconds until `check()` holds (checked at each message); SystemExit after `timeout`."""
        started = time.monotonic()
        deadline = started + timeout
        with self.changed:
            while not check():
                if time.monotonic() > deadline:
                    raise SystemExit(f"bench: not within {timeout} s: {what}")
                self.changed.wait(0.2)
        return time.monotonic() - started

    def health_since(self, name: str, status: str, since: float, timeout: float = 10) -> float:
        def seen() -> bool:
            health = self.last.get(name)
            return bool(health and health[0] == status and health[1] >= since)

        self.wait(f"{name}: health {status}", seen, timeout)
        return self.last[name][1] - since

    def count(self, prefix: str, start: float, end: float) -> int:
        with self.changed:
            return sum(1 for at, topic in self.messages if start <= at < end and topic.startswith(prefix))


def run_monitor(config_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "TEDGE_CONFIG_DIR": str(config_dir), "PYTHONPATH": str(REPO / "plugin")}
    return subprocess.Popen(
        [sys.executable, "-m", "tedge_container", "monitor"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(config_dir / "monitor.log", "wb"),
    )


def crash_loop(podman, broker: Broker, seconds: float) -> list[list[str]]:
    """One container restarting as fast as podman can: messages on its topics, per minute."""
    name = "crash-bench"
    prefix = SERVICE + name
    flags = podman.workdir / "crash-bench-flags"  # `steady` there ends the loop
    flags.mkdir(exist_ok=True)
    started = time.monotonic()
    command = ["/bin/sh", "-c", "[ -f /flags/steady ] && exec sleep 600; exit 1"]
    podman.cli("run", "-d", "--restart", "always", "-v", f"{flags}:/flags", "--name", name, APP, *command)
    alarm = broker.wait(
        "the crash-loop alarm",
        lambda: any(t == f"{prefix}/a/container_crash_loop" for _, t in broker.messages),
        timeout=60,
    )
    time.sleep(max(0.0, started + seconds - time.monotonic()))
    end = time.monotonic()
    restarts = int(podman.cli("inspect", "-f", "{{.RestartCount}}", name).stdout.strip())
    first = broker.count(prefix, started, started + 60)
    later_minutes = max(1e-9, (end - started - 60) / 60)
    later = broker.count(prefix, started + 60, end) / later_minutes
    (flags / "steady").touch()  # its next start runs steadily
    ended = time.monotonic()
    broker.wait(
        "the crash loop's last state (running)",
        lambda: broker.registrations.get(name, {}).get("container", {}).get("state") == "running",
        timeout=60,
    )
    final = time.monotonic() - ended
    podman.cli("rm", "-f", "-t", "0", name)
    minutes = f"{(end - started - 60) / 60:.1f}"
    return [
        [
            f"crash loop: messages on its topics, first minute ({restarts} restarts in "
            f"{end - started:.0f} s)",
            str(first),
            "≤ 10",
            f"{first / 10:.2f}",
        ],
        [
            f"crash loop: messages per minute after the first ({minutes} min)",
            f"{later:.1f}",
            "≤ 3",
            f"{later / 3:.2f}",
        ],
        ["crash loop: alarm raised after", f"{alarm:.1f} s", "≤ 30 s", f"{alarm / 30:.2f}"],
        [
            "crash loop: last state right after the loop ends "
            "(with podman's last restart; 0: it already was)",
            f"{final:.2f} s",
            "≤ 2 s",
            f"{final / 2:.2f}",
        ],
    ]


def soak(podman, broker: Broker, monitor: subprocess.Popen, seconds: float) -> list[list[str]]:
    """100 containers: 95 churned at random, 5 crash-looping; RSS sampled every 10 s."""
    podman.cli("rm", "--all", "--force", "--time", "0")
    pool = [f"soak-{i:02d}" for i in range(SOAK_CONTAINERS - CRASH_LOOPERS)]
    state = dict.fromkeys(pool, "running")
    for name in pool:
        podman.cli("run", "-d", "--name", name, APP)
    for index in range(CRASH_LOOPERS):
        podman.cli("run", "-d", "--restart", "always", "--name", f"soak-crash-{index}", APP, *CRASH)
    time.sleep(
        60 if seconds >= 300 else 20
    )  # warm-up: every service registered, the crash loops' bursts spent
    rng = random.Random(16)
    started = time.monotonic()
    samples = [rss_mb(monitor.pid)]
    next_sample = started + 10
    operations = 0
    while time.monotonic() - started < seconds and monitor.poll() is None:
        name = rng.choice(pool)
        if state[name] == "running":
            podman.api("POST", f"/v4.0.0/libpod/containers/{name}/stop?t=0")
            state[name] = "exited"
        elif state[name] == "exited" and rng.random() < 0.5:
            podman.api("POST", f"/v4.0.0/libpod/containers/{name}/start")
            state[name] = "running"
        elif state[name] == "exited":
            podman.api("DELETE", f"/v4.0.0/libpod/containers/{name}?force=true&t=0")
            state[name] = "gone"
        else:
            podman.cli("run", "-d", "--name", name, APP)
            state[name] = "running"
        operations += 1
        time.sleep(0.2)
        if time.monotonic() >= next_sample:
            samples.append(rss_mb(monitor.pid))
            next_sample += 10
    end = time.monotonic()
    alive = monitor.poll() is None
    samples.append(rss_mb(monitor.pid) if alive else 0.0)
    minutes = (end - started) / 60
    per_minute = broker.count("te/", started, end) / minutes
    crash = sum(broker.count(f"{SERVICE}soak-crash-{i}", started, end) for i in range(CRASH_LOOPERS))
    drift = max(samples) - samples[0]
    label = f"soak {minutes:.0f} min: {SOAK_CONTAINERS} containers, {operations} churn operations"
    return [
        [
            f"{label}, RSS start / max / end",
            f"{samples[0]:.1f} / {max(samples):.1f} / {samples[-1]:.1f} MB",
            "flat within 5 MB",
            f"{drift / 5:.2f}",
        ],
        [f"{label}: messages per minute (all topics)", f"{per_minute:.0f}", "(reported)", ""],
        [
            f"{label}: messages per minute per crash-looping container",
            f"{crash / minutes / CRASH_LOOPERS:.1f}",
            "≤ 3",
            f"{crash / minutes / CRASH_LOOPERS / 3:.2f}",
        ],
        [f"{label}: monitor still running", "yes" if alive else "NO (exit)", "yes", ""],
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="stop/start rounds over all 50 containers")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU measurement")
    parser.add_argument("--crash-seconds", type=float, default=120.0, help="seconds of the crash loop")
    parser.add_argument("--soak-seconds", type=float, default=600.0, help="seconds of the soak (0: none)")
    parser.add_argument("--readme", action="store_true", help="write the rows into README.md")
    args = parser.parse_args()
    rows: list[list[str]] = []
    with Stack().start(containers=True, mqtt=True) as stack:
        podman, mosquitto = stack.podman, stack.mqtt_broker
        config_dir = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
        (config_dir / "plugins").mkdir()
        (config_dir / "plugins" / "tedge-container-plugin.toml").write_text(
            f'data_dir = "{config_dir}"\n[container]\nhost = "{podman.url}"\n[metrics]\ninterval = 0\n'
        )
        tedge_toml = f'[mqtt.client]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n'
        (config_dir / "tedge.toml").write_text(tedge_toml)
        names = [f"bench-{i:02d}" for i in range(CONTAINERS)]
        for name in names:
            podman.cli("run", "-d", "--name", name, APP)
        broker = Broker(mosquitto.host, mosquitto.port)
        monitor = run_monitor(config_dir)
        try:
            start = time.monotonic()
            for name in names:
                broker.health_since(name, "up", since=0, timeout=60)
            print(
                f"startup: {CONTAINERS} services up after {time.monotonic() - start:.2f} s", file=sys.stderr
            )
            warm_rss = rss_mb(monitor.pid)

            # Normal use: each container stopped and started once, a second apart (not a flood).
            latencies = []
            for target in names[:25]:
                for action, status in (("stop", "down"), ("start", "up")):
                    time.sleep(1.0)
                    since = time.monotonic()
                    query = "?t=0" if action == "stop" else ""
                    podman.api("POST", f"/v4.0.0/libpod/containers/{target}/{action}{query}")
                    latencies.append(broker.health_since(target, status, since))
            latencies.sort()
            p50 = statistics.median(latencies)
            p95 = latencies[int(len(latencies) * 0.95) - 1]

            for _ in range(args.rounds):  # many events over all containers (published within the budget)
                for name in names:
                    podman.api("POST", f"/v4.0.0/libpod/containers/{name}/stop?t=0")
                for name in names:
                    podman.api("POST", f"/v4.0.0/libpod/containers/{name}/start")
            time.sleep(5)
            end_rss = rss_mb(monitor.pid)

            before = cpu_seconds(monitor.pid)
            time.sleep(args.idle)
            idle = (cpu_seconds(monitor.pid) - before) / args.idle * 100

            events = args.rounds * CONTAINERS * 2 * 4  # about 4 events per stop or start
            rows += [
                ["latency p50 (50 stop/start of 25 containers)", f"{p50 * 1000:.0f} ms", "", ""],
                ["latency p95", f"{p95 * 1000:.0f} ms", "1000 ms", f"{p95 / 1.0:.2f}"],
                [f"RSS, {CONTAINERS} containers", f"{warm_rss:.1f} MB", "40 MB", f"{warm_rss / 40:.2f}"],
                [f"RSS after ~{events} events", f"{end_rss:.1f} MB", "40 MB", f"{end_rss / 40:.2f}"],
                [f"idle CPU over {args.idle:g} s", f"{idle:.2f} %", "0.5 %", f"{idle / 0.5:.2f}"],
            ]
            print_rows(rows)
            if args.crash_seconds > 0:
                rows += crash_loop(podman, broker, args.crash_seconds)
                print_rows(rows[-4:], header=False)
            if args.soak_seconds > 0:
                rows += soak(podman, broker, monitor, args.soak_seconds)
                print_rows(rows[-4:], header=False)
        finally:
            monitor.terminate()
            monitor.wait(15)
            broker.client.loop_stop()
    table = table_of(rows)
    note = (
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, podman {podman.version}, mosquitto."
    )
    print(note)
    print()
    print(table)
    if args.readme:
        update_readme(table, note, marker="bench-monitor")
    return 0


def table_of(rows: list[list[str]]) -> str:
    lines = ["| measure | value | target | ratio |", "| --- | --- | --- | --- |"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def print_rows(rows: list[list[str]], header: bool = True) -> None:
    text = table_of(rows)
    print(text if header else "\n".join(text.splitlines()[2:]), file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
