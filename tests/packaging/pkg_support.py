"""Helpers of the packaging tests (a module of its own: conftest.py is not importable)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NFPM_CONFIG = REPO / "packaging" / "nfpm.yaml"
BUILD_SCRIPT = REPO / "scripts" / "build-packages"


def _nfpm_field(name: str) -> str:
    """A top-level `name: value` of packaging/nfpm.yaml, where the package's identity is written."""
    match = re.search(rf"^{name}:\s*\"?([^\"\s]+)\"?\s*$", NFPM_CONFIG.read_text("utf-8"), re.M)
    assert match, f"no `{name}:` line in {NFPM_CONFIG}"
    return match.group(1)


PACKAGE = _nfpm_field("name")  # the package's name, as scripts/build-packages reads it
EPOCH = _nfpm_field("epoch")
# The Go project's packages this one replaces (see packaging/nfpm.yaml).
LEGACY_PACKAGE = "tedge-container-plugin"
NG_PACKAGE = "tedge-container-plugin-ng"

# What the packaged plugin is run with: the system's tools and nothing of the
# project's virtualenv, like tedge-agent through sudo.
SYSTEM_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need_tool(name: str, *, required_in_ci: bool = True) -> str:
    """The tool's path; skip without it (fail in CI, which installs it, if required there)."""
    path = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if path is None:
        message = f"{name} is not installed (apt-get install {name})"
        if in_ci() and required_in_ci:
            pytest.fail(message)
        pytest.skip(message)
    return path


def need_root() -> None:
    if os.geteuid() != 0:
        message = "installs packages into the system: needs root"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def run(
    argv: list[str], *, check: bool = True, timeout: float = 120, **kwargs
) -> subprocess.CompletedProcess[str]:
    """Run a command, text in and out; on failure show everything it said."""
    kwargs.setdefault("env", SYSTEM_ENV)
    kwargs.setdefault("cwd", "/tmp")
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, argv))} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def plugin_version() -> str:
    text = (REPO / "plugin" / "tedge_container" / "__init__.py").read_text("utf-8")
    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", text, re.M)
    assert match, "no __version__ in plugin/tedge_container/__init__.py"
    return match.group(1)


def optional_fixture(request: pytest.FixtureRequest, name: str):
    """A fixture of tests/conftest.py, or a skip while it does not exist."""
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        pytest.skip(f"the shared fixture {name!r} is not available")


def set_toml_keys(path: Path, tables: dict[str, dict[str, object]]) -> None:
    """Set `[table] key = value` in a TOML file, keeping its comments.

    A key already there (or commented out, `# key = ...`) in that table is
    replaced in place; otherwise it goes right below the table's header.
    """

    def render(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return repr(value)
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = path.read_text("utf-8").splitlines()
    for table, values in tables.items():
        header = f"[{table}]"
        if header not in (line.strip() for line in lines):
            lines += ["", header]
        start = next(i for i, line in enumerate(lines) if line.strip() == header) + 1
        end = next((i for i in range(start, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
        for key, value in values.items():
            setting = f"{key} = {render(value)}"
            pattern = re.compile(rf"^\s*#?\s*{re.escape(key)}\s*=")
            found = [i for i in range(start, end) if pattern.match(lines[i])]
            uncommented = [i for i in found if not lines[i].lstrip().startswith("#")]
            if uncommented or found:
                lines[(uncommented or found)[0]] = setting
            else:
                lines.insert(start, setting)
                end += 1
    path.write_text("\n".join(lines) + "\n", "utf-8")


def plugin_test_config(path: Path, podman_url: str) -> None:
    """Point the installed plugin at the test podman service, quietly."""
    set_toml_keys(
        path,
        {
            "container": {"host": podman_url, "pruneimages": False},
            "report": {"enabled": False},
        },
    )


def processes_running(path_prefixes: tuple[str, ...]) -> list[str]:
    """Command lines of running processes that mention any of the paths."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(prefix in cmdline for prefix in path_prefixes):
            found.append(f"{proc.name}: {cmdline.strip()}")
    return found
