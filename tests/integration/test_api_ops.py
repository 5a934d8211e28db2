"""The operators' API: income files, close jobs, limits, the demo clock, audit and users.

A refused income file answers a report saying why, writes no rate and leaves one audit row
(refusals are audited); every other refusal changes nothing at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from api_client import Api, Headers, assert_problem, count, open_api, snapshot

INCOME = "/api/v1/ops/funds/{code}/income"


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Api]:
    with open_api(sqlite_url) as opened:
        yield opened


@pytest.fixture
def operator(api: Api) -> Headers:
    return api.demo("operator")


def upload(api: Api, operator: Headers, content: bytes, code: str = "HQ001") -> httpx.Response:
    return api.client.post(
        INCOME.format(code=code), content=content, headers={**operator, "Content-Type": "text/csv"}
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"garbage", "date column"),
        (b"date,income_per_10k\n2025-06-05,abc\n", "line 2"),
        (b"date,income_per_10k\n2025-06-05,-0.5\n", "line 2"),
        (b"date,income_per_10k\n2025-13-05,0.6512\n", "line 2"),
        (b"date,income_per_10k\n2025-06-05,0.65121\n", "line 2"),
        (b"date,income_per_10k\n2025-06-05,0.6512\n2025-06-05,0.6512\n", "2025-06-05"),
        (b"", ""),
    ],
)
def test_a_refused_income_file_writes_no_rate(
    api: Api, operator: Headers, content: bytes, problem: str
) -> None:
    before = snapshot(api.engine)
    answer = upload(api, operator, content)
    assert answer.status_code == 422, answer.text
    report = answer.json()
    assert report["accepted"] is False
    assert report["inserted"] == 0
    assert problem in report["problem"]
    after = snapshot(api.engine)
    assert after["fund_rates"] == before["fund_rates"]
    assert {t: rows for t, rows in after.items() if t != "audit_log"} == {
        t: rows for t, rows in before.items() if t != "audit_log"
    }
    assert len(after["audit_log"]) == len(before["audit_log"]) + 1
    refused = api.client.get(
        "/api/v1/ops/audit", headers=operator, params={"action": "income.import", "limit": 1}
    ).json()["items"]
    assert refused[0]["outcome"] == "refused"
    assert refused[0]["object_id"] == "HQ001"


def test_income_file_for_an_unknown_fund_not_utf8_or_too_large(api: Api, operator: Headers) -> None:
    before = snapshot(api.engine)
    good = b"date,income_per_10k\n2025-06-05,0.6512\n"
    assert_problem(upload(api, operator, good, code="NOPE"), 404, "unknown_fund")
    assert_problem(upload(api, operator, "date,收益\n".encode("gb18030")), 415, "not_utf8")
    big = b"date,income_per_10k\n" + b"2025-06-05,0.6512\n" * 60_000  # over 1 MiB
    assert_problem(upload(api, operator, big), 413, "body_too_large")
    assert snapshot(api.engine) == before


def test_an_income_file_may_be_larger_than_other_requests(api: Api, operator: Headers) -> None:
    start = date(2024, 1, 1)
    rows = "".join(f"{start + timedelta(days=n)},0.{6000 + n % 1000}\n" for n in range(520))
    content = ("date,income_per_10k\n" + rows + "#" * 70_000).encode()
    assert len(content) > 64 * 1024
    answer = upload(api, operator, content)
    # accepted or refused on its merits, but read: not refused for its size
    assert answer.status_code in (200, 422), answer.text
    assert answer.json()["fund"] == "HQ001"


def test_a_corrected_rate_before_the_close_is_reported(api: Api, operator: Headers) -> None:
    first = api.upload_income(operator, "HQ001", {date(2025, 6, 5): "0.6512"})
    assert first.json()["inserted"] == 1
    again = api.upload_income(
        operator, "HQ001", {date(2025, 6, 5): "0.6512", date(2025, 6, 6): "0.6600"}
    )
    assert (again.json()["unchanged"], again.json()["inserted"]) == (1, 1)
    fixed = api.upload_income(operator, "HQ001", {date(2025, 6, 5): "0.7000"})
    assert fixed.status_code == 200
    assert fixed.json()["corrected"] == 1
    yields = api.client.get("/api/v1/funds/HQ001/yields", params={"days": 3}).json()
    assert [(y["date"], y["income_per_10k"]) for y in yields] == [("2025-06-05", "0.7000")]


def test_close_jobs_are_listed_and_an_unknown_one_is_404(api: Api, operator: Headers) -> None:
    job = api.close_through(operator, date(2025, 6, 4))  # before the funds opened
    assert job["status"] == "done"
    listed = api.client.get("/api/v1/ops/close-jobs", headers=operator).json()
    assert [j["id"] for j in listed] == [job["id"]]
    assert_problem(
        api.client.get("/api/v1/ops/close-jobs/999", headers=operator), 404, "unknown_job"
    )
    before = snapshot(api.engine)
    for body in (
        {"through": "yesterday"},
        {"through": "2025-06-04", "extra": 1},
        {"fund_code": "HQ 1"},
    ):
        assert_problem(
            api.client.post("/api/v1/ops/close-jobs", headers=operator, json=body),
            422,
            "invalid_input",
        )
    assert snapshot(api.engine) == before
    assert len(api.client.get("/api/v1/ops/close-jobs", headers=operator).json()) == 1


def test_a_close_without_rates_fails_and_says_why(api: Api, operator: Headers) -> None:
    api.move_clock(operator, 1)
    job = api.close_through(operator, date(2025, 6, 5))
    assert job["status"] == "failed"
    assert "income per 10,000 shares" in job["error"]
    assert count(api.engine, "eod_runs", "status = 'closed'") == 0


def test_instant_limits_read_change_and_refuse(api: Api, operator: Headers) -> None:
    auditor = api.demo("auditor")
    start = api.client.get("/api/v1/ops/instant-limits", headers=auditor).json()
    assert start["per_customer_daily"]["cny"] == "10000.00"
    before = snapshot(api.engine)
    for body in (
        {"per_customer_daily": "-1"},
        {"platform_daily": "1.001"},
        {"per_customer_daily": 5},
        {"other": "1.00"},
    ):
        assert_problem(
            api.client.put("/api/v1/ops/instant-limits", headers=operator, json=body),
            422,
            "invalid_input",
        )
    assert snapshot(api.engine) == before
    changed = api.client.put(
        "/api/v1/ops/instant-limits",
        headers=operator,
        json={"per_customer_daily": "0", "platform_daily": "500.00"},
    )
    assert changed.status_code == 200
    assert changed.json() == {
        "per_customer_daily": {"fen": 0, "cny": "0.00"},
        "platform_daily": {"fen": 50000, "cny": "500.00"},
    }
    assert api.client.get("/api/v1/ops/instant-limits", headers=auditor).json() == changed.json()
    row = api.client.get(
        "/api/v1/ops/audit", headers=auditor, params={"action": "instant_limits.change"}
    ).json()["items"]
    assert row[0]["detail"] == {"per_holder_daily": "0.00", "platform_daily": "500.00"}
    # with the customer limit at 0, instant redemption is off for customers
    assert api.summary(api.demo("customer"))["instant_remaining"]["fen"] == 0


def test_demo_clock_moves_forward_only_within_a_month(api: Api, operator: Headers) -> None:
    for days in (0, -1, 32, "x"):
        assert_problem(
            api.client.post("/api/v1/ops/demo-clock", headers=operator, json={"days": days}),
            422,
            "invalid_input",
        )
    now = api.move_clock(operator, 3)
    assert now.date() == date(2025, 6, 8)


def test_audit_log_pages_visit_every_row_once(api: Api, operator: Headers) -> None:
    total = count(api.engine, "audit_log")
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/api/v1/ops/audit", headers=operator, params=params).json()
        seen += [row["id"] for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == total > 4
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == len(seen)
    too_big = api.client.get("/api/v1/ops/audit", headers=operator, params={"actor_id": 2**63})
    assert_problem(too_big, 422, "invalid_input")
    assert_problem(
        api.client.get("/api/v1/ops/audit", headers=operator, params={"cursor": "b3JkZXI6MQ"}),
        400,
        "invalid_cursor",
    )


def test_user_look_up_masks_phones_and_pages(api: Api, operator: Headers) -> None:
    for n in range(3):
        api.client.post(
            "/api/v1/users", json={"phone": f"1360000001{n}", "password": "a good long password 7"}
        )
    first = api.client.get("/api/v1/ops/users", headers=operator, params={"limit": 4})
    body = first.json()
    assert len(body["items"]) == 4
    rest = api.client.get(
        "/api/v1/ops/users", headers=operator, params={"limit": 4, "cursor": body["next_cursor"]}
    ).json()
    assert rest["next_cursor"] is None
    phones = [card["phone"] for card in body["items"] + rest["items"]]
    assert phones == [
        "136****0012",
        "136****0011",
        "136****0010",
        "137****0001",
        "139****0001",
        "138****0001",
    ]
    assert "1360000001" not in first.text
    for card in body["items"]:  # timestamps carry their zone on SQLite too
        assert card["created_at"].endswith(("Z", "+00:00")), card
    found = api.client.get(
        "/api/v1/ops/users", headers=operator, params={"phone": "+86 139 0000 0001"}
    ).json()["items"]
    assert [(c["phone"], c["role"], c["fund_code"]) for c in found] == [
        ("139****0001", "operator", None)
    ]
    assert (
        api.client.get(
            "/api/v1/ops/users", headers=operator, params={"phone": "13600000099"}
        ).json()["items"]
        == []
    )
    assert_problem(
        api.client.get("/api/v1/ops/users", headers=operator, params={"phone": "12345"}),
        422,
        "invalid_phone",
    )


def test_an_operator_lists_a_new_fund(api: Api, operator: Headers) -> None:
    body = {"code": "HQ004", "name": "Huoqi Cash Fund D", "manager": "M", "carry": "monthly"}
    listed = api.client.post("/api/v1/ops/funds", headers=operator, json=body)
    assert listed.status_code == 201, listed.text
    assert listed.json() | {"status": "open"} == {
        **body,
        "status": "open",
        "yield_7d": None,
        "yield_date": None,
    }
    again = api.client.post("/api/v1/ops/funds", headers=operator, json=body)
    assert again.status_code == 201  # the same settings again: harmless
    codes = [fund["code"] for fund in api.client.get("/api/v1/funds").json()]
    assert codes == ["HQ001", "HQ002", "HQ003", "HQ004"]
    before = snapshot(api.engine)
    taken = {"code": "HQ001", "name": "Another name"}
    assert_problem(
        api.client.post("/api/v1/ops/funds", headers=operator, json=taken), 409, "fund_exists"
    )
    for bad in (
        {"code": "HQ 5", "name": "x"},
        {"code": "HQ005", "name": ""},
        {"code": "HQ005", "name": "x", "carry": "weekly"},
    ):
        assert_problem(
            api.client.post("/api/v1/ops/funds", headers=operator, json=bad), 422, "invalid_input"
        )
    assert snapshot(api.engine) == before
    # a customer can open an account in the new fund
    signed_up = api.client.post(
        "/api/v1/users",
        json={"phone": "13600000021", "password": "a good long password 7", "fund_code": "HQ004"},
    )
    assert signed_up.status_code == 201, signed_up.text


def pool(api: Api, headers: Headers, key: str | None, amount: object) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return api.client.post(
        "/api/v1/ops/advance-pool", headers={**headers, **extra}, json={"amount": amount}
    )


def test_the_advance_pool_is_funded_once_per_key(api: Api, operator: Headers) -> None:
    start = api.client.get("/api/v1/ops/advance-pool", headers=operator).json()["balance"]["fen"]
    first = pool(api, operator, "pool-1", "500.00")
    assert first.status_code == 201, first.text
    assert first.json()["balance"]["fen"] == start + 50_000
    again = pool(api, operator, "pool-1", "500.00")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    before = snapshot(api.engine)
    assert_problem(pool(api, operator, "pool-1", "600.00"), 409, "idempotency_conflict")
    assert_problem(pool(api, operator, None, "600.00"), 400, "idempotency_key_missing")
    for bad in ("-1", "0", "1.001", 5):
        answer = pool(api, operator, f"bad-{bad}", bad)
        assert answer.status_code == 422, answer.text
    assert snapshot(api.engine) == before
    balance = api.client.get("/api/v1/ops/advance-pool", headers=operator).json()["balance"]
    assert balance["fen"] == start + 50_000
    rows = api.client.get(
        "/api/v1/ops/audit", headers=operator, params={"action": "advance_pool.fund"}
    ).json()["items"]
    assert [(row["actor"], row["detail"]) for row in rows] == [("operator", {"amount": "500.00"})]


def test_operators_keys_are_their_own(api: Api, operator: Headers) -> None:
    from huoqi.service.demo_setup import add_user

    clock = api.app.state.services.clock
    add_user(
        api.engine, phone="13900000002", password="second operator 2", role="operator", now=clock()
    )
    other = api.sign_in("13900000002", "second operator 2")
    start = api.client.get("/api/v1/ops/advance-pool", headers=operator).json()["balance"]["fen"]
    mine = pool(api, operator, "same-key", "100.00")
    theirs = pool(api, other, "same-key", "100.00")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert theirs.headers["Idempotent-Replayed"] == "false"
    balance = api.client.get("/api/v1/ops/advance-pool", headers=operator).json()["balance"]
    assert balance["fen"] == start + 20_000  # both moved money
    # another amount under the same key is a new request of this operator, not a conflict
    # with someone else's
    assert pool(api, other, "other-key", "7.00").status_code == 201
    assert pool(api, operator, "other-key", "8.00").status_code == 201


def test_a_fund_without_income_does_not_stop_the_others_from_closing(
    api: Api, operator: Headers
) -> None:
    week = {date(2025, 5, 31) + timedelta(days=n): "0.6500" for n in range(7)}
    assert api.upload_income(operator, "HQ001", week).status_code == 200
    api.move_clock(operator, 2)
    job = api.close_through(operator, date(2025, 6, 6))
    assert job["status"] == "failed"
    assert "HQ002" in job["error"] and "HQ003" in job["error"] and "HQ001" not in job["error"]
    assert [(day["fund"], day["date"]) for day in job["closed"]] == [
        ("HQ001", "2025-06-05"),
        ("HQ001", "2025-06-06"),
    ]
    assert count(api.engine, "eod_runs", "status = 'closed'") == 2
