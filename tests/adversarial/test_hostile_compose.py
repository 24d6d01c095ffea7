"""Compose files that would take all memory or time: refused by size or by node count, in bounded memory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.support.group import GROUP_SCRIPT, Group
from tests.support.hostile import alias_bomb, large_compose, run_limited
from tests.support.images import TestImages

from tedge_container.software.group import project
from tedge_container.software.group.archive.limits import LimitExceeded, Limits

# The child's address space: a regression (9^9 nodes) dies of MemoryError here, not the machine.
ADDRESS_SPACE_MB = 1536
PEAK_RSS_MB = 100


def refused_in_bounded_memory(group: Group, name: str, file: Path) -> str:
    """Install `file` as group `name` under the address-space limit: exit 2, small peak RSS, nothing kept."""
    argv = [sys.executable, str(GROUP_SCRIPT), "install", name, "--module-version", "1", "--file", str(file)]
    result = run_limited(argv, group.plugin.env(), ADDRESS_SPACE_MB)
    assert result.returncode == 2, result.stderr
    print(f"peak RSS {result.peak_rss_mb:.0f} MB")
    assert result.peak_rss_mb < PEAK_RSS_MB, result.peak_rss_mb
    assert list((group.data_dir / "compose").iterdir()) == []
    return result.last_line


def test_the_alias_bomb_is_refused_in_bounded_memory(group: Group, test_images: TestImages, tmp_path: Path):
    bomb = tmp_path / "lol.yaml"
    bomb.write_text(alias_bomb(test_images.app1))
    assert bomb.stat().st_size < 512
    assert refused_in_bounded_memory(group, "lol", bomb) == (
        "Installing group lol 1 failed: docker-compose.yaml expands to more than 100000 YAML nodes "
        "with its aliases (the limit container_group.max_compose_nodes); refused."
    )


def test_a_50_mb_compose_file_is_refused_before_parsing(
    group: Group, test_images: TestImages, tmp_path: Path
):
    # Parsed by the pure-Python loader, 50 MB would take hundreds of MB and most of a minute.
    big = large_compose(tmp_path / "big.yaml", test_images.app1, 50 << 20)
    assert refused_in_bounded_memory(group, "big", big) == (
        "Installing group big 1 failed: big.yaml is larger than 1 MiB "
        "(the limit container_group.max_compose_size): 52428800 bytes; refused before reading it."
    )


# -- the same rules, in-process (pure logic on real files) ---------------------------------------


def write(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "compose.yaml").write_text(text)
    return directory


def test_anchors_and_merge_keys_for_shared_blocks_still_load(tmp_path: Path):
    text = """\
x-defaults: &defaults
  restart: always
  environment: {LEVEL: "${LEVEL:-info}"}
services:
  web: {<<: *defaults, image: "busybox:${TAG}"}
  worker: {<<: *defaults, image: busybox}
"""
    loaded = project.load(write(tmp_path / "p", text), "shop", {"TAG": "1.36"})
    assert [(s.name, s.image, s.restart) for s in loaded.services] == [
        ("web", "busybox:1.36", "always"),
        ("worker", "busybox", "always"),
    ]


def test_a_recursive_alias_is_refused(tmp_path: Path):
    text = "x-loop: &loop [*loop]\nservices: {web: {image: busybox}}\n"
    with pytest.raises(LimitExceeded, match="an alias refers to a block that contains it"):
        project.load(write(tmp_path / "p", text), "loop", {})


def test_node_count_is_computed_without_expanding_and_interpolation_shares_blocks():
    import yaml

    document = yaml.safe_load(alias_bomb("busybox:${TAG}"))
    with pytest.raises(LimitExceeded, match="max_compose_nodes"):
        Limits().check_nodes(document, "bomb")
    assert Limits(compose_nodes=10**9).check_nodes(document, "bomb") > 9**9
    # Walked once per shared block, and shared in the result. In-process, so with 9^6 strings
    # only: copying them all (a regression) takes a few seconds and ~100 MB, not the machine.
    smaller = yaml.safe_load(alias_bomb("busybox:${TAG}", depth=6))
    result = project.interpolate(smaller, {"TAG": "1"}, "bomb")
    assert result["services"]["web"]["image"] == "busybox:1"
    assert result["f"][0] is result["f"][8] and result["services"]["web"]["x-lol"] is result["f"]


def test_a_chain_of_aliases_too_deep_to_walk_is_refused(tmp_path: Path):
    # Flat as text, 1000 blocks deep as a tree: a recursive walk would end in RecursionError.
    chain = "\n".join(["x-0: &a0 [leaf]", *(f"x-{n}: &a{n} [*a{n - 1}]" for n in range(1, 1000))])
    text = f"{chain}\nservices: {{web: {{image: busybox, x-deep: *a999}}}}\n"
    with pytest.raises(LimitExceeded, match="nests blocks more than 200 deep with its aliases; refused"):
        project.load(write(tmp_path / "p", text), "deep", {})
    shallow = "x-0: &a0 [leaf]\nx-1: &a1 [*a0, *a0]\nservices: {web: {image: busybox, x-deep: *a1}}\n"
    assert project.load(write(tmp_path / "q", shallow), "deep", {}).service_names() == ["web"]


def test_a_compose_file_at_the_size_limit_loads(tmp_path: Path):
    (tmp_path / "p").mkdir()
    compose = large_compose(tmp_path / "p" / "compose.yaml", "busybox", 1 << 20)
    assert compose.stat().st_size == 1 << 20
    assert project.load(str(tmp_path / "p"), "padded", {}).service_names() == ["web"]
    with open(compose, "a") as more:
        more.write("#")
    with pytest.raises(LimitExceeded, match=r"larger than 1 MiB .* 1048577 bytes"):
        project.load(str(tmp_path / "p"), "padded", {})
