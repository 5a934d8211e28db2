"""Card payments to merchants, card refunds and settlement payouts on the bank statement."""

from __future__ import annotations

from datetime import date

import pytest
from fund_story import at
from payments_story import shop
from sqlalchemy import Engine

from huoqi.db.engine import make_engine, run_in_write_transaction
from huoqi.money import format_amount
from huoqi.payments import paying, settlement
from huoqi.reconcile import service
from huoqi.reconcile.formats import Source, parse
from huoqi.reconcile.inject import Injection


@pytest.fixture
def engine(db_url: str) -> Engine:
    return make_engine(db_url)


def test_card_payment_refund_and_settlement_are_on_the_statement(engine: Engine) -> None:
    s = shop(engine, ["ann"], 200_000)  # the close of the 3rd ran at 01:00 on the 4th
    started = s.pay("ann", s.order("C-1", 88_800).order_no, "card")
    reference = started.bank_reference
    assert reference is not None
    run_in_write_transaction(
        engine,
        lambda c: paying.card_answer(
            c, reference=reference, succeeded=True, amount=88_800, now=s.now
        ),
    )
    refund, _new = s.refund("C-1", "CR-1", 800)
    s.pay("ann", s.order("B-1", 5_000).order_no)  # from the balance: not the bank's business
    s.story.clock.now = at(5, 2)
    made = run_in_write_transaction(
        engine, lambda c: settlement.settle(c, s.merchant, date(2026, 11, 4), now=s.now)
    )
    assert made is not None

    text, _ = service.make_file(engine, Source.BANK, date(2026, 11, 4))
    lines = {(line.reference, line.kind, line.amount) for line in parse(Source.BANK, text.encode())}
    assert lines == {
        ("SUB-MMF1-20261104", "out", 200_000),  # the purchases paid to the fund
        (reference, "in", 88_800),
        (refund.refund_no, "out", 800),
    }
    run = service.import_file(engine, "bank", file_name="b.csv", data=text.encode(), now=at(5, 9))
    assert run.clean and run.summary["matched"]["items"] == 3

    text, _ = service.make_file(engine, Source.BANK, date(2026, 11, 5))
    assert text.splitlines()[1:] == [f"2026-11-05,DR,{format_amount(made.net)},ST{made.id},"]
    text, done = service.make_file(
        engine, Source.BANK, date(2026, 11, 4), injections=[Injection.WRONG_AMOUNT], seed=1
    )
    run = service.import_file(engine, "bank", file_name="w.csv", data=text.encode(), now=at(5, 9))
    (mismatch,) = [g for g in run.groups or [] if g["outcome"] == "mismatched"]
    assert mismatch["items"][0]["reference"] == done[0].reference
