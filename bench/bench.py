"""Side-by-side benchmark of the plugin against the podman CLI on one engine.

Prints a Markdown table of ratios (plugin ÷ podman; lower is better) measured
in one run, so machine noise hits both sides alike. Every install, upgrade and
remove row is measured with MQTT reporting off and on against a real mosquitto
(as devices run: reporting.py). Targets from the issues: `list` ≤ 1.5x
`podman ps -a` (empty and 200 containers); with reporting on and the gate at
0, an install, upgrade or remove of a local image and an `update-list` of ten
installs ≤ 1.1x podman's own commands plus one MQTT round trip (the gate at
its default for the record); the module lock under 2 ms; peak RSS of
`install --file` of a 400 MB archive ≤ 64 MB (tar and tar.gz); container-group:
a two-service group install ≤ 1.1x plain `podman-compose up -d` of the same
files (images present: no pulls; with `container_group.settle_time = 0`, and
at its default, `container.min_ready`, for the record), `container-group list`
≤ 1.5x `podman ps -a`, peak RSS of `container-group install` on the alias bomb
(refused) and on a 1 MiB compose file < 100 MB; a two-image group bundle ≤ 1.2x
`podman load` of its archives plus `podman-compose up -d`, and the plugin's peak
RSS while it streams a bundle's big image ≤ 64 MB (bundles.py).

    bench/run [--quick] [--readme] [--group-only | --multiplied-only | --reporting-only]

`--readme` also writes the table into README.md between the bench markers.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bundles import bench_bundle, bench_bundle_memory  # noqa: E402
from device import SYSTEM_PYTHON, device_commands  # noqa: E402
from multiplied import bench_multiplied  # noqa: E402
from reporting import Reporting  # noqa: E402
from tests.support.hostile import alias_bomb, large_compose, run_limited  # noqa: E402
from tests.support.services import Stack  # noqa: E402

APP = "localhost/tedge-test/app:1"
APP2 = "localhost/tedge-test/app:2"
GROUP_COMPOSE = f"""\
services:
  web:
    image: {APP}
    restart: always
  worker:
    image: {APP2}
    restart: always
"""


def median_seconds(argv: list[str], env: dict[str, str], runs: int, between=None) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - started)
        if between:
            between()
    return statistics.median(samples)


def median_seconds_in(argv: list[str], env: dict[str, str], runs: int, cwd: Path, between) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        samples.append(time.perf_counter() - started)
        between()
    return statistics.median(samples)


def peak_rss_mb(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Peak resident memory of one command (and its exit code), from a small launcher (run_limited)."""
    result = run_limited(argv, env, timeout=1800)
    return result.peak_rss_mb, result.returncode


