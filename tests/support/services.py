"""The whole test stack: registries, podman service, test images, MQTT brokers.

    from tests.support.services import Stack

    with Stack() as stack:             # or stack = Stack().start(); ...; stack.stop()
        stack.podman.cli("run", "--rm", stack.images.app1, "true")

Parts start on demand: `start(containers=True, mqtt=True)` starts what is
missing, so a caller needing only MQTT pays only for mosquitto. Registries
start before podman: the service reads registries.conf once.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from pathlib import Path
from types import TracebackType

from .images import TestImages
from .mqtt import Broker
from .pki import Pki
from .podman import PodmanService, unmount_below
from .registry import Registry

__all__ = ["Broker", "PodmanService", "Registry", "Stack", "TestImages"]


class Stack:
    """Real services on loopback, each in a directory under one temporary directory."""

    def __init__(self, workdir: Path | str | None = None, *, keep: bool = False) -> None:
        self._given_workdir = Path(workdir) if workdir is not None else None
        self.keep = keep or bool(os.environ.get("TEDGE_TEST_KEEP"))
        self.workdir: Path | None = None
        self.pki: Pki | None = None
        self._open: Registry | None = None
        self._auth_a: Registry | None = None
        self._auth_b: Registry | None = None
        self._podman: PodmanService | None = None
        self._images: TestImages | None = None
        self._mqtt: Broker | None = None
        self._mqtt_tls: Broker | None = None
        self.timings: dict[str, float] = {}
        self._atexit = False

    # -- parts -----------------------------------------------------------------
    @property
    def open_registry(self) -> Registry:
        return _started(self._open, "open_registry", "containers")

    @property
    def auth_registry_a(self) -> Registry:
        return _started(self._auth_a, "auth_registry_a", "containers")

    @property
    def auth_registry_b(self) -> Registry:
        return _started(self._auth_b, "auth_registry_b", "containers")

    @property
    def podman(self) -> PodmanService:
        return _started(self._podman, "podman", "containers")

    @property
    def images(self) -> TestImages:
        return _started(self._images, "images", "containers")

    @property
    def mqtt_broker(self) -> Broker:
        return _started(self._mqtt, "mqtt_broker", "mqtt")

    @property
    def mqtt_broker_tls(self) -> Broker:
        return _started(self._mqtt_tls, "mqtt_broker_tls", "mqtt")

    # -- lifecycle -----------------------------------------------------------
    def start(self, *, containers: bool = True, mqtt: bool = True) -> Stack:
        """Start the parts asked for that are not running yet; stop all on failure."""
        try:
            if containers and self._podman is None:
                self._start_containers()
            if mqtt and self._mqtt is None:
                self._start_mqtt()
        except BaseException:
            self.stop()
            raise
        return self

    def _base(self) -> tuple[Path, Pki]:
        if self.workdir is None:
            if self._given_workdir is not None:
                self._given_workdir.mkdir(parents=True, exist_ok=True)
                self.workdir = self._given_workdir
            else:
                # Short: the podman socket path must fit in sun_path (108 bytes).
                self.workdir = Path(tempfile.mkdtemp(prefix="tedge-test-"))
            if not self._atexit:
                atexit.register(self.stop)
                self._atexit = True
        if self.pki is None:
            self.pki = Pki.create(self.workdir / "pki")
        return self.workdir, self.pki

    def _start_containers(self) -> None:
        t0 = time.monotonic()
        workdir, pki = self._base()
        self._open = Registry("open_registry", workdir / "open-registry").start()
        self._auth_a = Registry(
            "auth_registry_a", workdir / "auth-registry-a", pki=pki, username="user-a", password="secret-a"
        ).start()
        self._auth_b = Registry(
            "auth_registry_b", workdir / "auth-registry-b", pki=pki, username="user-b", password="secret-b"
        ).start()
        t1 = time.monotonic()
        self._podman = PodmanService(
            workdir / "podman",
            insecure_registries=[self._open],
            tls_registries=[self._auth_a, self._auth_b],
        ).start()
        t2 = time.monotonic()
        self._images = TestImages(self._podman, workdir / "images").build()
        t3 = time.monotonic()
        self.timings.update(registries=t1 - t0, podman=t2 - t1, images=t3 - t2)

    def _start_mqtt(self) -> None:
        t0 = time.monotonic()
        workdir, pki = self._base()
        self._mqtt = Broker("mqtt_broker", workdir / "mqtt").start()
        self._mqtt_tls = Broker("mqtt_broker_tls", workdir / "mqtt-tls", pki=pki).start()
        self.timings["mqtt"] = time.monotonic() - t0

    def stop(self) -> None:
        """Stop everything started (idempotent); remove the work directory."""
        errors: list[BaseException] = []
        for attr in ("_podman", "_mqtt", "_mqtt_tls", "_open", "_auth_a", "_auth_b"):
            part = getattr(self, attr)
            setattr(self, attr, None)
            if part is not None:
                try:
                    part.stop()
                except Exception as exc:  # keep stopping the others
                    errors.append(exc)
        self._images = None
        if self.workdir is not None:
            unmount_below(self.workdir)
            if not self.keep and self._given_workdir is None:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
            self.pki = None
        if errors:
            raise errors[0]

    def __enter__(self) -> Stack:
        """Starts everything, unless start() already chose the parts."""
        return self if self.workdir is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def describe(self) -> str:
        """Human-readable summary (for a demo or a debugging session)."""
        lines = []
        if self._podman is not None:
            lines += [
                f"podman:          {self.podman.url} (podman {self.podman.version}, "
                f"{self.podman.storage_driver})",
                f"open_registry:   {self.open_registry.url}",
            ]
            for reg in (self.auth_registry_a, self.auth_registry_b):
                lines.append(f"{reg.name}: {reg.url} {reg.username}:{reg.password} CA {reg.ca_file}")
        if self._mqtt is not None:
            lines += [
                f"mqtt_broker:     {self.mqtt_broker.host}:{self.mqtt_broker.port}",
                f"mqtt_broker_tls: {self.mqtt_broker_tls.host}:{self.mqtt_broker_tls.port}"
                f" CA {self.mqtt_broker_tls.ca_file}",
            ]
        return "\n".join(lines)


def _started(part: object, name: str, group: str) -> object:
    if part is None:
        raise RuntimeError(f"Stack.{name} is not running: call start({group}=True) first")
    return part


def main(argv: list[str] | None = None) -> int:
    """Start the stack, print where everything is, keep it up until Ctrl-C / SIGTERM."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="scripts/services", description=main.__doc__)
    parser.add_argument("--no-mqtt", action="store_true", help="skip the MQTT brokers")
    parser.add_argument(
        "--no-containers", action="store_true", help="skip registries, podman and the test images"
    )
    parser.add_argument("--workdir", help="directory for the services (kept afterwards)")
    args = parser.parse_args(argv)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    started = time.monotonic()
    with Stack(args.workdir).start(containers=not args.no_containers, mqtt=not args.no_mqtt) as stack:
        print(stack.describe())
        print(
            f"started in {time.monotonic() - started:.1f}s: "
            + ", ".join(f"{k} {v:.1f}s" for k, v in stack.timings.items())
        )
        if not args.no_containers:
            print(f"\nexport CONTAINER_HOST={stack.podman.url}")
            print(f"podman --remote --url {stack.podman.url} images")
        print("\nCtrl-C stops everything.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
