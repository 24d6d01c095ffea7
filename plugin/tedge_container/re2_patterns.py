"""RE2 filter patterns (the Go plugin's `filter.*.names`) on Python's `re`.

No maintained pure-Python RE2 exists (purere2 0.1, alpha: no `\\pL`, no
`\\Q…\\E`, ~17 ms to import on every `list`), so patterns are translated:
- what RE2 has and `re` spells differently: `\\z`, POSIX classes
  (`[[:digit:]]`), `\\Q…\\E`, `\\x{…}`, `(?<name>…)`, ASCII-only `\\d \\w \\s \\b`,
  `$` as the end of the text, `{` that is no repetition as a literal;
- what RE2 rejects but `re` would accept is rejected too (lookaround,
  backreferences, possessive and nested repetitions, `\\Z`, ...), so a pattern
  the Go plugin skipped is skipped here as well;
- what cannot be translated (`\\pL` classes, flags in the middle of a
  pattern, `(?U)`) is rejected with the reason.
Python's warnings (FutureWarning for `[[`, ...) are turned into rejections:
none ever reaches stderr.
"""

from __future__ import annotations

import re
import warnings


class PatternError(ValueError):
    """The pattern is not RE2, or cannot be translated; str() says why."""


_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_RE2_SPACE = "\\t\\n\\f\\r "  # RE2's \s: no \v, unlike Python's
_SIMPLE_ESCAPES = {"a": "\\a", "f": "\\f", "t": "\\t", "n": "\\n", "r": "\\r", "v": "\\v"}
_PERL_CLASSES = {"d": "\\d", "D": "\\D", "w": "\\w", "W": "\\W"}
# Pattern texts, compiled by `re`'s cache on first use: `list` pays only for what a filter needs.
_REPEAT = r"\{(\d+)(,(\d*))?\}"
_MAX_REPEAT = 1000
_OCTAL = r"[0-7]{1,3}"


def _char(code: int) -> str:
    """A character as a Python pattern escape that no context misreads."""
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _literal(char: str) -> str:
    return char if char.isalnum() and char.isascii() else _char(ord(char))


