"""The pure rules of payments: the fee and what refunds give back, signatures, retries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huoqi.payments.fees import fee_for, fee_returned, round_half_up_division
from huoqi.payments.outbox import LONGEST_WAIT, retry_delay
from huoqi.payments.signing import (
    SignatureRefused,
    StaleTimestamp,
    check_signature,
    derive_secret,
    read_headers,
    signed_headers,
)

amounts = st.integers(min_value=1, max_value=10**12)
rates = st.integers(min_value=0, max_value=1000)


def test_the_fee_is_rounded_half_up_to_the_fen() -> None:
    assert fee_for(12_345, 60) == 74  # 74.07
    assert fee_for(250, 60) == 2  # 1.5 → 2
    assert fee_for(249, 60) == 1  # 1.494 → 1
    assert fee_for(100, 0) == 0
    assert round_half_up_division(5, 10) == 1 and round_half_up_division(4, 10) == 0


@given(amounts, rates)
def test_the_fee_never_exceeds_the_payment(amount: int, rate: int) -> None:
    fee = fee_for(amount, rate)
    assert 0 <= fee <= amount
    assert abs(fee * 10_000 - amount * rate) <= 5_000  # within half a fen


@given(amounts, rates, st.lists(st.integers(min_value=1, max_value=10**12), max_size=12))
def test_refunds_give_back_exactly_the_fee_of_what_is_no_longer_paid(
    amount: int, rate: int, asked: list[int]
) -> None:
    refunded, returned = 0, 0
    for want in asked:
        refund = min(want, amount - refunded)
        if refund == 0:
            break
        back = fee_returned(paid=amount, refunded_before=refunded, refund=refund, fee_rate_bp=rate)
        assert back >= 0
        refunded += refund
        returned += back
    assert returned == fee_for(amount, rate) - fee_for(amount - refunded, rate)
    assert returned <= fee_for(amount, rate)
    if refunded == amount:
        assert returned == fee_for(amount, rate)


SECRET = derive_secret(b"test master key", "M00000001", 1)
REQUEST = {"method": "POST", "path": "/gateway/v1/orders", "query": "a=1",
           "timestamp": 1_764_000_000, "nonce": "n" * 20, "body": b'{"amount":"1.00"}'}  # fmt: skip


def _check(headers: dict[str, str], **changed: object) -> None:
    request = {**REQUEST, **changed}
    check_signature(
        read_headers({k.lower(): v for k, v in headers.items()}), SECRET,
        method=str(request["method"]), path=str(request["path"]), query=str(request["query"]),
        body=request["body"], now=int(request.get("now", REQUEST["timestamp"])),  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_signed_request_checks_and_each_part_is_covered() -> None:
    headers = signed_headers(SECRET, merchant="M00000001", **REQUEST)  # type: ignore[arg-type]
    _check(headers)
    for part, other in (("method", "GET"), ("path", "/gateway/v1/orderz"), ("query", "a=2"),
                        ("body", b'{"amount":"9.00"}')):  # fmt: skip
        with pytest.raises(SignatureRefused):
            _check(headers, **{part: other})
    with pytest.raises(StaleTimestamp):
        _check(headers, now=REQUEST["timestamp"] + 301)  # type: ignore[operator]
    _check(headers, now=REQUEST["timestamp"] - 300)  # type: ignore[operator]
    other_key = derive_secret(b"test master key", "M00000001", 2)
    assert other_key != SECRET


@given(st.binary(max_size=200), st.integers(min_value=0, max_value=199), st.integers(1, 255))
def test_any_changed_byte_of_the_body_is_refused(body: bytes, at: int, flip: int) -> None:
    headers = signed_headers(SECRET, merchant="M00000001", **{**REQUEST, "body": body})  # type: ignore[arg-type]
    _check(headers, body=body)
    if body:
        changed = bytearray(body)
        changed[at % len(body)] ^= flip
        with pytest.raises(SignatureRefused):
            _check(headers, body=bytes(changed))


@given(st.integers(min_value=1, max_value=60))
def test_retries_wait_longer_each_time_up_to_an_hour(attempts: int) -> None:
    first = timedelta(seconds=10)
    assert retry_delay(attempts, first=first) <= LONGEST_WAIT
    assert retry_delay(attempts + 1, first=first) >= retry_delay(attempts, first=first)
    assert retry_delay(1, first=first) == first
