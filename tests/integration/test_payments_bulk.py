"""The bulk path pays like the single path; a batch it cannot book at once is paid one by
one, so one refusal never takes the others with it and nothing is booked by halves."""

from __future__ import annotations

import pytest
from payments_story import balance, shop
from sqlalchemy import Engine, text

from huoqi.db.engine import read_transaction
from huoqi.fund.registry import holding_account_code
from huoqi.ledger.service import Ledger
from huoqi.payments import orders as payment_orders
from huoqi.payments import service
from huoqi.payments.orders import OrderNotPayable
from huoqi.payments.paying import BalanceShort

PAYABLE = "merchant:M00000001:payable"


def _shares(engine: Engine, holder_id: int) -> int:
    return -balance(engine, holding_account_code(holder_id, "MMF1"))


def test_a_batch_pays_every_order_and_books_it_all(engine: Engine) -> None:
    names = ["ann", "bob", "cat"]
    s = shop(engine, names, 100_000)
    payers = [s.payer(name) for name in names]
    before = {p.user_id: _shares(engine, p.holder.id) for p in payers}
    plan = []
    for n in range(30):
        order = s.order(f"B-{n}", 100 + n)
        plan.append((order.order_no, payers[n % 3]))
    outcomes = service.pay_many_with_balance(engine, plan, clock=lambda: s.now)
    assert all(o.error is None and o.order is not None for o in outcomes)
    assert [o.order_no for o in outcomes] == [number for number, _ in plan]
    total = sum(100 + n for n in range(30))
    assert -balance(engine, PAYABLE) == total
    for k, payer in enumerate(payers):
        spent = sum(100 + n for n in range(k, 30, 3))
        assert _shares(engine, payer.holder.id) == before[payer.user_id] - spent
    with engine.connect() as connection:
        notified = connection.execute(text("SELECT count(*) FROM merchant_notifications")).scalar()
        used = connection.execute(text("SELECT sum(amount) FROM payment_usage")).scalar()
        linked = connection.execute(text(
            "SELECT count(*) FROM payment_orders p JOIN fund_orders f ON f.id = p.fund_order_id "
            "WHERE f.amount = p.amount AND f.kind = 'instant_redemption'")).scalar()  # fmt: skip
    assert (notified, used, linked) == (30, total, 30)
    with read_transaction(engine) as connection:
        fees = [payment_orders.get_by_order_no(connection, n).fee for n, _ in plan]
    assert fees == [round((100 + n) * 0.006 + 1e-9) for n in range(30)]
    assert Ledger(engine).trial_balance(deep=True).ok


def test_one_refusal_in_a_batch_leaves_the_others_paid(engine: Engine) -> None:
    s = shop(engine, ["ann", "bob"], 10_000)
    ann, bob = s.payer("ann"), s.payer("bob")
    fine = [s.order(f"F-{n}", 1_000) for n in range(3)]
    too_big = s.order("BIG", 50_000)
    paid_already = s.order("DONE", 500)
    s.pay("bob", paid_already.order_no)
    plan = [(fine[0].order_no, ann), (too_big.order_no, bob), (fine[1].order_no, ann),
            (paid_already.order_no, ann), (fine[2].order_no, bob)]  # fmt: skip
    outcomes = service.pay_many_with_balance(engine, plan, clock=lambda: s.now)
    errors = [type(o.error) if o.error else None for o in outcomes]
    assert errors == [None, BalanceShort, None, OrderNotPayable, None]
    assert -balance(engine, PAYABLE) == 3_000 + 500
    assert Ledger(engine).trial_balance(deep=True).ok


@pytest.mark.parametrize("size", [1, 2])
def test_an_empty_or_repeated_batch(engine: Engine, size: int) -> None:
    s = shop(engine, ["ann"], 10_000)
    assert service.pay_many_with_balance(engine, [], clock=lambda: s.now) == []
    order = s.order("R", 700)
    plan = [(order.order_no, s.payer("ann"))] * size
    outcomes = service.pay_many_with_balance(engine, plan, clock=lambda: s.now)
    # the payer's own repeat answers the paid order again: charged once
    assert all(o.error is None and o.order is not None for o in outcomes)
    assert {o.order.paid_at for o in outcomes if o.order} == {s.now}
    assert -balance(engine, PAYABLE) == 700
