"""Depth, link and interpolation shapes (hypothesis), in-process on real files: bounded, one error, no
RecursionError, and whatever was written can be deleted (issue 23)."""

from __future__ import annotations

import errno
import os
import tarfile
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.group import tar_entries

from tedge_container.software.group import project
from tedge_container.software.group.archive import staging
from tedge_container.software.group.archive.layout import Layout
from tedge_container.software.group.archive.limits import LimitExceeded, Limits
from tedge_container.software.group.archive.removal import remove_tree
from tedge_container.software.group.archive.tree import MAX_DEPTH, MAX_LINK_HOPS, MAX_PATH, UnsafeArchive
from tedge_container.software.group.errors import ProjectError

COMPOSE = ("compose.yaml", b"services: {web: {image: busybox}}\n")
SHAPES = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def directory(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info


@SHAPES
@given(st.integers(min_value=1, max_value=90), st.sampled_from([".", "d", "d/.."]))
def test_a_link_chain_is_kept_exactly_when_the_kernel_would_follow_it(length: int, first: str):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "staging"
        chain = [symlink("l0", first)] + [symlink(f"l{n}", f"l{n - 1}") for n in range(1, length)]
        archive = tar_entries(Path(scratch) / "chain.tar", [COMPOSE, directory("d"), *chain])
        try:
            staging.unpack(str(archive), str(root))
        except UnsafeArchive as error:
            assert length > MAX_LINK_HOPS, error
            assert f"more than {MAX_LINK_HOPS} links" in str(error)
            assert not root.exists()
            return
        assert length <= MAX_LINK_HOPS
        assert (root / f"l{length - 1}").is_dir()  # the kernel follows it (no ELOOP), as it was checked


def test_the_kernel_refuses_the_chain_one_link_longer():
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        (base / "l0").symlink_to(".")
        for n in range(1, MAX_LINK_HOPS + 1):
            (base / f"l{n}").symlink_to(f"l{n - 1}")
        assert (base / f"l{MAX_LINK_HOPS - 1}").is_dir()
        with pytest.raises(OSError) as caught:
            os.stat(base / f"l{MAX_LINK_HOPS}")
        assert caught.value.errno == errno.ELOOP


@SHAPES
@given(st.integers(min_value=1, max_value=400), st.integers(min_value=1, max_value=40))
def test_entry_depth_and_path_length_are_bounded_before_anything_is_written(depth: int, width: int):
    name = "/".join(["p" * width] * depth)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "staging"
        archive = tar_entries(Path(scratch) / "deep.tar", [COMPOSE, directory(name), (f"{name}/f", b"x")])
        too_long = len(name) + 2 > MAX_PATH
        try:
            staging.unpack(str(archive), str(root))
        except UnsafeArchive as error:
            assert too_long or depth + 1 > MAX_DEPTH, error
            assert not root.exists()
            return
        assert not too_long and depth + 1 <= MAX_DEPTH
        assert (root / name / "f").read_bytes() == b"x"
        remove_tree(str(root))
        assert not root.exists()


def test_many_entries_at_the_depth_bound_cost_seconds_not_minutes(tmp_path: Path):
    stem = "/".join(["d"] * (MAX_DEPTH - 2))
    entries = [COMPOSE] + [directory(f"{stem}/{n}") for n in range(9000)]
    archive = tar_entries(tmp_path / "wide.tar", entries)
    started = time.process_time()
    staging.unpack(str(archive), str(tmp_path / "staging"))
    spent = time.process_time() - started
    print(f"9,000 entries {MAX_DEPTH - 1} deep unpacked in {spent:.1f} s of CPU")
    assert spent < 60  # O(depth) per entry; O(depth²) took minutes (the bench has the figure)
    remove_tree(str(tmp_path / "staging"))


def test_a_tree_deeper_than_path_max_and_the_recursion_limit_is_removed(tmp_path: Path):
    """What an older version may have left: 3,000 levels of 200-character names (600 KB of path)."""
    root = tmp_path / "compose"
    root.mkdir()
    layout = Layout(str(root), "deep")
    os.mkdir(layout.staging)
    descriptor = os.open(layout.staging, os.O_RDONLY)
    try:
        for _ in range(3000):
            os.mkdir("n" * 200, dir_fd=descriptor)
            below = os.open("n" * 200, os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = below
        os.symlink("/", "root-link", dir_fd=descriptor)
        with open(os.open("f", os.O_WRONLY | os.O_CREAT, dir_fd=descriptor), "w") as stream:
            stream.write("x")
    finally:
        os.close(descriptor)
    layout.trash(layout.staging)
    assert list(root.iterdir()) == []
    assert os.path.isdir("/etc")  # the link was unlinked, not followed


# -- interpolation ---------------------------------------------------------------------------------


@SHAPES
@given(st.integers(min_value=0, max_value=3000), st.booleans())
def test_nested_defaults_are_bounded_never_recursion(depth: int, is_set: bool):
    value = "${A:-" * depth + "x" + "}" * depth
    variables = {"A": "set"} if is_set else {}
    try:
        result = project.interpolate({"v": value}, variables, "f")
    except LimitExceeded as error:
        assert depth > Limits().interpolation_depth, error
        assert "max_interpolation_depth" in str(error)
        return
    assert depth <= Limits().interpolation_depth
    assert result == {"v": "set" if is_set and depth else "x"}


@SHAPES
@given(
    st.integers(min_value=1, max_value=200_000),
    st.integers(min_value=1, max_value=5000),
    st.integers(min_value=1, max_value=200),
)
def test_interpolation_output_is_bounded_whatever_multiplies(value_size: int, uses: int, aliases: int):
    """A value used `uses` times in a string aliased `aliases` times: refused past the bound, else exact."""
    text = "${V}" * uses
    document = yaml.safe_load(f'x-s: &s "{text}"\nx-l: [{",".join(["*s"] * aliases)}]\n')
    limits = Limits(interpolated_size=1 << 20)
    started = time.process_time()
    try:
        result = project.interpolate(document, {"V": "v" * value_size}, "f", limits=limits)
    except LimitExceeded as error:
        assert value_size * uses * (aliases + 1) > limits.interpolated_size, error
    else:
        assert value_size * uses * (aliases + 1) <= limits.interpolated_size + 64
        assert result["x-l"][0] is result["x-s"]  # interpolated once, shared
    assert time.process_time() - started < 5


def test_every_yaml_parse_failure_is_one_project_error(tmp_path: Path):
    cases = {
        "digits": f"x: {'9' * 5000}\nservices: {{web: {{image: busybox}}}}\n",
        "date": "x: 2001-13-45\nservices: {web: {image: busybox}}\n",
        "nesting": "x: " + "[" * 5000 + "]" * 5000 + "\nservices: {web: {image: busybox}}\n",
    }
    for name, text in cases.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "compose.yaml").write_text(text)
        with pytest.raises(ProjectError) as caught:
            project.load(str(tmp_path / name), name, {})
        assert "\n" not in str(caught.value), name
