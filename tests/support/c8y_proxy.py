"""A stand-in for tedge's local Cumulocity proxy (tedge-mapper-c8y's `/c8y/` HTTP API) on loopback.

A real tedge-mapper needs a Cumulocity tenant, which tests cannot reach, so
this serves the few REST calls the monitor makes, over a real HTTP socket:
the device user, external ids → managed objects, reading and deleting
managed objects. It records every request; `fail_with` makes it answer a
status (502: the cloud is out of reach) until cleared.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class CumulocityStub:
    def __init__(self, device_id: str, port: int = 0) -> None:
        self.device_id = device_id
        self.objects: dict[str, dict[str, Any]] = {}  # managed object id → object
        self.identities: dict[str, str] = {}  # external id → managed object id
        self.requests: list[tuple[str, str]] = []
        self.fail_with = 0
        self._lock = threading.Lock()
        self._next_id = 1000
        self._port = port
        self._server: ThreadingHTTPServer | None = None

    def add_service(self, external_id: str, object_type: str = "c8y_Service") -> str:
        with self._lock:
            self._next_id += 1
            object_id = str(self._next_id)
            self.objects[object_id] = {"id": object_id, "type": object_type, "name": external_id}
            self.identities[external_id] = object_id
            return object_id

    def has(self, external_id: str) -> bool:
        with self._lock:
            object_id = self.identities.get(external_id, "")
            return object_id in self.objects

    def deletes(self) -> list[str]:
        with self._lock:
            return [path for method, path in self.requests if method == "DELETE"]

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def start(self) -> CumulocityStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub._answer(self, "GET")

            def do_DELETE(self) -> None:
                stub._answer(self, "DELETE")

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._port = self.port  # a restart takes the same port
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _answer(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        status, body = self._route(method, handler.path)
        data = json.dumps(body).encode() if body is not None else b""
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, method: str, path: str) -> tuple[int, Any]:
        from urllib.parse import unquote

        with self._lock:
            self.requests.append((method, unquote(path)))
            if self.fail_with:
                return self.fail_with, {"error": "stub failure"}
            if method == "GET" and path == "/c8y/user/currentUser":
                user = f"device_{self.device_id}"
                return 200, {"id": user, "userName": user}
            prefix = "/c8y/identity/externalIds/c8y_Serial/"
            if method == "GET" and path.startswith(prefix):
                object_id = self.identities.get(unquote(path[len(prefix) :]))
                if object_id is None or object_id not in self.objects:
                    return 404, {"error": "identity/Not Found"}
                return 200, {"managedObject": {"id": object_id}, "externalId": unquote(path[len(prefix) :])}
            prefix = "/c8y/inventory/managedObjects/"
            if path.startswith(prefix):
                object_id = path[len(prefix) :]
                if object_id not in self.objects:
                    return 404, {"error": "inventory/Not Found"}
                if method == "GET":
                    return 200, self.objects[object_id]
                del self.objects[object_id]
                return 204, None
            return 404, {"error": f"no route {method} {path}"}
