"""Test images built from busybox-static, and helpers to push, save and grow them.

The four base images are built once per set of inputs (busybox, this file) and kept as one
archive in the temporary directory: the first pytest process to need them builds them and
saves the archive, every other one (each xdist worker, the podman 5 stage, the next run)
loads it, so every engine holds the same images with the same IDs.
"""

from __future__ import annotations

import fcntl
import gzip as gzip_module
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .podman import PodmanService
from .proc import CommandError, run
from .registry import Registry

BUSYBOX = Path("/bin/busybox")

# PID 1 is a shell: `sleep & wait` lets the TERM trap run at once, so stops are instant.
_LOOP = 'trap "exit 0" TERM; {pre}while true; do sleep 1 & wait $!; done'


class TestImages:
    """Images in the service's store: app:1, app:2 (different IDs), nocmd:1, exits:1."""

    __test__ = False  # not a pytest test class

    app1 = "localhost/tedge-test/app:1"
    app2 = "localhost/tedge-test/app:2"
    nocmd = "localhost/tedge-test/nocmd:1"
    exits = "localhost/tedge-test/exits:1"
    app_port = 8080  # EXPOSEd by app:1/app:2; busybox httpd serves /version there

    def __init__(self, podman: PodmanService, workdir: Path) -> None:
        self.podman = podman
        self.workdir = workdir
        self._big: dict[int, str] = {}
        self.ids: dict[str, str] = {}

    def build(self) -> TestImages:
        """The base images in the service's store: loaded from the cached archive, or built and
        saved there when there is none yet (or it cannot be loaded)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        archive = _cached_archive_path()
        with _locked(archive.with_suffix(".lock")):
            if archive.exists():
                try:
                    return self._load(archive)
                except CommandError:
                    archive.unlink()  # a partial or stale archive: built again below
            self._build_base()
            partial = archive.with_suffix(".partial")
            partial.unlink(missing_ok=True)  # a save that died half-way
            self.podman.cli("save", "--multi-image-archive", "--format", "docker-archive",
                            "--output", str(partial), *self.base_images, timeout=600)  # fmt: skip
            partial.rename(archive)
        return self

    @property
    def base_images(self) -> tuple[str, ...]:
        return (self.app1, self.app2, self.nocmd, self.exits)

    def _load(self, archive: Path) -> TestImages:
        self.podman.cli("load", "--input", str(archive), timeout=600)
        ids = self.podman.cli("image", "inspect", "--format", "{{.Id}}", *self.base_images).stdout.split()
        if len(ids) != len(self.base_images):
            raise CommandError(f"{archive} holds {len(ids)} of the {len(self.base_images)} base images")
        self.ids.update(zip(self.base_images, ids))
        return self

    def _build_base(self) -> None:
        cmd = _LOOP.format(pre=f"httpd -p {self.app_port} -h /www; ")
        for image, version in ((self.app1, "1"), (self.app2, "2")):
            self._import(
                image,
                {"www/version": version + "\n", "etc/tedge-test-version": version},
                [
                    "CMD " + json.dumps(["/bin/sh", "-c", cmd]),
                    f"EXPOSE {self.app_port}",
                    f"LABEL org.tedge.test.version={version}",
                ],
            )
        self._import(self.nocmd, {}, [])
        self._import(self.exits, {}, ['CMD ["/bin/sh", "-c", "exit 1"]'])
        if self.ids[self.app1] == self.ids[self.app2]:
            raise AssertionError("app:1 and app:2 must have different image IDs")

    def push(
        self,
        local_image: str,
        registry: Registry,
        repo_tag: str,
        *,
        username: str | None = None,
        password: str | None = None,
    ) -> str:
        """Push to `registry` as `repo_tag`; returns '127.0.0.1:PORT/repo:tag'.

        Uses the registry's current credentials unless others are given.
        """
        remote = f"{registry.host}/{repo_tag}"
        args = ["push"]
        user = username if username is not None else registry.username
        secret = password if password is not None else registry.password
        if user is not None:
            args += ["--creds", f"{user}:{secret or ''}"]
        if not registry.tls:
            args.append("--tls-verify=false")
        self.podman.cli(*args, local_image, remote, timeout=300)
        return remote

    def save_archive(
        self, image: str, path: Path | str, fmt: str = "docker-archive", gzip: bool = False
    ) -> Path:
        """`podman save` to `path` (docker-archive or oci-archive), gzip'd client-side if asked."""
        if fmt not in ("docker-archive", "oci-archive"):
            raise ValueError(f"unsupported archive format {fmt!r}")
        path = Path(path)
        target = path.with_name(path.name + ".tmp") if gzip else path
        self.podman.cli("save", "--format", fmt, "--output", str(target), image, timeout=600)
        if gzip:
            with open(target, "rb") as src, gzip_module.open(path, "wb", compresslevel=1) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            target.unlink()
        return path

    def variant(self, image: str, marker: str, exits: bool = False) -> str:
        """A small busybox image of its own id (`marker` is written into it): sleeps, or exits 1."""
        cmd = "exit 1" if exits else _LOOP.format(pre="")
        self._import(image, {"etc/tedge-test-marker": marker}, ["CMD " + json.dumps(["/bin/sh", "-c", cmd])])
        return image

    def big_image(self, size_mb: int) -> str:
        """An image with a random (incompressible) layer of `size_mb` MiB; built once."""
        if size_mb not in self._big:
            image = f"localhost/tedge-test/big:{size_mb}m"
            self._import(
                image, {}, ['CMD ["/bin/sh", "-c", "exit 0"]'], random_mb={"data/random.bin": size_mb}
            )
            self._big[size_mb] = image
        return self._big[size_mb]

    def _import(
        self, image: str, files: dict[str, str], changes: list[str], random_mb: dict[str, int] | None = None
    ) -> None:
        tar_path = self.workdir / (image.replace("/", "_").replace(":", "_") + ".tar")
        _rootfs_tar(tar_path, files, random_mb or {})
        args = ["import"]
        for change in changes:
            args += ["--change", change]
        try:
            out = self.podman.cli(*args, str(tar_path), image, timeout=600).stdout
        finally:
            tar_path.unlink(missing_ok=True)
        self.ids[image] = out.strip().splitlines()[-1].removeprefix("sha256:")


