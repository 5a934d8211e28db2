"""Sending the outbox: signed POSTs to merchants, retried until acknowledged.

`Notifier` is one background thread per process. It wakes when told (after a payment or
refund commits; it waits ``gather`` seconds more, so a busy moment's payments share one
round and its two writes) or every ``poll`` seconds, claims the due notifications with a lease (so
several processes never send one at the same moment), POSTs each with the merchant's
signature, and records the outcome. On the same beat it closes expired unpaid orders and
forgets nonces too old to be replayed. Timestamps in signatures are wall-clock time;
scheduling uses the platform's clock (the demo clock in the demo).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection

from huoqi.payments import merchants, orders, outbox
from huoqi.payments.outbox import Notification
from huoqi.payments.signing import sign

log = logging.getLogger("huoqi.notify")
Write = Callable[[Callable[[Connection], Any]], Any]


def first_retry() -> timedelta:
    """``HUOQI_NOTIFY_FIRST_RETRY`` seconds (default 10) before the first retry."""
    return timedelta(seconds=float(os.environ.get("HUOQI_NOTIFY_FIRST_RETRY", "10")))


def signed_notification(
    merchant: str, secret: str, notification: Notification, *, timestamp: int
) -> dict[str, str]:
    """The headers of a notification POST (the body is ``notification.body``, as stored)."""
    url = urlsplit(notification.url)
    signature = sign(
        secret, method="POST", path=url.path or "/", query=url.query, timestamp=timestamp,
        nonce=notification.event_id, body=notification.body.encode(),
    )  # fmt: skip
    return {
        "Content-Type": "application/json",
        "Huoqi-Event-Id": notification.event_id,
        "Huoqi-Merchant": merchant,
        "Huoqi-Timestamp": str(timestamp),
        "Huoqi-Nonce": notification.event_id,
        "Huoqi-Signature": signature,
    }


class Notifier:
    def __init__(
        self, write: Write, clock: Callable[[], datetime], *, poll: float = 1.0,
        timeout: float = 5.0, senders: int = 4, gather: float = 0.1,
    ) -> None:  # fmt: skip
        self.write = write
        self.gather = gather
        self.clock = clock
        self.poll = poll
        self.timeout = timeout
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(senders, thread_name_prefix="notify")
        self._connections = threading.local()  # each sender thread keeps its connections
        self._last_sweep = 0.0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, daemon=True, name="notifier")
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            woken = self._wake.wait(self.poll)
            if woken:  # let the payments committing right now join this round
                self._stop.wait(self.gather)
            self._wake.clear()
            try:
                self.run_once()
            except Exception:
                log.exception("sending notifications failed; trying again shortly")

    def run_once(self) -> int:
        """Sweep if due, then send what is due now; returns how many were sent.

        Each round is two writes whatever its size: claim the due notifications (with
        their merchants' credentials), then, after sending them side by side, record
        every outcome."""
        if time.monotonic() - self._last_sweep > 5:
            self._last_sweep = time.monotonic()
            self.write(self._sweep)
        sent = 0
        while True:
            count = self._round()
            if not count:
                return sent
            sent += count

    def _round(self) -> int:
        due, keys = self.write(self._claim)
        if due:
            # one order's notifications go one after another, in the order they were
            # written (a refund never overtakes its payment); orders side by side
            queues: dict[tuple[str, str], list[int]] = {}
            for i, notification in enumerate(due):
                queues.setdefault((notification.url, _order_of(notification)), []).append(i)
            errors = [""] * len(due)

            def send_queue(indexes: list[int]) -> None:
                for i in indexes:
                    errors[i] = self._send(due[i], keys[due[i].merchant_id])

            list(self._pool.map(send_queue, queues.values()))
            wait = first_retry()
            self.write(lambda c: self._record(c, due, errors, wait))
        return len(due)

    def _claim(
        self, connection: Connection
    ) -> tuple[list[Notification], dict[int, tuple[str, str]]]:
        due = outbox.claim_due(connection, now=self.clock(), limit=100)
        keys = {}
        for merchant_id in {n.merchant_id for n in due}:
            merchant = merchants.merchant_by_id(connection, merchant_id)
            keys[merchant_id] = (merchant.code, merchants.secret_of(merchant))
        return due, keys

    def _record(
        self, connection: Connection, due: list[Notification], errors: list[str],
        wait: timedelta,
    ) -> None:  # fmt: skip
        now = self.clock()
        for notification, error in zip(due, errors, strict=True):
            if error:
                outbox.mark_failed_attempt(
                    connection, notification, error=error, now=now, first_retry=wait
                )
            else:
                outbox.mark_delivered(connection, notification.id, now=now)

    def _sweep(self, connection: Connection) -> None:
        from huoqi.payments.service import forget_old_nonces

        now = self.clock()
        orders.expire_due(connection, now=now)
        forget_old_nonces(connection, now=now)

    def _send(self, notification: Notification, credentials: tuple[str, str]) -> str:
        """POST one notification; its error, or "" when the merchant acknowledged it."""
        code, secret = credentials
        headers = signed_notification(code, secret, notification, timestamp=int(time.time()))
        try:
            status = self._post(notification.url, notification.body.encode(), headers)
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        except (OSError, http.client.HTTPException) as failure:
            error = f"{type(failure).__name__}: {failure}"
        if error:
            log.info("notification %s to %s: %s", notification.event_id, notification.url, error)
        return error

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST over a kept-alive connection of this thread's (one new try on a stale one)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise http.client.InvalidURL(f"not an http(s) URL: {url}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        place = (parts.scheme, parts.hostname, parts.port)
        pool: dict[tuple[str, str, int | None], http.client.HTTPConnection] = getattr(
            self._connections, "pool", {}
        )
        self._connections.pool = pool
        for attempt in (1, 2):
            connection = pool.get(place)
            if connection is None:
                kind = (http.client.HTTPSConnection if parts.scheme == "https"
                        else http.client.HTTPConnection)  # fmt: skip
                connection = kind(parts.hostname, parts.port, timeout=self.timeout)
                pool[place] = connection
            try:
                connection.request("POST", target, body=body, headers=headers)
                answer = connection.getresponse()
                answer.read(64 * 1024)
                if answer.will_close:
                    connection.close()
                    pool.pop(place, None)
                return answer.status
            except (OSError, http.client.HTTPException):
                connection.close()
                pool.pop(place, None)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def _order_of(notification: Notification) -> str:
    try:
        return str(json.loads(notification.body)["order"]["order_no"])
    except (ValueError, KeyError, TypeError):
        return notification.event_id
