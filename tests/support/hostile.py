"""Hostile inputs made from scratch: the alias bomb, big compose files, a gzip bomb (tests and bench)."""

from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from .proc import PEAK_RSS_LAUNCHER

_MiB = 1 << 20


def alias_bomb(image: str, depth: int = 9) -> str:
    """The issue's ~400 bytes: nine levels of nine aliases, 9^9 strings once expanded (9^depth)."""
    levels = "abcdefghi"[:depth]
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, level in zip(levels, levels[1:]):
        lines.append(f"{level}: &{level} [{','.join(['*' + previous] * 9)}]")
    lines += ["services:", "  web:", f"    image: {image}", f"    x-lol: *{levels[-1]}"]
    return "\n".join(lines) + "\n"


def large_compose(path: Path, image: str, size: int) -> Path:
    """A valid compose file of `size` bytes: one service and a padding block of long strings (few nodes).

    Written line by line: the test process stays small (its children's peak RSS is measured).
    """
    head = f"services:\n  web:\n    image: {image}\n    restart: always\nx-padding:\n"
    line = "  - " + "x" * 1020 + "\n"
    count, rest = divmod(size - len(head), len(line))
    with open(path, "w") as out:
        out.write(head)
        for _ in range(count):
            out.write(line)
        out.write("  - " + "y" * (rest - 5) + "\n" if rest > 5 else "#" * rest)
    return path


def gzip_bomb(path: Path, member_size: int, compose_text: str) -> Path:
    """A .tar.gz holding a compose file and one member of `member_size` zero bytes, a few MB on disk.

    The zeros are never held or written whole: one fully flushed deflate block of 1 MiB of
    zeros is repeated (a full flush leaves no reference to what came before), and the gzip
    trailer's CRC-32 is computed chunk by chunk.
    """
    compose_data = compose_text.encode()
    compose = tarfile.TarInfo("compose.yaml")
    compose.size = len(compose_data)
    zeros = tarfile.TarInfo("zeros")
    zeros.size = member_size
    padding = b"\0" * (-len(compose_data) % 512)
    head = compose.tobuf(tarfile.GNU_FORMAT) + compose_data + padding + zeros.tobuf(tarfile.GNU_FORMAT)
    tail = b"\0" * (-member_size % 512) + b"\0" * 1024  # the member's padding, then the end of the archive

    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\0" * _MiB
    chunk_block = zlib.compressobj(9, zlib.DEFLATED, -15)
    repeated = chunk_block.compress(chunk) + chunk_block.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    with open(path, "wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")  # gzip header: deflate, no name, no time
        out.write(compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH))
        whole, rest = divmod(member_size, _MiB)
        for _ in range(whole):
            out.write(repeated)
            crc = zlib.crc32(chunk, crc)
        last = compressor.compress(b"\0" * rest + tail) + compressor.flush(zlib.Z_FINISH)
        out.write(last)
        crc = zlib.crc32(b"\0" * rest + tail, crc)
        total = len(head) + member_size + len(tail)
        out.write(struct.pack("<II", crc & 0xFFFFFFFF, total & 0xFFFFFFFF))
    return path


def huge_extended_header(path: Path, compose_text: str, size: int, kind: bytes = tarfile.XHDTYPE) -> Path:
    """A .tar.gz whose second member is an extended header (pax, or GNU long name: `kind`) of `size`
    zero bytes, a few hundred KB on disk: tarfile reads such a header into memory whole."""
    data = compose_text.encode()

    def header(name: str, type_: bytes, length: int) -> bytes:
        info = tarfile.TarInfo(name)
        info.type, info.size = type_, length
        return info.tobuf(tarfile.USTAR_FORMAT)

    head = header("compose.yaml", tarfile.REGTYPE, len(data)) + data + b"\0" * (-len(data) % 512)
    head += header("././@LongLink" if kind == tarfile.GNUTYPE_LONGNAME else "pax", kind, size)
    tail = b"\0" * (-size % 512) + header("after", tarfile.REGTYPE, 0) + b"\0" * 1024
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: with a gzip header and trailer
    with open(path, "wb") as out:
        out.write(compressor.compress(head))
        whole, rest = divmod(size, _MiB)
        for _ in range(whole):
            out.write(compressor.compress(b"\0" * _MiB))
        out.write(compressor.compress(b"\0" * rest + tail) + compressor.flush())
    return path


