"""Paying from the balance and by card, refunds and settlement, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta

import pytest
from fund_story import at, state
from payments_story import OPERATOR, Shop, balance, shop
from sqlalchemy import Engine, text

from huoqi.db.engine import read_transaction
from huoqi.errors import HuoqiError
from huoqi.fund.registry import holding_account_code
from huoqi.ledger.service import Ledger
from huoqi.payments import orders as payment_orders
from huoqi.payments import paying, settlement
from huoqi.payments.fees import fee_for
from huoqi.payments.orders import OrderConflict, OrderNotPayable
from huoqi.payments.paying import BalanceShort, PaymentLimitReached
from huoqi.payments.refunds import OrderNotPaid, RefundConflict, RefundExceedsPayment

PAYABLE = "merchant:M00000001:payable"


def every_table(engine: Engine) -> dict[str, object]:
    snapshot = state(engine)
    with engine.connect() as connection:
        for table in ("payment_orders", "payment_refunds", "merchant_notifications",
                      "payment_usage", "merchant_settlements", "audit_log"):  # fmt: skip
            snapshot[table] = sorted(
                map(tuple, connection.execute(text(f"SELECT * FROM {table}")).all()), key=str
            )
    return snapshot


def shares(s: Shop, name: str) -> int:
    holder = s.payer(name).holder.id
    return -balance(s.engine, holding_account_code(holder, "MMF1"))


def notifications(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT body FROM merchant_notifications ORDER BY id"))
        return [json.loads(row.body) for row in rows]


def test_paying_from_the_balance_moves_shares_cash_and_tells_the_merchant(engine: Engine) -> None:
    s = shop(engine, ["ann"], 100_000)
    before_shares = shares(s, "ann")
    order = s.order("A-1", 12_345)
    paid = s.pay("ann", order.order_no)
    assert (paid.status, paid.method, paid.fee) == ("paid", "balance", fee_for(12_345, 60))
    assert paid.fee == 74  # 0.6% of 123.45 = 0.7407 → 0.74
    assert shares(s, "ann") == before_shares - 12_345
    assert -balance(engine, PAYABLE) == 12_345
    assert balance(engine, "fund:MMF1:advance-receivable") == 12_345
    [event] = notifications(engine)
    assert event["event"] == "order.paid"
    assert event["order"]["out_trade_no"] == "A-1"  # type: ignore[index]
    assert event["order"]["amount"] == {"fen": 12_345, "cny": "123.45"}  # type: ignore[index]
    with engine.connect() as connection:
        kind, status, note = connection.execute(
            text("SELECT kind, status, note FROM fund_orders WHERE id = :id"),
            {"id": paid.fund_order_id},
        ).one()
    assert (kind, status) == ("instant_redemption", "paid")
    assert order.order_no in note
    assert Ledger(engine).trial_balance(deep=True).ok


def test_creating_an_order_twice_answers_the_first_and_another_body_is_refused(
    engine: Engine,
) -> None:
    s = shop(engine, ["ann"], 10_000)
    first = s.order("A-1", 500)
    again = s.order("A-1", 500)
    assert again.order_no == first.order_no
    before = every_table(engine)
    with pytest.raises(OrderConflict):
        s.order("A-1", 501)
    assert every_table(engine) == before


def test_refusals_change_nothing(engine: Engine) -> None:
    s = shop(engine, ["ann", "bob"], 10_000)
    big = s.order("BIG", 20_000)
    before = every_table(engine)
    with pytest.raises(BalanceShort):
        s.pay("ann", big.order_no)
    assert every_table(engine) == before
    s.write(lambda c: paying.set_daily_limit(c, 5_000))
    small = s.order("S-1", 4_000)
    s.pay("ann", small.order_no)
    over = s.order("S-2", 1_001)
    before = every_table(engine)
    with pytest.raises(PaymentLimitReached, match=r"10\.00 of 50\.00 CNY left today"):
        s.pay("ann", over.order_no)
    assert every_table(engine) == before
    with pytest.raises(OrderNotPayable, match="already paid"):
        s.pay("bob", small.order_no)
    s.story.clock.now += timedelta(minutes=16)
    with pytest.raises(OrderNotPayable, match="expired"):
        s.pay("bob", over.order_no)
    assert every_table(engine) == before


@pytest.mark.parametrize("racers", [8])
def test_concurrent_attempts_pay_an_order_once(engine: Engine, racers: int) -> None:
    s = shop(engine, ["ann", "bob", "cat", "dan"], 50_000)
    order = s.order("RACE", 20_000)
    everyone = ("ann", "bob", "cat", "dan")
    before = sum(shares(s, name) for name in everyone)
    names = ["ann", "bob", "cat", "dan"] * (racers // 4)
    results: list[object] = []
    gate = threading.Barrier(len(names))

    def attempt(name: str) -> None:
        gate.wait()
        try:
            results.append(s.pay(name, order.order_no))
        except HuoqiError as refused:
            results.append(refused)

    threads = [threading.Thread(target=attempt, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    paid = [r for r in results if not isinstance(r, HuoqiError)]
    payers = {r.payer_user_id for r in paid}  # type: ignore[attr-defined]
    assert len(payers) == 1  # one customer paid; their own repeats answer the same order
    assert -balance(engine, PAYABLE) == 20_000
    assert sum(shares(s, name) for name in everyone) == before - 20_000
    assert len(notifications(engine)) == 1
    assert Ledger(engine).trial_balance(deep=True).ok


def _race_pay_against_sweep(s: Shop, number: str) -> str:
    order = s.order(number, 1_000, expires_in=60)
    s.story.clock.now = order.expires_at - timedelta(microseconds=1)
    gate = threading.Barrier(2)
    result: list[object] = []

    def sweep() -> None:
        gate.wait()
        s.write(lambda c: payment_orders.expire_due(c, now=order.expires_at))

    def pay() -> None:
        gate.wait()
        try:
            result.append(s.pay("ann", order.order_no))
        except HuoqiError as refused:
            result.append(refused)

    threads = [threading.Thread(target=sweep), threading.Thread(target=pay)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with read_transaction(s.engine) as connection:
        final = payment_orders.get_by_order_no(connection, order.order_no)
    assert final.status in {"paid", "closed"}
    assert isinstance(result[0], HuoqiError) == (final.status == "closed")
    s.story.clock.now += timedelta(minutes=2)
    return final.status


def test_a_payment_racing_the_expiry_sweep_either_pays_or_closes(engine: Engine) -> None:
    s = shop(engine, ["ann"], 50_000)
    before = shares(s, "ann")
    outcomes = [_race_pay_against_sweep(s, f"E-{n}") for n in range(6)]
    paid = outcomes.count("paid")
    assert -balance(engine, PAYABLE) == 1_000 * paid
    assert shares(s, "ann") == before - 1_000 * paid
    assert Ledger(engine).trial_balance(deep=True).ok


def test_partial_and_repeated_refunds_up_to_the_paid_amount(engine: Engine) -> None:
    s = shop(engine, ["ann"], 50_000)
    order = s.order("R-1", 10_000)
    with pytest.raises(OrderNotPaid):
        s.refund("R-1", "RF-0", 100)
    s.pay("ann", order.order_no)
    first, new = s.refund("R-1", "RF-1", 3_000, "one cup broken")
    again, new_again = s.refund("R-1", "RF-1", 3_000, "one cup broken")
    assert (new, new_again, again.refund_no) == (True, False, first.refund_no)
    before = every_table(engine)
    with pytest.raises(RefundConflict):
        s.refund("R-1", "RF-1", 3_001, "one cup broken")
    with pytest.raises(RefundExceedsPayment, match=r"70\.00 CNY left"):
        s.refund("R-1", "RF-2", 7_001)
    assert every_table(engine) == before
    s.refund("R-1", "RF-2", 7_000)
    with read_transaction(engine) as connection:
        final = payment_orders.get_by_order_no(connection, order.order_no)
        fees_back = connection.execute(
            text("SELECT SUM(fee_returned) FROM payment_refunds")
        ).scalar_one()
    assert (final.status, final.refunded_amount) == ("refunded", 10_000)
    assert fees_back == final.fee  # the whole fee returned with the whole payment
    assert balance(engine, PAYABLE) == 0
    assert [e["event"] for e in notifications(engine)] == [
        "order.paid", "refund.succeeded", "refund.succeeded"]  # fmt: skip
    # the refund buys shares back for ann, confirmed at the close of T+1 like a purchase
    with read_transaction(engine) as connection:
        confirm = connection.execute(
            text("SELECT MAX(confirm_date) FROM fund_orders WHERE kind = 'purchase'")
        ).scalar_one()
    assert str(confirm) == "2026-11-05"
    s.story.clock.now = at(6, 1)
    s.story.desk.close(date(2026, 11, 5))
    assert shares(s, "ann") >= 50_000  # the 100.00 is back, plus the days' income
    assert Ledger(engine).trial_balance(deep=True).ok


def test_a_refund_racing_the_payment_never_exceeds_it(engine: Engine) -> None:
    s = shop(engine, ["ann"], 50_000)
    order = s.order("RR", 5_000)
    s.pay("ann", order.order_no)
    gate = threading.Barrier(4)
    errors: list[HuoqiError] = []

    def refund(n: int) -> None:
        gate.wait()
        try:
            s.refund("RR", f"X-{n}", 2_000)
        except HuoqiError as refused:
            errors.append(refused)

    threads = [threading.Thread(target=refund, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with read_transaction(engine) as connection:
        final = payment_orders.get_by_order_no(connection, order.order_no)
    assert final.refunded_amount == 4_000  # two of four fit into 50.00
    assert len(errors) == 2
    assert all(isinstance(e, RefundExceedsPayment) for e in errors)
    assert -balance(engine, PAYABLE) == 1_000


def test_card_payments_and_duplicated_bank_answers(engine: Engine) -> None:
    s = shop(engine, ["ann"], 10_000)
    order = s.order("C-1", 88_800)
    started = s.pay("ann", order.order_no, "card")
    assert (started.status, started.bank_reference) == ("paying", "PC" + order.order_no)
    with pytest.raises(OrderNotPayable, match="waiting for the bank"):
        s.pay("ann", order.order_no)
    reference = started.bank_reference
    assert reference is not None
    for _ in range(3):  # the bank says it three times
        s.write(lambda c: paying.card_answer(c, reference=reference, succeeded=True,
                                             amount=88_800, now=s.now))  # fmt: skip
    assert -balance(engine, PAYABLE) == 88_800
    assert balance(engine, "platform:bank") >= 88_800
    assert len(notifications(engine)) == 1
    declined = s.order("C-2", 100)
    started = s.pay("ann", declined.order_no, "card")
    s.write(lambda c: paying.card_answer(c, reference=started.bank_reference, succeeded=False,
                                         amount=100, now=s.now))  # fmt: skip
    again = s.pay("ann", declined.order_no)  # back to created: the balance pays it
    assert again.status == "paid"
    s.refund("C-1", "CR-1", 800)
    assert -balance(engine, PAYABLE) == 88_000 + 100
    assert Ledger(engine).trial_balance(deep=True).ok


def test_settlement_pays_the_day_net_of_fees_once(engine: Engine) -> None:
    s = shop(engine, ["ann"], 200_000)
    for n, fen in enumerate([10_000, 2_550, 99]):
        s.pay("ann", s.order(f"D-{n}", fen).order_no)
    s.refund("D-0", "DR-0", 2_500)
    day = date(2026, 11, 4)
    with pytest.raises(settlement.DayNotOver, match="not ended"):
        s.write(lambda c: settlement.settle(c, s.merchant, day, now=s.now))
    s.story.clock.now = at(5, 2)
    made = s.write(lambda c: settlement.settle(c, s.merchant, day, now=s.now))
    fees = fee_for(10_000, 60) + fee_for(2_550, 60) + fee_for(99, 60)
    fees -= fee_for(10_000, 60) - fee_for(7_500, 60)
    assert made is not None
    assert (made.gross, made.refunded, made.fees) == (12_649, 2_500, fees)
    assert made.net == 12_649 - 2_500 - fees
    assert made.settle_date == date(2026, 11, 5)
    assert balance(engine, PAYABLE) == 0
    assert -balance(engine, "platform:fee-income") == fees
    again = s.write(lambda c: settlement.settle(c, s.merchant, day, now=s.now))
    assert again == made
    with read_transaction(engine) as connection:
        lines = settlement.settlement_file(connection, made).splitlines()
    assert lines[0].startswith("type,")
    assert len(lines) == 1 + 3 + 1 + 2
    assert lines[-1].split(",")[5] == f"{made.net / 100:.2f}"
    assert Ledger(engine).trial_balance(deep=True).ok
    assert OPERATOR.name == "test-operator"


def _race_refund_against_pay(s: Shop, n: int) -> int:
    order = s.order(f"PR-{n}", 1_000)
    gate = threading.Barrier(2)
    refused: list[HuoqiError] = []

    def pay() -> None:
        gate.wait()
        s.pay("ann", order.order_no)

    def refund() -> None:
        gate.wait()
        try:
            s.refund(f"PR-{n}", f"PRR-{n}", 400)
        except HuoqiError as error:
            refused.append(error)

    threads = [threading.Thread(target=pay), threading.Thread(target=refund)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with read_transaction(s.engine) as connection:
        final = payment_orders.get_by_order_no(connection, order.order_no)
    assert final.status in {"paid", "partially_refunded"}
    assert (final.refunded_amount == 0) == bool(refused)
    assert all(isinstance(error, OrderNotPaid) for error in refused)
    return final.refunded_amount


def test_a_refund_racing_its_payment_is_refused_or_follows_it(engine: Engine) -> None:
    """A refund that arrives while its order is being paid either finds it unpaid (and is
    refused) or finds it paid (and refunds it): the order and the ledger agree either way."""
    s = shop(engine, ["ann"], 50_000)
    refunded = [_race_refund_against_pay(s, n) for n in range(6)]
    assert -balance(engine, PAYABLE) == 6 * 1_000 - sum(refunded)
    assert Ledger(engine).trial_balance(deep=True).ok
