"""The demo Mall and Huoqi together, in headless Chromium: a customer shops in the Mall, pays
with the Huoqi balance, comes back to a paid order; the shop gets the signed notification
and refunds part of it; the refund arrives and the customer's Huoqi activity shows it.

Two real servers, each in its own process: Huoqi (``huoqi serve``, demo clock, fresh
database) and the Mall (``python -m huoqi.mall``), which knows Huoqi only through the
signed gateway. The demo Mall merchant is seeded as `make run` seeds it; the customer is
set up through Huoqi's public API: signs up, buys 2,000.00 on Thursday 2025-06-05, and an
operator uploads the fund's income, moves the demo clock to Saturday and closes through
Friday, so the shares are confirmed and spendable. Screenshots go to
``tests/e2e/artifacts/mall/`` (ignored by git).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from huoqi.db.engine import make_engine
from huoqi.service.demo_setup import DEMO_LOGINS, seed_demo_merchant
from huoqi.testing.browser import LAUNCH_ARGS, find_chromium
from huoqi.testing.server import LiveServer, start_mall, start_server, stop_server

ARTIFACTS = Path(__file__).parent / "artifacts" / "mall"
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=800)
SHOPPER = ("13855556666", "shop-till-you-drop-7")
OPERATOR = next((login.phone, login.password) for login in DEMO_LOGINS if login.role == "operator")
WAIT = 15_000  # ms
INCOME_CSV = "date,income_per_10k\n" + "".join(
    f"{date(2025, 5, 29) + timedelta(days=n)},0.65{n:02d}\n" for n in range(14)
)


@dataclass(frozen=True)
class Platform:
    huoqi: LiveServer
    mall: LiveServer
    merchant_id: str
    shopper_token: str


def api(url: str, method: str, path: str, token: str = "", **kwargs: Any) -> Any:
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    answer = httpx.request(method, url + path, headers=headers, timeout=30, **kwargs)
    assert answer.is_success, f"{method} {path}: {answer.status_code} {answer.text}"
    return answer.json()


def sign_in_api(url: str, phone: str, password: str) -> str:
    return str(
        api(url, "POST", "/api/v1/sessions", json={"phone": phone, "password": password})["token"]
    )


def prepare_shopper(url: str) -> None:
    """A customer with 2,000.00 of confirmed shares, through Huoqi's public API."""
    phone, password = SHOPPER
    person = {"phone": phone, "password": password, "display_name": "Shopper", "fund_code": "HQ001"}
    api(url, "POST", "/api/v1/users", json=person)
    token = sign_in_api(url, phone, password)
    api(url, "POST", "/api/v1/account/purchases", token, json={"amount": "2000.00"},
        headers={"Idempotency-Key": "mall-e2e-buy-0001"})  # fmt: skip
    operator = sign_in_api(url, *OPERATOR)
    api(url, "POST", "/api/v1/ops/funds/HQ001/income", operator, content=INCOME_CSV.encode(),
        headers={"Content-Type": "text/csv"})  # fmt: skip
    api(url, "POST", "/api/v1/ops/demo-clock", operator, json={"days": 2})  # Saturday
    job = api(url, "POST", "/api/v1/ops/close-jobs", operator,
              json={"through": "2025-06-06", "fund_code": "HQ001"})  # fmt: skip
    deadline = time.monotonic() + 60
    while job["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.3)
        job = api(url, "GET", f"/api/v1/ops/close-jobs/{job['id']}", operator)
    assert job["status"] == "done", job


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    folder = tmp_path_factory.mktemp("mall-journey")
    huoqi, huoqi_process = start_server(folder)
    mall_process = None
    try:
        prepare_shopper(huoqi.url)
        engine = make_engine(huoqi.database_url)
        try:
            merchant_id, secret = seed_demo_merchant(
                engine, lambda: datetime.now(UTC), callback_url="http://127.0.0.1:8001/notify"
            )
        finally:
            engine.dispose()
        mall, mall_process = start_mall(
            folder, huoqi_url=huoqi.url, merchant_id=merchant_id, secret=secret
        )
        yield Platform(huoqi, mall, merchant_id, sign_in_api(huoqi.url, *SHOPPER))
    finally:
        if mall_process is not None:
            stop_server(mall_process)
        stop_server(huoqi_process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("Chromium is missing: python -m huoqi.testing.browser --ensure-installed")
    with sync_playwright() as playwright:
        playwright.selectors.set_test_id_attribute("data-test")
        launched = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=list(LAUNCH_ARGS)
        )
        try:
            yield launched
        finally:
            launched.close()


class Shots:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        self.folder = folder
        self.count = 0

    def __call__(self, page: Page, name: str) -> None:
        self.count += 1
        page.screenshot(path=self.folder / f"{self.count:02d}-{name}.png", full_page=True)


def watched(page: Page, problems: list[str]) -> Page:
    """Console errors (a CSP violation would be one) and page errors land in ``problems``."""
    page.set_default_timeout(WAIT)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text} ({page.url})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error} ({page.url})"))
    return page