class _Translator:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.i = 0
        self.out: list[str] = []
        self.multiline = False
        self.can_repeat = False  # something a quantifier may follow
        self.repeated = False  # the last token was a quantifier

    def fail(self, reason: str) -> PatternError:
        return PatternError(reason)

    def peek(self, text: str) -> bool:
        return self.pattern.startswith(text, self.i)

    def translate(self) -> str:
        p = self.pattern
        while self.i < len(p):
            char = p[self.i]
            if char in "*+?{":
                self.quantifier(char)
                continue
            self.repeated = False
            if char == "\\":
                self.escape()
            elif char == "[":
                self.out.append(self.char_class())
                self.can_repeat = True
            elif char == "(":
                self.group()
            elif char == "$":
                self.out.append("$" if self.multiline else "\\Z")
                self.i += 1
                self.can_repeat = True
            else:
                self.out.append(char if char in ".|)^" else _literal(char))
                self.i += 1
                self.can_repeat = char not in "|^"
        return "".join(self.out)

    def quantifier(self, char: str) -> None:
        p = self.pattern
        if char == "{":
            repeat = re.compile(_REPEAT).match(p, self.i)
            if repeat is None:  # RE2 reads a `{` that starts no repetition as a literal
                self.out.append("\\{")
                self.i += 1
                self.can_repeat, self.repeated = True, False
                return
            low, high = int(repeat.group(1)), repeat.group(3)
            if low > _MAX_REPEAT or (high and int(high) > _MAX_REPEAT) or (high and int(high) < low):
                raise self.fail(f"bad repetition {repeat.group(0)}")
            token, end = repeat.group(0), repeat.end()
        else:
            token, end = char, self.i + 1
        if self.repeated:
            raise self.fail(f"nested repetition {token}")
        if not self.can_repeat:
            raise self.fail(f"missing argument to repetition {token}")
        if end < len(p) and p[end] == "?":  # non-greedy: the same in both
            token, end = token + "?", end + 1
        self.out.append(token)
        self.i = end
        self.repeated = True

    def escape(self) -> None:
        p = self.pattern
        if self.i + 1 >= len(p):
            raise self.fail("trailing backslash")
        char = p[self.i + 1]
        self.i += 2
        self.can_repeat = True
        if char == "z":
            self.out.append("\\Z")
            self.can_repeat = False
        elif char == "A":
            self.out.append("\\A")
            self.can_repeat = False
        elif char in "bB":
            self.out.append("\\" + char)
            self.can_repeat = False
        elif char == "Q":
            end = p.find("\\E", self.i)
            text = p[self.i :] if end < 0 else p[self.i : end]
            self.i = len(p) if end < 0 else end + 2
            self.out.append("".join(_literal(c) for c in text))  # a quantifier after it takes the last one
            self.can_repeat = bool(text)
        elif char == "s":
            self.out.append(f"[{_RE2_SPACE}]")
        elif char == "S":
            self.out.append(f"[^{_RE2_SPACE}]")
        elif char in _PERL_CLASSES:
            self.out.append(_PERL_CLASSES[char])
        else:
            self.out.append(self.escaped_char(char))

    def escaped_char(self, char: str) -> str:
        """The escape `\\<char>…` (the backslash and char consumed) as a Python escape of one character."""
        p = self.pattern
        if char in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[char]
        if char == "x":
            if self.peek("{"):
                end = p.find("}", self.i)
                digits = p[self.i + 1 : end] if end > 0 else ""
                if not re.fullmatch(r"[0-9A-Fa-f]{1,6}", digits) or int(digits, 16) > 0x10FFFF:
                    raise self.fail("invalid escape \\x{...}")
                self.i = end + 1
                return _char(int(digits, 16))
            digits = p[self.i : self.i + 2]
            if not re.fullmatch(r"[0-9A-Fa-f]{2}", digits):
                raise self.fail("invalid escape \\x")
            self.i += 2
            return _char(int(digits, 16))
        if char.isdigit():
            octal = re.compile(_OCTAL).match(p, self.i - 1)
            # RE2: \0, and \1 to \7 followed by octal digits, are octal; a lone \1 to \9 is a backreference.
            if octal is None or (char != "0" and len(octal.group(0)) == 1):
                raise self.fail(f"backreferences such as \\{char} are not supported by RE2")
            self.i = octal.end()
            return _char(int(octal.group(0), 8))
        if char.isascii() and not char.isalnum():
            return _literal(char)
        if char in "pP":
            raise self.fail(f"Unicode classes \\{char}… cannot be translated")
        raise self.fail(f"invalid escape \\{char}")

    def group(self) -> None:
        p = self.pattern
        self.can_repeat = False
        if not self.peek("(?"):
            self.out.append("(")
            self.i += 1
            return
        for prefix in ("(?P<", "(?<"):
            if self.peek(prefix) and not self.peek("(?<=") and not self.peek("(?<!"):
                end = p.find(">", self.i)
                name = p[self.i + len(prefix) : end] if end > 0 else ""
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                    raise self.fail("invalid named capture")
                self.out.append(f"(?P<{name}>")
                self.i = end + 1
                return
        flags = re.match(r"\(\?([A-Za-z]*)(?:-([A-Za-z]*))?([:)])", p[self.i :])
        if flags is None:
            raise self.fail(f"{p[self.i : self.i + 4]}… (lookaround, comments, ...) is not supported by RE2")
        on, off, end = flags.group(1), flags.group(2) or "", flags.group(3)
        if any(flag not in "imsU" for flag in on + off):
            raise self.fail(f"invalid flags in {flags.group(0)}")
        if "U" in on + off:
            raise self.fail("the ungreedy flag U cannot be translated")
        if end == ")":
            if self.i != 0 or off:
                raise self.fail("flags in the middle of a pattern cannot be translated; put them first")
            self.multiline = "m" in on
            self.out.append(f"(?{on})" if on else "")
        else:
            self.out.append(flags.group(0))
        self.i += len(flags.group(0))

    def char_class(self) -> str:
        p = self.pattern
        self.i += 1
        negated = self.peek("^")
        if negated:
            self.i += 1
        items: list[str] = []
        first = True
        while True:
            if self.i >= len(p):
                raise self.fail("missing closing ]")
            char = p[self.i]
            if char == "]" and not first:
                self.i += 1
                break
            first = False
            posix = re.match(r"\[:(\^?)([a-z]+):\]", p[self.i :])
            if posix:
                ranges = _POSIX.get(posix.group(2))
                if ranges is None:
                    raise self.fail(f"invalid character class {posix.group(0)}")
                self.i += len(posix.group(0))
                if posix.group(1):  # [[:^digit:]]: only translatable when it is the whole class
                    if items or not self.peek("]"):
                        raise self.fail(f"{posix.group(0)} inside a larger class cannot be translated")
                    negated = not negated
                items.append(ranges)
                continue
            low = self.class_char()
            if self.peek("-") and self.i + 1 < len(p) and p[self.i + 1] != "]":
                self.i += 1
                high = self.class_char()
                items.append(f"{low}-{high}")
            else:
                items.append(low)
        return "[" + ("^" if negated else "") + "".join(items) + "]"

    def class_char(self) -> str:
        p = self.pattern
        char = p[self.i]
        self.i += 1
        if char != "\\":
            return _literal(char)
        if self.i >= len(p):
            raise self.fail("trailing backslash")
        escaped = p[self.i]
        self.i += 1
        if escaped == "s":
            return _RE2_SPACE
        if escaped in _PERL_CLASSES or escaped == "S":
            return "\\" + escaped
        return self.escaped_char(escaped)


def translate(pattern: str) -> str:
    """The Python `re` pattern (for re.ASCII) that matches what RE2 `pattern` matches."""
    return _Translator(pattern).translate()


def compile_re2(pattern: str) -> re.Pattern[str]:
    """Compile an RE2 pattern; PatternError when it is not RE2 or cannot be translated."""
    translated = translate(pattern)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a FutureWarning or DeprecationWarning is a rejection, never output
        try:
            return re.compile(translated, re.ASCII)
        except (re.error, Warning, RecursionError, OverflowError) as error:
            raise PatternError(str(error)) from None
