"""Paying from the balance: `python -m bench payments`.

Two measurements, both on SQLite at Huoqi's durable default (WAL, ``synchronous=FULL``):

* ``service``: `huoqi.payments.service.pay_many_with_balance`, the service layer's bulk
  path, paying 20,000 merchant orders (1.00 CNY each, made beforehand) for 1,000 customers
  with confirmed shares, 500 payments per transaction, each payment in a savepoint of its
  own: the order claimed, the customer's shares retired, the advance booked to the
  merchant, the day's use counted against the customer's limit, the fund order and the
  merchant's notification written. Target: at least 2,000 payments/s. The books end with
  a deep trial balance and every order paid exactly once.
* ``http``: ``POST /api/v1/checkout/{order_no}/pay`` (a new Idempotency-Key each) at 200
  requests/s for 30 s, open loop, against ``huoqi serve --workers 2`` (the load generator
  of `bench.http_load`), each request paying an order of its own. Target: p99 under 50 ms,
  no errors.

``--quick`` pays 1,000 orders in-process and runs 3 s at 20/s, and records nothing.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from bench import http_load
from bench.report import machine, table, write_section
from huoqi.audit.log import Actor
from huoqi.db.engine import make_engine, read_transaction, write_transaction
from huoqi.db.migrate import upgrade
from huoqi.fund.bank import SimulatedBank
from huoqi.fund.service import FundDesk
from huoqi.identity.service import get_user
from huoqi.ledger.service import Ledger
from huoqi.payments import orders, paying, service
from huoqi.payments.merchants import Merchant, get_merchant
from huoqi.service.demo_setup import (
    prepare_fresh_platform,
    seed_demo_logins,
    seed_demo_merchant,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
FUNDED_AT = datetime(2025, 6, 5, 10, 0, tzinfo=SHANGHAI)  # Thursday
PAY_AT = datetime(2025, 6, 9, 10, 0, tzinfo=SHANGHAI)  # the Monday after
CUSTOMERS = 1_000
ORDERS = 20_000
BATCH = 500
SERVICE_BAR = 2_000
HTTP_RATE = 200
ADMIN = Actor(None, "bench")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _fund_customers(engine: Engine, refs: list[str], fen: int) -> FundDesk:
    """Fund HQ001 with income figures, and give every ``ref`` ``fen`` of confirmed shares."""
    clock = Clock(FUNDED_AT)
    bank = SimulatedBank()
    desk = FundDesk(engine, clock=clock, bank=bank)
    if not desk.funds():
        desk.add_fund(code="HQ001", name="Huoqi Money Fund", manager="Bench AMC")
        desk.fund_advance_pool(10_000_000_000, key="bench-pool")
    days = "\n".join(f"{date(2025, 5, 31) + timedelta(days=n)},0.6512" for n in range(14))
    for fund in desk.funds():
        desk.import_income(fund.code, f"date,income_per_10k\n{days}\n")
    for ref in refs:
        desk.open_holder(ref, "HQ001")  # opening an existing current account is harmless
        desk.buy(ref, fen, key=f"bench-fund-{ref}")
    bank.deliver(desk.payment_result)
    clock.now = datetime(2025, 6, 7, 1, 0, tzinfo=SHANGHAI)
    desk.close(date(2025, 6, 6))
    return desk


def _customers(engine: Engine, count: int) -> list[int]:
    """``count`` customer users (no password hashing), holders ``bench:<n>``."""
    with write_transaction(engine) as connection:
        ids = []
        for n in range(count):
            ids.append(
                connection.execute(
                    text("INSERT INTO users (phone, password_hash, role, display_name, "
                         "customer_ref, failed_sign_ins, created_at, password_changed_at) "
                         "VALUES (:phone, 'x', 'customer', '', :ref, 0, :now, :now) "
                         "RETURNING id"),
                    {"phone": f"86137{n:08d}", "ref": f"bench:{n}", "now": FUNDED_AT},
                ).scalar_one()
            )  # fmt: skip
    return ids


def _merchant(
    engine: Engine, clock: Callable[[], datetime], *, callback_url: str = "http://127.0.0.1:9/n"
) -> Merchant:
    code, _secret = seed_demo_merchant(engine, clock, callback_url=callback_url)
    with write_transaction(engine) as connection:
        paying.set_daily_limit(connection, 10**12)
        return get_merchant(connection, code)


def _orders(engine: Engine, merchant: Merchant, count: int, now: datetime) -> list[str]:
    numbers = []
    with write_transaction(engine) as connection:
        for n in range(count):
            order, _ = orders.create_order(
                connection, merchant=merchant, out_trade_no=f"B-{n}", amount=100,
                description="bench", expires_in=86_400, now=now,
            )  # fmt: skip
            numbers.append(order.order_no)
    return numbers


def service_layer(folder: Path, count: int) -> dict[str, float]:
    url = f"sqlite:///{folder}/service.db"
    upgrade(url)
    engine = make_engine(url)
    try:
        users = _customers(engine, CUSTOMERS)
        _fund_customers(engine, [f"bench:{n}" for n in range(CUSTOMERS)], 10_000_000)
        clock = Clock(PAY_AT)
        merchant = _merchant(engine, clock)
        started = time.perf_counter()
        numbers = _orders(engine, merchant, count, PAY_AT)
        created = time.perf_counter() - started
        with read_transaction(engine) as connection:
            payers = [service.payer_of(connection, get_user(connection, u)) for u in users]
        plan = [(number, payers[n % len(payers)]) for n, number in enumerate(numbers)]
        started = time.perf_counter()
        refused = 0
        for at in range(0, len(plan), BATCH):
            outcomes = service.pay_many_with_balance(engine, plan[at : at + BATCH], clock=clock)
            refused += sum(outcome.error is not None for outcome in outcomes)
        paid_in = time.perf_counter() - started
        with engine.connect() as connection:
            paid = connection.execute(
                text("SELECT count(*) FROM payment_orders WHERE status = 'paid'")
            ).scalar_one()
            sent = connection.execute(
                text("SELECT count(*) FROM merchant_notifications")
            ).scalar_one()
        balanced = Ledger(engine).trial_balance(deep=True).ok
        if refused or paid != count or sent != count or not balanced:
            raise RuntimeError(f"refused {refused}, paid {paid}, notified {sent}, ok {balanced}")
        return {"payments": count, "seconds": paid_in, "rate": count / paid_in,
                "orders_rate": count / created}  # fmt: skip
    finally:
        engine.dispose()


class _Acknowledge(BaseHTTPRequestHandler):
    """The merchant's notification endpoint: reads each notification and says 200."""

    protocol_version = "HTTP/1.1"  # keep-alive, as a merchant's web server would
    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).received += 1
        self.send_response(200)
        self.send_header("Content-Length", "7")
        self.end_headers()
        self.wfile.write(b"success")

    def log_message(self, *args: object) -> None:
        pass


