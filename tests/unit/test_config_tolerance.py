"""The configuration read as the Go plugin (viper + spf13/cast) reads it, and warned about.

Each case names what the Go plugin does with the same file (read in its
code: pkg/cli/cli.go, spf13/cast v1.10), issue 12 cases 4 and 6, issue 11
(unknown keys and bad values warned about once, naming key, file and line).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tedge_container import log
from tedge_container.config import DEFAULTS, Config
from tedge_container.config import reader as config_module
from tedge_container.config.toml_lines import key_lines
from tedge_container.config.values import BadValue, convert, parse_duration
from tedge_container.errors import ConfigError


@pytest.fixture(autouse=True)
def _fresh_process_state() -> None:
    config_module._warned.clear()
    config_module.set_command_line()
    yield
    config_module.set_command_line()
    log.set_level("info")


def load(tmp_path: Path, text: str, **env: str) -> Config:
    (tmp_path / "plugins").mkdir(exist_ok=True)
    (tmp_path / "plugins" / "tedge-container-plugin.toml").write_text(text)
    return Config.load({"TEDGE_CONFIG_DIR": str(tmp_path), **env})


def test_keys_and_tables_in_any_letter_case(tmp_path: Path) -> None:
    # Go: viper lower-cases every key; `pruneImages = false` under [Container] disables pruning.
    config = load(tmp_path, "[Container]\nalwaysPull = true\npruneImages = false\nNetwork = 'plant'\n")
    assert config.get("container.alwayspull") is True
    assert config.get("container.pruneimages") is False
    assert config.get("container.network") == "plant"
    assert config.problems == []


def test_a_number_for_a_boolean_is_what_go_reads(tmp_path: Path) -> None:
    # Go: cast.ToBool(1) is true, (0) false; `pruneimages = 1` did not stop `list`.
    config = load(tmp_path, "[container]\npruneimages = 0\nalwayspull = 1\n")
    assert config.get("container.pruneimages") is False
    assert config.get("container.alwayspull") is True
    assert config.problems == []


@pytest.mark.parametrize(
    ("default", "value", "expected"),
    [
        (False, "T", True),  # strconv.ParseBool forms
        (False, "TRUE", True),
        (True, "f", False),
        (True, "0", False),
        (False, "yes", True),  # what an operator means, though Go reads it as false
        (0, "0x75b", 1883),  # strconv.ParseInt base 0
        (0, "1_883", 1883),
        (0, "1883.0", 1883),  # cast trims a zero fraction
        (0, "010", 8),  # a leading 0 is octal in Go
        (0, 1883.0, 1883),
        (0, True, 1),
        (5.0, "300s", 300.0),  # Go durations
        (5.0, "1m30s", 90.0),
        (5.0, "500ms", 0.5),
        (5.0, "2.5", 2.5),
        (5.0, 7, 7.0),
        ("", 5, "5"),  # cast.ToString
        ("", True, "true"),
        ([], "^a, ^b", ["^a", "^b"]),  # a string: split on commas and spaces
        ([], "^a ^b", ["^a", "^b"]),  # Go: strings.Fields
        ([], ",,a,\t b\n,\u00a0c, ", ["a", "b", "c"]),  # any run of commas and whitespace separates
        ([], " , ", []),
        ([], ["^a,^b", "c"], ["^a", "^b", "c"]),  # Go: getExpandedStringSlice splits items on commas
        ([], ["a,"], ["a"]),  # Go would keep "", a pattern that excludes every container
        ([], 5, ["5"]),
    ],
)
def test_values_in_go_forms(default: object, value: object, expected: object) -> None:
    assert convert(default, value) == expected


@pytest.mark.parametrize(
    ("default", "value"),
    [
        (False, "maybe"),
        (False, [True]),
        (0, "port"),
        (0, 1.5),
        (0, -1),
        (5.0, "soon"),
        (5.0, float("inf")),
        (5.0, float("nan")),
        (5.0, -3),
        (5.0, True),
        ("", ["a"]),
        ([], [["nested"]]),
    ],
)
def test_values_that_cannot_be_used(default: object, value: object) -> None:
    with pytest.raises(BadValue):
        convert(default, value)


def test_durations() -> None:
    assert parse_duration("1h2m3s") == 3723.0
    for bad in ("", "5x", "s", "1h 2m"):
        with pytest.raises(BadValue):
            parse_duration(bad)


def test_bad_value_warns_once_naming_key_file_line_and_keeps_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = 'log_level = "info"\n\n[container]\nnetwork = "plant"\npruneimages = "sometimes"\n'
    config = load(tmp_path, text)
    assert config.get("container.pruneimages") is True
    load(tmp_path, text)  # a second reading in the same process: no second warning
    err = capsys.readouterr().err.splitlines()
    path = tmp_path / "plugins" / "tedge-container-plugin.toml"
    assert err == [
        f'warning: {path}:5: container.pruneimages = "sometimes" is not valid (expected true or false); '
        "the default (true) is used."
    ]


def test_unknown_key_names_file_line_and_closest_key(tmp_path: Path) -> None:
    # Go ignores unknown keys silently: a typo silently keeps the default.
    config = load(tmp_path, "[container]\nalways_pull = true\n\n[filters.exclude]\nnames = ['x']\n")
    path = tmp_path / "plugins" / "tedge-container-plugin.toml"
    assert config.problems == [
        f"{path}:2: unknown key container.always_pull is ignored; did you mean container.alwayspull?",
        f"{path}:5: unknown key filters.exclude.names is ignored; did you mean filter.exclude.names?",
    ]
    assert config.get("container.alwayspull") is False


def test_keys_only_the_go_plugin_reads_are_accepted(tmp_path: Path) -> None:
    shipped_by_go = (
        'service_name = "tedge-container-plugin"\ndelete_legacy = true\n'
        'data_dir = ["/data/tedge-container-plugin"]\n'
        '[metrics]\nenabled = true\ninterval = "300s"\n'
        "[client]\nkey = 'k'\n  [client.http]\n  port = 8000\n"
        "[delete_from_cloud]\norphans_interval = '1h'\n"
    )
    assert load(tmp_path, shipped_by_go).problems == []


def test_bad_log_level_warns_and_uses_info(tmp_path: Path) -> None:
    config = load(tmp_path, 'log_level = "verbose"\n')
    assert config.get("log_level") == "info"
    assert "log_level" in config.problems[0] and "expected one of debug, info" in config.problems[0]
    assert load(tmp_path, 'log_level = "DEBUG"\n').get("log_level") == "debug"


def test_log_level_of_the_file_applies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load(tmp_path, 'log_level = "error"\n[container]\nnetwork = 5.5\n')
    log.warning("hidden")
    assert capsys.readouterr().err == ""


def test_command_line_file_and_log_level(tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text("[container]\nnetwork = 'from-c'\n")
    config_module.set_command_line(str(other), "debug")
    config = load(tmp_path, "[container]\nnetwork = 'default-file'\nlog_level = 'error'\n")
    assert config.get("container.network") == "from-c"
    assert config.get("log_level") == "debug"
    assert config.path == str(other)


def test_command_line_file_that_does_not_exist_fails(tmp_path: Path) -> None:
    config_module.set_command_line(str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"missing.toml \(given with -c/--config\) does not exist"):
        Config.load({"TEDGE_CONFIG_DIR": str(tmp_path)})


def test_broken_toml_still_fails(tmp_path: Path) -> None:
    # Go ignores a file it cannot parse (all defaults); a broken file here is exit 2 naming the line.
    with pytest.raises(ConfigError, match="line 2"):
        load(tmp_path, "[container]\nalwayspull = maybe\n")


def test_every_default_gets_tolerant_parsing(tmp_path: Path) -> None:
    # A new DEFAULTS entry needs nothing else: its type decides the conversion.
    for key, default in DEFAULTS.items():
        if isinstance(default, bool):
            value = "'yes'"
        elif isinstance(default, (int, float)):
            value = "'0x10'" if isinstance(default, int) else "'16s'"
        else:
            continue
        table, _, leaf = key.rpartition(".")
        text = f"[{table.upper()}]\n{leaf.upper()} = {value}\n" if table else f"{leaf.upper()} = {value}\n"
        config = load(tmp_path, text)
        assert config.problems == [], key
        assert config.get(key) in (True, 16, 16.0), key


def test_key_lines_skip_multiline_values() -> None:
    text = (
        "a = 1\n"
        "[t]\n"
        'names = [\n  "x = y",\n]\n'
        'doc = """\nnot = a key\n"""\n'
        "'quoted.key' = 2\n"
        "[[arr]]\n"
        "b.c = 3\n"
        "inline = { x = 1 }\n"
    )
    lines = key_lines(text)
    assert lines["a"] == [1]
    assert lines["t.names"] == [3]
    assert "t.x" not in lines and "t.not" not in lines
    assert lines["t.quoted.key"] == [9]
    assert lines["arr.b.c"] == [11]
    assert lines["arr.inline"] == [12]


def test_a_key_in_two_tables_of_different_case(tmp_path: Path) -> None:
    config = load(tmp_path, "[container]\npruneimages = false\n[CONTAINER]\nPruneImages = true\n")
    assert config.get("container.pruneimages") is True
    path = tmp_path / "plugins" / "tedge-container-plugin.toml"
    assert config.problems == [
        f"{path}:4: container.pruneimages is also set at line 2 (keys ignore letter case); "
        "this later one is used."
    ]
