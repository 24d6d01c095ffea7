"""engine_cache.py keeps what each podman service said, not only the last one's.

Two services used in turn (a rootful and a rootless podman on one device; the
test services and benches side by side on one machine) each ask `/libpod/info`
(0.1-0.5 s) once per start, not on every switch. Real files in a private
runtime directory; the identities are made up, as the module only compares them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tedge_container.engine import engine_cache


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    run = tmp_path / "run"
    run.mkdir(mode=0o755)
    monkeypatch.setenv("TEDGE_CONTAINER_PLUGIN_RUNTIME_DIR", str(run))
    return run / engine_cache.CACHE_FILE


def test_services_used_in_turn_are_each_recalled(cache: Path) -> None:
    engine_cache.remember("/run/podman/podman.sock", "100:1", {"graphRoot": "/var/lib/containers"})
    engine_cache.remember("/run/user/1000/podman.sock", "200:2", {"graphRoot": "/home/u/.local"})
    assert engine_cache.recall("/run/podman/podman.sock", "100:1", "graphRoot") == "/var/lib/containers"
    assert engine_cache.recall("/run/user/1000/podman.sock", "200:2", "graphRoot") == "/home/u/.local"
    assert json.loads(cache.read_text())["socket"] == "/run/user/1000/podman.sock"  # the newest on top


def test_a_restarted_service_replaces_its_own_entry_only(cache: Path) -> None:
    engine_cache.remember("/a.sock", "100:1", {"graphRoot": "/a-old"})
    engine_cache.remember("/b.sock", "200:2", {"graphRoot": "/b"})
    engine_cache.remember("/a.sock", "101:5", {"graphRoot": "/a-new"})  # /a.sock's service restarted
    assert engine_cache.recall("/a.sock", "100:1", "graphRoot") == ""  # never the old start's answer
    assert engine_cache.recall("/a.sock", "101:5", "graphRoot") == "/a-new"
    assert engine_cache.recall("/b.sock", "200:2", "graphRoot") == "/b"
    assert cache.read_text().count('"socket"') == 2


def test_the_entries_kept_are_bounded(cache: Path) -> None:
    for index in range(20):
        engine_cache.remember(f"/s{index}.sock", f"{index + 2}:1", {"graphRoot": f"/r{index}"})
    kept = [i for i in range(20) if engine_cache.recall(f"/s{i}.sock", f"{i + 2}:1", "graphRoot")]
    assert kept == list(range(20 - 1 - engine_cache.KEPT_OTHERS, 20))
