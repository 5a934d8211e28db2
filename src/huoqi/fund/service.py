"""The current account as one object: funds, holders, orders, income and the close.

`FundDesk` holds an engine, a clock and a bank gateway, and runs each operation in its
own write transaction (retried on a serialization failure); the functions it calls take a
connection and never commit, so they compose inside other features' transactions too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Connection, Engine

from huoqi.db.engine import read_transaction, run_in_write_transaction
from huoqi.fund import close, orders, rates, registry
from huoqi.fund.bank import SimulatedBank
from huoqi.fund.limits import InstantLimits, instant_limits, set_instant_limits
from huoqi.fund.orders import BankGateway, Order
from huoqi.fund.registry import Carry, Fund, Holder
from huoqi.fund.switch import Switch, switch_fund
from huoqi.fund.yields import YieldRow, yield_series
from huoqi.ledger.service import utc_now


@dataclass
class FundDesk:
    engine: Engine
    clock: Callable[[], datetime] = utc_now
    bank: BankGateway = field(default_factory=SimulatedBank)

    def add_fund(
        self, *, code: str, name: str, manager: str = "", carry: Carry = Carry.DAILY
    ) -> Fund:
        return run_in_write_transaction(
            self.engine,
            lambda c: registry.add_fund(
                c, code=code, name=name, manager=manager, carry=carry, now=self.clock()
            ),
        )

    def fund(self, code: str) -> Fund:
        with read_transaction(self.engine) as connection:
            return registry.get_fund(connection, code)

    def funds(self) -> list[Fund]:
        with read_transaction(self.engine) as connection:
            return registry.list_funds(connection)

    def open_holder(self, customer_ref: str, fund_code: str) -> Holder:
        def work(connection: Connection) -> Holder:
            fund = registry.get_fund(connection, fund_code)
            return registry.open_holder(
                connection,
                customer_ref=customer_ref, fund=fund, now=self.clock(),
            )  # fmt: skip

        return run_in_write_transaction(self.engine, work)

    def import_income(self, fund_code: str, text: str) -> rates.RateImport:
        rows = rates.parse_income_csv(text)
        return run_in_write_transaction(
            self.engine,
            lambda c: rates.import_rates(
                c, fund=registry.get_fund(c, fund_code), rows=rows, now=self.clock()
            ),
        )

    def yields(
        self, fund_code: str, start: date | None = None, end: date | None = None
    ) -> list[YieldRow]:
        with read_transaction(self.engine) as connection:
            fund = registry.get_fund(connection, fund_code)
            # 27 days before the start feed the first rows' 28-day windows
            rows = rates.rates_between(connection, fund, None, end)
        series = yield_series(sorted(rows.items()), fund.carry)
        return [row for row in series if start is None or row.date >= start]

    def buy(self, customer_ref: str, amount: int, *, key: str) -> Order:
        def work(connection: Connection) -> Order:
            holder = registry.get_holder(connection, customer_ref)
            fund = registry.fund_by_id(connection, holder.fund_id)
            return orders.purchase(
                connection, holder=holder, fund=fund, amount=amount, key=key, at=self.clock()
            )

        order = run_in_write_transaction(self.engine, work)
        if order.status == "awaiting_payment" and order.bank_reference:
            # only after the order is committed: the bank answers by its reference
            self.bank.request_debit(reference=order.bank_reference, amount=order.amount)
        return order

    def orders(self, customer_ref: str, *, limit: int = 50) -> list[Order]:
        with read_transaction(self.engine) as connection:
            holder = registry.get_holder(connection, customer_ref)
            return orders.orders_of(connection, holder.id, limit=limit)

    def payment_result(self, reference: str, succeeded: bool) -> Order:
        return run_in_write_transaction(
            self.engine,
            lambda c: orders.payment_result(
                c, reference=reference, succeeded=succeeded, at=self.clock()
            ),
        )

    def redeem(self, customer_ref: str, amount: int, *, key: str, instant: bool = False) -> Order:
        operation = orders.instant_redeem if instant else orders.redeem

        def work(connection: Connection) -> Order:
            holder = registry.get_holder(connection, customer_ref)
            fund = registry.fund_by_id(connection, holder.fund_id)
            return operation(
                connection,
                holder=holder, fund=fund, amount=amount, key=key, at=self.clock(),
            )  # fmt: skip

        return run_in_write_transaction(self.engine, work)

    def fund_advance_pool(self, amount: int, *, key: str) -> None:
        """The platform puts ``amount`` fen of its own money into the instant-redemption pool."""
        run_in_write_transaction(
            self.engine,
            lambda c: registry.fund_advance_pool(c, amount=amount, key=key, now=self.clock()),
        )

    def switch_fund(self, customer_ref: str, to_fund: str, *, key: str) -> Switch:
        """Move a current account to another fund (redeem all, subscribe the proceeds)."""

        def work(connection: Connection) -> Switch:
            holder = registry.get_holder(connection, customer_ref)
            fund = registry.get_fund(connection, to_fund)
            return switch_fund(connection, holder=holder, to_fund=fund, key=key, at=self.clock())

        return run_in_write_transaction(self.engine, work)

    def instant_limits(self) -> InstantLimits:
        with read_transaction(self.engine) as connection:
            return instant_limits(connection)

    def set_instant_limits(
        self, *, per_holder_daily: int | None = None, platform_daily: int | None = None
    ) -> InstantLimits:
        return run_in_write_transaction(
            self.engine,
            lambda c: set_instant_limits(
                c, per_holder_daily=per_holder_daily, platform_daily=platform_daily
            ),
        )

    def close(
        self, through: date, *, fund_code: str | None = None,
        progress: close.Progress = close._no_progress,
    ) -> list[close.DayClosed]:  # fmt: skip
        codes = [fund_code] if fund_code else [fund.code for fund in self.funds()]
        closed: list[close.DayClosed] = []
        for code in codes:
            closed += close.close_through(
                self.engine, code, through, now=self.clock(), progress=progress
            )
        return closed
