"""`list` runs on every software update: its start-up is measured (bench/run), and kept light here.

Each module below costs `list` milliseconds to import (with what it imports);
none of them is needed to list containers, groups or images with the shipped
configuration, so none may creep back into the `list` paths.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tedge_container import jsonio

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("re", "json", "socket", "enum", "typing", "tomllib", "tomli", "datetime", "shutil", "importlib")
CONTAINERS = [
    {"Id": "1", "Names": ["web"], "Image": "docker.io/library/nginx:1", "Labels": {}, "State": "running"},
    {"Id": "2", "Names": ["buildx_0"], "Image": "moby/buildkit", "Labels": None, "State": "running"},
]
IMAGES = [{"Id": "sha256:9", "Names": ["127.0.0.1:5000/team/app:1"], "RepoDigests": []}]
RECORD = {"name": "127.0.0.1:5000/team/app", "version": "1", "reference": "127.0.0.1:5000/team/app:1"}


@pytest.fixture
def engine(tmp_path: Path):
    """A unix socket answering as podman answers `_ping`, `containers/json` and `images/json`."""
    path = str(tmp_path / "podman.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                request = connection.recv(65536)
                answer = IMAGES if b"/images/json" in request else CONTAINERS
                body = b"OK" if b"/_ping" in request else json.dumps(answer).encode() + b"\n"
                connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + body)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path
    server.close()


@pytest.mark.parametrize(
    ("software_type", "output"),
    [
        ("container", "web\tdocker.io/library/nginx:1\n"),
        ("container-group", "shop\t2\n"),
        ("container-image", ""),  # off, as shipped
        ("container-image enabled", "127.0.0.1:5000/team/app\t1\n"),
    ],
)
def test_list_imports_nothing_heavy(tmp_path: Path, engine: str, software_type: str, output: str) -> None:
    config = tmp_path / "plugins" / "tedge-container-plugin.toml"
    config.parent.mkdir()
    (tmp_path / "compose" / "shop").mkdir(parents=True)
    (tmp_path / "compose" / "shop" / "version").write_text("2\nshop\n")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "app.json").write_text(json.dumps(RECORD))
    shipped = (REPO / "packaging" / "tedge-container-plugin.toml").read_text(encoding="utf-8")
    # The shipped file, as on a device, with this test's engine and a data_dir as bench/run writes it.
    shipped = shipped.replace("# host = ", f'host = "unix://{engine}" #')
    software_type, _, enabled = software_type.partition(" ")
    if enabled:
        shipped = shipped.replace("enabled = false", "enabled = true")
    config.write_text(f'data_dir = "{tmp_path}"\n{shipped}')
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(REPO / 'plugin')!r})\n"
        "before = set(sys.modules)\n"
        "from tedge_container.cli import main\n"
        f"code = main([{software_type!r}, 'list'])\n"
        f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules and m not in before))\n"
    )
    env = {"TEDGE_CONFIG_DIR": str(tmp_path), "PATH": os.environ.get("PATH", "")}
    # -S: no site-packages (a .pth file may import anything), as the launcher runs the plugin (-IS).
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    listing, _, summary = result.stdout.rpartition("0 [")
    assert listing == output
    assert summary == "]\n"


@pytest.mark.parametrize(
    "data",
    [
        b"[]",
        b"[]\n",
        b'{"a": {"b": [1, {}]}}\r\n\t ',
        b'[1, 2.5, -0.0, 1e400, NaN, Infinity, -Infinity, true, false, null, "\\u00e9\\ud800", "\xc3\xa9"]',
        b'{"a": 1, "a": 2}',
        "[1]",
        # json.loads' own errors, or its own way of reading these:
        b"",
        b"[1] x",
        b"[1",
        b"[1,]",
        b"[01]",
        b' ["leading space"]',
        b'["tab\tin a string"]',
        b'["\xff"]',
        b"\xef\xbb\xbf[1]",
        "[1]".encode("utf-16-le"),
        "[1]".encode("utf-32-be"),
        "\ufeff[1]",
    ],
)
def test_jsonio_loads_is_json_loads(data: bytes | str) -> None:
    def outcome(loads) -> tuple[object, ...]:
        try:
            return ("value", repr(loads(data)))
        except Exception as error:  # the same exception, with the same message
            return ("error", type(error), str(error))

    assert outcome(jsonio.loads) == outcome(json.loads)
