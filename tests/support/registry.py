"""Container registries: Debian's `docker-registry` (CNCF distribution 2.x)."""

from __future__ import annotations

import base64
import json
import os
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .pki import Pki
from .proc import Process, run, start_on_free_port, wait_until


class Registry:
    """One registry on 127.0.0.1: plain HTTP and open, or TLS with basic auth."""

    def __init__(
        self,
        name: str,
        workdir: Path,
        *,
        pki: Pki | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        if (pki is None) != (username is None):
            raise ValueError("a registry has TLS and credentials, or neither")
        self.name = name
        self.workdir = workdir
        self.pki = pki
        self.username = username
        self.password = password
        self.port = 0
        self.process: Process | None = None

    # -- what tests use ------------------------------------------------------
    @property
    def host(self) -> str:
        """'127.0.0.1:PORT', as in image references."""
        return f"127.0.0.1:{self.port}"

    @property
    def tls(self) -> bool:
        return self.pki is not None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def ca_file(self) -> Path | None:
        return self.pki.ca_file if self.pki is not None else None

    @property
    def htpasswd_file(self) -> Path:
        return self.workdir / "htpasswd"

    def set_credentials(self, username: str, password: str, *, timeout: float = 15) -> None:
        """Replace the only account; returns once the registry accepts it."""
        if not self.tls:
            raise ValueError(f"{self.name} is an open registry: it has no credentials")
        self._write_htpasswd(username, password)
        self.username, self.password = username, password
        wait_until(
            lambda: self.status("/v2/", username, password) == 200,
            timeout=timeout,
            what=f"{self.name} to accept the new credentials",
            process=self.process,
        )

    def _open(self, path: str, username: str | None, password: str | None) -> Any:
        """urlopen of a GET on the registry, with optional basic auth and our test CA."""
        request = urllib.request.Request(self.url + path)
        if username is not None:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        context = ssl.create_default_context(cafile=str(self.pki.ca_file)) if self.pki else None
        return urllib.request.urlopen(request, timeout=5, context=context)

    def status(self, path: str = "/v2/", username: str | None = None, password: str | None = None) -> int:
        """HTTP status of a GET, with optional basic auth (no redirects followed)."""
        try:
            with self._open(path, username, password) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def tags(self, repository: str) -> list[str]:
        """Tags of a repository, as the registry lists them ([] if unknown)."""
        try:
            with self._open(f"/v2/{repository}/tags/list", self.username, self.password) as response:
                return list(json.load(response).get("tags") or [])
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return []
            raise

    # -- lifecycle -----------------------------------------------------------
    def start(self, attempts: int = 3) -> Registry:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.tls:
            assert self.username is not None and self.password is not None
            self._write_htpasswd(self.username, self.password)
        config = self.workdir / "config.yml"

        def launch(port: int) -> Process:
            self.port = port
            config.write_text(json.dumps(self._config(), indent=2))  # JSON is YAML
            return Process(
                f"registry {self.name}",
                ["docker-registry", "serve", str(config)],
                log_path=self.workdir / "registry.log",
                env={**os.environ, "OTEL_TRACES_EXPORTER": "none"},
            )

        self.process = start_on_free_port(self.name, launch, self._answers, timeout=20, attempts=attempts)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def _answers(self) -> bool:
        return self.status("/v2/") in (200, 401)

    def _config(self) -> dict[str, object]:
        http: dict[str, object] = {"addr": self.host, "secret": "tedge-test"}
        config: dict[str, object] = {
            "version": "0.1",
            "log": {"level": "info", "formatter": "text"},
            "storage": {
                "filesystem": {"rootdirectory": str(self.workdir / "data")},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": http,
        }
        if self.pki is not None:
            http["tls"] = {
                "certificate": str(self.pki.server_cert),
                "key": str(self.pki.server_key),
            }
            config["auth"] = {"htpasswd": {"realm": "tedge-test", "path": str(self.htpasswd_file)}}
        return config

    def _write_htpasswd(self, username: str, password: str) -> None:
        line = run(["htpasswd", "-Bbn", username, password]).stdout.strip()
        tmp = self.htpasswd_file.with_suffix(".tmp")
        tmp.write_text(line + "\n")
        os.replace(tmp, self.htpasswd_file)

    def __repr__(self) -> str:
        return f"Registry({self.name!r}, {self.url!r})"
