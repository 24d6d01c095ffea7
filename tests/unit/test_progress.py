"""Progress lines: at most one per interval, none for short operations, the counters in words."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

from tedge_container.images import archive
from tedge_container.progress import Progress, size_text
from tedge_container.threads import call_with_deadline


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_one_line_per_interval_and_none_before() -> None:
    clock, lines = Clock(), []
    progress = Progress("Pulling x", 5.0, clock, lines.append)
    for now in (1.0, 4.9):
        clock.now = now
        progress.tick()
    assert lines == []
    progress.layers = 3
    clock.now = 5.0
    progress.tick()
    clock.now = 7.0
    progress.tick()
    assert lines == ["Pulling x: 3 layers so far, 5 s elapsed"]
    progress.done, progress.total = 3 << 20, 10 << 30
    clock.now = 10.5
    progress.tick()
    assert lines[-1] == "Pulling x: 3.0 MB of 10.0 GB, 3 layers so far, 10 s elapsed"


def test_interval_zero_prints_nothing() -> None:
    clock, lines = Clock(), []
    progress = Progress("Loading a.tar", 0, clock, lines.append)
    clock.now = 100.0
    progress.tick()
    assert lines == []


def test_sizes() -> None:
    assert [size_text(n) for n in (12, 2048, 5 << 20, 3 << 30)] == ["12 B", "2.0 kB", "5.0 MB", "3.0 GB"]


def test_the_waiting_thread_ticks_while_the_work_runs() -> None:
    ticks = []
    assert call_with_deadline(
        lambda: time.sleep(2.2) or "done", 10, "w", RuntimeError, lambda: ticks.append(1)
    )
    assert len(ticks) in (2, 3)


def test_archive_stream_counts_the_files_bytes(tmp_path: Path) -> None:
    """Of a gzip archive, the compressed bytes read against the file's size."""
    path = tmp_path / "a.tar.gz"
    path.write_bytes(gzip.compress(bytes(range(256)) * 20000))
    progress = Progress("Loading", 5)
    data = b"".join(archive.stream(str(path), progress))
    assert len(data) == 256 * 20000
    assert progress.total == path.stat().st_size
    assert progress.done == progress.total