def http_phase(folder: Path, *, rate: int, seconds: float, warmup: float) -> http_load.Phase:
    url = f"sqlite:///{folder}/huoqi.db"
    upgrade(url)
    engine = make_engine(url)
    endpoint = ThreadingHTTPServer(("127.0.0.1", 0), _Acknowledge)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    notify_url = f"http://127.0.0.1:{endpoint.server_address[1]}/notify"
    try:
        clock = Clock(FUNDED_AT)
        prepare_fresh_platform(engine, clock)
        seed_demo_logins(engine, clock)
        with engine.connect() as connection:
            ref = connection.execute(
                text("SELECT customer_ref FROM users WHERE phone = '8613800000001'")
            ).scalar_one()
        _fund_customers(engine, [ref], 100_000_000)
        merchant = _merchant(engine, Clock(PAY_AT), callback_url=notify_url)
        needed = int(rate * (seconds + warmup) * 1.2) + http_load.PRIME + 50
        numbers = _orders(engine, merchant, needed, PAY_AT)
    finally:
        engine.dispose()
    env = http_load._environment(
        HUOQI_DATABASE_URL=url, HUOQI_DEMO_CLOCK_START=PAY_AT.isoformat(),
        HUOQI_BANK_DELAY="0.2", HUOQI_SQLITE_SYNCHRONOUS="FULL",
    )  # fmt: skip
    command = [sys.executable, "-m", "huoqi", "serve", "--workers",
               str(http_load.WORKERS)]  # fmt: skip
    server = http_load._start(command, env, folder, "/readyz")
    try:
        token = http_load.sign_in(server.port)
        phase = http_load.measure(
            "pay", "POST /api/v1/checkout/{order_no}/pay", server,
            _pay_requests(server.port, token, iter(numbers)), rate=rate, seconds=seconds,
            warmup=warmup,
        )  # fmt: skip
        time.sleep(2)
        print(f"http pay   notifications acknowledged by the merchant: {_Acknowledge.received:,}",
              flush=True)  # fmt: skip
        return phase
    finally:
        server.stop()
        endpoint.shutdown()


