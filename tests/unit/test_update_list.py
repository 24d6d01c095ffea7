from __future__ import annotations

import pytest

from tedge_container.errors import UsageError
from tedge_container.software.update_list import Action, parse_line


def test_lines_as_the_agent_writes_them() -> None:
    assert parse_line("install\tweb\tnginx:1\t\n") == Action("install", "web", "nginx:1", "")
    assert parse_line("install\tweb\t\t/tmp/x.tar\n") == Action("install", "web", "", "/tmp/x.tar")
    assert parse_line("remove\tweb\tnginx:1\t\n") == Action("remove", "web", "nginx:1", "")
    assert parse_line("remove\tweb\tnginx:1") == Action("remove", "web", "nginx:1", "")


@pytest.mark.parametrize("line", ["upgrade\tweb\t1\t", "install", "install\t\t1\t", "install\ta\tb\tc\td"])
def test_malformed_lines(line: str) -> None:
    with pytest.raises(UsageError):
        parse_line(line)
