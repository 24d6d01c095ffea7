"""The monitor's cloud clean-up: its bookkeeping (pure), the proxy's settings, and the proxy client
against the stand-in proxy on loopback (tests/support/c8y_proxy.py; the real one needs a tenant)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from tests.support.c8y_proxy import CumulocityStub

from tedge_container.config import Config
from tedge_container.monitor.cloud import (
    RETRY_MAX,
    RETRY_MIN,
    STATE_FILE,
    CloudCleanup,
    Pending,
    bridge_is_up,
)
from tedge_container.status.c8y_proxy import (
    CumulocityProxy,
    ProxyError,
    ProxySettings,
    external_id,
    proxy_settings,
)


def test_a_name_waits_the_delay_and_a_registration_cancels_it() -> None:
    pending = Pending(delay=30)
    pending.add("a", now=100)
    pending.add("b", now=110)
    assert pending.ready(129) == []
    assert pending.ready(130) == ["a"]
    assert pending.cancel("b") and pending.ready(1000) == ["a"]
    pending.done("a")
    assert pending.next_due() is None


def test_failures_back_off_up_to_a_bound_and_the_bridge_hurries_them() -> None:
    pending = Pending(delay=0)
    pending.add("a", now=0)
    pauses = [pending.failed("a", now=0) for _ in range(12)]
    assert pauses[0] == RETRY_MIN and pauses[1] == 2 * RETRY_MIN and pauses[-1] == RETRY_MAX
    pending.add("fresh", now=0)
    pending.hurry(now=5)
    assert sorted(pending.ready(5)) == ["a", "fresh"]


def test_the_queue_is_bounded() -> None:
    pending = Pending(delay=1, limit=2)
    assert pending.add("a", 0) and pending.add("b", 0)
    assert not pending.add("c", 0)
    assert pending.add("a", 1)  # already there: rescheduled


def test_bridge_health_payloads() -> None:
    assert bridge_is_up(b'{"status":"up","pid":1}') and bridge_is_up(b"1")
    assert not bridge_is_up(b'{"status":"down"}') and not bridge_is_up(b"0") and not bridge_is_up(b"")


def test_external_ids_follow_thin_edges_default_scheme() -> None:
    assert external_id("dev1", "device/main/service/app") == "dev1:device:main:service:app"
    assert external_id("dev1", "device/child/service/shop@web") == "dev1:device:child:service:shop@web"


def test_proxy_settings_come_from_tedge_and_the_go_keys_win(tmp_path: Path) -> None:
    config = Config.load(environ={"TEDGE_CONFIG_DIR": str(tmp_path)})
    assert proxy_settings(config, {}).address == "http://127.0.0.1:8001/c8y"
    tedge = {"c8y.proxy.client.host": "10.0.0.2", "c8y.proxy.client.port": "8443", "c8y.proxy.cert_path": "x"}
    assert proxy_settings(config, tedge).address == "https://10.0.0.2:8443/c8y"
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "tedge-container-plugin.toml").write_text('[client.c8y]\nhost = "::1"\nport = 9001\n')
    config = Config.load(environ={"TEDGE_CONFIG_DIR": str(tmp_path)})
    assert proxy_settings(config, {}).address == "http://[::1]:9001/c8y"


@pytest.fixture()
def stub():
    stub = CumulocityStub("dev1").start()
    yield stub
    stub.stop()


def test_the_proxy_deletes_only_service_objects(stub: CumulocityStub) -> None:
    proxy = CumulocityProxy(ProxySettings(port=stub.port), timeout=5)
    assert proxy.device_id() == "dev1"
    assert proxy.device_id("configured") == "configured"
    stub.add_service("dev1:device:main:service:a")
    stub.add_service("dev1:device:main:service:b", "c8y_Device")
    assert proxy.delete_service("dev1:device:main:service:a") == "deleted"
    assert proxy.delete_service("dev1:device:main:service:a") == "absent"
    assert proxy.delete_service("dev1:device:main:service:b") == "not a service"
    assert stub.has("dev1:device:main:service:b")


@pytest.mark.parametrize(("status", "retry"), [(502, True), (401, True), (403, False)])
def test_proxy_answers_that_are_worth_a_retry(stub: CumulocityStub, status: int, retry: bool) -> None:
    stub.add_service("dev1:device:main:service:a")
    stub.fail_with = status
    with pytest.raises(ProxyError) as caught:
        CumulocityProxy(ProxySettings(port=stub.port), timeout=5).delete_service("dev1:device:main:service:a")
    assert caught.value.retry is retry and f"HTTP {status}" in str(caught.value)


def test_no_proxy_listening_is_worth_a_retry() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ProxyError) as caught:
        CumulocityProxy(ProxySettings(port=port), timeout=5).device_id()
    assert caught.value.retry and f"127.0.0.1:{port}" in str(caught.value)


class ScriptedProxy:
    """The proxy, scripted: the registration that races a deletion cannot be timed for real."""

    def __init__(self) -> None:
        self.cleanup: CloudCleanup | None = None
        self.deleted: list[str] = []

    def device_id(self, configured: str = "") -> str:
        return "dev1"

    def delete_service(self, xid: str) -> str:
        assert self.cleanup is not None
        self.cleanup.registered("app")  # the container came back while its object was being deleted
        self.deleted.append(xid)
        return "deleted"


def test_a_service_registered_during_its_deletion_is_registered_anew(tmp_path: Path) -> None:
    proxy = ScriptedProxy()
    revived: list[str] = []
    cleanup = CloudCleanup(
        proxy,  # type: ignore[arg-type]
        lambda name: f"device/main/service/{name}",
        delay=0,
        state_dir=str(tmp_path),
        on_revived=revived.append,
    )
    proxy.cleanup = cleanup
    cleanup.start()
    try:
        cleanup.deregistered("app")
        deadline = time.monotonic() + 5
        while not revived and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        cleanup.stop()
    assert proxy.deleted == ["dev1:device:main:service:app"]
    assert revived == ["app"]
    assert json.loads((tmp_path / STATE_FILE).read_text()) == []


def test_a_cleanup_never_started_stops_at_once(tmp_path: Path) -> None:
    cleanup = CloudCleanup(ScriptedProxy(), lambda name: name, delay=30, state_dir=str(tmp_path))  # type: ignore[arg-type]
    cleanup.deregistered("app")
    cleanup.stop()  # the monitor never reached podman
    assert json.loads((tmp_path / STATE_FILE).read_text()) == ["app"]
