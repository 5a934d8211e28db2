"""The reconciliation API: an operator uploads a day's bank statement with differences and
reads the report; an auditor reads; a bad or oversized file is refused and nothing is kept."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from api_client import Api, assert_problem, count, open_api

from huoqi.db.migrate import upgrade
from huoqi.reconcile import service
from huoqi.reconcile.inject import Injection

THURSDAY = date(2025, 6, 5)


def _bank_file(api: Api, lines: int, injections: list[Injection]) -> tuple[str, dict[str, str]]:
    """The demo bank's statement for Thursday, once its approvals have all arrived."""
    deadline = time.monotonic() + 30
    while True:
        text, done = service.make_file(api.engine, "bank", THURSDAY)
        if len(text.splitlines()) - 1 >= lines or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    text, done = service.make_file(api.engine, "bank", THURSDAY, injections=injections, seed=5)
    return text, {i.injection.value: i.reference for i in done}


def test_upload_read_and_refuse(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/api.db"
    upgrade(url)
    with open_api(url) as api:
        for n in range(5):
            api.buy(api.new_customer(f"1360000010{n}"), f"{10 + n}.00", f"rec-{n}")
        operator, auditor = api.demo("operator"), api.demo("auditor")
        text, injected = _bank_file(api, 5, [Injection.MISSING, Injection.WRONG_AMOUNT])

        answer = api.client.post(
            "/api/v1/ops/reconciliation/bank",
            content=text.encode(),
            params={"file_name": "bank-2025-06-05.csv"},
            headers={**operator, "Content-Type": "text/csv"},
        )
        assert answer.status_code == 201, answer.text
        run = answer.json()
        assert run["business_date"] == "2025-06-05" and run["clean"] is False
        assert run["summary"]["matched"]["groups"] == 3
        assert (
            run["summary"]["mismatched"]["file_amount"]["cny"]
            != (run["summary"]["mismatched"]["huoqi_amount"]["cny"])
        )
        by_outcome = {
            group["outcome"]: {x["reference"] for x in (*group["lines"], *group["items"])}
            for group in run["groups"]
            if group["outcome"] != "matched"
        }
        assert by_outcome == {
            "missing_in_file": {injected["missing"]},
            "mismatched": {injected["wrong-amount"]},
        }
        assert count(api.engine, "audit_log", "action = 'reconciliation.import'") == 1

        listed = api.client.get("/api/v1/ops/reconciliation", headers=auditor).json()
        assert [r["id"] for r in listed] == [run["id"]] and "groups" not in listed[0]
        one = api.client.get(f"/api/v1/ops/reconciliation/{run['id']}", headers=auditor)
        assert one.json()["groups"] == run["groups"]
        assert_problem(
            api.client.get("/api/v1/ops/reconciliation/999", headers=auditor),
            404,
            "unknown_reconciliation_run",
        )

        bad = text.replace("CR", "XX", 1).encode()
        refused = assert_problem(
            api.client.post(
                "/api/v1/ops/reconciliation/bank",
                content=bad,
                headers={**operator, "Content-Type": "text/csv"},
            ),
            422,
            "invalid_reconciliation_file",
        )
        assert refused["detail"].startswith("line 2: direction")
        huge = b"value_date,direction,amount,reference,memo\n" + b"x" * (1 << 20)
        too_big = api.client.post(
            "/api/v1/ops/reconciliation/fund",
            content=huge,
            headers={**operator, "Content-Type": "text/csv"},
        )
        assert too_big.status_code == 413
        assert_problem(
            api.client.post(
                "/api/v1/ops/reconciliation/cash",
                content=text.encode(),
                headers={**operator, "Content-Type": "text/csv"},
            ),
            422,
            "invalid_input",
        )
        assert count(api.engine, "reconciliation_runs") == 1
