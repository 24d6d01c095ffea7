"""The log plugin's pure parts: its argv and the engine's log framing across reads."""

from __future__ import annotations

import time

import pytest

from tedge_container.engine.logs import demultiplex_stream, log_target
from tedge_container.errors import UsageError
from tedge_container.logplugin import parse_get
from tedge_container.logplugin.window import resolve


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
    name, since, until = parse_get(["web", "--since", "42m", "--until=2099-01-01T00:00:00Z"])
    assert (name, until) == ("web", "2099-01-01T00:00:00Z")
    assert abs(float(since) - (time.time() - 42 * 60)) < 5
    with pytest.raises(UsageError):
        parse_get(["web", "--tail", "3"])
    with pytest.raises(UsageError):
        parse_get([])


NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("1h", f"{NOW - 3600:.3f}"),  # that long ago, for --since and --until alike
        ("30m", f"{NOW - 1800:.3f}"),
        ("42s", f"{NOW - 42:.3f}"),
        ("1h30m", f"{NOW - 5400:.3f}"),
        ("1.5h", f"{NOW - 5400:.3f}"),
        ("500ms", f"{NOW - 0.5:.3f}"),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),  # podman reads these itself
        ("2024-01-01T00:00:00.123456789+02:00", "2024-01-01T00:00:00.123456789+02:00"),
        ("2024-01-01T00:00:00", "2024-01-01T00:00:00"),
        ("2024-01-01", "2024-01-01"),
        ("1714564800", "1714564800"),
        ("1714564800.25", "1714564800.25"),
        ("", ""),
    ],
)
def test_relative_times_are_that_long_ago_and_absolute_ones_pass(value: str, sent: str) -> None:
    assert resolve(value, "--until", now=NOW) == sent
    assert resolve(value, "--since", now=NOW) == sent


@pytest.mark.parametrize("value", ["yesterday", "1d", "2024-13-01", "2024-01-01T25:00:00Z", "1h-", "now"])
def test_a_time_podman_cannot_read_is_one_line_naming_the_forms(value: str) -> None:
    with pytest.raises(UsageError) as raised:
        resolve(value, "--since")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"--since {value!r} is not a time")
    assert "RFC 3339" in message and "unix seconds" in message and "42s, 30m, 1h" in message


def test_the_request_names_both_streams_and_the_window() -> None:
    target = log_target("abc", since="42m")
    assert "stdout=true" in target and "stderr=true" in target and "since=42m" in target
    assert "until" not in target


@pytest.mark.parametrize(
    ("since", "until", "empty"),
    [
        ("2099-01-01T00:00:00Z", "", "in the future"),
        ("2099-01-01", "", "in the future"),
        (f"{NOW + 60:.3f}", "", "in the future"),
        ("2023-01-02T00:00:00Z", "2023-01-01T00:00:00Z", "before --since"),
        ("2023-01-01T02:00:00+02:00", "2023-01-01T00:30:00Z", ""),  # 00:00Z to 00:30Z: fine
        ("2023-01-01T00:00:00.5Z", "2023-01-01T00:00:00.25Z", "before --since"),
        ("1700000000", "1699999999", "before --since"),
        ("", "2023-01-01", ""),
        (f"{NOW - 60:.3f}", "", ""),
    ],
)
def test_a_window_that_holds_nothing_is_refused(since: str, until: str, empty: str) -> None:
    from tedge_container.logplugin.window import EmptyWindow, check_window

    if not empty:
        check_window(since, until, (since, until), now=NOW)
        return
    with pytest.raises(EmptyWindow, match=empty) as raised:
        check_window(since, until, (since, until), now=NOW)
    assert raised.value.exit_code == 1 and "\n" not in str(raised.value)
