"""The simulated bank as the running app meets it: it answers card debits by itself,
shortly after each purchase is committed, the way a real gateway's callback arrives."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Engine

from huoqi.audit.log import Actor, record
from huoqi.db.engine import run_in_write_transaction
from huoqi.fund import orders

log = logging.getLogger("huoqi.bank")
BANK = Actor(None, "bank")


class AnsweringBank:
    """Approves every debit after ``delay`` seconds (0: at once, in the caller's thread)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime], delay: float = 0.2):
        self.engine = engine
        self.clock = clock
        self.delay = delay

    def request_debit(self, *, reference: str, amount: int) -> None:
        if self.delay <= 0:
            self.answer(reference)
            return
        timer = threading.Timer(self.delay, self.answer, args=(reference,))
        timer.daemon = True
        timer.start()

    def answer(self, reference: str, succeeded: bool = True) -> None:
        def work(connection: Connection) -> None:
            now = self.clock()
            order = orders.payment_result(
                connection, reference=reference, succeeded=succeeded, at=now
            )
            record(
                connection,
                BANK,
                "order.payment_result",
                now=now,
                object_type="order",
                object_id=order.id,
                outcome="ok" if succeeded else "declined",
            )

        try:
            run_in_write_transaction(self.engine, work)
        except Exception:
            log.exception("bank answer for %s failed", reference)