class Bench:
    def __init__(self, stack: Stack, workdir: Path) -> None:
        self.stack = stack
        commands = device_commands(REPO, workdir)  # every row runs the plugin as a device does
        self.plugin, self.group = commands["container"], commands["container-group"]
        self.podman = stack.podman
        config_dir = workdir / "tedge"
        (config_dir / "plugins").mkdir(parents=True)
        # data_dir below the service's directory: a chrooted podman 5 service sees it too.
        self.data_dir = self.podman.workdir / "bench-data"
        (config_dir / "plugins" / "tedge-container-plugin.toml").write_text(
            f'data_dir = "{self.data_dir}"\n'
            f'[container]\nhost = "{self.podman.url}"\npruneimages = false\n[report]\nenabled = false\n'
        )
        base = {k: v for k, v in os.environ.items() if not k.startswith("CONTAINER_")}
        self.plugin_env = {**base, "TEDGE_CONFIG_DIR": str(config_dir), "PYTHONPATH": str(REPO / "plugin")}
        self.podman_env = self.podman.env
        self.remote = ["podman", "--remote", "--url", self.podman.url]
        self.local = [
            "podman",
            "--root",
            str(self.podman.root),
            "--runroot",
            str(self.podman.runroot),
            "--storage-driver",
            self.podman.storage_driver,
        ]
        self.rows: list[tuple[str, str, str, str, str]] = []

    def row(self, what: str, ours: float, theirs: float, baseline: str, target: str, unit="ms") -> None:
        scale = 1000 if unit == "ms" else 1
        self.rows.append(
            (
                what,
                f"{ours * scale:.0f} {unit}",
                f"{theirs * scale:.0f} {unit} ({baseline})",
                f"{ours / theirs:.2f}x",
                target,
            )
        )
        print(" | ".join(self.rows[-1]), file=sys.stderr, flush=True)  # progress: the table comes at the end

    def bench_list(self, label: str, runs: int) -> None:
        # `-IS` as the packaged launcher runs it; `list` needs nothing beyond the standard library.
        ours = median_seconds([*self.plugin, "list"], self.plugin_env, runs)
        local = median_seconds([*self.local, "ps", "-a"], self.podman_env, runs)
        remote = median_seconds([*self.remote, "ps", "-a"], self.podman_env, runs)
        self.row(f"`list`, {label}", ours, local, "`podman ps -a`", "≤ 1.5x")
        self.row(f"`list`, {label}", ours, remote, "`podman --remote ps -a`", "≤ 1.5x")

    def bench_lock(self, workdir: Path, runs: int = 2000) -> None:
        """What the per-module lock adds to an operation: take and release it, in-process."""
        os.environ["TEDGE_CONTAINER_PLUGIN_RUNTIME_DIR"] = str(workdir / "runtime")
        sys.path.insert(0, str(REPO / "plugin"))
        from tedge_container.locking import module_lock

        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            with module_lock("container", "bench", 1.0):
                pass
            samples.append(time.perf_counter() - started)
        cost = statistics.median(samples)
        self.rows.append(
            (
                "module lock, take and release",
                f"{cost * 1000:.3f} ms",
                "2 ms target",
                f"{cost / 0.002:.2f}x",
                "< 2 ms",
            )
        )

    def bench_group_list(self, runs: int) -> None:
        """`container-group list` of an installed two-service group."""
        compose_file = self.podman.workdir / "bench-group.yaml"
        compose_file.write_text(GROUP_COMPOSE)
        working = self.data_dir / "compose" / "benchgroup"
        install = [*self.group, "install", "benchgroup", "--module-version", "1"]
        subprocess.run([*install, "--file", str(compose_file)], env=self.plugin_env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        listing = median_seconds([*self.group, "list"], self.plugin_env, runs)
        remote = median_seconds([*self.remote, "ps", "-a"], self.podman_env, runs)
        self.row("`container-group list`", listing, remote, "`podman --remote ps -a`", "≤ 1.5x")
        self.podman.remove_all_containers()
        shutil.rmtree(working, ignore_errors=True)

    def by_hand_project(self, name: str, compose: str) -> Path:
        """A directory with `compose` as compose.yaml, for podman-compose run by hand (the baseline)."""
        directory = self.podman.workdir / "bench-compose" / name
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "compose.yaml").write_text(compose)
        return directory

    def bench_archive_memory(self, workdir: Path, size_mb: int) -> None:
        image = self.stack.images.big_image(size_mb)
        for compress in (False, True):
            path = self.stack.images.save_archive(
                image, workdir / f"big.tar{'.gz' if compress else ''}", gzip=compress
            )
            self.podman.remove_all_containers()
            self.podman.cli("rmi", "-f", image, check=False)
            argv = [*self.plugin, "install", "big", "--module-version", image, "--file", str(path)]
            # The big image's command exits at once: the readiness gate would reject it.
            rss, code = peak_rss_mb(argv, {**self.plugin_env, "CONTAINER_CONTAINER_MIN_READY": "0"})
            if code != 0:
                raise SystemExit(f"install --file {path.name} failed with exit {code}")
            kind = "tar.gz" if compress else "tar"
            self.rows.append(
                (
                    f"peak RSS, `install --file` {size_mb} MB {kind}",
                    f"{rss:.0f} MB",
                    f"{path.stat().st_size / 2**20:.0f} MB archive",
                    f"{rss / 64:.2f}x of 64 MB",
                    "≤ 64 MB",
                )
            )
            path.unlink()

    def bench_hostile_compose(self, workdir: Path) -> None:
        """Peak RSS of `container-group install` on the alias bomb (refused) and a 1 MiB compose file."""
        bomb = workdir / "lol.yaml"
        bomb.write_text(alias_bomb(APP))
        big = large_compose(workdir / "big.yaml", APP, 1 << 20)
        for label, path, expected in (("alias bomb (refused)", bomb, 2), ("1 MiB compose file", big, 0)):
            self.podman.remove_all_containers()
            shutil.rmtree(self.data_dir / "compose", ignore_errors=True)
            argv = [*self.group, "install", "rssgroup", "--module-version", "1"]
            # Measured from a small launcher: ru_maxrss survives fork and exec (see run_limited).
            result = run_limited([*argv, "--file", str(path)], self.plugin_env)
            rss = result.peak_rss_mb
            if result.returncode != expected:
                raise SystemExit(
                    f"group install of the {label} exited {result.returncode}: {result.last_line}"
                )
            self.rows.append(
                (
                    f"peak RSS, `container-group install`, {label}",
                    f"{rss:.0f} MB",
                    f"{path.stat().st_size / 1024:.1f} KiB file",
                    f"{rss / 100:.2f}x of 100 MB",
                    "< 100 MB",
                )
            )
        self.podman.remove_all_containers()
        shutil.rmtree(self.data_dir / "compose", ignore_errors=True)

    def create_containers(self, count: int) -> None:
        for index in range(count):
            self.podman.cli("create", "--name", f"filler-{index:03d}", APP)

    def table(self) -> str:
        lines = [
            "| measurement | plugin | baseline | ratio | target |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


def update_readme(table: str, note: str, marker: str = "bench") -> None:
    """Replace the block between `<!-- MARKER:start -->` and `<!-- MARKER:end -->` in README.md."""
    readme = REPO / "README.md"
    text = readme.read_text()
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    block = f"{start}\n{note}\n\n{table}\n{end}"
    new, count = re.subn(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    if not count:
        raise SystemExit(f"README.md has no {start} / {end} markers")
    readme.write_text(new)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, 20 containers, 50 MB archive")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    parser.add_argument("--group-only", action="store_true", help="only the container-group measurements")
    parser.add_argument(
        "--multiplied-only", action="store_true", help="only the input that multiplies (bench/multiplied.py)"
    )
    parser.add_argument(
        "--reporting-only",
        action="store_true",
        help="only the operations with reporting off and on (bench/reporting.py) and the bundle rows",
    )
    args = parser.parse_args()
    runs, containers, size_mb = (5, 20, 50) if args.quick else (21, 200, 400)

    with Stack() as stack, tempfile.TemporaryDirectory(prefix="tedge-bench-") as tmp:
        stack.start(mqtt=True)
        bench = Bench(stack, Path(tmp))
        reporting = Reporting(bench, stack.mqtt_broker)
        version = stack.podman.version
        print(f"podman {version}, storage {stack.podman.storage_driver}", file=sys.stderr)
        if args.multiplied_only:
            bench_multiplied(bench, Path(tmp), bench.group, APP)
            print(bench.table())
            return 0
        if args.reporting_only:
            reporting.container_rows(APP, APP2, max(5, runs // 3))
            reporting.group_rows(GROUP_COMPOSE, max(5, runs // 3))
            bench_bundle(bench, Path(tmp), max(5, runs // 3), bench.group, reporting.on)
            print(f"load average at the end: {os.getloadavg()}", file=sys.stderr)
            print(bench.table())
            return 0
        if not args.group_only:
            bench.bench_list("empty engine", runs)
            bench.create_containers(containers)
            bench.bench_list(f"{containers} containers", runs)
            bench.podman.remove_all_containers()
            reporting.container_rows(APP, APP2, max(5, runs // 3))
            bench.bench_lock(Path(tmp))
        reporting.group_rows(GROUP_COMPOSE, max(5, runs // 3))
        bench.bench_group_list(max(5, runs // 3))
        bench.bench_hostile_compose(Path(tmp))
        bench_multiplied(bench, Path(tmp), bench.group, APP)
        bench_bundle(bench, Path(tmp), max(5, runs // 3), bench.group, reporting.on)
        if not args.group_only:
            bench.bench_archive_memory(Path(tmp), size_mb)
        bench_bundle_memory(bench, Path(tmp), size_mb, bench.group)
        table = bench.table()
    python = subprocess.run([SYSTEM_PYTHON, "--version"], capture_output=True, text=True).stdout.strip()
    note = (
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, podman {version}, "
        f"the plugin on {python} `-IS` with the package's bundle, byte-compiled (as the package's "
        "launcher runs it on a device: bench/device.py), "
        f"medians of {runs} runs (operations: of {max(5, runs // 3)}, interleaved with their baseline); "
        "reporting on: to a local mosquitto, as devices run."
    )
    print(note)
    print()
    print(table)
    if args.readme:
        update_readme(table, note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
