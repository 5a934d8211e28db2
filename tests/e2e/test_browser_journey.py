"""The whole customer and operator journey in headless Chromium, through the real server.

A customer (English, phone-sized) signs up, buys 10,000.00 and sees the pending purchase
with its dates; an operator (Chinese, desktop) uploads a fortnight of income (after a
broken file is refused), moves the demo clock to Saturday and closes HQ001 through Friday;
the customer then sees income and the 7-day yield, redeems 500.00 instantly and sees the
instant limit drop. Along the way: the session cookie is HttpOnly, a forged form is
refused, no page logs a console error (a CSP violation would), and buying works without
JavaScript. Screenshots of each step go to ``tests/e2e/artifacts/`` (ignored by git).

Chromium is Debian's (``/usr/bin/chromium``): nothing is downloaded at run time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

from huoqi.testing.browser import LAUNCH_ARGS, find_chromium
from huoqi.testing.server import LiveServer

ARTIFACTS = Path(__file__).parent / "artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
OPERATOR = ("13900000001", "huoqi-demo-operator")
CUSTOMER = ("13812345678", "walk-in-park-42")
WAIT = 15_000  # ms: the longest any one step may take

# A fortnight of HQ001's income per 10,000 shares, 2025-05-29 .. 2025-06-11: near 0.65 up
# to Saturday 06-07 (where the test stops the demo clock), near 0.85 after, so a yield
# taken from those later days would show.
RATES = {
    date(2025, 5, 29) + timedelta(days=n): Decimal(f"0.{65 if n < 10 else 85}{n * 37 % 100:02d}")
    for n in range(14)
}
INCOME_CSV = "date,income_per_10k\n" + "".join(f"{day},{rate}\n" for day, rate in RATES.items())
BROKEN_CSV = "date,income_per_10k\n2025-05-29,0.6512\n2025-05-30,lots\n"


def amount(text: str) -> Decimal:
    """``+1,234.56`` or ``1,234.56`` → Decimal."""
    return Decimal(re.sub(r"[^\d.\-]", "", text))


class Shots:
    """Numbered screenshots of the journey: 01-customer-sign-up.png, 02-..."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        self.folder = folder
        self.count = 0

    def __call__(self, page: Page, name: str) -> None:
        self.count += 1
        page.screenshot(path=self.folder / f"{self.count:02d}-{name}.png", full_page=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("Chromium is missing: python -m huoqi.testing.browser --ensure-installed")
    with sync_playwright() as playwright:
        playwright.selectors.set_test_id_attribute("data-test")  # the templates' hooks
        launched = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=list(LAUNCH_ARGS)
        )
        try:
            yield launched
        finally:
            launched.close()


def watched(context: BrowserContext, problems: list[str]) -> Page:
    """A new page whose console errors and uncaught exceptions land in ``problems``.

    A refused income file answers 422 by design (the test checks that status itself), and
    Chromium logs any 4xx document as a console error: that one message is expected."""
    page = context.new_page()
    page.set_default_timeout(WAIT)

    def on_console(message: ConsoleMessage) -> None:
        where = message.location.get("url", "")
        if message.type != "error" or (
            where.endswith("/console/income") and "status of 422" in message.text
        ):
            return
        problems.append(f"console {message.type}: {message.text} at {where} ({page.url})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error} ({page.url})"))
    return page


def sign_in(page: Page, phone: str, password: str) -> None:
    page.locator("input[name=phone]").fill(phone)
    page.locator("input[name=password]").fill(password)
    page.get_by_test_id("sign-in").click()


