"""Registry credentials: a chain of providers, first complete answer wins.

1. helper executable (`registry.helper`), 2. `credentials.toml`
(`registry.credentials_path`), 3. `CONTAINER_REGISTRYn_*` variables,
4. containers-auth.json / Docker config (with `credHelpers`), 5. nothing: the
engine pulls with its own login. See docs/credentials.md.
"""

from __future__ import annotations

from .chain import Chain, Provider, build_chain
from .model import Credentials, Found, ProviderError, Resolution, redact

__all__ = [
    "Chain",
    "Credentials",
    "Found",
    "Provider",
    "ProviderError",
    "Resolution",
    "build_chain",
    "redact",
]
