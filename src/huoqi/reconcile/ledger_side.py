"""What Huoqi expects to find in each file, read from the database.

**Bank**: the postings on the ledger account ``platform:bank`` whose entry was written on
the day (Asia/Shanghai), found by walking the account's posting chain back from its newest
posting (there is no per-account index; see huoqi.ledger.tables), so the match is against
the ledger itself. A debit of the account is money in (``in``), a credit money out
(``out``). Each entry's idempotency key names its source, and the source gives the
reference the bank sees:

==================================  =====================================================
entry key                           reference on the statement
==================================  =====================================================
``fund-order:<id>:paid``            the purchase's ``bank_reference`` (``FO<id>`` if none)
``fund-order:<id>:to-fund``         ``SUB-<fund code>-<yyyymmdd>``: one transfer a day per
                                    fund pays the confirmed purchases to the fund (1:N)
``payment:<order no>:card``         the card payment's ``bank_reference``
``refund:<merchant>:<number>``      the refund's ``refund_no``
``settlement:<merchant>:<day>``     ``ST`` and the settlement id
``payment:<order no>:cash``         none: a payment from the balance is internal (the
                                    advance pool pays it), never on the statement
anything else                       the entry key itself
==================================  =====================================================

**Fund**: the fund orders the fund company should confirm on the day: purchases whose
confirmation day it is, redemptions of that trade date, instant redemptions (and payments
from the balance, which are instant redemptions) the fund repays that day — all with
reference ``FO<id>``, of kind ``<fund code>/<order kind>``.

Items of other days are added when the file names their reference, so a line booked on
the wrong day is a mismatch rather than a line missing on one side and an item on the other.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Connection, DateTime, String, and_, bindparam, or_, select, text

from huoqi.fund.tables import fund_orders, funds
from huoqi.ledger.tables import accounts
from huoqi.payments.tables import (
    merchant_settlements,
    merchants,
    payment_orders,
    payment_refunds,
)
from huoqi.reconcile.formats import fund_kind
from huoqi.reconcile.matching import Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
BANK_ACCOUNT = "platform:bank"
LEDGER_EPOCH = date(1970, 1, 2)  # no entry is older
FUND_REFERENCE = re.compile(r"^FO([0-9]{1,18})$")
#: Statuses of orders the fund company confirms; awaiting payment and failed ones never reach it.
CONFIRMABLE = ("requested", "confirmed", "paid")

_BANK_CHAIN = text(
    """
    WITH RECURSIVE chain(id, previous_id, entry_id, amount) AS (
        SELECT p.id, p.previous_id, p.entry_id, p.amount
        FROM postings p JOIN entries e ON e.id = p.entry_id
        WHERE p.id = :head AND e.created_at >= :since
        UNION ALL
        SELECT p.id, p.previous_id, p.entry_id, p.amount
        FROM postings p JOIN chain c ON p.id = c.previous_id
        JOIN entries e ON e.id = p.entry_id
        WHERE e.created_at >= :since
    )
    SELECT c.amount, e.idempotency_key, e.created_at
    FROM chain c JOIN entries e ON e.id = c.entry_id
    """
).columns(amount=BigInteger(), idempotency_key=String(), created_at=DateTime(timezone=True))


def local_day(at: datetime | str) -> date:
    """The Shanghai calendar day of a stored timestamp (SQLite gives naive UTC)."""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI).date()


def is_internal(key: str) -> bool:
    """Entries that move cash between the platform's own accounts and never cross the
    bank's books: a payment from the balance (``payment:<order no>:cash``) takes the
    merchant's cash from the advance pool through ``platform:bank`` in one entry."""
    parts = key.split(":")
    return len(parts) == 3 and parts[0] == "payment" and parts[2] == "cash"


def bank_items(
    connection: Connection, day: date, *, earliest: date | None = None,
    references: Collection[str] = (),
) -> list[Item]:  # fmt: skip
    """The platform bank account's movements on ``day``, and on any day from ``earliest``
    on whose reference is in ``references``."""
    head = connection.execute(
        select(accounts.c.last_posting_id).where(accounts.c.code == BANK_ACCOUNT)
    ).scalar_one_or_none()
    if head is None:
        return []
    first = max(min(day, earliest or day), LEDGER_EPOCH)  # a file may name any date
    start = first - timedelta(days=1)  # a day's slack for clock skew
    since = datetime.combine(start, time(), SHANGHAI)
    rows = connection.execute(
        _BANK_CHAIN.bindparams(
            bindparam("head", type_=BigInteger), bindparam("since", type_=DateTime(timezone=True))
        ),
        {"head": int(head), "since": since.astimezone(UTC)},  # stored as UTC,
    ).all()
    raw = [
        (str(key), local_day(created), "in" if amount > 0 else "out", abs(int(amount)))
        for amount, key, created in rows
        if not is_internal(str(key))
    ]
    named = _bank_references(connection, raw)
    wanted = set(references)
    return [
        Item(key, when, kind, amount, named.get(key, key))
        for key, when, kind, amount in raw
        if when == day or named.get(key, key) in wanted
    ]


