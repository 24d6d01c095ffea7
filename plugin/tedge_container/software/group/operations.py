"""The steps install, remove and repair are made of: read a project, bring it up, take it down.

`Group` binds the engine adapter and the podman-compose runner to one
configuration. Bringing a project up means `podman-compose up -d`, then
removing containers of services the project no longer has (podman-compose
has no working `--remove-orphans` for `up`), then checking the engine
(checks.py). Before it, the `host.docker.internal` override is written
(hosts.py); a pod podman-compose made for the project earlier (the Go
plugin's way) is emptied by recreating every container, then removed.
Taking it down means `podman-compose down` and then removing
whatever container of the project is still there, by label.
"""

from __future__ import annotations

import os
import time

from ... import log
from ...errors import InvalidReference, PluginError, add_context
from ...images import pulling, references, shortnames
from .archive.limits import Limits
from .checks import ServiceFailed, project_containers, prove_healthy, verify
from .errors import ProjectError
from .hosts import HostsOverride
from .project import COMPOSE_FILES, Project, load
from .runner import Compose, variables_environment

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection
    from typing import Any

    from ...config import Config
    from ...engine import Engine


class Group:
    def __init__(self, config: Config, engine: Engine) -> None:
        engine.ping()  # an unreachable engine is exit 3 before any file is touched
        self.config = config
        self.engine = engine
        self.compose = Compose(config, engine.socket_path)
        self.environ = variables_environment()

    def load(self, directory: str, module_name: str) -> Project:
        return load(directory, module_name, self.environ, Limits.of(self.config))

    def warn_about(self, project: Project) -> None:
        """What the staged files hold that compose will take otherwise than the author may think.

        Other compose files beside the one used (one warning), and each variable the
        compose file uses that neither `.env` nor compose's environment sets (one each).
        """
        others = [
            name
            for name in COMPOSE_FILES
            if name != project.compose_file and os.path.isfile(os.path.join(project.directory, name))
        ]
        if others:
            log.warning(
                f"the files hold {len(others) + 1} compose files: {project.compose_file} is used and "
                f"{', '.join(others)} ignored (compose's order of preference: {', '.join(COMPOSE_FILES)}); "
                "keep only one"
            )
        for name, services in project.unset.items():
            plural = "s" if len(services) > 1 else ""
            users = f"service{plural} {', '.join(services)}" if services else "outside any service"
            log.warning(
                f"{project.compose_file}: variable {name} is not set ({users}); compose makes it an "
                "empty string: set it in the group's .env, or give a default (${" + name + ":-value})"
            )

    # -- images --------------------------------------------------------------

    def pull_images(self, project: Project, skip: Collection[str] = ()) -> None:
        """Pull every service image through the plugin's credential chain (like `container`).

        `skip`: the references (`Reference.full`) a bundle brought, never pulled.
        """
        always = bool(self.config.get("container.alwayspull"))
        done: set[str] = set(skip)
        for spec in project.services:
            if not spec.image:
                continue
            try:
                reference = references.parse(spec.image)
            except InvalidReference as error:
                if spec.builds:  # a local name for the image compose builds
                    continue
                unset = [name for name, services in project.unset.items() if spec.name in services]
                if unset:  # the likely cause: say it in the line the operator reads
                    error.args = (
                        f"{str(error).rstrip('.')}, as {' and '.join(unset)} is not set; set it "
                        "in the group's .env.",
                    )
                raise add_context(error, prefix=f"service {spec.name}: ") from None
            if reference.full in done:
                continue
            done.add(reference.full)
            present = self.engine.image_exists(reference.full)
            if spec.builds and not present:
                continue  # compose builds it
            if reference.domain == shortnames.LOCALHOST:  # built or loaded on the device: never pulled
                if present:
                    continue
                raise add_context(shortnames.not_pullable(reference), prefix=f"service {spec.name}: ")
            if always or not present:
                try:
                    pulling.pull(self.engine, reference, self.config)
                except PluginError as error:
                    raise add_context(error, prefix=f"service {spec.name}: ") from None

    def ensure_network(self) -> None:
        """The Go plugin's network (`container.network`), which compose files may use as external."""
        network = self.config.get("container.network")
        if network and not self.engine.has_network(network):
            self.engine.ensure_network(network)

    # -- up and down -----------------------------------------------------------

    def up(self, project: Project) -> dict[str, dict[str, Any]]:
        """Bring `project` up from its directory; returns each service's container entry."""
        before = {  # containers of the project before this run: a previous version's, or none
            entry.get("Id")
            for entries in project_containers(self.engine, project.name).values()
            for entry in entries
        }
        build = ["--build"] if any(spec.builds for spec in project.services) else []
        hosts = HostsOverride(self.engine, project, self.environ)
        if hosts.prepare():  # a network with settings: compose creates it, then its gateway is known
            self.compose.run(project, ["up", "--no-start", *build], "up")
            hosts.write()
        legacy_pod = self.legacy_pod(project)
        recreate = ["--force-recreate"] if legacy_pod else []  # every container out of the old pod
        since = time.time()
        run = self.compose.run(project, ["up", "-d", *build, *recreate], "up")
        try:
            self.remove_orphans(project)
            config = self.config
            containers = verify(self.engine, project, since, float(config.get("container_group.settle_time")))
            # A failed compose run may leave the previous version's containers running: no success.
            failed = bool(run.returncode and run.last_error())
            kept = [service for service, entry in containers.items() if failed and entry.get("Id") in before]
            if kept:
                raise ServiceFailed(
                    f"podman-compose up failed (exit {run.returncode}); service {', '.join(kept)} still "
                    f"run{'s' if len(kept) == 1 else ''} the previous version's container"
                )
            prove_healthy(self.engine, project, containers, float(config.get("container.health_timeout")))
            if legacy_pod:
                self.engine.remove_pod(legacy_pod)
            return containers
        except ServiceFailed as error:
            error.args = (str(error).rstrip(".") + run.said(),)  # compose's own word on it, if any
            raise

    def legacy_pod(self, project: Project) -> str:
        """podman-compose's pod of this project from before (its default, which the Go plugin used),
        when the compose file does not ask for a pod itself; "" when there is none."""
        pod = f"pod_{project.name}"
        return pod if not project.pod_declared and self.engine.has_pod(pod) else ""

    def remove_orphans(self, project: Project) -> list[str]:
        """Remove the containers of services `project` no longer defines; returns those services."""
        wanted = set(project.service_names())
        dropped = []
        for service, entries in project_containers(self.engine, project.name).items():
            if service in wanted:
                continue
            dropped.append(service)
            for entry in entries:
                self.engine.remove_container(_name_of(entry))
        return dropped

    def take_down(self, project: Project | None, project_name: str, volumes: bool) -> list[str]:
        """Remove the project's containers (and its named volumes if `volumes`); returns its services."""
        services = list(project.service_names()) if project is not None else []
        if project is not None:
            args = ["down", "--volumes"] if volumes else ["down"]
            run = self.compose.run(project, args, "down")
            if run.returncode:
                log.warning(f"podman-compose down of {project_name} exited with {run.returncode}{run.said()}")
        for service, entries in project_containers(self.engine, project_name).items():
            if service and service not in services:
                services.append(service)
            for entry in entries:
                self.engine.remove_container(_name_of(entry))
        # podman-compose's pod (its default, which the Go plugin used): empty now.
        self.engine.remove_pod(f"pod_{project_name}")
        return services

    def try_load(self, directory: str, module_name: str) -> Project | None:
        """The project in `directory`, or None (with a warning) when its files are unusable."""
        try:
            return self.load(directory, module_name)
        except ProjectError as error:
            log.warning(f"the files in {directory} are not a usable compose project: {error}")
            return None


def _name_of(entry: dict[str, Any]) -> str:
    names = entry.get("Names") or []
    return str(names[0]).lstrip("/") if names else str(entry.get("Id", ""))