class Measured(NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    cpu_seconds: float  # user + system, of the command and its children (getrusage of the launcher)

    @property
    def last_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


def run_limited(
    argv: Sequence[str], env: Mapping[str, str], address_space_mb: int = 0, timeout: float = 120
) -> Measured:
    """Run `argv` under `prlimit --as` (a regression fails the test, not the machine); its peak RSS.

    The peak is the command's own `ru_maxrss`, from the rusage wait4 returns for it; its CPU time
    (user + system) is its own and its children's, from the same rusage.
    `address_space_mb` 0: no limit.
    """
    with tempfile.TemporaryDirectory() as scratch:
        report = os.path.join(scratch, "maxrss")
        limited = [sys.executable, "-I", "-S", "-c", PEAK_RSS_LAUNCHER, report]
        if address_space_mb:
            limited += ["prlimit", f"--as={address_space_mb << 20}", "--"]
        with subprocess.Popen(
            [*limited, *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # on timeout the command goes too, not only the launcher
        ) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                raise
        result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        with open(report) as stream:
            peak_kib, cpu_seconds = stream.read().split()
    return Measured(result.returncode, result.stdout, result.stderr, int(peak_kib) / 1024, float(cpu_seconds))


# -- input that multiplies inside the plugin (issue 23): small files, huge work if walked naively --------


def aliased_string(image: str, size: int = 500_000, aliases: int = 1000) -> str:
    """A `size`-character string of `$$` aliased `aliases` times: each alias interpolated again would
    cost size x aliases (the issue's 504 KB file, 133 s of CPU before memoisation)."""
    return (
        f'x-s: &s "{"$$" * (size // 2)}"\n'
        f"x-l: [{','.join(['*s'] * aliases)}]\n"
        f"services:\n  web:\n    image: {image}\n"
    )


def nested_defaults(image: str, depth: int = 5000) -> str:
    """`${A:-${A:-...}}` nested `depth` deep in one value (RecursionError past ~1,000)."""
    value = "${A:-" * depth + "x" + "}" * depth
    return f'services:\n  web:\n    image: {image}\n    environment:\n      X: "{value}"\n'


def dotenv_amplified(image: str, uses: int = 200_000) -> tuple[str, str]:
    """(compose text, .env text): a 1 MiB-less-a-little `.env` value used `uses` times (~200 GB)."""
    compose_text = f'services:\n  web:\n    image: {image}\n    environment:\n      X: "{"${V}" * uses}"\n'
    return compose_text, "V=" + "v" * ((1 << 20) - 16) + "\n"


def _directory(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def _write_tar(path: Path, compose_text: str, members: Sequence[tarfile.TarInfo]) -> Path:
    data = compose_text.encode()
    with tarfile.open(path, "w:gz" if path.name.endswith(".gz") else "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("compose.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for member in members:
            tar.addfile(member)
    return path


def deep_directory(path: Path, compose_text: str, depth: int = 1100) -> Path:
    """A directory `depth` levels deep (1 KB gzip'd): a recursive removal of it fails."""
    return _write_tar(path, compose_text, [_directory("/".join(["d"] * depth))])


def deep_entries(path: Path, compose_text: str, entries: int = 9999, depth: int = 2000) -> Path:
    """`entries` directories at depth `depth`: a check re-walking each path costs entries x depth²."""
    stem = "/".join(["d"] * (depth - 1))
    return _write_tar(path, compose_text, [_directory(f"{stem}/{index}") for index in range(entries)])


def deepest_allowed(path: Path, compose_text: str, entries: int = 9800, depth: int = 127) -> Path:
    """`entries` directories `depth` levels deep (the default bounds allow 128 and 10,000): the largest
    archive the defaults install. Each name needs a pax header: two headers per entry to parse."""
    stem = "/".join(["d"] * (depth - 1))
    return _write_tar(path, compose_text, [_directory(f"{stem}/{index}") for index in range(entries)])


def empty_images(path: Path, compose_text: str, entries: int = 200_000) -> Path:
    """`entries` empty files under images/ (1.2 MB as tar.gz): a bundle's, never unpacked, but read."""
    return _write_tar(path, compose_text, [tarfile.TarInfo(f"images/{index}") for index in range(entries)])


def many_zip_entries(path: Path, compose_text: str, entries: int = 300_000) -> Path:
    """`entries` empty files in a zip (zip64 past 65,535): zipfile would hold its whole directory."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("compose.yaml", compose_text)
        for index in range(entries):
            archive.writestr(f"f{index}", b"")
    return path


def link_chain(path: Path, compose_text: str, links: int = 2000) -> Path:
    """`l0 -> .`, `l1 -> l0`, ...: resolving the last link recursively ends in RecursionError."""
    chain = [_symlink("l0", ".")] + [_symlink(f"l{index}", f"l{index - 1}") for index in range(1, links)]
    return _write_tar(path, compose_text, chain)


def hardlinked(path: Path, compose_text: str, size: int, links: int = 3) -> Path:
    """A `size`-byte file and `links` hard links to it: written as copies, (links + 1) x size."""
    with tarfile.open(path, "w") as tar:
        data = compose_text.encode()
        info = tarfile.TarInfo("compose.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        big = tarfile.TarInfo("data/big.bin")
        big.size = size
        tar.addfile(big, io.BufferedReader(_Zeros(size)))
        for index in range(links):
            link = tarfile.TarInfo(f"data/link{index}.bin")
            link.type, link.linkname = tarfile.LNKTYPE, "data/big.bin"
            tar.addfile(link)
    return path


class _Zeros(io.RawIOBase):
    """`size` zero bytes, read in chunks (the test process stays small)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        count = min(len(buffer), self.left)
        buffer[:count] = b"\0" * count
        self.left -= count
        return count
