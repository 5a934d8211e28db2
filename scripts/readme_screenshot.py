"""Refresh the README screenshots: docs/screenshot-app.png and docs/screenshot-console.png.

A realistic history first: ``huoqi simulate --users 200 --days 40 --seed 1`` into a fresh
SQLite file. Then ``huoqi serve`` on it, started as the end-to-end tests start it
(`huoqi.testing.server`), with the demo logins (the demo customer takes over the first
simulated customer and their history) and the demo clock on the morning after the last
simulated day. Headless Chromium (Debian's, see `huoqi.testing.browser`) then takes the
customer's home on a phone, in Chinese, and the operator console's overview on a desktop,
in English.

Chinese text needs a CJK font: when none is installed, Debian's ``fonts-noto-cjk`` is
installed first (root and apt-get needed). The terminal recording of the ledger demo,
docs/demo.svg, is left as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime, time
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

from huoqi.db.engine import make_engine, read_transaction
from huoqi.fund.statements import SHANGHAI
from huoqi.ledger import repository as ledger_repo
from huoqi.service.demo_setup import DEMO_LOGINS
from huoqi.testing.browser import LAUNCH_ARGS, find_chromium
from huoqi.testing.server import database_url_in, start_server, stop_server

DOCS = Path(__file__).resolve().parent.parent / "docs"
APP_SHOT = DOCS / "screenshot-app.png"
CONSOLE_SHOT = DOCS / "screenshot-console.png"
SIMULATION = ["--users", "200", "--days", "40", "--seed", "1"]
LOGINS = {login.role: login for login in DEMO_LOGINS}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def ensure_cjk_font() -> None:
    """Chromium draws Chinese with whatever CJK font fontconfig has: make sure there is one."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        raise SystemExit("fc-list is missing: install fontconfig (Chromium depends on it)")
    found = subprocess.run(  # noqa: S603
        [fc_list, ":lang=zh"], capture_output=True, text=True, check=False
    )
    if found.stdout.strip():
        return
    apt_get = shutil.which("apt-get")
    if os.geteuid() != 0 or apt_get is None:
        raise SystemExit("no Chinese font: install Debian's fonts-noto-cjk, then run again")
    say("installing fonts-noto-cjk (no Chinese font yet)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        [apt_get, "update", "-q"],
        [apt_get, "install", "-y", "-q", "--no-install-recommends", "fonts-noto-cjk"],
    ):
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def simulate(folder: Path) -> date:
    """The simulated history in ``folder``'s database; answers the next business day."""
    database_url = database_url_in(folder)
    env = {**os.environ, "HUOQI_DATABASE_URL": database_url, "HUOQI_SQLITE_SYNCHRONOUS": "NORMAL"}
    for command in (["db", "upgrade"], ["simulate", *SIMULATION]):
        say(f"huoqi {' '.join(command)}")
        subprocess.run([sys.executable, "-m", "huoqi", *command], env=env, check=True)  # noqa: S603
    engine = make_engine(database_url)
    try:
        with read_transaction(engine) as connection:
            return ledger_repo.business_date(connection)
    finally:
        engine.dispose()


def sign_in(page: Page, role: str) -> None:
    login = LOGINS[role]
    page.goto("/app/sign-in")
    page.locator("input[name=phone]").fill(login.phone)
    page.locator("input[name=password]").fill(login.password)
    page.get_by_test_id("sign-in").click()


def settle(page: Page) -> None:
    """Every font loaded before the picture is taken."""
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")


def photograph(browser: Browser, url: str, problems: list[str]) -> None:
    phone = browser.new_context(
        base_url=url,
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    desktop = browser.new_context(
        base_url=url, locale="en-US", viewport={"width": 1280, "height": 1400}
    )
    for context in (phone, desktop):
        context.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    customer = phone.new_page()
    sign_in(customer, "customer")
    expect(customer).to_have_url(f"{url}/app")
    expect(customer.locator("svg.chart").first).to_be_visible()
    settle(customer)
    customer.screenshot(path=APP_SHOT)
    say(f"wrote {APP_SHOT}")

    operator = desktop.new_page()
    sign_in(operator, "operator")
    expect(operator).to_have_url(f"{url}/console")
    expect(operator.locator("svg.chart").first).to_be_visible()
    settle(operator)
    operator.screenshot(path=CONSOLE_SHOT)
    say(f"wrote {CONSOLE_SHOT}")
    phone.close()
    desktop.close()


def main() -> None:
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("Chromium is missing: python -m huoqi.testing.browser --ensure-installed")
    ensure_cjk_font()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="huoqi-screenshot-") as name:
        folder = Path(name)
        today = simulate(folder)
        morning = datetime.combine(today, time(10, 0), SHANGHAI).isoformat()
        server, process = start_server(folder, clock_start=morning)
        say(f"serving {server.url} on {today} (demo clock)")
        try:
            with sync_playwright() as playwright:
                playwright.selectors.set_test_id_attribute("data-test")
                browser = playwright.chromium.launch(
                    executable_path=chromium, headless=True, args=list(LAUNCH_ARGS)
                )
                try:
                    photograph(browser, server.url, problems)
                finally:
                    browser.close()
        finally:
            stop_server(process)
    if problems:
        raise SystemExit("the pages logged errors:\n" + "\n".join(problems))


if __name__ == "__main__":
    main()
