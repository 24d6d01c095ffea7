"""The log plugin's pure parts: its argv and the engine's log framing across reads."""

from __future__ import annotations

import pytest

from tedge_container.engine.logs import demultiplex_stream, log_target
from tedge_container.errors import UsageError
from tedge_container.logplugin import parse_get


def frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def test_frames_split_anywhere_come_out_whole_and_in_order() -> None:
    raw = frame(1, b"out-1\n") + frame(2, b"err-1\n") + frame(1, b"out-2\n")
    for size in (1, 3, 7, 100):
        pieces = [raw[i : i + size] for i in range(0, len(raw), size)]
        assert b"".join(demultiplex_stream(iter(pieces))) == b"out-1\nerr-1\nout-2\n"


def test_terminal_output_passes_unchanged() -> None:
    assert b"".join(demultiplex_stream(iter([b"plain text\n", b"more\n"]))) == b"plain text\nmore\n"
    assert b"".join(demultiplex_stream(iter([b"hi\n"]))) == b"hi\n"  # shorter than a frame header


def test_get_takes_since_and_until_in_both_spellings() -> None:
    assert parse_get(["web", "--since", "42m", "--until=2024-01-01T00:00:00Z"]) == (
        "web",
        "42m",
        "2024-01-01T00:00:00Z",
    )
    with pytest.raises(UsageError):
        parse_get(["web", "--tail", "3"])
    with pytest.raises(UsageError):
        parse_get([])


def test_the_request_names_both_streams_and_the_window() -> None:
    target = log_target("abc", since="42m")
    assert "stdout=true" in target and "stderr=true" in target and "since=42m" in target
    assert "until" not in target
