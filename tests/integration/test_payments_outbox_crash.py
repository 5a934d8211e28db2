"""A server killed between a payment and its notification: the next server sends it, once.

Real processes: ``huoqi serve`` on a SQLite file with its notifier switched off pays an
order (by card, through the simulated bank) and is killed with SIGKILL before any
notification could leave; a second server on the same file sends the notification from the
outbox; a third finds nothing left to send.
"""

from __future__ import annotations

import json
import secrets
import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

from merchant_endpoint import merchant_endpoint
from sqlalchemy import create_engine, text

from huoqi.payments.signing import signed_headers
from huoqi.testing.server import start_server, stop_server

OPERATOR = ("13900000001", "huoqi-demo-operator")
CUSTOMER = ("13800000001", "huoqi-demo-customer")


def _call(
    url: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{url}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _token(url: str, login: tuple[str, str]) -> dict[str, str]:
    made = _call(url, "POST", "/api/v1/sessions", {"phone": login[0], "password": login[1]})
    return {"Authorization": f"Bearer {made['token']}"}


def test_a_killed_server_s_notification_goes_out_once(tmp_path: Path) -> None:
    with merchant_endpoint() as endpoint:
        server, process = start_server(tmp_path, extra_env={"HUOQI_NOTIFY_POLL": "0"})
        try:
            operator = _token(server.url, OPERATOR)
            customer = _token(server.url, CUSTOMER)
            applied = _call(
                server.url,
                "POST",
                "/api/v1/merchants",
                {"name": "Tea House", "callback_url": endpoint.url},
                operator,
            )
            code = applied["merchant_id"]
            approved = _call(
                server.url, "POST", f"/api/v1/ops/merchants/{code}/approve", {}, operator
            )
            endpoint.secret = approved["secret"]
            body = json.dumps(
                {"out_trade_no": "K-1", "amount": "9.90", "description": "one pot"}
            ).encode()
            headers = signed_headers(
                endpoint.secret,
                merchant=code,
                method="POST",
                path="/gateway/v1/orders",
                timestamp=int(time.time()),
                nonce=secrets.token_hex(12),
                body=body,
            )
            request = urllib.request.Request(
                f"{server.url}/gateway/v1/orders",
                data=body,
                method="POST",
                headers={**headers, "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                order = json.loads(answer.read())
            paid = _call(
                server.url,
                "POST",
                f"/api/v1/checkout/{order['order_no']}/pay",
                {"method": "card"},
                {**customer, "Idempotency-Key": "crash-1"},
            )
            assert paid["status"] in ("paying", "paid")
            deadline = time.monotonic() + 10
            engine = create_engine(server.database_url)
            while time.monotonic() < deadline:
                with engine.connect() as connection:
                    rows = connection.execute(
                        text("SELECT status FROM merchant_notifications")
                    ).all()
                if rows:
                    break
                time.sleep(0.05)
            assert [tuple(r) for r in rows] == [("pending",)]
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        assert endpoint.received == []

        second, process = start_server(tmp_path, extra_env={"HUOQI_NOTIFY_POLL": "0.2"})
        try:
            [event] = endpoint.wait_for(1)
            assert event["event"] == "order.paid"
            assert event["order"]["out_trade_no"] == "K-1"
            time.sleep(1.5)
        finally:
            stop_server(process)
        third, process = start_server(tmp_path, extra_env={"HUOQI_NOTIFY_POLL": "0.2"})
        try:
            time.sleep(1.5)
        finally:
            stop_server(process)
        assert len(endpoint.received) == 1
        assert endpoint.bad_signatures == 0
        with engine.connect() as connection:
            status, attempts = connection.execute(
                text("SELECT status, attempts FROM merchant_notifications")
            ).one()
        assert (status, attempts) == ("delivered", 1)
        engine.dispose()
        assert second.url != "" and third.url != ""
