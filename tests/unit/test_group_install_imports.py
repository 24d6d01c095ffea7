"""A group installed from a compose file given as such loads no archive code.

tarfile, zipfile, gzip (with bz2 and lzma through shutil) and _strptime cost a
`container-group install` milliseconds of CPU beside compose's own; they are
needed for an archive (or a bundle) only, and the engine's timestamps have a
fixed format.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ARCHIVE_CODE = ("tarfile", "zipfile", "gzip", "shutil", "_strptime")


def test_a_compose_file_needs_no_archive_code(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yaml"
    compose.write_text("services:\n  web:\n    image: localhost/app:1\n")
    code = (
        "import sys\n"
        "from tedge_container import programs\n"
        "from tedge_container.software.group import checks, install, runner\n"
        "from tedge_container.software.group.archive.staging import SetAside\n"
        "from tedge_container.software.group.bundle.images import Bundle\n"
        f"assert Bundle.read(None, {str(compose)!r}, SetAside('yaml', []), 1 << 30) is None\n"
        "assert programs.which('sh', '/usr/bin:/bin')  # runner's check for podman\n"
        "assert checks.parse_time('2026-01-01T00:00:00Z') == 1767225600\n"
        f"print(' '.join(m for m in {ARCHIVE_CODE!r} if m in sys.modules))\n"
    )
    env = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "PATH": os.environ.get("PATH", "")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [], f"imported for a compose file: {result.stdout}"
