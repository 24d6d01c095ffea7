"""Hostile inputs made from scratch: the alias bomb, big compose files, a gzip bomb (tests and bench)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tarfile
import tempfile
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


class Measured(NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float

    @property
    def last_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


def run_limited(
    argv: Sequence[str], env: Mapping[str, str], address_space_mb: int = 0, timeout: float = 120
) -> Measured:
    """Run `argv` under `prlimit --as` (a regression fails the test, not the machine); its peak RSS.

    The peak is the command's own `ru_maxrss`, from the rusage wait4 returns for it.
    `address_space_mb` 0: no limit.
    """
    with tempfile.TemporaryDirectory() as scratch:
        report = os.path.join(scratch, "maxrss")
        limited = [sys.executable, "-I", "-S", "-c", PEAK_RSS_LAUNCHER, report]
        if address_space_mb:
            limited += ["prlimit", f"--as={address_space_mb << 20}", "--"]
        result = subprocess.run(
            [*limited, *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        with open(report) as stream:
            peak_kib = int(stream.read())
    return Measured(result.returncode, result.stdout, result.stderr, peak_kib / 1024)