def _pay_requests(port: int, token: str, numbers: Iterator[str]) -> Callable[[], bytes]:
    body = b'{"method":"balance"}'

    def make() -> bytes:
        return (
            f"POST /api/v1/checkout/{next(numbers)}/pay HTTP/1.1\r\n"
            f"host: {http_load.HOST}:{port}\r\nauthorization: Bearer {token}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"idempotency-key: {uuid.uuid4().hex}\r\n\r\n"
        ).encode() + body

    return make


def run(*, quick: bool = False) -> None:
    measured_on = machine()
    print(f"payments: {measured_on}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="huoqi-bench-payments-"))
    try:
        figures = service_layer(folder, 1_000 if quick else ORDERS)
        verdict = "pass" if figures["rate"] >= SERVICE_BAR else "FAIL"
        print(f"payments service: {figures['payments']:,.0f} payments in "
              f"{figures['seconds']:.2f} s = {figures['rate']:,.0f} payments/s "
              f"(>= {SERVICE_BAR:,}: {verdict}); orders created {figures['orders_rate']:,.0f}/s",
              flush=True)  # fmt: skip
        (folder / "http").mkdir()
        phase = http_phase(
            folder / "http", rate=20 if quick else HTTP_RATE, seconds=3 if quick else 30,
            warmup=1 if quick else 3,
        )  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if quick:
        return
    rows = [
        ["service: `pay_many_with_balance`, 500 per transaction", f"{figures['payments']:,.0f}",
         f"{figures['rate']:,.0f} payments/s", f">= {SERVICE_BAR:,}/s",
         "pass" if figures["rate"] >= SERVICE_BAR else "**fail**"],
        ["HTTP: `POST /api/v1/checkout/{order_no}/pay` at 200/s for 30 s", f"{phase.sent:,}",
         f"achieved {phase.achieved_rate:.1f}/s, errors {phase.errors}, p50 {phase.p50} ms, "
         f"p99 {phase.p99} ms, max {phase.max} ms", "p99 < 50 ms, no errors",
         "pass" if phase.passed else "**fail**"],
    ]  # fmt: skip
    body = "\n".join([
        "## Payments from the balance (issue 5)",
        "",
        "`python -m bench payments` — SQLite, `synchronous=FULL`. The service layer pays",
        f"{ORDERS:,} orders of 1.00 CNY for {CUSTOMERS:,} customers in transactions of {BATCH}",
        "(set-based: orders claimed, shares retired, advances booked to the merchant, limits",
        "counted, fund orders and notifications written, a handful of statements per batch);",
        "the books end with a deep trial balance. The HTTP phase uses the open-loop load",
        "generator of",
        "`bench http` against `huoqi serve --workers 2`, each request paying its own order.",
        "",
        table(["measurement", "payments", "figure", "target", "verdict"], rows),
        "",
        f"Orders were created beforehand at {figures['orders_rate']:,.0f} orders/s (one",
        "transaction).",
    ])  # fmt: skip
    write_section("payments", body, measured_on=measured_on)
