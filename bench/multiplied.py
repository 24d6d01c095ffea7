"""The worst input of each kind that multiplies inside the plugin (issue 23): peak RSS and time.

Each is installed as a group with `container-group install`, from a small launcher
that measures the plugin's peak RSS (and its children's: compose) and the CPU time of
both (getrusage), and timed. Most
are refused (exit 2) within their bounds; the deep-but-allowed archive, the build
printing 600 MB and the largest `.env` within bounds are installed. Targets: < 100 MB,
< 10 s (the build's time is podman's: its output is what is measured).
"""

from __future__ import annotations

import io
import shutil
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from tests.support.group import compose, tar_of
from tests.support.hostile import (
    aliased_string,
    deep_directory,
    deep_entries,
    deepest_allowed,
    dotenv_amplified,
    empty_images,
    huge_extended_header,
    link_chain,
    many_zip_entries,
    nested_defaults,
    run_limited,
)


def _link_maze(path: Path, compose_text: str) -> Path:
    """9,000 links, each through a chain and a thousand `.`: the archive-wide step budget refuses it."""
    members = [("l0", ".")] + [(f"l{n}", "/".join(["l0"] + ["."] * 1000)) for n in range(1, 9000)]
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        data = compose_text.encode()
        info = tarfile.TarInfo("compose.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for name, target in members:
            link = tarfile.TarInfo(name)
            link.type, link.linkname = tarfile.SYMTYPE, target
            tar.addfile(link)
    return path


def _loud_build(path: Path, image: str, printed: int) -> Path:
    containerfile = f"FROM {image}\nRUN head -c {printed} /dev/zero | tr '\\0' 'x' | fold -w 199\n"
    web = {"build": "./app", "image": "localhost/tedge-bench/loud:1", "restart": "always"}
    return tar_of(path, {"compose.yaml": compose({"web": web}), "app/Containerfile": containerfile})


def bench_multiplied(bench: Any, workdir: Path, group: list[str], image: str) -> None:
    honest = compose({"web": {"image": image, "restart": "always"}})
    compose_text, dotenv = dotenv_amplified(image)
    cases = [
        ("string of `$$` aliased 99,000 times", workdir / "aliased.yaml", 2, None),
        ("`${A:-...}` nested 5,000 deep", workdir / "nested.yaml", 2, None),
        ("1 MiB `.env` value used 200,000 times", workdir / "dotenv.tar.gz", 2, None),
        ("directory 1,100 levels deep", workdir / "deep.tar.gz", 2, None),
        ("9,999 entries 2,000 deep", workdir / "many-deep.tar.gz", 2, None),
        ("9,800 entries 127 deep (allowed)", workdir / "deepest.tar.gz", 0, None),
        ("chain of 2,000 links", workdir / "chain.tar.gz", 2, None),
        ("9,000 links through a chain each", workdir / "maze.tar.gz", 2, None),
        ("pax header of 300 MiB", workdir / "header.tar.gz", 2, None),
        ("200,000 empty entries under images/", workdir / "images.tar.gz", 2, None),
        ("300,000 empty entries in a zip", workdir / "many.zip", 2, None),
        ("build printing 600 MB", workdir / "loud.tar", 0, "localhost/tedge-bench/loud:1"),
    ]
    (workdir / "aliased.yaml").write_text(aliased_string(image, 600_000, 99_000))
    (workdir / "nested.yaml").write_text(nested_defaults(image))
    tar_of(workdir / "dotenv.tar.gz", {"compose.yaml": compose_text, ".env": dotenv}, gz=True)
    deep_directory(workdir / "deep.tar.gz", honest)
    deep_entries(workdir / "many-deep.tar.gz", honest)
    deepest_allowed(workdir / "deepest.tar.gz", honest)  # 9,800 entries 127 deep (the bound is 128)
    link_chain(workdir / "chain.tar.gz", honest)
    _link_maze(workdir / "maze.tar.gz", honest)
    huge_extended_header(workdir / "header.tar.gz", honest, 300 << 20)
    empty_images(workdir / "images.tar.gz", honest)
    many_zip_entries(workdir / "many.zip", honest)
    _loud_build(workdir / "loud.tar", image, 600 << 20)
    for label, path, expected, built in cases:
        bench.podman.remove_all_containers()
        shutil.rmtree(bench.data_dir / "compose", ignore_errors=True)
        argv = [*group, "install", "multiplied", "--module-version", "1", "--file", str(path)]
        started = time.monotonic()
        result = run_limited(argv, bench.plugin_env, timeout=1800)
        seconds = time.monotonic() - started
        if result.returncode != expected:
            raise SystemExit(f"group install of the {label} exited {result.returncode}: {result.last_line}")
        if built:
            bench.podman.cli("rmi", "-f", built, check=False)
        rss, cpu = result.peak_rss_mb, result.cpu_seconds  # CPU: the plugin's and its children's
        outcome = "refused" if expected else "installed"
        bench.rows.append(
            (
                f"`container-group install`, {label} ({outcome})",
                f"{rss:.0f} MB, {cpu:.1f} s CPU ({seconds:.1f} s)",
                f"{path.stat().st_size / 1024:.0f} KiB file",
                f"{rss / 100:.2f}x of 100 MB, {cpu / 10:.2f}x of 10 s",
                "< 100 MB, < 10 s" if not built else "< 100 MB",
            )
        )
        summary = f"{label}: {rss:.0f} MB, {cpu:.1f} s CPU, {seconds:.1f} s"
        print(f"{summary}; {result.last_line[:160]}", file=sys.stderr)
    bench.podman.remove_all_containers()
    shutil.rmtree(bench.data_dir / "compose", ignore_errors=True)
