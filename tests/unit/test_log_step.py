"""log.Step: one debug line per step, with its result and duration; nothing below debug."""

from __future__ import annotations

import re

import pytest

from tedge_container import log


@pytest.fixture(autouse=True)
def _restore_level():
    yield
    log.set_level("info")


def test_a_step_reports_its_result_and_duration(capsys: pytest.CaptureFixture[str]) -> None:
    log.set_level("debug")
    with log.Step("podman: start container web") as step:
        step.result = "id abc"
    with pytest.raises(KeyError), log.Step("podman: pull x"):
        raise KeyError("a registry's answer that must not be logged")
    lines = capsys.readouterr().err.splitlines()
    assert re.fullmatch(r"debug: podman: start container web: id abc \(\d+\.\d{3} s\)", lines[0])
    assert re.fullmatch(r"debug: podman: pull x: failed \(KeyError\) \(\d+\.\d{3} s\)", lines[1])
    assert "registry's answer" not in "".join(lines)


def test_no_line_above_debug(capsys: pytest.CaptureFixture[str]) -> None:
    log.set_level("info")
    with log.Step("podman: start container web"):
        pass
    assert not log.enabled("debug")
    assert capsys.readouterr().err == ""
