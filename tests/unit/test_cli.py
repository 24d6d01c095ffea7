"""The command line: parsing and exit codes, without an engine (none is reachable here)."""

from __future__ import annotations

import pytest

from tedge_container import __version__
from tedge_container.cli import main
from tedge_container.errors import UsageError
from tedge_container.software.contract import parse_module_args


def test_module_arguments() -> None:
    assert parse_module_args("install", ["web", "--module-version", "nginx:1", "--file", "/tmp/a"]) == (
        "web",
        "nginx:1",
        "/tmp/a",
    )
    assert parse_module_args("remove", ["web"]) == ("web", "", "")
    assert parse_module_args("install", ["web", "--module-version=nginx"]) == ("web", "nginx", "")


@pytest.mark.parametrize(
    "args",
    [[], ["--module-version", "x"], ["web", "--bogus", "1"], ["web", "--file"], ["web", "extra"]],
)
def test_bad_module_arguments(args: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_module_args("install", args)


@pytest.mark.parametrize(
    "argv",
    [
        ["container"],
        ["container", "bogus"],
        ["container", "list", "extra"],
        ["container", "install"],
        ["container", "install", "web"],
        ["container", "remove", "web", "--nope"],
        ["container", "credentials", "nginx"],
    ],
)
def test_usage_errors_exit_1(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.strip(), "a usage error explains itself"
    assert "Traceback" not in err


def test_prepare_and_finalize_succeed_without_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINER_HOST", "unix:///nonexistent/podman.sock")
    assert main(["/etc/tedge/sm-plugins/container", "prepare"]) == 0
    assert main(["/etc/tedge/sm-plugins/container", "finalize"]) == 0


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tedge-container-plugin", "--version"]) == 0
    assert capsys.readouterr().out == f"tedge-container-plugin {__version__}\n"


def test_unreachable_engine_exits_3_naming_socket(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEDGE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("CONTAINER_HOST", "unix:///nonexistent/podman.sock")
    assert main(["container", "list"]) == 3
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "/nonexistent/podman.sock" in last
    assert "systemctl enable --now podman.socket" in last


def test_invalid_version_fails_before_engine(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEDGE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("CONTAINER_HOST", "unix:///nonexistent/podman.sock")
    assert main(["container", "install", "web", "--module-version", "Bad/Name"]) == 2
    assert "not a valid image reference" in capsys.readouterr().err


# -- issue 12 case 7 and issue 11: the Go CLI's options and program name --------------------


@pytest.fixture()
def no_engine(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TEDGE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("CONTAINER_HOST", "unix:///nonexistent/podman.sock")
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        ["container", "--version"],
        ["/etc/tedge/sm-plugins/container", "list", "--version"],
        ["tedge-container", "--version"],
        ["tedge-container-plugin", "-v", "--version"],
    ],
)
def test_version_on_every_entry_point(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # Go: only the root command has --version (`tedge-container --version`); `container --version` exits 1.
    assert main(argv) == 0
    assert capsys.readouterr().out == f"tedge-container-plugin {__version__}\n"


@pytest.mark.parametrize(
    "options",
    [
        ["--log-level", "debug"],
        ["--log-level=DEBUG"],
        ["-v"],
        ["--verbose"],
        ["--log-level", "error", "-v"],
    ],
)
def test_log_level_options_are_accepted_anywhere(
    options: list[str], no_engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # Go: `--log-level` is a persistent flag of every command; ours called it a usage error (exit 1).
    for argv in (["container", *options, "list"], ["container", "list", *options]):
        assert main(argv) == 3  # reached the (missing) engine: the options were accepted
        err = capsys.readouterr().err
        assert "debug: " in err, "debug lines are shown"


def test_config_option_reads_that_file(no_engine, capsys: pytest.CaptureFixture[str]) -> None:
    other = no_engine / "elsewhere.toml"
    other.write_text('[container]\nhost = "unix:///from/the/c/option.sock"\n')
    for argv in (
        ["container", "-c", str(other), "list"],
        ["container", "list", f"--config={other}"],
        ["tedge-container", "--config", str(other), "container", "list"],
        ["container", f"-c{other}", "list"],
    ):
        # CONTAINER_HOST of the environment loses against container.host of the file
        assert main(argv) == 3
        assert "/from/the/c/option.sock" in capsys.readouterr().err.splitlines()[-1]


def test_config_option_with_a_missing_file_fails(no_engine, capsys: pytest.CaptureFixture[str]) -> None:
    # Go silently falls back to the default file; a file named on purpose that is missing is an error here.
    assert main(["container", "-c", str(no_engine / "nope.toml"), "list"]) == 2
    assert capsys.readouterr().err.strip().endswith("nope.toml (given with -c/--config) does not exist.")


@pytest.mark.parametrize(
    "argv",
    [
        ["container", "--log-level", "trace", "list"],
        ["container", "list", "--log-level"],
        ["container", "-c"],
    ],
)
def test_bad_global_options_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(("--log-level", "-c"))


def test_option_values_of_commands_are_not_taken_as_global_options() -> None:
    from tedge_container import global_options

    options, rest = global_options.split(["install", "web", "--file", "-v", "--module-version", "-c", "-v"])
    assert rest == ["install", "web", "--file", "-v", "--module-version", "-c"]
    assert options.verbose and not options.config_file


def test_tedge_container_accepts_the_go_forms(no_engine, capsys: pytest.CaptureFixture[str]) -> None:
    # Go: `tedge-container container list`; the engine is missing here, so list exits 3 naming it.
    assert main(["/usr/bin/tedge-container", "container", "list"]) == 3
    assert "/nonexistent/podman.sock" in capsys.readouterr().err
    assert main(["tedge-container", "container", "prepare"]) == 0
    assert main(["tedge-container-plugin", "container", "finalize"]) == 0
    assert main(["tedge-container", "container", "--help"]) == 0
    assert "tedge-container container install NAME" in capsys.readouterr().out
    assert main(["tedge-container", "container"]) == 1
    assert "give an sm-plugin command" in capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize(
    ("command", "replacement"),
    [
        ("run", "tedge-container-plugin monitor"),
        ("tools", "podman"),
        ("init", "/etc/tedge/plugins/tedge-container-plugin.toml"),
        ("engine", "podman"),
        ("self", "package manager"),
        ("container-logs", "podman logs"),
        ("completion", "completion"),
    ],
)
def test_go_only_commands_say_what_replaces_them(
    command: str, replacement: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tedge-container", command, "--some-go-flag"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"`tedge-container {command}` is a command of the Go plugin")
    assert replacement in err[0]


def test_go_types_not_provided_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    from tedge_container.software import TYPES

    for type_name in ("container-group", "container-image"):
        if type_name in TYPES:  # provided: dispatched like `container`
            continue
        assert main(["tedge-container", type_name, "list"]) == 1
        assert "not managed by this plugin version" in capsys.readouterr().err


def test_go_log_plugins_form_names_the_log_plugins(capsys: pytest.CaptureFixture[str]) -> None:
    for args in ([], ["journald", "list"]):
        assert main(["tedge-container", "log-plugins", *args]) == 1
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert last == (
            "tedge-container log-plugins: give a log plugin (container or container-group), "
            "e.g. `tedge-container log-plugins container list`."
        )
