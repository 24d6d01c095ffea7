"""RE2 patterns on Python's `re`: what translates, and what RE2 (Go's regexp) rejects.

Expectations follow the RE2 syntax reference (github.com/google/re2/wiki/Syntax),
which Go's regexp implements: a pattern Go rejects is skipped by the Go plugin.
"""

from __future__ import annotations

import warnings

import pytest

from tedge_container.re2_patterns import PatternError, compile_re2


@pytest.mark.parametrize(
    ("pattern", "matches", "does_not_match"),
    [
        (r"dd-m1\z", "dd-m1", "dd-m1x"),
        (r"\Aweb", "web-1", "a-web"),
        (r"^[[:digit:]]+$", "123", "12a"),
        (r"^[[:alpha:][:digit:]_]+$", "a_1", "a-1"),
        (r"^[[:^digit:]]+$", "abc", "a1"),
        (r"[[:punct:]]", "a.b", "ab"),
        (r"^\Qa.b*\E$", "a.b*", "aab"),
        (r"^\Qab\E*$", "abbb", "abab"),  # the quantifier takes the last literal, as in RE2
        (r"(?i)^WEB$", "web", "webs"),
        (r"^x{,2}$", "x{,2}", "xx"),  # RE2: `{,2}` is literal; Python would read {0,2}
        (r"^[a&&b]$", "&", "c"),  # literal in RE2; Python warns about a set operation
        (r"^[[]$", "[", "a"),
        (r"^(?<n>a)b$", "ab", "b"),
        (r"^(?P<n>a)b$", "ab", "b"),
        (r"^\x{41}\x42$", "AB", "ab"),
        (r"^\101$", "A", "a"),  # octal
        (r"^a\s$", "a ", "a\v"),  # RE2's \s has no \v
        (r"^\d+$", "12", "\u0661"),  # ASCII digits only
        (r"^\w+$", "ab_1", "\u00e9"),
        (r"^[a-c-]+$", "a-c", "d"),
        (r"^[]a]+$", "]a", "b"),
        (r"^a|b$", "b", "cb\n"),
        (r"^a.c$", "abc", "a\nc"),
        (r"(?s:a.c)", "a\nc", "ac"),
        (r"^a+?b{2}c{1,3}?$", "abbc", "ab"),
    ],
)
def test_translated(pattern: str, matches: str, does_not_match: str) -> None:
    compiled = compile_re2(pattern)
    assert compiled.search(matches)
    assert not compiled.search(does_not_match)


@pytest.mark.parametrize(
    "pattern",
    [
        "(?=a)",  # lookahead
        "(?<!a)b",  # lookbehind
        "(a)\\1",  # backreference
        "(?P<n>a)(?P=n)",
        "a**",
        "a++",  # possessive in Python 3.11
        "a{2}{3}",
        "*a",
        "a{1001}",
        "a{3,2}",
        "\\Z",
        "\\C",
        "\\e",
        "(?#comment)",
        "(?>atomic)",
        "(unclosed",
        "[unclosed",
        "a\\",
        "[[:nope:]]",
        "(?x)a",
    ],
)
def test_not_re2_is_rejected(pattern: str) -> None:
    with pytest.raises(PatternError):
        compile_re2(pattern)


@pytest.mark.parametrize("pattern", ["\\pL", "\\p{Greek}", "a(?i)b", "(?U)a+", "[a[:^digit:]]"])
def test_untranslatable_is_rejected(pattern: str) -> None:
    with pytest.raises(PatternError, match="cannot be translated"):
        compile_re2(pattern)


def test_no_python_warning_escapes() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for pattern in ("[[a]", "[a||b]", "[a~~b]", "[[:digit:]&&x]"):
            compile_re2(pattern)
        with pytest.raises(PatternError):  # RE2: invalid range a-- ; Python: a FutureWarning
            compile_re2("[a--b]")
