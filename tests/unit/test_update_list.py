from __future__ import annotations

import pytest

from tedge_container.errors import UsageError
from tedge_container.software.update_list import Action, parse_line, with_module


def test_lines_as_the_agent_writes_them() -> None:
    assert parse_line("install\tweb\tnginx:1\t\n") == Action("install", "web", "nginx:1", "")
    assert parse_line("install\tweb\t\t/tmp/x.tar\n") == Action("install", "web", "", "/tmp/x.tar")
    assert parse_line("remove\tweb\tnginx:1\t\n") == Action("remove", "web", "nginx:1", "")
    assert parse_line("remove\tweb\tnginx:1") == Action("remove", "web", "nginx:1", "")


@pytest.mark.parametrize("line", ["upgrade\tweb\t1\t", "install", "install\t\t1\t", "install\ta\tb\tc\td"])
def test_malformed_lines(line: str) -> None:
    with pytest.raises(UsageError):
        parse_line(line)


def test_an_empty_name_is_called_so() -> None:
    with pytest.raises(UsageError) as caught:
        parse_line("install\t\tnginx:1\t\n")
    assert str(caught.value) == "install without a module name (the second field is empty)"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("install b1: give --module-version IMAGE.", "install b1: give --module-version IMAGE."),
        ("Installing b1 failed: Pulling x failed: no.", "install b1: Pulling x failed: no."),
        (
            "Cannot reach podman at /s (refused); start it.",
            "install b1: Cannot reach podman at /s (refused); start it.",
        ),
        ("Installing b10 failed: no.", "install b1: Installing b10 failed: no."),
    ],
)
def test_failure_lines_name_the_module_once(message: str, expected: str) -> None:
    assert with_module("install", "b1", message) == expected
