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

from ..errors import UsageError
from ..images import references

if TYPE_CHECKING:
    from ..config import Config
    from ..credentials import Chain

USAGE = "credentials IMAGE: give exactly one image reference, e.g. ghcr.io/acme/app:1.2"


def short_name_candidates(config: Config, reference: references.Reference) -> tuple[list, str]:
    """Where an install would pull a short name from (shortnames.py), and a line saying why."""
    from ..engine import Engine
    from ..errors import PluginError
    from ..images.shortnames import LOCALHOST, pull_candidates

    try:
        registries = Engine(config).search_registries()
        source = "podman's unqualified-search registries" if registries else "Docker Hub (podman has none)"
    except PluginError as error:
        registries, source = [], f"Docker Hub (podman could not be asked: {str(error).split(' (')[0]})"
    candidates = pull_candidates(reference, registries)
    note = (
        f"short:    a local {LOCALHOST}/{reference.written_path}{reference.suffix} is used first, without "
        f"credentials; else pulled from {source}: {', '.join(c.full for c in candidates)}"
    )
    return candidates, note


def report(config: Config, image: str, chain: Chain | None = None) -> tuple[str, list[str]]:
    """(the text for stdout, the warnings for stderr)."""
    from ..credentials import build_chain

    reference = references.parse(image)
    short_note = []
    if reference.short:  # the chain is asked with the first candidate's full name, as an install does
        candidates, note = short_name_candidates(config, reference)
        reference, short_note = candidates[0], [note]
    chain = chain or build_chain(config)
    resolution = chain.lookup(reference, refresh=False, explain=True)
    lines = [f"image:    {reference.full}", *short_note, f"registry: {reference.domain}"]
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
