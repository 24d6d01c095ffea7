"""The shared fixtures really work: each service does what the plugin's tests rely on."""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import tarfile
import time
import uuid
from pathlib import Path

import pytest
from tests.support.images import TestImages
from tests.support.mqtt import Broker
from tests.support.podman import PodmanService
from tests.support.proc import CommandError
from tests.support.registry import Registry


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- podman --------------------------------------------------------------------------


def test_podman_service_runs_a_test_image(podman_service: PodmanService, test_images: TestImages) -> None:
    name = unique("infra")
    podman_service.cli("run", "-d", "--name", name, "--publish-all", test_images.app1)
    try:
        state = podman_service.cli("inspect", "--format", "{{.State.Status}}", name).stdout
        assert state.strip() == "running"
        # publish-all maps the EXPOSEd port; busybox httpd answers with the version.
        port_line = podman_service.cli("port", name, f"{test_images.app_port}/tcp").stdout
        host_port = int(port_line.strip().splitlines()[0].rsplit(":", 1)[1])
        assert _http_get(host_port, "/version").strip() == "1"
        started = time.monotonic()
        podman_service.cli("stop", "--time", "10", name)
        assert time.monotonic() - started < 5, "the TERM trap should make stops instant"
        exit_code = podman_service.cli("inspect", "--format", "{{.State.ExitCode}}", name).stdout
        assert exit_code.strip() == "0"
    finally:
        podman_service.cli("rm", "--force", name, check=False)


def test_service_url_and_ping(podman_service: PodmanService) -> None:
    assert podman_service.url == f"unix://{podman_service.socket_path}"
    assert podman_service.socket_path.is_socket()
    assert podman_service.api("GET", "/_ping") == (200, b"OK")


def test_test_images(podman_service: PodmanService, test_images: TestImages) -> None:
    ids = {
        image: podman_service.image_id(image)
        for image in (test_images.app1, test_images.app2, test_images.nocmd, test_images.exits)
    }
    assert len(set(ids.values())) == 4
    ran = podman_service.cli("run", "--rm", test_images.app2, "cat", "/etc/tedge-test-version")
    assert ran.stdout == "2"
    exited = podman_service.cli("run", "--rm", test_images.exits, check=False)
    assert exited.returncode == 1
    # No CMD: podman 4 refuses to create the container; podman 5 creates it, and runc
    # cannot start it (exec: "": executable file not found).
    name = unique("nocmd")
    nocmd = podman_service.cli("create", "--name", name, test_images.nocmd, check=False)
    if nocmd.returncode == 0:
        nocmd = podman_service.cli("start", name, check=False)
        podman_service.cli("rm", "--force", name, check=False)
        assert nocmd.returncode != 0
        assert 'exec: ""' in nocmd.stderr
    else:
        assert "no command or entrypoint" in nocmd.stderr


def test_remove_all_containers(podman_service: PodmanService, test_images: TestImages) -> None:
    for _ in range(2):
        podman_service.cli("run", "-d", "--name", unique("rm"), test_images.app1)
    podman_service.cli("create", "--name", unique("rm"), test_images.app1)
    podman_service.remove_all_containers()
    assert podman_service.cli("ps", "-aq").stdout.strip() == ""
    assert podman_service.image_id(test_images.app1)  # images stay


# -- registries ----------------------------------------------------------------------


def test_open_registry_over_http(
    podman_service: PodmanService, test_images: TestImages, open_registry: Registry
) -> None:
    assert open_registry.url.startswith("http://")
    assert open_registry.username is None and open_registry.ca_file is None
    remote = test_images.push(test_images.app1, open_registry, "infra/open:1")
    assert remote == f"{open_registry.host}/infra/open:1"
    assert open_registry.tags("infra/open") == ["1"]
    assert podman_service.cli("image", "exists", remote, check=False).returncode == 1
    # registries.conf marks it insecure: no --tls-verify needed to pull.
    podman_service.cli("pull", remote)
    assert podman_service.image_id(remote) == podman_service.image_id(test_images.app1)
    podman_service.cli("rmi", remote)


