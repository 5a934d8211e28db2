"""Phone numbers, passwords and the languages of the app, without a database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huoqi.identity.passwords import (
    WeakPassword,
    check_new_password,
    hash_password,
    verify_password,
)
from huoqi.identity.phones import InvalidPhone, mask_phone, parse_phone
from huoqi.web.i18n import CATALOG, ERRORS, Translator, pick_language

TEMPLATES = Path(__file__).parents[2] / "src" / "huoqi" / "web" / "templates"


@pytest.mark.parametrize(
    "written", ["13800138000", "+8613800138000", "86 138 0013 8000", "138-0013-8000"]
)
def test_every_usual_way_of_writing_a_mobile_number_is_stored_the_same(written: str) -> None:
    assert parse_phone(written) == "8613800138000"


@pytest.mark.parametrize(
    "bad", ["", "1380013800", "138001380001", "12800138000", "+4413800138000", "abc", "1380013800x"]
)
def test_anything_but_a_mainland_mobile_number_is_refused(bad: str) -> None:
    with pytest.raises(InvalidPhone):
        parse_phone(bad)


@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z"))
def test_a_masked_number_shows_its_first_three_and_last_four_digits_only(local: str) -> None:
    masked = mask_phone(parse_phone(local))
    assert masked == f"{local[:3]}****{local[-4:]}"
    assert len(masked) == 11 and masked.count("*") == 4


@pytest.mark.parametrize(
    "weak", ["short1", "12345678901", "13800138000", "aaaaaaaaaa", "abababab", "x" * 129]
)
def test_weak_passwords_are_refused(weak: str) -> None:
    with pytest.raises(WeakPassword):
        check_new_password(weak, phone="8613800138000")


def test_a_password_hash_is_argon2id_and_verifies_only_the_right_password() -> None:
    stored = hash_password("walk-in-park-42")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "walk-in-park-42")
    assert not verify_password(stored, "walk-in-park-43")
    assert not verify_password(None, "walk-in-park-42")
    assert not verify_password("not a hash", "walk-in-park-42")


def test_both_languages_have_every_text() -> None:
    assert set(CATALOG["zh"]) == set(CATALOG["en"])
    assert set(ERRORS["zh"]) >= set(ERRORS["en"])


def test_every_text_a_template_asks_for_exists() -> None:
    used = set()
    for template in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*'([a-z0-9_.]+)'""", template.read_text()))
    dynamic = {key for key in used if key.endswith(".")}
    missing = sorted(key for key in used - dynamic if key not in CATALOG["en"])
    assert used, "no t('...') calls found: the pattern is out of date"
    assert missing == []


@pytest.mark.parametrize(
    ("cookie", "header", "chosen"),
    [
        ("en", "zh-CN,zh;q=0.9", "en"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "zh-TW", "zh"),
        (None, "fr-FR", "zh"),
        ("xx", None, "zh"),
    ],
)
def test_the_language_comes_from_the_cookie_then_the_browser(
    cookie: str | None, header: str | None, chosen: str
) -> None:
    assert pick_language(cookie, header) == chosen


def test_a_translation_fills_in_its_values() -> None:
    assert Translator("en")("order.title", id=7) == "Order 7"
    assert Translator("zh")("order.title", id=7) == "订单 7"
