"""The bank's approvals answered as a batch end where the same answers one by one end."""

from __future__ import annotations

import pytest
from fund_story import at, state, story
from sqlalchemy import Engine

from huoqi.db.engine import make_engine, write_transaction
from huoqi.db.migrate import upgrade
from huoqi.fund import orders
from huoqi.ledger.service import Ledger


@pytest.fixture
def engine(db_url: str) -> Engine:
    return make_engine(db_url)


def _purchases(engine: Engine) -> list[str]:
    tale = story(engine)
    tale.clock.now = at(2, 10)
    for n, customer in enumerate(("ana", "bo", "chen")):
        tale.desk.open_holder(customer, "MMF1")
        tale.desk.buy(customer, 10_000 * (n + 1), key=f"buy-{customer}")
    return [reference for reference, _amount in tale.bank.pending]


def test_a_batch_of_approvals_ends_like_the_same_approvals_one_by_one(
    engine: Engine, db_url: str, tmp_path: object
) -> None:
    references = _purchases(engine)
    with write_transaction(engine) as connection:
        paid = orders.payments_received(
            connection, references=[*references, "HQ-unknown"], at=at(2, 10, 5)
        )
    assert len(paid) == 3
    batched = state(engine)
    with write_transaction(engine) as connection:  # again: nothing more happens
        assert orders.payments_received(connection, references=references, at=at(2, 11)) == []
    assert state(engine) == batched
    assert Ledger(engine).trial_balance(deep=True).ok

    other_url = f"sqlite:///{tmp_path}/one-by-one.db"
    upgrade(other_url)
    other = make_engine(other_url)
    for reference in _purchases(other):
        with write_transaction(other) as connection:
            orders.payment_result(connection, reference=reference, succeeded=True, at=at(2, 10, 5))
    one_by_one = state(other)
    for table in ("fund_orders", "postings", "entries"):  # as text: one side may be PostgreSQL
        assert _text(batched[table]) == _text(one_by_one[table]), table


def _text(rows: object) -> list[tuple[str, ...]]:
    return [tuple(str(value) for value in row) for row in rows]  # type: ignore[attr-defined]