@pytest.mark.parametrize("which", ["auth_registry_a", "auth_registry_b"])
def test_auth_registry_push_and_pull(
    request: pytest.FixtureRequest, podman_service: PodmanService, test_images: TestImages, which: str
) -> None:
    registry: Registry = request.getfixturevalue(which)
    assert registry.url.startswith("https://")
    assert registry.ca_file is not None and registry.ca_file.exists()
    repo = f"infra/{which.replace('_', '-')}"
    remote = test_images.push(test_images.app2, registry, f"{repo}:2")
    assert registry.tags(repo) == ["2"]

    wrong = podman_service.cli(
        "push",
        "--creds",
        f"{registry.username}:wrong",
        test_images.app1,
        f"{registry.host}/{repo}:1",
        check=False,
    )
    assert wrong.returncode != 0
    assert "unauthorized" in wrong.stderr or "authentication required" in wrong.stderr
    assert registry.tags(repo) == ["2"]

    # The service has no login of its own: an anonymous pull is refused ...
    anonymous = podman_service.cli("pull", remote, check=False)
    assert anonymous.returncode != 0
    assert "unauthorized" in anonymous.stderr or "authentication required" in anonymous.stderr
    # ... and with credentials it verifies TLS against the test CA (certs.d) and pulls.
    podman_service.cli("pull", "--creds", f"{registry.username}:{registry.password}", remote)
    podman_service.cli("rmi", remote)


def test_registries_have_distinct_credentials(auth_registry_a: Registry, auth_registry_b: Registry) -> None:
    assert auth_registry_a.host != auth_registry_b.host
    assert auth_registry_a.status("/v2/") == 401
    assert auth_registry_a.status("/v2/", auth_registry_a.username, auth_registry_a.password) == 200
    assert auth_registry_a.status("/v2/", auth_registry_b.username, auth_registry_b.password) == 401


def test_set_credentials_rotates(
    podman_service: PodmanService, test_images: TestImages, auth_registry_b: Registry
) -> None:
    old_user, old_password = auth_registry_b.username, auth_registry_b.password
    assert old_user is not None and old_password is not None
    try:
        auth_registry_b.set_credentials("rotated", "new-secret")
        assert auth_registry_b.status("/v2/", old_user, old_password) == 401
        assert auth_registry_b.status("/v2/", "rotated", "new-secret") == 200
        test_images.push(test_images.app1, auth_registry_b, "infra/rotated:1")
        with pytest.raises(CommandError, match=r"unauthorized|authentication required"):
            test_images.push(
                test_images.app1, auth_registry_b, "infra/rotated:1", username=old_user, password=old_password
            )
    finally:
        auth_registry_b.set_credentials(old_user, old_password)
    assert (auth_registry_b.username, auth_registry_b.password) == (old_user, old_password)


# -- archives ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_archive_round_trip(
    podman_service: PodmanService, test_images: TestImages, tmp_path: Path, fmt: str, compress: bool
) -> None:
    image = f"localhost/tedge-test/archived-{fmt}:{int(compress)}"
    podman_service.cli("tag", test_images.app1, image)
    path = test_images.save_archive(image, tmp_path / "image.tar", fmt=fmt, gzip=compress)
    podman_service.cli("rmi", image)
    with open(path, "rb") as f:
        assert (f.read(2) == b"\x1f\x8b") is compress
    plain = path
    if compress:  # podman 4.3 does not load gzip'd archives: the plugin must inflate them
        plain = tmp_path / "inflated.tar"
        plain.write_bytes(gzip.decompress(path.read_bytes()))
    with tarfile.open(plain) as tar:
        names = tar.getnames()
        if fmt == "oci-archive":
            index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
            ref = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
            assert ref in (image, image.rsplit(":", 1)[1])  # podman 4.3: the full name
        else:
            assert "manifest.json" in names
    loaded = podman_service.cli("load", "--input", str(plain))
    assert image in loaded.stdout
    assert podman_service.image_id(image) == podman_service.image_id(test_images.app1)
    podman_service.cli("rmi", image)


