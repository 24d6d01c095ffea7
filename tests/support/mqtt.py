"""MQTT brokers (mosquitto) and the mosquitto_pub/mosquitto_sub clients."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

from .pki import Pki
from .proc import CommandError, Process, ServiceError, port_open, run, start_on_free_port


class Broker:
    """mosquitto on 127.0.0.1: plain and anonymous, or TLS requiring a client certificate, or a login."""

    def __init__(
        self, name: str, workdir: Path, *, pki: Pki | None = None, login: tuple[str, str] | None = None
    ) -> None:
        self.name = name
        self.workdir = workdir
        self.pki = pki
        self.login = login  # (user, password): anonymous clients refused
        self.host = "127.0.0.1"
        self.port = 0
        self.process: Process | None = None

    @property
    def tls(self) -> bool:
        return self.pki is not None

    @property
    def ca_file(self) -> Path | None:
        return self.pki.ca_file if self.pki else None

    @property
    def cert_file(self) -> Path | None:
        """The client certificate (signed by the test CA) to connect with."""
        return self.pki.client_cert if self.pki else None

    @property
    def key_file(self) -> Path | None:
        return self.pki.client_key if self.pki else None

    def client_args(self) -> list[str]:
        """Connection options for mosquitto_pub / mosquitto_sub."""
        args = ["-h", self.host, "-p", str(self.port), "-i", f"tedge-test-{uuid.uuid4().hex[:12]}"]
        if self.pki is not None:
            args += [
                "--cafile",
                str(self.pki.ca_file),
                "--cert",
                str(self.pki.client_cert),
                "--key",
                str(self.pki.client_key),
            ]
        return args

    # -- what tests use ------------------------------------------------------
    def publish(self, topic: str, payload: str | bytes = "", *, retain: bool = False, qos: int = 1) -> None:
        data = payload.decode() if isinstance(payload, bytes) else payload
        args = ["mosquitto_pub", *self.client_args(), "-t", topic, "-q", str(qos)]
        args += ["-n"] if data == "" else ["-s"]
        if retain:
            args.append("-r")
        run(args, input=None if data == "" else data, timeout=15)

    def retained(self, topic_filter: str = "#", wait: float = 2) -> dict[str, str]:
        """Retained messages under `topic_filter` now: {topic: payload}.

        mosquitto_sub --retained-only exits on the first message without the retain
        flag; a non-retained marker published after subscribing comes after every
        retained one, so this returns at once. `wait` bounds it (mosquitto_sub -W).
        """
        marker = f"tedge-test/retained-end/{uuid.uuid4().hex}"
        argv = [
            "mosquitto_sub",
            *self.client_args(),
            "-t",
            topic_filter,
            "-t",
            marker,
            "--retained-only",
            "-F",
            "%x %t",
            "-W",
            str(max(1, round(wait))),
        ]
        with subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        ) as proc:
            deadline = time.monotonic() + wait + 10
            while proc.poll() is None and time.monotonic() < deadline:
                self.publish(marker, "end", qos=0)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(0.1)
            if proc.poll() is None:
                proc.kill()
            stdout, stderr = proc.communicate(timeout=10)
        # 27 = timed out (-W): the marker never came back, yet what came is complete.
        if proc.returncode not in (0, 27):
            raise CommandError(f"mosquitto_sub failed ({proc.returncode}): {stderr}")
        messages: dict[str, str] = {}
        for line in stdout.splitlines():
            if line:
                payload_hex, _, topic = line.partition(" ")
                messages[topic] = bytes.fromhex(payload_hex).decode(errors="replace")
        return messages

    def clear_retained(self, topic_filter: str = "#") -> None:
        """Delete every retained message under `topic_filter`."""
        for topic in self.retained(topic_filter, wait=1):
            self.publish(topic, "", retain=True)

    @contextlib.contextmanager
    def subscribe(self, *topic_filters: str, timeout: float = 10) -> Iterator[Subscription]:
        """Collect messages (retained and live) in the background while inside the block."""
        subscription = Subscription(self, topic_filters or ("#",))
        subscription.start(timeout)
        try:
            yield subscription
        finally:
            subscription.close()

    # -- lifecycle -----------------------------------------------------------
    def start(self, attempts: int = 3) -> Broker:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "mosquitto.conf"

        def launch(port: int) -> Process:
            self.port = port
            config.write_text(self._config())
            return Process(
                f"mosquitto {self.name}",
                ["mosquitto", "-c", str(config)],
                log_path=self.workdir / "mosquitto.log",
            )

        self.process = start_on_free_port(
            self.name, launch, lambda: port_open(self.port), timeout=15, attempts=attempts
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def _config(self) -> str:
        lines = [
            "user root",  # as root, mosquitto would drop to `mosquitto` and lose our key files
            "persistence false",
            "log_dest stdout",
            "log_type all",
            "per_listener_settings false",
            f"allow_anonymous {'false' if self.login else 'true'}",
            f"listener {self.port} {self.host}",
        ]
        if self.login is not None:
            passwords = self.workdir / "passwords"
            run(["mosquitto_passwd", "-b", "-c", str(passwords), *self.login])
            lines.append(f"password_file {passwords}")
        if self.pki is not None:
            lines += [
                f"cafile {self.pki.ca_file}",
                f"certfile {self.pki.server_cert}",
                f"keyfile {self.pki.server_key}",
                "require_certificate true",
            ]
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return f"Broker({self.name!r}, {self.host}:{self.port}, tls={self.tls})"


class Subscription:
    """A background mosquitto_sub; `messages` is [(topic, payload)] in arrival order."""

    def __init__(self, broker: Broker, topic_filters: tuple[str, ...]) -> None:
        self.broker = broker
        self.topic_filters = topic_filters
        self.messages: list[tuple[str, str]] = []
        self._marker = f"tedge-test/subscribed/{uuid.uuid4().hex}"
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self, timeout: float) -> None:
        argv = ["mosquitto_sub", *self.broker.client_args(), "-F", "%x %t", "-t", self._marker]
        for topic_filter in self.topic_filters:
            argv += ["-t", topic_filter]
        self._proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        # The subscription is live once a message to the marker topic comes back.
        deadline = time.monotonic() + timeout
        while not self._ready.is_set():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise ServiceError(f"could not subscribe to {self.topic_filters} on {self.broker!r}")
            self.broker.publish(self._marker, "ready", qos=0)
            self._ready.wait(0.2)

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            payload_hex, _, topic = line.rstrip("\n").partition(" ")
            if topic == self._marker:
                self._ready.set()
                continue
            with self._changed:
                self.messages.append((topic, bytes.fromhex(payload_hex).decode(errors="replace")))
                self._changed.notify_all()

    def topics(self) -> list[str]:
        with self._lock:
            return [topic for topic, _ in self.messages]

    def wait_for(self, match: str | Callable[[str, str], bool], timeout: float = 10) -> tuple[str, str]:
        """The first message whose topic equals `match` (or for which match(topic,
        payload) is true), waiting at most `timeout` seconds."""

        def matches(topic: str, payload: str) -> bool:
            return match(topic, payload) if callable(match) else topic == match

        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for topic, payload in self.messages:
                    if matches(topic, payload):
                        return topic, payload
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no message matching {match!r} within {timeout}s; "
                        f"got topics {[t for t, _ in self.messages]}"
                    )
                self._changed.wait(left)

    def close(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=5)
