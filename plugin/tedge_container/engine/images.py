"""Images in the engine: look-ups over the raw path, pulls and loads through podman-py."""

from __future__ import annotations

from .. import jsonio, log  # jsonio, not `json`: see jsonio.py
from ..errors import EngineError, EngineTimeout, PluginError, PullError
from .connection import quote, quoted
from .info import InfoCalls
from .pull_errors import pull_error
from .sockets import API_PREFIX, answer_text

TYPE_CHECKING = False  # `typing` itself costs ~5 ms, and `list` must start fast
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any, Callable, TypeVar

    from ..progress import Progress

    T = TypeVar("T")


def run_bounded(operation: Callable[[], T], seconds: float, what: str, progress: Progress | None = None) -> T:
    """Run a pull or load for at most `seconds`; the engine may still finish it on its side."""
    from ..threads import call_with_deadline

    def timeout() -> EngineTimeout:
        return EngineTimeout(
            f"{what} did not finish within {seconds:g} s; try again later, or raise "
            "container.pull_timeout if the image is large or the link slow."
        )

    if progress is None:
        return call_with_deadline(operation, seconds, what, timeout)
    step = min(1.0, progress.interval) if progress.interval > 0 else 1.0
    return call_with_deadline(operation, seconds, what, timeout, progress.tick, step)


