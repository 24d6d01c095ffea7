"""The engine adapter's own percent-encoding is urllib.parse.quote's (without its import cost)."""

from __future__ import annotations

from urllib.parse import quote as urllib_quote

from hypothesis import given
from hypothesis import strategies as st

from tedge_container.engine.connection import quote, quoted


@given(st.text(), st.sampled_from(["", "/", "/:@"]))
def test_quote_is_urllib_quote(text: str, safe: str) -> None:
    assert quote(text, safe=safe) == urllib_quote(text, safe=safe)


def test_a_reference_keeps_its_slashes_and_colons() -> None:
    assert quoted("127.0.0.1:5000/acme/web:1.4") == "127.0.0.1:5000/acme/web:1.4"
    assert quoted("web?x=1 #2") == "web%3Fx%3D1%20%232"
    assert quote("café") == "caf%C3%A9"
