"""`tedge-container-plugin credentials IMAGE`: which credentials would an install of IMAGE use?

Runs the provider chain as an install would (the helper included, without
`--refresh`) but pulls nothing, and prints the provider, the matching entry
and the username, never the password. Every source is asked, so that the
operator also sees what a later source would have answered. Problems of a
source are printed as warnings on stderr.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .. import references
from ..errors import UsageError

if TYPE_CHECKING:
    from ..config import Config
    from ..credentials import Chain

USAGE = "credentials IMAGE: give exactly one image reference, e.g. ghcr.io/acme/app:1.2"


def report(config: Config, image: str, chain: Chain | None = None) -> tuple[str, list[str]]:
    """(the text for stdout, the warnings for stderr)."""
    from ..credentials import build_chain

    reference = references.parse(image)
    chain = chain or build_chain(config)
    resolution = chain.lookup(reference, refresh=False, explain=True)
    lines = [f"image:    {reference.full}", f"registry: {reference.domain}"]
    if resolution.credentials is not None:
        lines += [
            f"provider: {resolution.provider}",
            f"entry:    {resolution.entry or '-'}",
            f"username: {resolution.credentials.username or '(identity token)'}",
            "password: (set, not shown)",
        ]
    else:
        lines += [
            "provider: none: the pull is anonymous, so the engine's own login (podman login) applies",
        ]
    lines.append("sources, in order:")
    lines += [f"  {note}" for note in resolution.notes]
    warnings = list(dict.fromkeys(resolution.warnings))
    return "\n".join(lines) + "\n", warnings


def run(config: Config, args: list[str]) -> int:
    if len(args) != 1 or args[0].startswith("-"):
        raise UsageError(USAGE)
    text, warnings = report(config, args[0])
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0
