"""One bounded MQTT 3.1.1 session for an operation's report: everything in one write, one round trip.

An sm-plugin call publishes a handful of retained QoS 1 messages and exits,
so it needs four packet types (CONNECT, PUBLISH, PUBACK, DISCONNECT), not a
client library: paho-mqtt's import alone (~50 ms of CPU) cost more than the
whole conversation. CONNECT and every PUBLISH leave in one write, as MQTT
3.1.1 allows (a client need not wait for CONNACK, section 3.1.4), and the
acknowledgements are waited for together: the broker's answers come back
in one round trip, whatever the number of messages. A refused CONNECT
closes the connection before the broker reads a PUBLISH, so nothing is
published without the login. The monitor's long-lived link stays on paho
(status/mqtt.py).
"""

from __future__ import annotations

import _socket  # `socket`'s C core: `socket` itself imports enum and selectors (~4 ms); TLS imports it
import contextlib
import json
import struct
import sys
import time

from .. import log
from .mqtt import client_id, read_password, tls_context, tls_reason
from .topics import ReportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from .settings import MqttSettings

CONNACK, PUBACK = 0x20, 0x40
DISCONNECT = b"\xe0\x00"
REFUSALS = {  # CONNACK return codes, MQTT 3.1.1 section 3.2.2.3
    1: "unacceptable protocol version",
    2: "identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorized",
}
MAX_PACKET_ID = 0xFFFF


def _tcp_connection(host: str | bytes, port: int, timeout: float) -> Any:
    """socket.create_connection's loop over the host's addresses, on `_socket` alone."""
    error: OSError | None = None
    for family, kind, proto, _, address in _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as failure:
            sock.close()
            error = failure
    raise error or OSError(f"{host!r} has no address")


def _string(text: str | bytes) -> bytes:
    data = text.encode("utf-8") if isinstance(text, str) else text
    if len(data) > 0xFFFF:
        raise ReportError(f"an MQTT string of {len(data)} bytes is too long")
    return struct.pack("!H", len(data)) + data


def _packet(first_byte: int, body: bytes) -> bytes:
    """Fixed header (type and flags, remaining length as a variable-length integer) + body."""
    length, encoded = len(body), bytearray()
    while True:
        length, digit = divmod(length, 128)
        encoded.append(digit | (0x80 if length else 0))
        if not length:
            return bytes([first_byte]) + bytes(encoded) + body