def test_sign_up_buy_close_see_income_and_redeem_instantly(
    live_server: LiveServer, browser: Browser
) -> None:
    url = live_server.url
    shot = Shots(ARTIFACTS)
    problems: list[str] = []
    customer_context = browser.new_context(
        base_url=url, locale="en-US", viewport=PHONE, is_mobile=True, has_touch=True
    )
    operator_context = browser.new_context(base_url=url, locale="zh-CN", viewport=DESKTOP)
    customer = watched(customer_context, problems)
    operator = watched(operator_context, problems)

    # --- the customer signs up and lands on an empty home ------------------------------
    customer.goto("/app/sign-up")
    expect(customer.get_by_role("heading", name="Create account")).to_be_visible()
    customer.locator("input[name=phone]").fill(CUSTOMER[0])
    customer.locator("input[name=password]").fill(CUSTOMER[1])
    customer.locator("input[name=display_name]").fill("Walker")
    customer.locator("select[name=fund_code]").select_option("HQ001")
    shot(customer, "customer-sign-up")
    customer.get_by_test_id("sign-up").click()
    expect(customer).to_have_url(f"{url}/app")
    expect(customer.get_by_test_id("total")).to_have_text("0.00")
    expect(customer.get_by_text("No movements yet. Add money to start earning.")).to_be_visible()
    shot(customer, "customer-home-empty")

    session = {c["name"]: c for c in customer_context.cookies()}
    assert session["hq_session"]["httpOnly"] is True, "scripts must never see the session"
    assert session["hq_session"]["sameSite"] == "Lax"
    assert session["hq_csrf"]["sameSite"] == "Strict"

    # --- buys 10,000.00: requested on Thursday, confirmed and earning from Friday -------
    customer.get_by_test_id("go-buy").click()
    expect(customer).to_have_url(f"{url}/app/buy")
    expect(customer.get_by_text("your shares are confirmed on 2025-06-06")).to_be_visible()
    customer.get_by_test_id("amount").fill("10000.00")
    shot(customer, "customer-buy")
    customer.get_by_test_id("buy").click()
    expect(customer).to_have_url(re.compile(r"/app/orders/\d+\?new=1$"))
    expect(customer.get_by_test_id("order-status")).to_have_text("Requested")
    expect(customer.get_by_test_id("order-amount")).to_have_text("10,000.00")
    expect(customer.get_by_test_id("order-trade-date")).to_have_text("2025-06-05")
    expect(customer.get_by_test_id("order-confirm-date")).to_have_text("2025-06-06")
    shot(customer, "customer-purchase-requested")
    customer.goto("/app")
    expect(customer.get_by_test_id("pending-purchases")).to_have_text("10,000.00")
    expect(customer.get_by_test_id("total")).to_have_text("0.00")

    # --- a forged form (wrong CSRF token, the session cookie riding along) is refused ---
    customer.goto("/app/orders")
    orders_before = customer.locator("li.order").count()
    forged = customer.request.post(
        f"{url}/app/buy",
        form={
            "csrf_token": "forged",
            "idempotency_key": "forged-0001",
            "amount": "5000.00",
        },
        headers={"Accept-Language": "en-US"},
        max_redirects=0,
    )
    assert forged.status == 403
    assert "CSRF token" in forged.text()
    customer.reload()
    expect(customer.locator("li.order")).to_have_count(orders_before)
    customer.goto("/app")
    expect(customer.get_by_test_id("pending-purchases")).to_have_text("10,000.00")

    # --- the operator signs in (Chinese) and lands on the console ----------------------
    operator.goto("/app/sign-in")
    expect(operator.get_by_role("heading", name="登录")).to_be_visible()
    sign_in(operator, *OPERATOR)
    expect(operator).to_have_url(f"{url}/console")
    expect(operator.get_by_role("heading", name="基金")).to_be_visible()
    shot(operator, "operator-console")

    # --- a broken income file is refused whole; the good one is accepted ----------------
    operator.goto("/console/income")
    expect(operator.get_by_role("heading", name="上传每日收益")).to_be_visible()
    operator.get_by_test_id("fund").select_option("HQ001")
    operator.get_by_test_id("csv-text").fill(BROKEN_CSV)
    with operator.expect_response(lambda r: r.request.method == "POST") as refused:
        operator.get_by_test_id("upload").click()
    assert refused.value.status == 422
    expect(operator.get_by_test_id("report-refused")).to_contain_text("已拒绝，未导入任何数据")
    expect(operator.get_by_test_id("report-accepted")).to_have_count(0)
    shot(operator, "operator-income-refused")
    operator.get_by_test_id("fund").select_option("HQ001")
    operator.get_by_test_id("file").set_input_files(
        files=[
            {
                "name": "hq001-income.csv",
                "mimeType": "text/csv",
                "buffer": INCOME_CSV.encode(),
            }
        ]
    )
    with operator.expect_response(lambda r: r.request.method == "POST") as accepted:
        operator.get_by_test_id("upload").click()
    assert accepted.value.status == 200
    expect(operator.get_by_test_id("report-accepted")).to_have_text("已接受")
    # all 14 days are new: the refused file imported nothing, not even its good first row
    expect(operator.get_by_test_id("report-inserted")).to_have_text("14")
    expect(operator.get_by_test_id("report")).to_contain_text("2025-05-29 – 2025-06-11")
    shot(operator, "operator-income-accepted")

    # --- moves the demo clock to Saturday and closes HQ001 through Friday ---------------
    operator.goto("/console/close")
    expect(operator.get_by_test_id("demo-now")).to_contain_text("2025-06-05")
    for day in ("2025-06-06", "2025-06-07"):
        operator.get_by_test_id("clock-forward").click()
        expect(operator.get_by_test_id("demo-now")).to_contain_text(day)
    expect(operator.get_by_test_id("through")).to_have_value("2025-06-06")
    operator.get_by_test_id("through").fill("2025-06-06")
    operator.locator("select[name=fund_code]").select_option("HQ001")
    shot(operator, "operator-close-form")
    operator.get_by_test_id("run-close").click()
    expect(operator).to_have_url(re.compile(r"/console/close/\d+$"))
    expect(operator.get_by_test_id("job-status")).to_have_attribute(
        "data-status", "done", timeout=30_000
    )
    expect(operator.get_by_test_id("job-error")).to_have_count(0)
    closed_days = operator.locator("table.table tbody tr")
    expect(closed_days).to_have_count(2)  # HQ001 registered on 06-05: 06-05 and 06-06
    expect(closed_days.nth(1)).to_contain_text("2025-06-06")
    shot(operator, "operator-close-done")

    # --- two days on, the customer's 12-hour session has expired: sign in again ---------
    customer.goto("/app")
    expect(customer).to_have_url(f"{url}/app/sign-in?expired=1")
    expect(customer.get_by_role("status")).to_have_text(
        "Your session has expired. Please sign in again."
    )
    sign_in(customer, *CUSTOMER)
    expect(customer).to_have_url(f"{url}/app")

    # --- the customer sees Friday's income and the 7-day yield --------------------------
    expect(customer.get_by_test_id("total")).not_to_have_text("0.00")
    expect(customer.get_by_text("Income on 06-06")).to_be_visible()
    last_income = amount(customer.get_by_test_id("last-income").inner_text())
    cumulative = amount(customer.get_by_test_id("cumulative-income").inner_text())
    total = amount(customer.get_by_test_id("total").inner_text())
    # 10,000.00 bought 10,000 shares, which earn the 06-06 rate per 10,000, rounded down to the fen
    expected = RATES[date(2025, 6, 6)].quantize(Decimal("0.01"), ROUND_DOWN)
    assert last_income == expected, (last_income, expected)
    assert cumulative >= last_income > 0
    assert total == Decimal("10000.00") + cumulative
    expect(customer.get_by_test_id("yield-7d")).to_have_text(re.compile(r"^\d+\.\d{3}%$"))
    # the figure is the yield chart's last point: the 7 days to Saturday, not days to come
    last_point = customer.locator("svg.chart").first.locator("circle.dot title").last
    expect(last_point).to_have_text(re.compile(r"^2025-06-07: \d+\.\d{3}$"))
    shown = customer.get_by_test_id("yield-7d").inner_text()
    assert shown == (last_point.text_content() or "").split(": ")[1] + "%", shown
    expect(customer.get_by_test_id("pending-purchases")).to_have_count(0)
    expect(customer.locator("svg.chart").first).to_be_visible()
    shot(customer, "customer-home-income")

    # --- redeems 500.00 instantly: review with dates, confirm, paid out -----------------
    customer.get_by_test_id("go-redeem").click()
    expect(customer).to_have_url(f"{url}/app/redeem")
    expect(customer.get_by_test_id("instant-left")).to_have_text("10,000.00")
    customer.get_by_test_id("amount").fill("500")
    customer.get_by_test_id("mode-instant").check()
    shot(customer, "customer-redeem")
    customer.get_by_test_id("review").click()
    expect(customer.get_by_role("heading", name="Please check before you confirm")).to_be_visible()
    expect(customer.get_by_test_id("quote-amount")).to_have_text("500.00")
    expect(customer.get_by_test_id("quote-trade-date")).to_have_text(re.compile(r"^2025-06-\d\d$"))
    expect(customer.get_by_test_id("quote-payout-date")).to_have_text("2025-06-07")
    expect(customer.get_by_test_id("quote-instant-left")).to_have_text("10,000.00")
    shot(customer, "customer-redeem-review")
    customer.get_by_test_id("confirm").click()
    expect(customer).to_have_url(re.compile(r"/app/orders/\d+\?new=1$"))
    expect(customer.get_by_test_id("order-status")).to_have_text("Paid out")
    expect(customer.get_by_test_id("order-amount")).to_have_text("500.00")
    expect(customer.get_by_test_id("order-payout-date")).to_have_text("2025-06-07")
    shot(customer, "customer-redeemed")

    customer.goto("/app/redeem")
    expect(customer.get_by_test_id("instant-left")).to_have_text("9,500.00")
    customer.goto("/app")
    expect(customer.get_by_test_id("instant-left")).to_have_text("9,500.00")
    assert amount(customer.get_by_test_id("total").inner_text()) == total - 500
    shot(customer, "customer-home-after-redemption")

    # --- the buy form works with JavaScript off ----------------------------------------
    plain_context = browser.new_context(
        base_url=url, locale="en-US", viewport=PHONE, java_script_enabled=False
    )
    plain = watched(plain_context, problems)
    plain.goto("/app/sign-in")
    sign_in(plain, *CUSTOMER)
    expect(plain).to_have_url(f"{url}/app")
    plain.goto("/app/buy")
    plain.get_by_test_id("amount").fill("100.00")
    plain.get_by_test_id("buy").click()
    expect(plain.get_by_test_id("order-status")).to_have_text("Requested")
    expect(plain.get_by_test_id("order-trade-date")).to_have_text("2025-06-09")
    shot(plain, "customer-buy-without-javascript")

    for context in (customer_context, operator_context, plain_context):
        context.close()
    assert problems == [], "\n".join(problems)
