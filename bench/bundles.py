"""Group bundles in the benchmark: an offline install against `podman load` + `podman-compose up -d`.

- a two-image bundle (one image archive plain, one gzip'd, in a tar.gz) installed
  with `container_group.settle_time = 0`, against `podman load` of the same two
  archives plus `podman-compose up -d` of the same compose file (target ≤ 1.2x);
  both start from an engine without the images;
- the plugin's peak RSS while it streams a bundle with a big image (a tar.gz
  image archive inside a tar: decompressed on the way) into podman (≤ 64 MB).
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

from reporting import interleaved, timed

if TYPE_CHECKING:
    from bench import Bench

WEB = "localhost/tedge-bench/bundle-web:1"
WORKER = "localhost/tedge-bench/bundle-worker:1"
COMPOSE = f"""\
services:
  web:
    image: {WEB}
    restart: always
  worker:
    image: {WORKER}
    restart: always
"""


def _gzip(path: Path) -> Path:
    target = path.with_name(path.name + ".gz")
    with open(path, "rb") as source, gzip.open(target, "wb", compresslevel=1) as sink:
        shutil.copyfileobj(source, sink, 1 << 20)
    path.unlink()
    return target


def _bundle(path: Path, compose: str, archives: list[Path]) -> Path:
    compose_file = path.with_name("compose.yaml")
    compose_file.write_text(compose)
    with tarfile.open(path, "w:gz" if path.name.endswith(".gz") else "w") as tar:
        tar.add(str(compose_file), "compose.yaml")
        for archive in archives:
            tar.add(str(archive), f"images/{archive.name}")
    compose_file.unlink()
    return path


def bench_bundle(bench: Bench, workdir: Path, runs: int, group: list[str], report_on: dict[str, str]) -> None:
    """`report_on`: the plugin's environment with MQTT reporting on (bench/reporting.py)."""
    images = bench.stack.images
    images.variant(WEB, "bench web")
    images.variant(WORKER, "bench worker")
    saved = workdir / "bundle-saved"
    saved.mkdir(exist_ok=True)
    web = images.save_archive(WEB, saved / "web.tar")
    worker = _gzip(images.save_archive(WORKER, saved / "worker.tar"))
    bundle = _bundle(workdir / "bench-bundle.tar.gz", COMPOSE, [web, worker])
    by_hand = bench.by_hand_project("benchbundle", COMPOSE)
    working = bench.data_dir / "compose" / "benchbundle"

    def reset() -> None:
        bench.podman.remove_all_containers()
        bench.podman.cli("rmi", "-f", WEB, WORKER, check=False)
        shutil.rmtree(working, ignore_errors=True)

    reset()
    install = [
        *group,
        "install",
        "benchbundle",
        "--module-version",
        "1",
        "--file",
        str(bundle),
    ]
    unsettled = {**bench.plugin_env, "CONTAINER_CONTAINER_GROUP_SETTLE_TIME": "0"}
    # As a person would: load both archives (podman 4.3 loads no gzip: `gunzip -c | podman load`),
    # then compose.
    by_hand_script = (
        f"{' '.join(bench.local)} load -q -i {web} >/dev/null && "
        f"gunzip -c {worker} | {' '.join(bench.local)} load -q >/dev/null && "
        f"CONTAINER_HOST={bench.podman.url} {sys.executable} -m podman_compose up -d"
    )
    # Interleaved, so that the noise of a shared machine hits all sides alike.
    samples = interleaved(
        {
            "off": lambda: timed(install, unsettled),
            "on": lambda: timed(install, {**report_on, **unsettled}),
            "podman": lambda: timed(["sh", "-c", by_hand_script], bench.podman_env, by_hand),
        },
        runs,
        reset,
    )
    ours, theirs = samples["off"], samples["podman"]
    baseline = "2 `podman load` + `podman-compose up -d`"
    label = "bundle install, 2 images, `settle_time = 0`"
    bench.row(f"{label}, reporting off", ours, theirs, baseline, "")
    bench.row(f"{label}, reporting on", samples["on"], theirs, baseline, "≤ 1.2x")
    reset()


def bench_bundle_memory(bench: Bench, workdir: Path, size_mb: int, group: list[str]) -> None:
    from bench import peak_rss_mb

    image = bench.stack.images.big_image(size_mb)
    archive = _gzip(bench.stack.images.save_archive(image, workdir / "big.tar"))
    compose = f"services:\n  job:\n    image: {image}\n"  # exits 0 at once: a one-shot job
    bundle = _bundle(workdir / "big-bundle.tar", compose, [archive])
    archive.unlink()
    bench.podman.remove_all_containers()
    bench.podman.cli("rmi", "-f", image, check=False)
    argv = [
        *group,
        "install",
        "bigbundle",
        "--module-version",
        "1",
        "--file",
        str(bundle),
    ]
    rss, code = peak_rss_mb(argv, bench.plugin_env)
    if code != 0:
        raise SystemExit(f"install of {bundle.name} failed with exit {code}")
    bench.rows.append(
        (
            f"peak RSS, bundle install, {size_mb} MB image (tar.gz in a tar)",
            f"{rss:.0f} MB",
            f"{bundle.stat().st_size / 2**20:.0f} MB bundle",
            f"{rss / 64:.2f}x of 64 MB",
            "≤ 64 MB",
        )
    )
    subprocess.run(
        [*group, "remove", "bigbundle"],
        env=bench.plugin_env,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bench.podman.cli("rmi", "-f", image, check=False)  # the bench's config keeps images (pruneimages off)
    bundle.unlink()