def connect_packet(identifier: str, keepalive: int, username: str = "", password: str | None = None) -> bytes:
    flags = 0x02  # clean session: nothing of this one-shot client stays at the broker
    payload = _string(identifier)
    if username:
        flags |= 0x80
        payload += _string(username)
        if password is not None:
            flags |= 0x40
            payload += _string(password)
    return _packet(0x10, _string("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive) + payload)


def publish_packet(topic: str, payload: bytes, retain: bool, packet_id: int) -> bytes:
    """A QoS 1 PUBLISH."""
    return _packet(0x32 | (1 if retain else 0), _string(topic) + struct.pack("!H", packet_id) + payload)


def read_packets(buffer: bytearray) -> list[tuple[int, bytes]]:
    """Complete packets (type byte, body) at the start of `buffer`, taken out of it."""
    packets = []
    while len(buffer) >= 2:
        length, multiplier, index = 0, 1, 1
        while True:
            if index >= len(buffer):
                return packets
            digit = buffer[index]
            length += (digit & 0x7F) * multiplier
            multiplier *= 128
            index += 1
            if not digit & 0x80:
                break
            if index > 4:
                raise ReportError("the broker sent a malformed packet")
        if len(buffer) < index + length:
            return packets
        packets.append((buffer[0], bytes(buffer[index : index + length])))
        del buffer[: index + length]
    return packets


class Session:
    """One connection, run in a worker thread that the caller stops waiting for at `deadline`.

    Socket timeouts bound each step; the thread bounds the whole (a name lookup
    has no timeout of its own). `writes` counts the writes that carried the
    report (1: it was pipelined), `reads` the reads that brought the answers.
    """

    def __init__(self, settings: MqttSettings, deadline: float) -> None:
        self.settings = settings
        self.deadline = deadline
        self.sent = 0
        self.acked = 0
        self.writes = 0
        self.reads = 0
        self.stage = "connecting"

    def run(self, messages: Iterable[tuple[str, Any, bool]]) -> None:
        from ..threads import call_with_deadline

        seconds = max(0.0, self.deadline - time.monotonic()) + 0.05
        call_with_deadline(
            lambda: self._work(messages), seconds, "mqtt-report", lambda: ReportError(self._late())
        )

    def _late(self) -> str:
        where = self.settings.address
        if self.stage == "connecting":
            return f"no answer from the broker at {where} in time"
        return f"{self.sent - self.acked} of {self.sent} messages not acknowledged in time by {where}"

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _work(self, messages: Iterable[tuple[str, Any, bool]]) -> None:
        # Built before connecting (a health probe may ask podman); a message that cannot be
        # built ends the list there, and its reason is raised once the rest is delivered.
        burst, packet_ids, unbuildable = [], set(), None
        try:
            for topic, payload, retain in messages:
                data = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
                packet_id = len(packet_ids) % MAX_PACKET_ID + 1
                burst.append(publish_packet(topic, data, retain, packet_id))
                packet_ids.add(packet_id)
                log.debug(f"MQTT: publish {topic} ({len(data)} bytes{', retained' if retain else ''})")
        except ReportError as error:
            unbuildable = error
        settings = self.settings
        keepalive = max(5, int(self._remaining()) + 1)
        login = connect_packet(client_id(), keepalive, settings.username, read_password(settings))
        sock = self._connect()
        try:
            self.sent = len(burst)
            self._send(sock, login + b"".join(burst))
            acknowledging = log.Step("MQTT: acknowledgements").start()
            self._await_answers(sock, packet_ids)
            acknowledging.done(f"{self.acked} of {self.sent} in {self.writes} write, {self.reads} read(s)")
            with contextlib.suppress(OSError):  # a polite goodbye; the broker drops a clean session anyway
                sock.sendall(DISCONNECT)
        finally:
            sock.close()
        if unbuildable is not None:
            raise unbuildable

    def _connect(self) -> Any:
        settings, where = self.settings, self.settings.address
        connecting = log.Step(f"MQTT: connect to {where}").start()
        context = tls_context(settings) if settings.tls else None
        try:
            # An ASCII host goes as bytes: a str costs the `idna` codec's import (~1 ms) for nothing.
            host = settings.host.encode("ascii") if settings.host.isascii() else settings.host
            sock = _tcp_connection(host, settings.port, max(0.01, self._remaining()))
        except _socket.timeout:
            raise ReportError(f"no answer from the broker at {where} in time") from None
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
            raise ReportError(f"cannot connect to the broker at {where} ({reason})") from None
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        if context is not None:
            import socket
            import ssl

            try:
                sock = socket.socket(fileno=sock.detach())  # ssl wraps socket.socket only
                sock.settimeout(max(0.01, self._remaining()))
                sock = context.wrap_socket(sock, server_hostname=settings.host)
            except ssl.SSLError as error:
                sock.close()
                raise ReportError(f"TLS with the broker at {where} failed ({tls_reason(error)})") from None
            except _socket.timeout:
                sock.close()
                raise ReportError(f"no answer from the broker at {where} in time") from None
            except OSError as error:
                sock.close()
                raise self._closed(error) from None
        connecting.done()
        return sock

    def _send(self, sock: Any, data: bytes) -> None:
        try:
            sock.settimeout(max(0.01, self._remaining()))
            sock.sendall(data)
            self.writes += 1
        except _socket.timeout:
            raise ReportError(self._late()) from None
        except OSError as error:
            raise self._closed(error) from None

    def _await_answers(self, sock: Any, packet_ids: set[int]) -> None:
        """CONNACK, then a PUBACK for each packet id, read as they come until the deadline."""
        where, buffer, waiting = self.settings.address, bytearray(), set(packet_ids)
        connected = False
        while not connected or waiting:
            remaining = self._remaining()
            if remaining <= 0:
                raise ReportError(self._late())
            try:
                sock.settimeout(remaining)
                chunk = sock.recv(4096)
            except _socket.timeout:
                raise ReportError(self._late()) from None
            except OSError as error:
                raise self._closed(error) from None
            if not chunk:
                raise self._closed(None)
            self.reads += 1
            buffer += chunk
            for kind, body in read_packets(buffer):
                if kind & 0xF0 == CONNACK and len(body) >= 2:
                    if body[1]:
                        reason = REFUSALS.get(body[1], f"code {body[1]}")
                        raise ReportError(f"the broker at {where} refused the connection ({reason})")
                    connected, self.stage = True, "publishing"
                elif kind & 0xF0 == PUBACK and len(body) >= 2:
                    waiting.discard(struct.unpack("!H", body[:2])[0])
                    self.acked = len(packet_ids) - len(waiting)

    def _closed(self, error: OSError | None) -> ReportError:
        """Why the connection ended, as the operator can act on it."""
        where = self.settings.address
        ssl = sys.modules.get("ssl")  # imported only for TLS settings; the error cannot be TLS's otherwise
        if ssl is not None and isinstance(error, ssl.SSLError):
            return ReportError(f"TLS with the broker at {where} failed ({tls_reason(error)})")
        if self.stage == "connecting":
            hint = ": does it require a client certificate or a login?" if self.settings.tls else ""
            return ReportError(f"the broker at {where} closed the connection{hint}")
        return ReportError(f"the connection to the broker at {where} was lost")