def total_fen(platform: Platform) -> int:
    summary = api(platform.huoqi.url, "GET", "/api/v1/account", platform.shopper_token)
    return int(summary["total"]["fen"])


def until_shown(page: Page, test_id: str, *, seconds: float = 30) -> None:
    """Reload until ``test_id`` shows: notifications arrive asynchronously."""
    deadline = time.monotonic() + seconds
    while page.get_by_test_id(test_id).count() == 0:
        assert time.monotonic() < deadline, f"{test_id} never appeared on {page.url}"
        time.sleep(0.5)
        page.reload()


def test_shop_pay_with_balance_get_notified_and_refund_part(
    platform: Platform, browser: Browser
) -> None:
    mall, huoqi = platform.mall.url, platform.huoqi.url
    shot = Shots(ARTIFACTS)
    problems: list[str] = []
    shopper = watched(
        browser.new_context(
            locale="en-US", viewport=PHONE, is_mobile=True, has_touch=True
        ).new_page(),
        problems,
    )
    keeper = watched(browser.new_context(locale="zh-CN", viewport=DESKTOP).new_page(), problems)

    # --- the shop admin before any sale: nothing owed by Huoqi yet ---------------------
    keeper.goto(f"{mall}/admin")
    expect(keeper.get_by_role("heading", name="商户后台")).to_be_visible()
    expect(keeper.get_by_test_id("merchant-balance")).to_have_text("¥0.00")
    expect(keeper.get_by_test_id("no-notifications")).to_be_visible()
    before = total_fen(platform)
    assert before >= 200_000, before  # 2,000.00 bought, confirmed, plus Friday's income

    # --- the shopper fills a cart: earbuds (199.00) and two teas (2 × 68.00) ---------------
    shopper.goto(mall)
    expect(shopper.get_by_role("heading", name="Everyday things")).to_be_visible()
    expect(shopper.locator("li.product")).to_have_count(12)
    shot(shopper, "mall-shop")
    shopper.get_by_test_id("add-E04").click()
    expect(shopper.get_by_test_id("added")).to_contain_text("Wireless earbuds")
    shopper.get_by_test_id("add-T01").click()
    shopper.get_by_test_id("add-T01").click()
    shopper.get_by_test_id("go-cart").click()
    expect(shopper.get_by_test_id("cart-total")).to_have_text("¥335.00")
    expect(shopper.get_by_test_id("quantity-T01")).to_have_value("2")
    shot(shopper, "mall-cart")

    # --- checkout sends the browser to Huoqi, which asks the shopper to sign in ---------
    shopper.get_by_test_id("checkout").click()
    expect(shopper).to_have_url(re.compile(rf"^{huoqi}/app/sign-in"))
    shot(shopper, "huoqi-sign-in")
    shopper.locator("input[name=phone]").fill(SHOPPER[0])
    shopper.locator("input[name=password]").fill(SHOPPER[1])
    shopper.get_by_test_id("sign-in").click()
    expect(shopper).to_have_url(re.compile(rf"^{huoqi}/app/pay/HQ[0-9A-F]+$"))
    order_no = shopper.url.rsplit("/", 1)[-1]
    expect(shopper.get_by_test_id("merchant")).to_be_visible()
    expect(shopper.get_by_test_id("amount")).to_have_text("¥ 335.00")
    expect(shopper.get_by_test_id("method-balance")).to_be_checked()
    shot(shopper, "huoqi-checkout")

    # --- pays with the balance ----------------------------------------------------------
    shopper.get_by_test_id("pay").click()
    expect(shopper).to_have_url(f"{huoqi}/app/pay/{order_no}?done=1")
    expect(shopper.get_by_test_id("status")).to_have_text("Paid. The merchant has been told.")
    shot(shopper, "huoqi-paid")
    assert total_fen(platform) == before - 33_500

    # --- back in the Mall the order shows paid --------------------------------------------
    shopper.get_by_test_id("back-to-merchant").click()
    expect(shopper).to_have_url(re.compile(rf"^{mall}/orders/MALL-\d{{6}}-[0-9A-F]{{8}}$"))
    out_trade_no = shopper.url.rsplit("/", 1)[-1]
    expect(shopper.get_by_test_id("order-status")).to_have_text("Paid")
    expect(shopper.get_by_test_id("order-amount")).to_have_text("¥335.00")
    expect(shopper.get_by_test_id("order-no")).to_have_text(order_no)
    expect(shopper.get_by_test_id("thanks")).to_be_visible()
    shot(shopper, "mall-order-paid")

    # --- the shop got the signed notification; the merchant balance rose -----------------
    keeper.goto(f"{mall}/admin")
    until_shown(keeper, "notification-order.paid")
    row = keeper.get_by_test_id(f"admin-order-{out_trade_no}")
    expect(row.get_by_test_id("admin-status")).to_have_text("已付款")
    expect(keeper.get_by_test_id("merchant-balance")).to_have_text("¥335.00")
    expect(keeper.get_by_test_id("notification-order.paid")).to_contain_text(out_trade_no)
    shot(keeper, "mall-admin-paid")

    # --- a notification not signed by Huoqi is refused and changes nothing ----------------
    forged = httpx.post(
        f"{mall}/notify",
        content=b'{"event_id":"EVFORGED000000000000000001","event":"refund.succeeded"}',
        headers={
            "Huoqi-Timestamp": str(int(time.time())),
            "Huoqi-Nonce": "EVFORGED000000000000000001",
            "Huoqi-Event-Id": "EVFORGED000000000000000001",
            "Huoqi-Signature": "v1=" + "0" * 64,
        },
    )
    assert forged.status_code == 401, forged.text
    keeper.reload()
    expect(keeper.locator("tr.notification")).to_have_count(1)

    # --- a partial refund from the shop admin: one tea back (68.00) ----------------------
    row.get_by_test_id("refund-amount").fill("68.00")
    row.get_by_test_id("refund").click()
    expect(keeper.get_by_test_id("refund-done")).to_be_visible()
    row = keeper.get_by_test_id(f"admin-order-{out_trade_no}")
    expect(row.get_by_test_id("admin-status")).to_have_text("部分退款")
    expect(row.get_by_test_id("admin-refunded")).to_have_text("¥68.00")
    expect(keeper.get_by_test_id("merchant-balance")).to_have_text("¥267.00")
    until_shown(keeper, "notification-refund.succeeded")
    expect(keeper.get_by_test_id("refund-status")).to_have_text("已退款")
    shot(keeper, "mall-admin-refunded")

    # --- the customer's Huoqi activity shows the payment and the refund coming back ------
    shopper.goto(f"{huoqi}/app/orders")
    movements = shopper.locator("li.order")
    expect(movements.filter(has_text="−335.00")).to_have_count(1)
    refund = movements.filter(has_text="+68.00")
    expect(refund).to_have_count(1)
    expect(refund.locator(".kind")).to_have_text("Purchase")
    shot(shopper, "huoqi-activity-refund")
    # the refund buys shares: pending until the next close, so the total is unchanged yet
    summary = api(huoqi, "GET", "/api/v1/account", platform.shopper_token)
    assert int(summary["pending_purchases"]["fen"]) == 6_800
    assert int(summary["total"]["fen"]) == before - 33_500

    shopper.goto(f"{mall}/orders/{out_trade_no}")
    expect(shopper.get_by_test_id("order-status")).to_have_text("Partly refunded")
    expect(shopper.get_by_test_id("order-refunded")).to_have_text("¥68.00")
    expect(shopper.get_by_test_id("order-refunds")).to_contain_text("68.00")
    shot(shopper, "mall-order-refunded")
    assert problems == [], problems
