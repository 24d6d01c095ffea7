"""What a device waits for: every operation with MQTT reporting on (as devices run), beside it off.

The plugin reports each operation's outcome to thin-edge's broker (a real
mosquitto here, as on a device). Each row runs the plugin with reporting off
and on, and the podman baseline, interleaved run by run so that a shared
machine's noise hits all alike; medians. The baseline of a reporting-on
container row adds one MQTT round trip (`mosquitto_pub -q 1`: connect, publish,
acknowledgement), the least any report can cost. Targets (issue 28): with the
gate at 0, install ≤ 1.1x `podman run -d` + one round trip, a group install
≤ 1.1x `podman-compose up -d`, a bundle ≤ 1.2x `podman load` + compose.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from bench import Bench

UNGATED = {"CONTAINER_CONTAINER_MIN_READY": "0"}
UNSETTLED = {"CONTAINER_CONTAINER_GROUP_SETTLE_TIME": "0"}
BATCH = 10  # modules in the update-list rows


# What podman says when another podman on a shared machine rewrote the firewall meanwhile, or took
# the host port `-P` picked.
FLAKES = ("netavark", "iptables", "address already in use")


class Flake(Exception):
    """A run that failed for the machine's sake, not the command's: measured again."""


def timed(argv: list[str], env: dict[str, str], cwd: Path | None = None, stdin: str | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        argv, env=env, cwd=cwd, input=stdin, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - started
    if result.returncode:
        if any(flake in result.stderr for flake in FLAKES):
            raise Flake(result.stderr.strip().splitlines()[-1])
        raise SystemExit(f"{' '.join(argv[:4])} ... exited {result.returncode}: {result.stderr[-500:]}")
    return elapsed


def interleaved(
    commands: dict[str, Callable[[], float]], runs: int, reset: Callable[[], None]
) -> dict[str, float]:
    """Each command once per round, in turn, `reset` after each; the median of each."""
    samples: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, command in commands.items():
            for attempt in range(5):
                try:
                    samples[label].append(command())
                    break
                except Flake as flake:
                    print(f"{label}: measured again ({flake})", file=sys.stderr)
                    if attempt == 4:
                        raise
                finally:
                    reset()
    return {label: statistics.median(values) for label, values in samples.items()}


class Reporting:
    """The rows with reporting off and on (`off`, `on`: the plugin's environments; tedge.toml: the broker)."""

    def __init__(self, bench: Bench, broker: object) -> None:
        self.bench = bench
        config_dir = Path(bench.plugin_env["TEDGE_CONFIG_DIR"])
        host, port = broker.host, broker.port  # type: ignore[attr-defined]
        (config_dir / "tedge.toml").write_text(f'[mqtt.client]\nhost = "{host}"\nport = {port}\n')
        self.off = bench.plugin_env
        self.on = {**bench.plugin_env, "CONTAINER_REPORT_ENABLED": "true"}
        self.publish = ["mosquitto_pub", "-h", host, "-p", str(port), "-q", "1", "-t", "bench/rtt", "-m", "x"]

    def round_trip(self, runs: int) -> float:
        """One MQTT round trip as the least a report costs: connect, QoS 1 publish, acknowledgement."""
        return statistics.median(timed(self.publish, self.bench.podman_env) for _ in range(max(runs, 9)))

    def rows(self, label: str, measured: dict[str, float], baseline: str, target: str, rtt: float) -> None:
        theirs = measured["podman"]
        self.bench.row(f"{label}, reporting off", measured["off"], theirs, baseline, "")
        self.bench.row(
            f"{label}, reporting on", measured["on"], theirs + rtt, f"{baseline} + MQTT round trip", target
        )

    def container_rows(self, app: str, app2: str, runs: int) -> None:
        plugin = self.bench.plugin  # as a device runs it (bench/device.py)
        bench = self.bench
        podman = bench.podman
        clean = podman.remove_all_containers
        podman.cli("network", "create", "tedge", check=False)  # as an install leaves it
        rtt = self.round_trip(runs)
        self.bench.rows.append(("MQTT round trip (`mosquitto_pub -q 1`)", f"{rtt * 1000:.1f} ms", "", "", ""))

        def existing(name: str = "bench") -> None:
            """A container `name` of `app`, as a previous install left it."""
            timed(run_d(name, app), bench.podman_env)

        def run_d(name: str, image: str) -> list[str]:
            restart = ["--network", "tedge", "-P", "--restart", "always"]
            return [*bench.remote, "run", "-d", "--name", name, *restart, image]

        def install(env: dict[str, str], name: str = "bench", image: str = app) -> Callable[[], float]:
            return lambda: timed([*plugin, "install", name, "--module-version", image], env)

        measured = interleaved(
            {
                "podman": lambda: timed(run_d("bench", app), bench.podman_env),
                "off": install({**self.off, **UNGATED}),
                "on": install({**self.on, **UNGATED}),
            },
            runs,
            clean,
        )
        self.rows("install of a local image, `min_ready = 0`", measured, "`podman run -d`", "≤ 1.1x", rtt)
        gated = interleaved({"on": install(self.on)}, 3, clean)["on"]
        bench.row("install, gate at 3 s, reporting on", gated, measured["podman"], "`podman run -d`", "(3 s)")

        # An upgrade: the container exists with app; it is replaced by one of app2.
        def upgrade(env: dict[str, str]) -> Callable[[], float]:
            def go() -> float:
                existing()
                return install(env, image=app2)()

            return go

        def by_hand_upgrade() -> float:
            existing()
            started = time.perf_counter()
            timed(run_d("bench-new", app2), bench.podman_env)
            timed([*bench.remote, "rm", "-f", "-t", "0", "bench"], bench.podman_env)
            timed([*bench.remote, "rename", "bench-new", "bench"], bench.podman_env)
            return time.perf_counter() - started

        measured = interleaved(
            {
                "podman": by_hand_upgrade,
                "off": upgrade({**self.off, **UNGATED}),
                "on": upgrade({**self.on, **UNGATED}),
            },
            runs,
            clean,
        )
        baseline = "`podman run -d` + `rm -f` + `rename`"
        self.rows("upgrade of a local image, `min_ready = 0`", measured, baseline, "≤ 1.1x", rtt)

        def remove(env: dict[str, str] | None) -> Callable[[], float]:
            def go() -> float:
                existing()
                if env is None:
                    return timed([*bench.remote, "rm", "-f", "-t", "0", "bench"], bench.podman_env)
                return timed([*plugin, "remove", "bench"], env)

            return go

        measured = interleaved(
            {"podman": remove(None), "off": remove(self.off), "on": remove(self.on)}, runs, clean
        )
        self.rows("remove", measured, "`podman rm -f`", "≤ 1.1x", rtt)

        # A batch of ten modules in one update-list call, against ten `podman run -d`.
        names = [f"batch{index}" for index in range(BATCH)]
        actions = "".join(f"install\t{name}\t{app}\t\n" for name in names)

        def by_hand_batch() -> float:
            started = time.perf_counter()
            for name in names:
                timed(run_d(name, app), bench.podman_env)
            return time.perf_counter() - started

        def batch(env: dict[str, str]) -> Callable[[], float]:
            return lambda: timed([*plugin, "update-list"], env, stdin=actions)

        measured = interleaved(
            {
                "podman": by_hand_batch,
                "off": batch({**self.off, **UNGATED}),
                "on": batch({**self.on, **UNGATED}),
            },
            max(3, runs // 2),
            clean,
        )
        label = f"`update-list` of {BATCH} installs, `min_ready = 0`"
        self.rows(label, measured, f"{BATCH} `podman run -d`", "≤ 1.1x", rtt)
        gated = interleaved({"on": batch(self.on)}, 1, clean)["on"]
        bench.row(
            f"`update-list` of {BATCH} installs, gate at 3 s, reporting on",
            gated,
            measured["podman"],
            f"{BATCH} `podman run -d`",
            f"({BATCH} x 3 s)",
        )

    def group_rows(self, compose: str, runs: int) -> None:
        bench = self.bench
        compose_file = bench.podman.workdir / "bench-group.yaml"
        compose_file.write_text(compose)
        by_hand = bench.by_hand_project("benchgroup", compose)
        working = bench.data_dir / "compose" / "benchgroup"

        def reset() -> None:
            bench.podman.remove_all_containers()
            shutil.rmtree(working, ignore_errors=True)

        reset()
        install = [*bench.group, "install", "benchgroup", "--module-version", "1"]
        install += ["--file", str(compose_file)]
        compose_env = {**bench.podman_env, "CONTAINER_HOST": bench.podman.url}
        up = [sys.executable, "-m", "podman_compose", "up", "-d"]  # as a person would, in the directory
        measured = interleaved(
            {
                "podman": lambda: timed(up, compose_env, cwd=by_hand),
                "off": lambda: timed(install, {**self.off, **UNSETTLED}),
                "on": lambda: timed(install, {**self.on, **UNSETTLED}),
            },
            runs,
            reset,
        )
        theirs = measured["podman"]
        baseline = "`podman-compose up -d`"
        label = "group install, 2 services, `settle_time = 0`"
        bench.row(f"{label}, reporting off", measured["off"], theirs, baseline, "")
        bench.row(f"{label}, reporting on", measured["on"], theirs, baseline, "≤ 1.1x")
        settled = interleaved({"on": lambda: timed(install, self.on)}, 3, reset)["on"]
        bench.row(
            "group install, 2 services, default (`container.min_ready` 3 s), reporting on",
            settled,
            theirs,
            baseline,
            "(3 s by design)",
        )
