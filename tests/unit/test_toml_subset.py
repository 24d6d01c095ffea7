"""toml_subset: plain files read as tomllib reads them; anything else is left to tomllib."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tedge_container._compat import tomllib
from tedge_container.config.toml_lines import parse_toml
from tedge_container.config.toml_subset import parse

SHIPPED = Path(__file__).resolve().parents[2] / "packaging" / "tedge-container-plugin.toml"


def tomllib_or_none(text: str) -> str | None:
    """repr() of tomllib's table (types count: 1, 1.0 and True differ), or None when it refuses."""
    try:
        return repr(tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        return None


def test_the_shipped_file_is_plain() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    assert repr(parse(text)) == repr(tomllib.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n\n   \n",
        "a = \"x\"\nb = 'y\\z'\nc = true\nd = false\n",
        "n = 0\nm = -0\np = +12\nf = 0.25\ng = -1.5e3\nh = 1E+05\ni = 2e-2\n",
        'list = []\nl2 = [ ]\nl3 = [1, 2.5, \'a\', "b", true,]\nl4=["^buildx"]  # c\n',
        "[container]\nhost = 'unix:///run/podman/podman.sock'\n[Container]\nHost = \"x\"\n",
        "[ filter . include ]\nnames = []\n[filter.exclude]\nnames = ['a']\n[filter]\nx = 1\n",
        '\t  key\t=\t"v # not a comment"\t# a comment with é and ]\n',
        "a = 1#c\nb = true#c\nc = 'x'#c\n[t]#c\n",
        'unicode = "é \u2028 \u00a0 tab\tin"\n',
        "-key_1 = 1\n123 = 2\n",
    ],
)
def test_plain_files_read_as_tomllib_reads_them(text: str) -> None:
    table = parse(text)
    assert table is not None
    assert repr(table) == tomllib_or_none(text)


@pytest.mark.parametrize(
    "text",
    [
        # Valid TOML outside the subset: tomllib reads it.
        'a = "tab\\tescape"',
        'a = """multi\nline"""',
        "a = '''x'''",
        "a = [\n  1,\n]",
        "a = [[1], [2]]",
        "a = {b = 1}",
        "a.b = 1",
        '"quoted" = 1',
        "[[array]]\nx = 1",
        '["quoted table"]',
        "a = 1_000",
        "a = 0x1f",
        "a = inf",
        "a = nan",
        "a = 1979-05-27",
        "a = 07:32:00",
        "a = 1\r\nb = 2\r\n",
        # Not TOML: tomllib's error.
        "a = 1\na = 2",
        "[a]\n[a]",
        "[a.b]\n[a]\nb = 1",
        "a = 1\n[a]",
        "[a]\nb = 1\n[a.b]",
        "a = 01",
        "a = 1.",
        "a = .5",
        "a = 1e",
        "a = +",
        "a = ",
        "a",
        "= 1",
        "a = 1 2",
        "a = truex",
        "a = [1 2]",
        "a = [,]",
        "a = [1,,]",
        "a = [1",
        "a = 'x",
        'a = "x',
        "[a",
        "[a]]",
        "[]",
        "[a.]",
        "[a] x",
        "a b = 1",
        "a = 1\x00",
        "# \x7f",
        "a = 1\rb = 2",
        "\ufeffa = 1",
        "\u00a0a = 1",
    ],
)
def test_anything_else_is_left_to_tomllib(text: str) -> None:
    assert parse(text) is None


def test_parse_toml_errors_are_still_tomllib_errors() -> None:
    from tedge_container.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^f.toml is not valid TOML \(.*line 2"):
        parse_toml("a = 1\na = 2\n", "f.toml")
    assert parse_toml("a = [\n 1,\n]\n", "f.toml") == {"a": [1]}


# Pieces of lines, right and wrong, put together at random: whatever `parse` accepts, tomllib
# must read the same.
_KEYS = ["a", "b", "A", "key_1", "-x", "a.b", '"q"', "a b", "", "é"]
_VALUES = [
    '"s"', "'l'", '""', "''", '"a\\"b"', "'a\"b'", '"#"', "true", "false", "True", "0", "-0", "+7", "007",
    "1.5", "-0.0", "1e3", "1E-2", "1.", ".5", "1_0", "0x10", "inf", "1979-05-27", "[]", "[1, 'a',]",
    "[ [1] ]", "[1 2]", "{}", '"""x"""', "[", "]", ",", "#",
]  # fmt: skip
_SPACES = ["", " ", "\t", "  "]
_ENDS = ["", " # c", "#c", " x", "]", ","]


def _random_line(rng: random.Random) -> str:
    pad = lambda: rng.choice(_SPACES)  # noqa: E731
    kind = rng.random()
    if kind < 0.2:
        path = ".".join(pad() + rng.choice(_KEYS) + pad() for _ in range(rng.randint(1, 3)))
        return f"{pad()}[{path}]{rng.choice(_ENDS) if rng.random() < 0.3 else ''}"
    if kind < 0.25:
        return rng.choice(["", "# comment", "   ", "[[t]]", "\r", "a = 1\r"])
    end = rng.choice(_ENDS) if rng.random() < 0.3 else ""
    return f"{pad()}{rng.choice(_KEYS)}{pad()}={pad()}{rng.choice(_VALUES)}{pad()}{end}"


def test_random_files_read_as_tomllib_reads_them_or_are_left_to_it() -> None:
    rng = random.Random(12)
    accepted = 0
    for _ in range(20000):
        text = "\n".join(_random_line(rng) for _ in range(rng.randint(1, 6)))
        table = parse(text)
        if table is not None:
            accepted += 1
            assert repr(table) == tomllib_or_none(text), text
    assert accepted > 1000  # the pieces do make plain files, so the comparison above means something


def test_damaged_copies_of_the_shipped_file_read_as_tomllib_reads_them_or_are_left_to_it() -> None:
    rng = random.Random(7)
    shipped = SHIPPED.read_text(encoding="utf-8")
    pieces = list(" \t\n\r#[]=.,\"'\\aAZ09_-+eé{}")
    for _ in range(300):
        chars = list(shipped)
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(chars))
            change = rng.random()
            if change < 0.3:
                del chars[position]
            elif change < 0.6:
                chars.insert(position, rng.choice(pieces))
            else:
                chars[position] = rng.choice(pieces)
        text = "".join(chars)
        table = parse(text)
        if table is not None:
            assert repr(table) == tomllib_or_none(text), text
