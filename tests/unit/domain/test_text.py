"""Text every database can store: no NUL character, no lone surrogate."""

from __future__ import annotations

import pytest

from phasegate.domain.text import storable, unstorable_reason


@pytest.mark.parametrize("text", ["", "AS1-0001", "Jürgen Müller", "温度 °C", "😀 ok"])
def test_unicode_text_is_storable(text: str) -> None:
    assert storable(text)
    assert unstorable_reason(text) is None


@pytest.mark.parametrize(
    ("text", "word"), [("a\x00b", "NUL"), ("\ud800", "surrogate"), ("ok \udfff", "surrogate")]
)
def test_nul_and_lone_surrogates_are_refused_with_a_reason(text: str, word: str) -> None:
    assert not storable(text)
    reason = unstorable_reason(text)
    assert reason is not None and word in reason