class ImageCalls(InfoCalls):  # storage_root: the disk guard's (info.py)
    """What the plugin does with images."""

    def image_exists(self, reference: str) -> bool:
        return self._raw_exists(f"{API_PREFIX}/images/{quoted(reference)}/exists", f"image {reference}")

    def find_image(self, name: str) -> Mapping[str, Any] | None:
        """Inspect data of the image podman finds for `name`, or None.

        podman resolves a short name itself, as on its own command line: a
        `localhost/` image first, then its unqualified-search registries and
        aliases, then any image whose name ends with it.
        """
        target = f"{API_PREFIX}/images/{quote(name, safe='/:@')}/json"
        return self._raw_inspect(target, self.config.get("container.api_timeout"), f"image {name}")

    def _image_entries(self) -> list[Mapping[str, Any]]:
        body = self._raw_get(f"{API_PREFIX}/images/json", self.config.get("container.api_timeout"))
        try:
            return list(jsonio.loads(body) or [])
        except ValueError:
            raise EngineError(f"podman at {self.socket_path} sent an unreadable image list.") from None

    def image_ids(self) -> dict[str, str]:
        """Every image name (`repo:tag`) → the id it names (plain hex): a look before and after a load."""
        return {
            str(name): str(entry.get("Id") or "").removeprefix("sha256:")
            for entry in self._image_entries()
            for name in entry.get("Names") or entry.get("RepoTags") or []
        }

    def image_names(self) -> set[str]:
        """Every name (`repo:tag`, `repo@digest`) and id of the engine's images, over the raw path."""
        names: set[str] = set()
        for entry in self._image_entries():
            names.update(entry.get("Names") or entry.get("RepoTags") or [])
            names.update(entry.get("RepoDigests") or [])
            names.add(str(entry.get("Id") or "").removeprefix("sha256:"))
        return names

    def search_registries(self) -> list[str]:
        """The engine's unqualified-search registries (its registries.conf, wherever its root is)."""
        if self._search_registries is None:
            body = self._raw_get(f"{API_PREFIX}/info", self.config.get("container.api_timeout"))
            try:
                registries = (jsonio.loads(body).get("registries") or {}).get("search") or []
            except (ValueError, AttributeError):
                raise EngineError(f"podman at {self.socket_path} sent unreadable info.") from None
            self._search_registries = [str(registry) for registry in registries if registry]
        return self._search_registries

    def pull(self, reference: str, registry: str, auth: Mapping[str, str] | None = None) -> str:
        """Pull `reference` (fully qualified) and return the image id.

        The pull stream is read to its end: podman 4.3 reports failures as an
        in-band `error` line after HTTP 200, podman 5 may use an HTTP error
        status; both become a PullError with a kind.
        """
        client = self.client
        progress = self.progress(f"Pulling {reference}")

        def work() -> str:
            from podman.api import encode_auth_header

            headers = {"X-Registry-Auth": encode_auth_header(dict(auth))} if auth else {}
            params = {"reference": reference, "policy": "always", "compatMode": False}
            response = client.api.post("/images/pull", params=params, headers=headers, stream=True)
            if response.status_code >= 400:
                try:
                    body = response.json()
                    message = body.get("message") or body.get("cause") or response.text
                except ValueError:
                    message = response.text
                raise self._pull_error(reference, registry, message)
            error, image_id = "", ""
            for line in response.iter_lines():
                if not line:
                    continue
                try:
                    item = jsonio.loads(line)
                except ValueError:
                    continue
                error = item.get("error") or error
                image_id = item.get("id") or image_id
                if str(item.get("stream") or "").startswith("Copying blob"):
                    progress.layers += 1
            if error or not image_id:
                raise self._pull_error(reference, registry, error or "the engine reported no image")
            return image_id

        timeout = self.config.get("container.pull_timeout")
        return self._call(
            f"pull {reference}",
            lambda: run_bounded(work, timeout, f"Pulling {reference}", progress),
            self.describe_image,
        )

    def describe_image(self, image_id: str) -> str:
        """`image ID (12.3 MB)` for debug lines; the size costs one inspect over the raw path."""
        size = ""
        try:
            data = self._raw_inspect(
                f"{API_PREFIX}/images/{image_id}/json", self.config.get("container.api_timeout"), image_id
            )
            if data and data.get("Size") is not None:
                size = f" ({int(data['Size']) / 1e6:.1f} MB)"
        except (PluginError, ValueError, TypeError):
            pass
        return f"image {image_id}{size}"

    def _pull_error(self, reference: str, registry: str, message: str) -> PullError:
        error = pull_error(reference, registry, message)
        if error.kind == "no_space":  # name the full filesystem: podman's storage
            error = pull_error(reference, registry, message, storage=self.storage_root())
        return error

    def load(self, chunks: Iterable[bytes], progress: Progress | None = None) -> list[str]:
        """Stream an uncompressed image archive to the engine; returns the loaded image names.

        `progress` (see archive.stream) counts what was sent; its line is printed while waiting.
        """
        client = self.client

        def work() -> list[str]:
            response = client.api.post(
                "/images/load", data=iter(chunks), headers={"Content-Type": "application/x-tar"}
            )
            response.raise_for_status()
            return list(response.json().get("Names") or [])

        timeout = self.config.get("container.pull_timeout")
        return self._call(
            "load the image archive",
            lambda: run_bounded(work, timeout, "Loading the archive", progress),
            lambda names: "loaded " + (", ".join(names) or "no named image"),
        )

    def load_sized(self, chunks: Iterable[bytes], length: int, progress: Progress | None = None) -> list[str]:
        """`load` of an archive whose uncompressed length is known: over the raw path, without podman-py.

        The body goes with a Content-Length (no chunked encoding), as it is read.
        """
        from .sockets import Upload

        timeout = self.config.get("container.pull_timeout")

        def work() -> list[str]:
            upload = Upload(chunks, length, "application/x-tar")
            status, body = self._raw_request(f"{API_PREFIX}/images/load", timeout, "POST", upload=upload)
            if status >= 400:
                raise EngineError(f"podman could not load the image archive: {answer_text(body)}")
            try:
                return [str(name) for name in jsonio.loads(body).get("Names") or []]
            except (ValueError, AttributeError):
                raise EngineError(f"podman at {self.socket_path} sent an unreadable load answer.") from None

        with log.Step("podman: load the image archive") as step:
            names = run_bounded(work, timeout, "Loading the archive", progress)
            step.result = "loaded " + (", ".join(names) or "no named image")
        return names

    def remove_image(self, image: str) -> bool:
        """Remove an image name (the image itself with its last name); False when podman refuses."""
        with log.Step(f"podman: remove image {image}") as step:
            status, _ = self._raw_request(
                f"{API_PREFIX}/images/{quoted(image)}", self.config.get("container.api_timeout"), "DELETE"
            )
            step.result = "removed" if status < 400 else f"refused (HTTP {status})"
        return status < 400

    def tag_image(self, image: str, repository: str, tag: str) -> None:
        """Give image `image` (an id) the name `repository:tag`, taking it from any other image."""
        from urllib.parse import urlencode

        query = urlencode({"repo": repository, "tag": tag})
        self._raw_change(
            f"tag image {image[:12]} as {repository}:{tag}",
            "POST",
            f"{API_PREFIX}/images/{quoted(image)}/tag?{query}",
        )
