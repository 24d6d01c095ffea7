"""Which engine (engine/discovery.py): the record, tedge's user, the "Cannot reach podman" line.

Pure logic on files in a temporary directory; the real rootless engine is in
tests/integration/test_rootless.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tedge_container.config import Config
from tedge_container.engine import discovery


def config_with(tmp_path: Path, **keys: str) -> Config:
    lines = [f'data_dir = "{tmp_path / "data"}"', "[container]"]
    lines += [f'{key} = "{value}"' for key, value in keys.items()]
    (tmp_path / "plugins").mkdir(exist_ok=True)
    (tmp_path / "plugins" / "tedge-container-plugin.toml").write_text("\n".join(lines) + "\n")
    return Config.load({"TEDGE_CONFIG_DIR": str(tmp_path)})


def test_tedges_user_is_sudo_uid_then_the_user_then_the_owner_of_the_config(tmp_path: Path) -> None:
    os.chown(tmp_path, 4242, 4242)
    assert discovery.engine_uid({"SUDO_UID": "1001"}, 0, str(tmp_path)) == 1001
    assert discovery.engine_uid({}, 1002, str(tmp_path)) == 1002
    assert discovery.engine_uid({}, 0, str(tmp_path)) == 4242  # root without sudo: the monitor
    assert discovery.engine_uid({}, 0, str(tmp_path / "missing")) == 0
    assert discovery.engine_uid({"SUDO_UID": "x"}, 0, "") == 0


def test_the_record_pins_the_engine_and_container_host_overrides_it(tmp_path: Path) -> None:
    config = config_with(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "engine").write_text("/run/user/1001/podman/podman.sock\n")
    choice = discovery.choose(config, {"SUDO_UID": "0"})
    assert (choice.path, choice.tried, choice.origin) == (
        "/run/user/1001/podman/podman.sock",
        ["/run/user/1001/podman/podman.sock"],
        "record",
    )
    pinned = discovery.choose(config_with(tmp_path, host="unix:///run/podman/podman.sock"), {})
    assert (pinned.path, pinned.origin, pinned.recorded) == (
        "/run/podman/podman.sock",
        "container.host",
        "/run/user/1001/podman/podman.sock",
    )


@pytest.mark.parametrize("text", ["", "relative/path\n", "/a\n/b\n", "/x" * 3000])
def test_a_record_that_holds_no_socket_path_is_ignored(tmp_path: Path, text: str) -> None:
    config = config_with(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "engine").write_text(text)
    choice = discovery.choose(config, {"SUDO_UID": "1001"})
    assert choice.origin == "found" and choice.tried[0] == "/run/user/1001/podman/podman.sock"


def test_who_writes_the_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_with(tmp_path)
    record = tmp_path / "data" / "engine"
    found = discovery.Choice("/run/user/1001/podman/podman.sock", [], "found", 1001, "", "")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    discovery.remember(config, found, {})  # root without sudo (the monitor) follows, never writes
    assert not record.exists()
    discovery.remember(config, found, {"SUDO_UID": "1001"})  # an sm-plugin through sudo
    assert record.read_text() == "/run/user/1001/podman/podman.sock\n"
    pinned = discovery.Choice("/run/podman/podman.sock", [], "container.host", 1001, str(record), "/x")
    discovery.remember(config, pinned, {})  # a pin corrects a record naming another engine
    assert record.read_text() == "/run/podman/podman.sock\n"


def test_the_cannot_reach_line_says_where_the_path_came_from(tmp_path: Path) -> None:
    host = discovery.Choice("/s.sock", ["/s.sock"], "container.host", 0, "", "")
    assert discovery.unavailable_text(host, "connection refused") == (
        "Cannot reach podman at /s.sock (set by container.host) (connection refused); "
        "start podman's API socket (as root: systemctl enable --now podman.socket), "
        "or correct container.host."
    )
    found = discovery.Choice(
        "/run/podman/podman.sock",
        ["/run/user/0/podman/podman.sock", "/run/podman/podman.sock"],
        "found",
        0,
        "",
        "",
    )
    assert discovery.unavailable_text(found, "refused") == (
        "Cannot reach podman at /run/podman/podman.sock (refused); "
        "start podman's API socket (as root: systemctl enable --now podman.socket)."
    )


def test_rootless_socket_paths_name_their_user() -> None:
    assert discovery.rootless_uid("/run/user/1001/podman/podman.sock") == 1001
    assert discovery.rootless_uid("/tmp/storage-run-7/podman/podman.sock") == 7
    assert discovery.rootless_uid("/run/user/0/podman/podman.sock") is None
    assert discovery.rootless_uid("/run/podman/podman.sock") is None


def test_the_disk_space_hint_of_a_rootless_engine_says_to_prune_as_its_user(tmp_path: Path) -> None:
    from tedge_container.diskspace import NotEnoughSpace, require_in_engine

    class RootlessEngine:  # what the guard asks of the engine: its socket and its storage
        socket_path = f"/run/user/{os.getuid()}/podman/podman.sock"

        def storage_root(self) -> str:
            return str(tmp_path)

    config = config_with(tmp_path, min_free_space="1000000GiB")
    with pytest.raises(NotEnoughSpace) as raised:
        require_in_engine(config, RootlessEngine(), 0, "pull app:1")  # type: ignore[arg-type]
    assert "Free space on it: remove images" in str(raised.value)  # root's own: no user named
    assert "as user" not in str(raised.value)
    RootlessEngine.socket_path = "/run/user/65534/podman/podman.sock"
    with pytest.raises(NotEnoughSpace) as raised:
        require_in_engine(config, RootlessEngine(), 0, "pull app:1")  # type: ignore[arg-type]
    assert "Free space on it, as user nobody: remove images no container uses" in str(raised.value)


def test_a_record_that_is_a_link_or_a_fifo_is_ignored_and_replaced_without_following(tmp_path: Path) -> None:
    """Built for real: a planted link to a file elsewhere, and a FIFO that would block a plain open()."""
    config = config_with(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("/run/user/1001/podman/podman.sock\n")
    (data / "engine").symlink_to(elsewhere)
    assert discovery.choose(config, {"SUDO_UID": "1001"}).origin == "found"
    found = discovery.Choice("/run/podman/podman.sock", [], "found", 0, "", "")
    discovery.remember(config, found, {"SUDO_UID": "1001"})
    assert not (data / "engine").is_symlink() and (data / "engine").read_text() == "/run/podman/podman.sock\n"
    assert elsewhere.read_text() == "/run/user/1001/podman/podman.sock\n"  # the link's target untouched
    (data / "engine").unlink()
    os.mkfifo(data / "engine")
    assert discovery.choose(config, {"SUDO_UID": "1001"}).origin == "found"  # returns: no blocked read
