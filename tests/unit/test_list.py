from __future__ import annotations

import pytest

from tedge_container.config import DEFAULTS, Config
from tedge_container.engine import Container
from tedge_container.labels import stands_for
from tedge_container.software.container.list import ContainerFilter, clean, format_modules


def container(name: str, image: str = "docker.io/library/nginx:1", **labels: str) -> Container:
    return Container(id="0" * 64, name=name, image=image, image_id="1" * 64, labels=labels, state="running")


def config(**values: object) -> Config:
    return Config({**DEFAULTS, **values}, "", "/etc/tedge")


def test_version_label_wins_over_image() -> None:
    output = format_modules(
        [
            container("web", "docker.io/acme/web:1.4", **{"io.thin-edge.module.version": "acme/web:1.4"}),
            container("db", "docker.io/library/postgres:16"),
        ],
        ContainerFilter(config()),
    )
    assert output == "db\tdocker.io/library/postgres:16\nweb\tacme/web:1.4\n"


def test_default_exclusions() -> None:
    output = format_modules(
        [
            container("ignored", **{"tedge.ignore": ""}),
            container("compose-web-1", **{"com.docker.compose.project": "shop"}),
            container("buildx_builder0"),
            container("web.tedge-new"),
            container("web.tedge-old"),
            container("web", "docker.io/acme/web:2"),
            container("kept"),
        ],
        ContainerFilter(config()),
    )
    assert output == "kept\tdocker.io/library/nginx:1\nweb\tdocker.io/acme/web:2\n"


MANAGED = {"io.thin-edge.container.managed-by": "tedge-container-plugin"}


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        # killed between the renames: the old container gets its name back at the next install
        ({"web.tedge-old": "acme/web:1", "web.tedge-new": "acme/web:2"}, "web\tacme/web:1\n"),
        ({"web.tedge-old": "acme/web:1"}, "web\tacme/web:1\n"),
        # a first install killed before its only rename: the new container is the module
        ({"web.tedge-new": "acme/web:2"}, "web\tacme/web:2\n"),
        # the swap is done or not begun: the transient containers stand for nothing
        ({"web": "acme/web:2", "web.tedge-old": "acme/web:1"}, "web\tacme/web:2\n"),
        ({"web": "acme/web:1", "web.tedge-new": "acme/web:2"}, "web\tacme/web:1\n"),
    ],
)
def test_a_container_caught_mid_swap_is_listed_as_its_module(present: dict[str, str], expected: str) -> None:
    containers = [
        container(name, **{**MANAGED, "io.thin-edge.module.version": version})
        for name, version in present.items()
    ]
    assert format_modules(containers, ContainerFilter(config())) == expected


def test_a_lone_tedge_new_not_made_by_the_plugin_stands_for_nothing() -> None:
    assert stands_for("web.tedge-new", {}, {"web.tedge-new"}) == ""
    assert stands_for("web.tedge-new", MANAGED, {"web.tedge-new"}) == "web"
    assert stands_for("web.tedge-old", {}, {"web.tedge-old"}) == "web"
    assert stands_for("web", {}, {"web"}) == "web"


def test_filters_apply_to_the_module_a_mid_swap_container_stands_for() -> None:
    accepts = ContainerFilter(config(**{"filter.exclude.names": ["^web$"]}))
    assert format_modules([container("web.tedge-old"), container("db.tedge-old")], accepts) == (
        "db\tdocker.io/library/nginx:1\n"
    )


def test_include_filters_and_label_values() -> None:
    accepts = ContainerFilter(
        config(**{"filter.include.names": ["^app-"], "filter.exclude.labels": ["stage=test"]})
    )
    assert accepts.accepts(container("app-1"))
    assert not accepts.accepts(container("db"))
    assert not accepts.accepts(container("app-2", stage="test"))
    assert accepts.accepts(container("app-3", stage="prod"))


def test_output_is_safe_for_the_agent_csv_parser() -> None:
    assert clean('a"b\tc\nd\x00e\x7f') == "abcde"
    output = format_modules(
        [container("web", **{"io.thin-edge.module.version": 'x"y\tz\u00e9'})], ContainerFilter(config())
    )
    assert output == "web\txyz\u00e9\n"
    output.encode("utf-8")


def test_broken_name_pattern_is_skipped_with_one_warning(capsys: pytest.CaptureFixture[str]) -> None:
    # Go: "Invalid excludeNames regex pattern." is logged and the pattern skipped; list goes on.
    accepts = ContainerFilter(config(**{"filter.exclude.names": ["(unclosed", "^db"]}))
    assert accepts.accepts(container("web"))
    assert not accepts.accepts(container("db"))
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("warning: the default: filter.exclude.names: the pattern '(unclosed' is skipped")


@pytest.mark.parametrize(
    ("pattern", "excluded", "kept"),
    [
        ("dd-m1\\z", "dd-m1", "dd-m10"),  # issue 12: made list exit 2
        ("^[[:digit:]]+$", "123", "a123"),  # POSIX class, no FutureWarning
        ("^web$", "web", "web\n"),  # RE2's $ is the end of the text
        ("^\\Qa.b\\E$", "a.b", "axb"),
        ("^\\d+$", "12", "\u0661\u0662"),  # \\d is ASCII in RE2
    ],
)
def test_name_patterns_are_re2(pattern: str, excluded: str, kept: str) -> None:
    accepts = ContainerFilter(config(**{"filter.exclude.names": [pattern]}))
    assert not accepts.accepts(container(excluded))
    assert accepts.accepts(container(kept))


PLAIN_PATTERNS = ["^buildx", "db$", "^web$", "cache", "^", "$", "^$", "", "a-b_c", "-", "^_x$"]
NAMES = ["", "buildx", "buildx_0", "a-buildx", "db", "my-db", "db-1", "web", "web\n", "webs", "-", "a-b_c-d"]


@pytest.mark.parametrize("pattern", PLAIN_PATTERNS)
def test_plain_patterns_match_as_their_re2_translation(pattern: str) -> None:
    from tedge_container.re2_patterns import compile_re2
    from tedge_container.software.container.list import PlainPattern

    plain = PlainPattern.of(pattern)
    assert plain is not None
    compiled = compile_re2(pattern)
    for name in NAMES:
        assert bool(plain.search(name)) == bool(compiled.search(name)), name


@pytest.mark.parametrize("pattern", ["^a.b", "a*", "^^a", "a$$", "a$b", "\\Qa\\E", "(?i)web", "é", "a b"])
def test_patterns_with_any_other_character_go_to_re(pattern: str) -> None:
    from tedge_container.software.container.list import PlainPattern

    assert PlainPattern.of(pattern) is None


def test_clean_removes_what_the_pattern_did() -> None:
    import re

    unsafe = re.compile(r'["\x00-\x1f\x7f]')  # what clean() removed before it used str.translate
    for text in ['a"b', "\t\n\x00\x1f\x7f\x80", "é\u2028\ud800x", "plain"]:
        assert clean(text) == unsafe.sub("", text.encode("utf-8", "replace").decode("utf-8"))


def test_is_name_is_the_name_pattern() -> None:
    import re

    from tedge_container.labels import is_name

    name_re = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")  # what check_name matched before
    for name in ["", "a", "0", "a.b-c_d", "-a", ".a", "_a", "a b", "a\n", "é", "a/b", "A9", "a\u0661"]:
        assert is_name(name) == bool(name_re.match(name)), name
