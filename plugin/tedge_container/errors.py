"""Exceptions whose `str()` is the message an operator reads.

Each class carries the sm-plugin exit code it maps to, so the CLI turns any
of them into one clear stderr line and the right exit status.
"""

from __future__ import annotations


class PluginError(Exception):
    """Base class: a failure the operator should be told about (exit 2)."""

    exit_code = 2


def add_context(error: PluginError, prefix: str = "", suffix: str = "") -> PluginError:
    """Put what was being done around an error's message, keeping its class and exit code."""
    text = str(error).rstrip()
    if suffix and not text.endswith("."):
        text += "."
    error.args = (f"{prefix}{text}{suffix}",)
    return error


class UsageError(PluginError):
    """The command line is wrong: unknown command or option, missing name (exit 1)."""

    exit_code = 1


class RetryLaterError(PluginError):
    """A failure that a later retry can fix: engine or registry unreachable, timeouts (exit 3)."""

    exit_code = 3


class ConfigError(PluginError):
    """A configuration file cannot be read or holds a wrong value (exit 2)."""


class InvalidReference(PluginError):
    """An image reference is not valid (exit 2)."""


class EngineUnavailable(RetryLaterError):
    """The podman socket is missing or does not answer (exit 3)."""


class EngineError(PluginError):
    """podman answered with an error (exit 2)."""


class EngineTimeout(RetryLaterError):
    """podman did not answer within the configured bound (exit 3)."""


class ArchiveError(PluginError):
    """An image archive given with --file is unreadable or holds the wrong image (exit 2)."""


class PullError(PluginError):
    """Pulling an image failed; `kind` tells why, and decides the exit code.

    Kinds: auth, not_found, network, tls, insecure, no_space, reference, rate_limit, timeout,
    unknown.
    """

    RETRYABLE_KINDS = frozenset({"network", "rate_limit", "timeout"})

    def __init__(self, message: str, kind: str = "unknown", registry: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.registry = registry

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        return 3 if self.kind in self.RETRYABLE_KINDS else 2
