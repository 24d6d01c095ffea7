"""Module versions (and names) with control characters: refused for every type before anything is done."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.adversarial.conftest import Offline

from tedge_container.software.contract import check_printable

TYPES = ("container", "container-group", "container-image")


@pytest.mark.parametrize("software", TYPES)
def test_a_newline_in_the_version_is_refused_before_anything_is_written(
    offline: Offline, software: str, tmp_path: Path
):
    compose = tmp_path / "compose.yaml"
    compose.write_text("services: {web: {image: busybox}}\n")
    file = ["--file", str(compose)] if software == "container-group" else []
    result = offline.run(software, "install", "app", "--module-version", "1\nother", *file)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        "The module version '1\\nother' holds the control character '\\n'; refused: "
        "names and versions must be printable text."
    )
    assert offline.written() == []


def test_control_characters_in_update_list_lines_are_refused_per_line(offline: Offline):
    # A tab cannot be in a field of update-list; NUL, ESC and DEL can.
    stdin = "install\tapp\t1\x00x\t\ninstall\tweb\t\x1b[2J\t\nremove\tdb\t\x7f\t\n"
    result = offline.run("container-group", "update-list", stdin=stdin)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["install app", "install web", "remove db"]
    assert all("holds the control character" in line for line in lines), lines
    assert offline.written() == []


@pytest.mark.parametrize("char", ["\t", "\r", "\x00", "\x85", "\u2028", "\x7f"])
def test_every_control_character_is_refused_in_names_and_versions(char: str):
    with pytest.raises(Exception, match="holds the control character"):
        check_printable("app", f"1{char}2")
    with pytest.raises(Exception, match="module name"):
        check_printable(f"a{char}b", "1")
    check_printable("app", "1.0+build-7 ünïcode")
