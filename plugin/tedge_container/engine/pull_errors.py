"""What a failed pull means: the engine's error text → a kind, and advice for the operator."""

from __future__ import annotations

from ..errors import PullError

# What the engine's error texts say, in the order they are checked (see shared notes on podman).
_PULL_ERROR_KINDS = (
    # A full disk first: its message may also name the layer's blob or a network read.
    ("no_space", ("no space left on device", "disk quota exceeded")),
    ("rate_limit", ("toomanyrequests", "too many requests")),
    # A plain-HTTP registry that registries.conf does not mark insecure: not a certificate problem.
    ("insecure", ("server gave http response to https client",)),
    ("tls", ("x509:", "tls:", "certificate")),
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
    (
        "not_found",
        ("manifest unknown", "name unknown", "image not known", "not found", "404"),
    ),
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
    "insecure": (
        "{registry} answers plain HTTP, not HTTPS: if that is intended, mark it in registries.conf "
        '(a file in /etc/containers/registries.conf.d/ with [[registry]] location = "{registry}" '
        "and insecure = true), restart podman's service (it reads the file once), then retry"
    ),
    "no_space": (
        "podman's storage{storage} is full: free space there or remove unused images "
        "(`podman image prune`), then retry"
    ),
    "reference": "fix the image reference",
    "rate_limit": "the registry limits pulls; retry later or use credentials with a higher limit",
    "unknown": "the engine's message says why",
}


# What is left of other references in a message (a mirror's host:port, a digest): not words.
# A pattern text, compiled by `re`'s cache when a pull fails: `list` imports this module, not `re`.
_NAME_LIKE = r"[\w.-]+:\d+[\w./:@-]*|sha256:[0-9a-f]+"


def classify_pull_error(message: str, names: tuple[str, ...] = ()) -> str:
    """The kind of a pull failure; `names` (the image, its registry) are left out of the match,
    so that a port such as 54013 or a repository called `eof-app` cannot decide the kind."""
    import re

    text = message.lower()
    for name in sorted(filter(None, names), key=len, reverse=True):
        text = text.replace(name.lower(), " ")
    text = re.sub(_NAME_LIKE, " ", text)
    words = set(re.findall(r"\b\d+\b", text))  # a status code counts only as a whole number
    for kind, needles in _PULL_ERROR_KINDS:
        if any(needle in words if needle.isdigit() else needle in text for needle in needles):
            return kind
    return "unknown"


def _repository(image: str) -> str:
    """`host:port/repo` of `host:port/repo:tag@digest`: how the engine's messages name it."""
    name = image.split("@", 1)[0]
    head, _, tag = name.rpartition(":")
    return head if head and "/" not in tag else name


def pull_error(image: str, registry: str, message: str, storage: str = "") -> PullError:
    """The PullError of an engine's message; `storage` is podman's storage path, for a full disk."""
    kind = classify_pull_error(message, (image, _repository(image), registry))
    where = f" ({storage})" if storage else ""
    advice = _PULL_ADVICE[kind].format(registry=registry, image=image, storage=where)
    detail = " ".join(message.split())[:500]
    return PullError(f"Pulling {image} failed: {detail}; {advice}.", kind=kind, registry=registry)
