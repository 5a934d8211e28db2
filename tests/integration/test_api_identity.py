"""Sign-up, sign-in, sessions, sign-out, password change and CSRF through the HTTP API.

Each refusal is a problem document and leaves the database as it was, except where the
refusal itself must be remembered (a wrong password counts towards the lock-out, and a
refused sign-in is audited).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from api_client import (
    LOGINS,
    PASSWORD,
    Api,
    assert_problem,
    count,
    open_api,
    snapshot,
    user_id,
)

CUSTOMER = LOGINS["customer"]


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Api]:
    with open_api(sqlite_url) as opened:
        yield opened


def test_sign_up_then_sign_in_then_me(api: Api) -> None:
    answer = api.client.post(
        "/api/v1/users",
        json={"phone": "+86 136-0000-0007", "password": PASSWORD, "display_name": "Li Wei"},
    )
    assert answer.status_code == 201, answer.text
    user = answer.json()
    assert user["phone"] == "136****0007"
    assert user["role"] == "customer"
    assert "13600000007" not in answer.text
    headers = api.sign_in("13600000007", PASSWORD)
    me = api.client.get("/api/v1/me", headers=headers).json()
    assert me == user
    summary = api.summary(headers)
    assert summary["fund_code"] == "HQ001"
    assert summary["total"] == {"fen": 0, "cny": "0.00"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"phone": CUSTOMER.phone, "password": PASSWORD}, 409, "phone_taken"),
        ({"phone": "12345", "password": PASSWORD}, 422, "invalid_input"),
        ({"phone": "12345678901", "password": PASSWORD}, 422, "invalid_phone"),
        ({"phone": "13600000008", "password": "short"}, 422, "invalid_input"),
        ({"phone": "13600000008", "password": "1234567890"}, 422, "weak_password"),
        ({"phone": "13600000008", "password": PASSWORD, "fund_code": "NOPE"}, 404, "unknown_fund"),
        ({"phone": "13600000008", "password": PASSWORD, "role": "operator"}, 422, "invalid_input"),
    ],
)
def test_a_refused_sign_up_creates_nothing(
    api: Api, body: dict[str, str], status: int, code: str
) -> None:
    before = snapshot(api.engine)
    assert_problem(api.client.post("/api/v1/users", json=body), status, code)
    assert snapshot(api.engine) == before


def _sign_in(api: Api, password: str, phone: str = CUSTOMER.phone) -> httpx.Response:
    return api.client.post("/api/v1/sessions", json={"phone": phone, "password": password})


def _fails(api: Api, phone: str) -> int:
    from sqlalchemy import text

    with api.engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT failed_sign_ins FROM users WHERE phone = :p"), {"p": "86" + phone}
            ).scalar_one()
        )


def test_wrong_password_is_counted_and_opens_no_session(api: Api) -> None:
    sessions = count(api.engine, "sessions")
    for attempt in range(1, 4):
        body = assert_problem(_sign_in(api, "not the password"), 401, "wrong_credentials")
        assert f"{5 - attempt} attempts left" in body["detail"]
        assert _fails(api, CUSTOMER.phone) == attempt
    assert count(api.engine, "sessions") == sessions
    refused = count(api.engine, "audit_log", "action = 'session.sign_in' AND outcome = 'refused'")
    assert refused == 3
    # an unknown phone number answers exactly like a wrong password
    unknown = assert_problem(
        _sign_in(api, "whatever", phone="13600000099"), 401, "wrong_credentials"
    )
    assert "attempts left" not in unknown["detail"]
    # the right password resets the counter
    assert _sign_in(api, CUSTOMER.password).status_code == 201
    assert _fails(api, CUSTOMER.phone) == 0


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(api: Api) -> None:
    operator = api.demo("operator")
    for _ in range(4):
        assert_problem(_sign_in(api, "not the password"), 401, "wrong_credentials")
    locked = _sign_in(api, "not the password")
    assert_problem(locked, 423, "account_locked")
    assert int(locked.headers["Retry-After"]) == 15 * 60
    sessions = count(api.engine, "sessions")
    right = _sign_in(api, CUSTOMER.password)
    assert_problem(right, 423, "account_locked")
    assert 0 < int(right.headers["Retry-After"]) <= 15 * 60
    assert count(api.engine, "sessions") == sessions
    card = api.client.get(
        "/api/v1/ops/users", params={"phone": CUSTOMER.phone}, headers=operator
    ).json()["items"]
    assert [c["locked"] for c in card] == [True]
    api.move_clock(operator, 1)  # the lock lasts 15 minutes
    assert _sign_in(api, CUSTOMER.password).status_code == 201


def test_a_bearer_session_expires_after_30_days(api: Api) -> None:
    customer = api.demo("customer")
    operator = api.demo("operator")
    assert api.client.get("/api/v1/me", headers=customer).status_code == 200
    api.move_clock(operator, 29)
    assert api.client.get("/api/v1/me", headers=customer).status_code == 200
    api.move_clock(operator, 2)
    before = snapshot(api.engine)
    assert_problem(api.client.get("/api/v1/me", headers=customer), 401, "session_expired")
    assert_problem(api.client.get("/api/v1/account", headers=customer), 401, "session_expired")
    assert_problem(
        api.client.post(
            "/api/v1/account/purchases",
            json={"amount": "5.00"},
            headers={**customer, "Idempotency-Key": "late"},
        ),
        401,
        "session_expired",
    )
    assert snapshot(api.engine) == before
    assert api.client.get("/api/v1/me", headers=api.demo("customer")).status_code == 200


def test_a_signed_out_session_is_refused(api: Api) -> None:
    customer = api.demo("customer")
    other = api.demo("customer")
    assert api.client.delete("/api/v1/sessions/current", headers=customer).status_code == 204
    assert_problem(api.client.get("/api/v1/me", headers=customer), 401, "unauthenticated")
    assert_problem(
        api.client.delete("/api/v1/sessions/current", headers=customer), 401, "unauthenticated"
    )
    assert api.client.get("/api/v1/me", headers=other).status_code == 200  # only that one
    assert count(api.engine, "audit_log", "action = 'session.sign_out'") == 1


def test_password_change_signs_out_the_other_sessions(api: Api) -> None:
    here = api.demo("customer")
    elsewhere = api.demo("customer")
    before = snapshot(api.engine)
    assert_problem(
        api.client.post(
            "/api/v1/me/password",
            headers=here,
            json={"current_password": "wrong guess", "new_password": PASSWORD},
        ),
        401,
        "wrong_credentials",
    )
    assert_problem(
        api.client.post(
            "/api/v1/me/password",
            headers=here,
            json={"current_password": CUSTOMER.password, "new_password": "11111111"},
        ),
        422,
        "weak_password",
    )
    assert snapshot(api.engine) == before
    changed = api.client.post(
        "/api/v1/me/password",
        headers=here,
        json={"current_password": CUSTOMER.password, "new_password": PASSWORD},
    )
    assert changed.status_code == 204
    assert api.client.get("/api/v1/me", headers=here).status_code == 200
    assert_problem(api.client.get("/api/v1/me", headers=elsewhere), 401, "unauthenticated")
    assert_problem(_sign_in(api, CUSTOMER.password), 401, "wrong_credentials")
    assert _sign_in(api, PASSWORD).status_code == 201


def test_cookie_sessions_need_the_csrf_token_to_change_anything(api: Api) -> None:
    token = api.cookie_session(CUSTOMER.phone)
    assert api.client.get("/api/v1/me").json()["role"] == "customer"  # reading needs none
    before = snapshot(api.engine)
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": ""}):
        answer = api.client.post(
            "/api/v1/account/purchases",
            json={"amount": "5.00"},
            headers={**headers, "Idempotency-Key": "csrf-1"},
        )
        assert_problem(answer, 403, "csrf_failed")
        assert_problem(
            api.client.delete("/api/v1/sessions/current", headers=headers), 403, "csrf_failed"
        )
    # the header must match the cookie: a cookie the attacker planted does not help
    api.client.cookies.set("hq_csrf", "forged")
    assert_problem(
        api.client.post(
            "/api/v1/account/purchases",
            json={"amount": "5.00"},
            headers={"X-CSRF-Token": token, "Idempotency-Key": "csrf-1"},
        ),
        403,
        "csrf_failed",
    )
    assert snapshot(api.engine) == before
    api.client.cookies.set("hq_csrf", token)
    bought = api.client.post(
        "/api/v1/account/purchases",
        json={"amount": "5.00"},
        headers={"X-CSRF-Token": token, "Idempotency-Key": "csrf-1"},
    )
    assert bought.status_code == 201, bought.text
    assert count(api.engine, "fund_orders") == 1


def test_sign_in_is_audited_with_the_address(api: Api) -> None:
    customer = api.demo("customer")
    me = api.client.get("/api/v1/me", headers=customer).json()
    auditor = api.demo("auditor")
    rows = api.client.get(
        "/api/v1/ops/audit", params={"action": "session.sign_in"}, headers=auditor
    ).json()["items"]
    mine = [row for row in rows if row["actor_id"] == me["id"]]
    assert len(mine) == 1
    assert mine[0]["actor"] == "customer"
    assert mine[0]["address"] == "testclient"
    assert mine[0]["outcome"] == "ok"
    assert mine[0]["detail"] == {"kind": "bearer"}
    assert user_id(api.engine, CUSTOMER.phone) == me["id"]