def _bank_references(
    connection: Connection, raw: Iterable[tuple[str, date, str, int]]
) -> dict[str, str]:
    """The reference the bank sees for each entry key (see the module's table)."""
    by_prefix: dict[str, list[tuple[str, list[str], date]]] = {}
    for key, when, _kind, _amount in raw:
        parts = key.split(":")
        by_prefix.setdefault(parts[0], []).append((key, parts[1:], when))
    named: dict[str, str] = {}
    named.update(_fund_order_references(connection, by_prefix.get("fund-order", [])))
    named.update(_card_references(connection, by_prefix.get("payment", [])))
    named.update(_refund_references(connection, by_prefix.get("refund", [])))
    named.update(_settlement_references(connection, by_prefix.get("settlement", [])))
    return named


def _fund_order_references(
    connection: Connection, keys: list[tuple[str, list[str], date]]
) -> dict[str, str]:
    ids = {int(parts[0]) for _key, parts, _when in keys if len(parts) == 2 and parts[0].isdigit()}
    if not ids:
        return {}
    rows = connection.execute(
        select(fund_orders.c.id, fund_orders.c.bank_reference, funds.c.code)
        .join(funds, funds.c.id == fund_orders.c.fund_id)
        .where(fund_orders.c.id.in_(ids))
    ).all()
    orders = {int(order_id): (reference, code) for order_id, reference, code in rows}
    named = {}
    for key, parts, when in keys:
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) not in orders:
            continue
        reference, code = orders[int(parts[0])]
        if parts[1] == "paid":
            named[key] = reference or f"FO{parts[0]}"
        elif parts[1] == "to-fund":
            named[key] = f"SUB-{code}-{when:%Y%m%d}"
    return named


def _card_references(
    connection: Connection, keys: list[tuple[str, list[str], date]]
) -> dict[str, str]:
    numbers = {parts[0]: key for key, parts, _when in keys if len(parts) == 2}
    if not numbers:
        return {}
    rows = connection.execute(
        select(payment_orders.c.order_no, payment_orders.c.bank_reference).where(
            payment_orders.c.order_no.in_(numbers)
        )
    ).all()
    return {numbers[order_no]: reference for order_no, reference in rows if reference}


def _refund_references(
    connection: Connection, keys: list[tuple[str, list[str], date]]
) -> dict[str, str]:
    wanted = {(parts[0], parts[1]): key for key, parts, _when in keys if len(parts) == 2}
    if not wanted:
        return {}
    rows = connection.execute(
        select(merchants.c.code, payment_refunds.c.refund_no, payment_refunds.c.out_refund_no)
        .join(merchants, merchants.c.id == payment_refunds.c.merchant_id)
        .where(
            merchants.c.code.in_({code for code, _number in wanted}),
            or_(
                payment_refunds.c.refund_no.in_({number for _code, number in wanted}),
                payment_refunds.c.out_refund_no.in_({number for _code, number in wanted}),
            ),
        )
    ).all()
    named = {}
    for code, refund_no, out_refund_no in rows:
        for number in (refund_no, out_refund_no):
            if (code, number) in wanted:
                named[wanted[code, number]] = refund_no
    return named


def _settlement_references(
    connection: Connection, keys: list[tuple[str, list[str], date]]
) -> dict[str, str]:
    named = {}
    for key, parts, _when in keys:
        if len(parts) != 2:
            continue
        try:
            business_date = date.fromisoformat(parts[1])
        except ValueError:
            continue
        found = connection.execute(
            select(merchant_settlements.c.id)
            .join(merchants, merchants.c.id == merchant_settlements.c.merchant_id)
            .where(
                and_(merchants.c.code == parts[0],
                     merchant_settlements.c.business_date == business_date)
            )
        ).scalar_one_or_none()  # fmt: skip
        if found is not None:
            named[key] = f"ST{found}"
    return named


def fund_items(
    connection: Connection, day: date, *, references: Collection[str] = ()
) -> list[Item]:
    """The fund orders the fund company should confirm on ``day``, and the orders named in
    ``references`` (``FO<id>``) whatever their day."""
    columns = (
        fund_orders.c.id, fund_orders.c.kind, fund_orders.c.amount,
        fund_orders.c.confirm_date, funds.c.code,
    )  # fmt: skip
    fund_ids = list(connection.execute(select(funds.c.id)).scalars())
    rows = list(
        connection.execute(
            select(*columns)
            .join(funds, funds.c.id == fund_orders.c.fund_id)
            .where(
                fund_orders.c.fund_id.in_(fund_ids),
                fund_orders.c.status.in_(CONFIRMABLE),
                fund_orders.c.confirm_date == day,
            )
        )
    )
    ids = {int(m[1]) for m in map(FUND_REFERENCE.match, references) if m is not None}
    if ids:
        rows += connection.execute(
            select(*columns)
            .join(funds, funds.c.id == fund_orders.c.fund_id)
            .where(
                fund_orders.c.id.in_(ids),
                fund_orders.c.status.in_(CONFIRMABLE),
                fund_orders.c.confirm_date != day,
            )
        ).all()
    return [
        Item(
            f"fund-order:{order_id}",
            _as_date(confirm_date),
            fund_kind(code, kind),
            int(amount),
            f"FO{order_id}",
        )
        for order_id, kind, amount, confirm_date, code in rows
    ]


def _as_date(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value
