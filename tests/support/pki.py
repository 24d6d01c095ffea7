"""A throw-away certificate authority made with the openssl command."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from .proc import run

_OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no

[dn]
CN = tedge-test

[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Pki:
    """A test CA, one server certificate (127.0.0.1 + localhost) and one client certificate."""

    directory: Path
    ca_file: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    @classmethod
    def create(cls, directory: Path, days: int = 30) -> Pki:
        directory.mkdir(parents=True, exist_ok=True)
        cnf = directory / "openssl.cnf"
        cnf.write_text(_OPENSSL_CNF)
        d = directory
        # The CA: self-signed, EC keys (instant, unlike RSA).
        run(
            [
                "openssl",
                "req",
                "-config",
                str(cnf),
                "-x509",
                *_EC_KEY,
                "-keyout",
                str(d / "ca.key"),
                "-out",
                str(d / "ca.crt"),
                "-days",
                str(days),
                "-subj",
                "/CN=tedge-test-ca",
                "-extensions",
                "ca",
            ]
        )
        for name, cn in (("server", "localhost"), ("client", "tedge-test-client")):
            run(
                [
                    "openssl",
                    "req",
                    "-config",
                    str(cnf),
                    "-new",
                    *_EC_KEY,
                    "-keyout",
                    str(d / f"{name}.key"),
                    "-out",
                    str(d / f"{name}.csr"),
                    "-subj",
                    f"/CN={cn}",
                ]
            )
            run(
                [
                    "openssl",
                    "x509",
                    "-req",
                    "-in",
                    str(d / f"{name}.csr"),
                    "-CA",
                    str(d / "ca.crt"),
                    "-CAkey",
                    str(d / "ca.key"),
                    "-set_serial",
                    str(secrets.randbits(63)),
                    "-days",
                    str(days),
                    "-extfile",
                    str(cnf),
                    "-extensions",
                    name,
                    "-out",
                    str(d / f"{name}.crt"),
                ]
            )
        for key in d.glob("*.key"):
            key.chmod(0o600)
        return cls(
            directory=d,
            ca_file=d / "ca.crt",
            ca_key=d / "ca.key",
            server_cert=d / "server.crt",
            server_key=d / "server.key",
            client_cert=d / "client.crt",
            client_key=d / "client.key",
        )