# -- MQTT ----------------------------------------------------------------------------


def test_mqtt_broker_plain(mqtt_broker: Broker) -> None:
    assert mqtt_broker.ca_file is None and mqtt_broker.cert_file is None
    assert mqtt_broker.key_file is None
    _retained_and_live(mqtt_broker)


def test_mqtt_broker_tls(mqtt_broker_tls: Broker) -> None:
    assert mqtt_broker_tls.ca_file is not None and mqtt_broker_tls.ca_file.exists()
    assert mqtt_broker_tls.cert_file is not None and mqtt_broker_tls.key_file is not None
    _retained_and_live(mqtt_broker_tls)
    # Without a client certificate the TLS handshake is refused.
    context = ssl.create_default_context(cafile=str(mqtt_broker_tls.ca_file))
    with (
        pytest.raises((ssl.SSLError, ConnectionError, OSError)),
        socket.create_connection((mqtt_broker_tls.host, mqtt_broker_tls.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"\x10\x00")  # TLS 1.3 reports the missing certificate on use
        if not tls.recv(1):
            raise ConnectionError("closed")


def _retained_and_live(broker: Broker) -> None:
    root = unique("infra")
    broker.publish(f"{root}/a", '{"status": "up"}', retain=True)
    broker.publish(f"{root}/b c", "line1\nline2", retain=True)
    broker.publish(f"{root}/live", "not kept")
    assert broker.retained(f"{root}/#") == {f"{root}/a": '{"status": "up"}', f"{root}/b c": "line1\nline2"}
    with broker.subscribe(f"{root}/#") as messages:
        broker.publish(f"{root}/event", "happened")
        assert messages.wait_for(f"{root}/event") == (f"{root}/event", "happened")
    assert (f"{root}/a", '{"status": "up"}') in messages.messages
    broker.clear_retained(f"{root}/#")
    assert broker.retained(f"{root}/#", wait=1) == {}


# -- the plugin fixture --------------------------------------------------------------


def test_plugin_fixture_config(plugin, podman_service: PodmanService) -> None:  # type: ignore[no-untyped-def]
    try:
        import tomllib as toml
    except ImportError:  # python < 3.11
        import tomli as toml  # type: ignore[no-redef]
    plugin.set_config("container", "pruneimages", True)
    plugin.set("client.mqtt", "port", 1883)
    plugin.write_config('[container.registry."127.0.0.1:5000"]\nusername = "u"\n')
    config = toml.loads((plugin.config_dir / "plugins" / "tedge-container-plugin.toml").read_text())
    assert config["container"]["host"] == podman_service.url
    assert config["container"]["pruneimages"] is True
    assert config["client"]["mqtt"]["port"] == 1883
    assert config["container"]["registry"]["127.0.0.1:5000"]["username"] == "u"
    env = plugin.env()
    assert env["TEDGE_CONFIG_DIR"] == str(plugin.config_dir)
    assert not any(k.startswith("CONTAINER_") for k in env)


def _http_get(port: int, path: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
                data = b""
                while chunk := sock.recv(4096):
                    data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            if b" 200 " in head.split(b"\r\n", 1)[0]:
                return body.decode()
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no HTTP 200 from 127.0.0.1:{port}{path} in {timeout}s")
        time.sleep(0.2)


def test_big_image_is_cached_and_has_its_size(podman_service: PodmanService, test_images: TestImages) -> None:
    image = test_images.big_image(3)
    assert test_images.big_image(3) == image
    size = int(podman_service.cli("image", "inspect", "--format", "{{.Size}}", image).stdout)
    assert size >= 3 << 20
    ran = podman_service.cli("run", "--rm", image, "wc", "-c", "/data/random.bin")
    assert ran.stdout.split()[0] == str(3 << 20)
