"""Shims for the Python versions we support (3.9 and newer)."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11
    import tomli as tomllib

__all__ = ["tomllib"]
