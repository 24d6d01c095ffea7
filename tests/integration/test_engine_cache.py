"""podman's storage root is asked once per start of the podman service, then recalled (engine_cache.py).

On the real test service: the first engine asks `/libpod/info`; the next one
(another run of the plugin) recalls the root without asking; an entry of
another service start, or a file someone else could have written, is never used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tedge_container.config import Config
from tedge_container.engine import Engine, engine_cache

pytestmark = pytest.mark.integration


@pytest.fixture()
def engines(plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key in [key for key in os.environ if key.startswith("CONTAINER_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TEDGE_CONFIG_DIR", str(plugin.config_dir))
    monkeypatch.setenv("TEDGE_CONTAINER_PLUGIN_RUNTIME_DIR", str(tmp_path / "run"))
    asked: list[str] = []
    raw_get = Engine._raw_get

    def counted(self: Engine, target: str, timeout: float | None = None) -> bytes:
        asked.append(target)
        return raw_get(self, target, timeout)

    monkeypatch.setattr(Engine, "_raw_get", counted)

    def new_engine() -> Engine:
        return Engine(Config.load())

    new_engine.asked = asked  # type: ignore[attr-defined]
    new_engine.cache = tmp_path / "run" / engine_cache.CACHE_FILE  # type: ignore[attr-defined]
    return new_engine


def info_requests(engines: Any) -> int:
    return sum(1 for target in engines.asked if target.endswith("/info"))


def test_the_storage_root_is_asked_once_per_service_start(engines) -> None:
    first = engines()
    identity = engine_cache.listener_identity(first.socket_path)
    if not identity:
        pytest.skip("the test service's listener is not visible from here (another pid namespace)")
    root = first.storage_root()
    assert root and os.path.isdir(root)
    assert info_requests(engines) == 1
    assert json.loads(engines.cache.read_text())["engine"] == identity

    assert engines().storage_root() == root  # the next run of the plugin
    assert info_requests(engines) == 1
    assert engines().pause_refusal() == ""  # the service commands' question: the same answer, recalled
    assert info_requests(engines) == 1

    # An entry from another start of the service is not this one's: asked again, then replaced.
    entry = json.loads(engines.cache.read_text())
    engines.cache.write_text(json.dumps({**entry, "engine": "12345:1", "graphRoot": "/elsewhere"}))
    assert engines().storage_root() == root
    assert info_requests(engines) == 2
    assert json.loads(engines.cache.read_text())["engine"] == identity


def test_a_cache_others_could_write_is_not_trusted(engines) -> None:
    first = engines()
    if not engine_cache.listener_identity(first.socket_path):
        pytest.skip("the test service's listener is not visible from here (another pid namespace)")
    root = first.storage_root()
    entry = json.loads(engines.cache.read_text())
    engines.cache.write_text(json.dumps({**entry, "graphRoot": "/tmp"}))
    engines.cache.chmod(0o666)
    assert engines().storage_root() == root  # not /tmp: asked again
    assert info_requests(engines) == 2


def test_a_service_running_as_root_can_pause_without_being_asked(engines) -> None:
    engine = engines()  # nothing kept yet: a report right after the service started
    peer = engine_cache.listener(engine.socket_path)
    if peer is None or peer[1] != 0:
        pytest.skip("the test service does not run as root, or its listener is not visible from here")
    assert engine.pause_refusal() == ""
    assert info_requests(engines) == 0  # the capabilities of a report cost no /libpod/info
