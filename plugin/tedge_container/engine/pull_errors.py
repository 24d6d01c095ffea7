"""What a failed pull means: the engine's error text → a kind, and advice for the operator."""

from __future__ import annotations

from ..errors import PullError

# What the engine's error texts say, in the order they are checked (see shared notes on podman).
_PULL_ERROR_KINDS = (
    ("rate_limit", ("toomanyrequests", "too many requests")),
    ("tls", ("x509:", "server gave http response to https client", "tls:", "certificate")),
    (
        "auth",
        (
            "unauthorized",
            "authentication required",
            "invalid username/password",
            "denied:",
            "access denied",
            "401",
        ),
    ),
    ("not_found", ("manifest unknown", "name unknown", "image not known", "not found", "404")),
    (
        "reference",
        ("repository name must be lowercase", "invalid reference format", "short-name"),
    ),
    (
        "network",
        (
            "pinging container registry",
            "connection refused",
            "no such host",
            "i/o timeout",
            "network is unreachable",
            "dial tcp",
            "connection reset",
            "timeout",
            "eof",
        ),
    ),
)

_PULL_ADVICE = {
    "auth": "check the credentials for {registry} (`tedge-container-plugin credentials {image}`)",
    "not_found": "check that the image name and tag exist on {registry}",
    "network": "check the device's network, DNS and proxy settings towards {registry}, then retry",
    "tls": "check the registry's certificate, or put its CA in /etc/containers/certs.d/{registry}/ca.crt",
    "reference": "fix the image reference",
    "rate_limit": "the registry limits pulls; retry later or use credentials with a higher limit",
    "unknown": "see the engine's message above",
}


def classify_pull_error(message: str) -> str:
    text = message.lower()
    for kind, needles in _PULL_ERROR_KINDS:
        if any(needle in text for needle in needles):
            return kind
    return "unknown"


def pull_error(image: str, registry: str, message: str) -> PullError:
    kind = classify_pull_error(message)
    advice = _PULL_ADVICE[kind].format(registry=registry, image=image)
    detail = " ".join(message.split())[:500]
    return PullError(f"Pulling {image} failed: {detail}; {advice}.", kind=kind, registry=registry)