def _cached_archive_path() -> Path:
    """Where the base images of these inputs are kept: below the temporary directory, which
    podman 5's chrooted CLI sees at its own path."""
    inputs = hashlib.sha256(BUSYBOX.read_bytes() if BUSYBOX.exists() else b"")
    inputs.update(Path(__file__).read_bytes())
    return Path(tempfile.gettempdir()) / f"tedge-test-images-{inputs.hexdigest()[:16]}.tar"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on PATH while the archive is made or read (one builder, others wait)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _rootfs_tar(path: Path, files: dict[str, str], random_mb: dict[str, int]) -> None:
    """A root filesystem: busybox, a link per applet in /bin, `files`, random files."""
    if not BUSYBOX.exists():
        raise CommandError(f"{BUSYBOX} is missing: apt-get install busybox-static")
    applets = run([str(BUSYBOX), "--list"]).stdout.split()
    with tarfile.open(path, "w") as tar:
        for directory in ("bin", "etc", "tmp", "www", "data"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        tar.add(str(BUSYBOX), "bin/busybox")
        for applet in applets:
            if applet != "busybox":
                info = tarfile.TarInfo(f"bin/{applet}")
                info.type, info.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(info)
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        for name, size_mb in random_mb.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = size_mb << 20, 0o644
            tar.addfile(info, _RandomReader())


class _RandomReader:
    """A file-like source of random bytes, so a big layer needs no temporary file."""

    def read(self, size: int = -1) -> bytes:
        return os.urandom(size if size >= 0 else 1 << 20)
