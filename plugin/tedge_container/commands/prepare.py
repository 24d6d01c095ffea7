"""`prepare`: nothing to get ready; podman needs no lock or cache refresh."""

from __future__ import annotations


def run() -> None:
    return None
