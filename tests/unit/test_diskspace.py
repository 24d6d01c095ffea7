"""The disk guard's arithmetic and wording, on this machine's real filesystems (no engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tedge_container import diskspace
from tedge_container.config import DEFAULTS, Config
from tedge_container.config.values import BadValue, convert, format_size, to_size


def _config(**values: object) -> Config:
    return Config({**DEFAULTS, **values}, "", "/etc/tedge")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("268435456", 256 << 20),
        ("256MiB", 256 << 20),
        ("256 MB", 256 << 20),
        ("1G", 1 << 30),
        ("0", 0),
        (4096, 4096),
    ],
)
def test_sizes_read_with_binary_units(text: object, expected: int) -> None:
    assert to_size(text) == expected
    assert convert(DEFAULTS["container.min_free_space"], text) == expected


@pytest.mark.parametrize("text", ["lots", "-1", "1 PiB", "1.5.2G", True + 0.5])
def test_bad_sizes_are_refused(text: object) -> None:
    with pytest.raises(BadValue):
        to_size(text)


def test_sizes_print_as_an_operator_reads_them() -> None:
    assert [format_size(n) for n in (812, 3 << 10, 256 << 20, 3 << 29)] == [
        "812 B",
        "3 KiB",
        "256 MiB",
        "1.5 GiB",
    ]


def test_a_path_not_made_yet_is_measured_on_its_nearest_parent(tmp_path: Path) -> None:
    measured = diskspace.free_bytes(str(tmp_path / "compose" / "app" / "x"))
    assert measured is not None and measured[0] == str(tmp_path) and measured[1] > 0


def test_enough_space_passes_and_too_little_names_the_filesystem(tmp_path: Path) -> None:
    free = diskspace.free_bytes(str(tmp_path))[1]  # type: ignore[index]
    diskspace.require(_config(), str(tmp_path), 0, "pull x", "prune")  # a real disk has 256 MiB
    with pytest.raises(diskspace.NotEnoughSpace) as raised:
        diskspace.require(_config(), str(tmp_path), free, "load app.tar", "remove unused images")
    message = str(raised.value)
    assert message.startswith(f"Not enough disk space to load app.tar: {tmp_path} has ")
    assert "needed plus container.min_free_space = 256 MiB to keep free" in message
    assert message.endswith(
        "Remove unused images, or lower container.min_free_space (0 turns the check off)."
    )
    assert diskspace.NotEnoughSpace.exit_code == 2


def test_zero_turns_the_guard_off(tmp_path: Path) -> None:
    diskspace.require(_config(**{"container.min_free_space": 0}), str(tmp_path), 1 << 62, "load", "prune")


def test_an_unmeasurable_path_is_not_refused() -> None:
    diskspace.require(_config(), "", 1 << 62, "load", "prune")
