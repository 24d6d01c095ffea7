"""A stand-in for tedge-agent running a service-command workflow, and for `sudo` and `tedge service`.

`play` drives one command through a workflow file the way tedge-agent does:
`proceed` steps, a script step whose next state comes from its output
(`:::begin-tedge:::` ... `:::end-tedge:::`), a script step with `on_exit`
handlers and a timeout, each state published (retained) on the command's
topic. Script lines are split into words first and each `${...}` word is
replaced as a whole (no shell), as tedge's workflow engine does.

The stand-in `tedge service ACTION NAME --service-type TYPE` checks its
arguments as the documented runner does (action `[a-z][a-z0-9_-]*`, a name
not starting with '-', type `[a-z0-9_-]+`), runs
`<plugin dir>/<TYPE> ACTION NAME`, drops the marker lines from its output and
maps its exit code (0 → 0, 2 → 2, any other → 1); a type without a plugin file is 2.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

from tests.conftest import REPO

TEDGE_STANDIN = """#!{python}
import os, re, subprocess, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(" ".join(args) + "\\n")
if len(args) != 5 or args[0] != "service" or args[3] != "--service-type":
    sys.exit("usage: tedge service ACTION NAME --service-type TYPE")
_, action, name, _, service_type = args
if not re.fullmatch(r"[a-z][a-z0-9_-]*", action) or not name or name.startswith("-"):
    sys.exit("tedge service: invalid action or service name")
if not re.fullmatch(r"[a-z0-9_-]+", service_type):
    sys.exit("tedge service: invalid service type")
plugin = os.path.join({plugins!r}, service_type)
if not os.path.isfile(plugin):
    print(f"no service plugin for type {{service_type}}", file=sys.stderr)
    sys.exit(2)
done = subprocess.run([sys.executable, plugin, action, name], capture_output=True, text=True)
for stream, text in ((sys.stdout, done.stdout), (sys.stderr, done.stderr)):
    for line in text.splitlines(keepends=True):
        if ":::begin-tedge:::" not in line and ":::end-tedge:::" not in line:
            stream.write(line)
sys.exit(0 if done.returncode == 0 else 2 if done.returncode == 2 else 1)
"""
SUDO_STANDIN = """#!/bin/sh
[ "$1" = "-n" ] && shift
exec "$@"
"""
PROGRAM_STANDIN = """#!{python}
import os, sys
os.execv(sys.executable, [sys.executable, {program!r}, *sys.argv[1:]])
"""


def standins(directory: Path) -> tuple[Path, Path]:
    """`sudo`, `tedge` and `tedge-container-plugin` in `directory`; returns (bin dir, tedge's call log)."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "tedge-calls.log"
    log.write_text("")
    files = {
        "tedge": TEDGE_STANDIN.format(
            python=sys.executable, log=str(log), plugins=str(REPO / "service-plugins")
        ),
        "sudo": SUDO_STANDIN,
        "tedge-container-plugin": PROGRAM_STANDIN.format(
            python=sys.executable, program=str(REPO / "bin" / "tedge-container-plugin")
        ),
    }
    for name, text in files.items():
        (directory / name).write_text(text)
        (directory / name).chmod(0o755)
    return directory, log


def _inject(word: str, topic: str, payload: dict[str, Any]) -> str:
    match = re.fullmatch(r"\$\{(.*)\}", word)
    if not match:
        return word
    path = match.group(1)
    parts = topic.split("/")
    if path == ".topic.operation" and len(parts) == 8:
        return parts[6]
    if path.startswith(".payload."):
        value = payload.get(path[len(".payload.") :])
        if value is not None:
            return value if isinstance(value, str) else json.dumps(value)
    return word


def _script_output(stdout: str) -> dict[str, Any] | None:
    _, found, rest = stdout.partition(":::begin-tedge:::\n")
    body, ended, _ = rest.partition("\n:::end-tedge:::")
    return json.loads(body) if found and ended else None


def _exit_handler(step: dict[str, Any], code: int) -> Any:
    handlers = step.get("on_exit", {})
    for key, handler in handlers.items():
        low, _, high = str(key).partition("-")
        if int(low) <= code <= int(high or low):
            return handler
    return {"status": "failed", "reason": f"exit code {code}"}


def play(
    workflow: Path, topic: str, payload: dict[str, Any], env: dict[str, str], publish: Any, log: list[str]
) -> dict[str, Any]:
    """Drive the command from `init` to `successful`/`failed`; returns the final payload."""
    steps = tomllib.loads(workflow.read_text())
    state = dict(payload, status="init")
    publish(topic, state)
    for _ in range(20):
        status = state["status"]
        if status in ("successful", "failed"):
            return state
        step = steps[status]
        if step.get("action") == "proceed":
            state = dict(state, status=step["on_success"])
        elif "script" in step:
            argv = [_inject(word, topic, state) for word in shlex.split(step["script"])]
            try:
                done = subprocess.run(
                    argv,
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=float(step.get("timeout_second", 60)),
                )
            except subprocess.TimeoutExpired:
                state = dict(state, **step["on_kill"])
                publish(topic, state)
                continue
            log.append(f"$ {' '.join(argv)}\n{done.stdout}{done.stderr}")
            if "on_exit" in step:
                handler = _exit_handler(step, done.returncode)
                update = handler if isinstance(handler, dict) else {"status": handler}
            else:  # the next state is the script's output
                update = _script_output(done.stdout) if done.returncode == 0 else None
                update = update or {"status": "failed", "reason": f"script {argv[0]} gave no state"}
            state = dict(state, **update)
        else:
            raise AssertionError(f"step {status} of {workflow} is not understood: {step}")
        publish(topic, state)
    raise AssertionError("the workflow did not end")


def path_with(directory: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{directory}{os.pathsep}{env.get('PATH', '')}"
    return env
