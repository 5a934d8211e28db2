"""The simulated bank as the running app meets it: it answers card debits by itself,
shortly after each purchase is committed, the way a real gateway's callbacks arrive.

One scheduler thread holds the debits asked for; every ``delay`` seconds it answers all
that are due in one write (each answer in a savepoint of its own, so one that fails does
not undo the others), through the process's writer. With ``delay`` 0 a debit is answered
at once, before the purchase's response goes out (tests rely on that).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection

from huoqi.audit.log import Actor, record, record_many
from huoqi.fund import orders
from huoqi.payments import paying

log = logging.getLogger("huoqi.bank")
BANK = Actor(None, "bank")


class AnsweringBank:
    """Approves every debit after ``delay`` seconds."""

    def __init__(
        self,
        write: Callable[[Callable[[Connection], None]], None],
        clock: Callable[[], datetime],
        delay: float = 0.2,
    ) -> None:
        self.write = write
        self.clock = clock
        self.delay = delay
        self.wake_after_card_answers: Callable[[], None] = lambda: None
        self._due: deque[tuple[float, str]] = deque()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def request_debit(self, *, reference: str, amount: int) -> None:
        if self.delay <= 0:
            self.answer([reference])
            return
        with self._wake:
            self._due.append((time.monotonic() + self.delay, reference))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True, name="bank")
                self._thread.start()
            self._wake.notify()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._due:
                    self._wake.wait()
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                now = time.monotonic()
                due = []
                while self._due and self._due[0][0] <= now:
                    due.append(self._due.popleft()[1])
            self.answer(due)

    def answer(self, references: list[str], succeeded: bool = True) -> None:
        """Answer a batch: approvals in one ledger write; should that fail (or for refusals),
        one by one, each in a savepoint, so one bad reference cannot hold up the rest.
        Card payments to merchants are answered like the bank's signed callback would."""
        cards = [ref for ref in references if paying.is_card_reference(ref)]
        if cards:
            self._answer_cards(cards, succeeded)
            references = [ref for ref in references if not paying.is_card_reference(ref)]
            if not references:
                return

        def together(connection: Connection) -> None:
            now = self.clock()
            paid = orders.payments_received(connection, references=references, at=now)
            record_many(
                connection,
                BANK,
                "order.payment_result",
                now=now,
                object_type="order",
                object_ids=list(paid),
            )

        def one_by_one(connection: Connection) -> None:
            now = self.clock()
            for reference in references:
                try:
                    with connection.begin_nested():
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
                except Exception:
                    log.exception("bank answer for %s failed", reference)

        self._answer_purchases(references, succeeded, together, one_by_one)

    def _answer_purchases(
        self,
        references: list[str],
        succeeded: bool,
        together: Callable[[Connection], None],
        one_by_one: Callable[[Connection], None],
    ) -> None:
        try:
            if succeeded:
                try:
                    self.write(together)
                    return
                except Exception:
                    log.exception(
                        "a batch of %d bank answers failed; answering one by one", len(references)
                    )
            self.write(one_by_one)
        except Exception:
            log.exception("bank answers for %d purchases failed", len(references))

    def _answer_cards(self, references: list[str], succeeded: bool) -> None:
        def answer(connection: Connection) -> None:
            now = self.clock()
            for reference in references:
                try:
                    with connection.begin_nested():
                        paying.card_answer(
                            connection,
                            reference=reference,
                            succeeded=succeeded,
                            amount=None,
                            now=now,
                        )
                        record(
                            connection,
                            BANK,
                            "bank.callback",
                            now=now,
                            object_type="bank_reference",
                            object_id=reference,
                            outcome="succeeded" if succeeded else "declined",
                        )
                except Exception:
                    log.exception("bank answer for %s failed", reference)

        self.write(answer)
        self.wake_after_card_answers()
