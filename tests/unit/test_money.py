"""Amounts are exact integers of minor units; text is parsed without floats."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huoqi.money import MAX_AMOUNT, InvalidAmount, check_amount, format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "minor"),
    [("12.34", 1234), ("0.01", 1), ("1", 100), ("1.5", 150), ("1.50", 150), (" 7.00 ", 700)],
)
def test_parses_yuan_into_fen(text: str, minor: int) -> None:
    assert parse_amount(text) == minor


def test_parses_other_scales() -> None:
    assert parse_amount("3", scale=0) == 3
    assert parse_amount("0.0001", scale=4) == 1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0", "zero"),
        ("0.00", "zero"),
        ("-1.00", "not an amount"),
        ("+1.00", "not an amount"),
        ("1.001", "fraction of a fen"),
        ("1e3", "not an amount"),
        ("1,000.00", "not an amount"),
        ("", "not an amount"),
        ("abc", "not an amount"),
        ("NaN", "not an amount"),
        ("100000000000000.00", "above the limit"),
    ],
)
def test_refuses_bad_text_with_a_clear_reason(text: str, fragment: str) -> None:
    with pytest.raises(InvalidAmount, match=fragment):
        parse_amount(text)


def test_zero_allowed_only_when_asked() -> None:
    assert parse_amount("0", allow_zero=True) == 0


@pytest.mark.parametrize("value", [1.5, True, "12", None, -1, 0, MAX_AMOUNT + 1, 2**63])
def test_check_amount_refuses_non_integers_and_out_of_range(value: object) -> None:
    with pytest.raises(InvalidAmount):
        check_amount(value)


@given(st.integers(min_value=1, max_value=MAX_AMOUNT))
def test_format_then_parse_is_identity(minor: int) -> None:
    assert parse_amount(format_amount(minor)) == minor


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(0, 6))
def test_format_shows_every_minor_unit(minor: int, scale: int) -> None:
    shown = format_amount(minor, scale=scale)
    digits = shown.lstrip("-").replace(".", "")
    assert int(digits) == abs(minor)
    assert shown.startswith("-") == (minor < 0)
