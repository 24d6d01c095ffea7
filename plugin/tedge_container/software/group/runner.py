"""Running podman-compose: a separate program (GPL-2.0-only), never imported.

It runs as `python3 -m podman_compose` from the plugin's own library
directory, in the project's working directory, with a small environment:
`CONTAINER_HOST` points the podman CLI it drives (in remote mode) at the same
socket the engine adapter resolved, so compose and the plugin see one engine.
Every run is bounded by `container_group.compose_timeout` (the whole process
group is killed after it), and never outlives the plugin: it runs under
child_guard.py, which kills its process group when the plugin dies, and the
plugin kills it when interrupted. Its exit code is not trusted: install checks
the engine afterwards (checks.py). Its output is never printed as a whole: its
last error line is quoted, and at debug every line logged, both made safe
(compose_output.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

from ... import log
from ...child_guard import Standby, guarded
from ...credentials.model import secret_values
from ...errors import EngineTimeout, PluginError
from ...programs import which
from .compose_output import clean, last_error, said
from .hosts import HOSTS_OVERRIDE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ...config import Config
    from .project import Project

# What compose and podman may see of the plugin's environment. Nothing else
# (credential variables especially) reaches compose's `${VAR}` or containers.
_PASSED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "CONTAINERS_CONF")
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_KEPT_OUTPUT = 64 * 1024


def compose_environment(socket_path: str) -> dict[str, str]:
    env = {key: os.environ[key] for key in _PASSED if key in os.environ}
    env.setdefault("PATH", _DEFAULT_PATH)
    env["CONTAINER_HOST"] = f"unix://{socket_path}"
    env["PYTHONPATH"] = _library_path()
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def variables_environment() -> dict[str, str]:
    """The part of the environment compose interpolates `${VAR}` from (besides `.env`)."""
    return {key: os.environ[key] for key in _PASSED if key in os.environ}


def _library_path() -> str:
    """Where podman_compose, yaml and dotenv are (the plugin's bundle, or its virtualenv)."""
    import importlib.util

    directories = []
    for module in ("podman_compose", "yaml", "dotenv"):
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.origin:
            raise PluginError(
                f"The Python module {module} (podman-compose and its dependencies) is missing; "
                "reinstall tedge-container-plugin."
            )
        origin = os.path.dirname(spec.origin)
        directories.append(origin if module == "podman_compose" else os.path.dirname(origin))
    return os.pathsep.join(dict.fromkeys(directories))


class ComposeRun:
    """What one podman-compose run said (`directory`, `secrets`: to quote it safely, compose_output.py)."""

    __slots__ = ("directory", "output", "returncode", "secrets")

    def __init__(
        self, returncode: int, output: str, directory: str = "", secrets: Sequence[str] = ()
    ) -> None:
        self.returncode = returncode
        self.output = output
        self.directory = directory
        self.secrets = secrets

    def last_error(self) -> str:
        """Compose's last error line, cut short and without secrets; '' when it said none."""
        return last_error(self.output, self.directory, self.secrets)

    def said(self) -> str:
        """` (compose said: ...)` with a hint for a known cause, or ''."""
        return said(self.last_error())


class Compose:
    """podman-compose against one engine socket."""

    def __init__(self, config: Config, socket_path: str) -> None:
        self.timeout = float(config.get("container_group.compose_timeout"))
        self.socket_path = socket_path
        self._standby: Standby | None = None

    def check_available(self) -> None:
        """Fail before anything is touched when compose cannot run at all."""
        if which("podman", os.environ.get("PATH") or _DEFAULT_PATH) is None:
            raise PluginError("The podman program is missing (compose needs it): install podman.")
        _library_path()

    def get_ready(self) -> None:
        """check_available, and start the guard of the next run now (child_guard.Standby): its
        interpreter starts while the plugin stages and looks up, not after. From the main thread
        only (the guard's parent-death signal is per thread); `close` when done."""
        import threading

        self.check_available()
        if self._standby is None and threading.current_thread() is threading.main_thread():
            try:
                self._standby = Standby()
            except OSError as error:  # no process to spare now: the run starts its guard itself
                log.debug(f"the guard of podman-compose could not start ahead: {error}")

    def close(self) -> None:
        """End a guard started by get_ready and not used."""
        standby, self._standby = self._standby, None
        if standby is not None:
            standby.close()

    def run(self, project: Project, args: Sequence[str], what: str) -> ComposeRun:
        """`podman-compose [options] -f FILE ARGS` in the project's directory.

        Containers are not put in a pod (as with docker compose, and fewer podman
        calls) unless the compose file asks for one with `x-podman: {in_pod: ...}`.
        """
        directory, compose_file = project.directory, project.compose_file
        self.check_available()
        pod = [] if project.pod_declared else ["--in-pod=false"]
        files = ["-f", compose_file]
        if os.path.isfile(os.path.join(directory, HOSTS_OVERRIDE)):  # the plugin's, after the project's
            files += ["-f", HOSTS_OVERRIDE]
        argv = [sys.executable, "-s", "-m", "podman_compose", *pod, *files, *args]
        log.debug(f"running podman-compose {' '.join(args)} in {directory}")
        env = compose_environment(self.socket_path)
        standby, self._standby = self._standby, None
        process = standby.start(argv, directory, env) if standby is not None else None
        if process is None:
            # Started from the thread that waits for it: the guard's parent-death signal is per thread.
            process = subprocess.Popen(
                guarded(argv),
                cwd=directory,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its podman children are killed with it
            )
        try:
            output, dropped = _bounded_output(process, self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise EngineTimeout(
                f"podman-compose {what} did not finish within {self.timeout:g} s; try again later, "
                "or raise container_group.compose_timeout."
            ) from None
        except BaseException:  # Ctrl-C, SIGTERM turned into an exception: compose stops with the plugin
            _kill_group(process)
            raise
        text = output.decode("utf-8", "replace")
        secrets = secret_values(_variables(directory))
        if process.returncode:
            log.debug(f"podman-compose {args[0]} exited with {process.returncode}")
        if log.enabled("debug"):  # what was kept of what it said, made as safe as the quoted line
            if dropped:
                log.debug(f"podman-compose: ({dropped} bytes of its output before these lines not kept)")
            for line in text.splitlines():
                log.debug(f"podman-compose: {clean(line, directory, secrets)}")
        return ComposeRun(process.returncode, text, directory, secrets)


def _bounded_output(process: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, int]:
    """The last _KEPT_OUTPUT bytes the process printed (from a line's start) and how many went before.

    Read as a stream: a build printing gigabytes costs no memory (communicate() keeps it all).
    Raises subprocess.TimeoutExpired past `timeout`, from the start to its exit.
    """
    import selectors
    import time

    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    descriptor = process.stdout.fileno()
    tail, dropped = bytearray(), 0
    with selectors.DefaultSelector() as selector:
        selector.register(descriptor, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(process.args, timeout)
            if not selector.select(left):
                continue
            chunk = os.read(descriptor, 1 << 16)
            if not chunk:
                break
            tail += chunk
            if len(tail) > 2 * _KEPT_OUTPUT:
                cut = tail.find(b"\n", len(tail) - _KEPT_OUTPUT) + 1 or len(tail) - _KEPT_OUTPUT
                dropped += cut
                del tail[:cut]
    process.stdout.close()
    process.wait(timeout=max(0.01, deadline - time.monotonic()))
    return bytes(tail), dropped


def _variables(directory: str) -> dict[str, str]:
    """What compose interpolates from in `directory` (its values are hidden in what compose said)."""
    from .errors import ProjectError
    from .project import variables

    try:
        return variables(directory, variables_environment())
    except (ProjectError, OSError, ValueError):  # refused or unreadable: nothing of it to hide
        return {}


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=5)
