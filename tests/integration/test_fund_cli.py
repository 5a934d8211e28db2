"""The fund and close commands as other tools script them (the CLI contract of issue 3)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_cli import Huoqi

YU_EBAO = """date,income_per_10k,comment
2013-12-20,1.5130,published
2013-12-21,1.5109,
2013-12-22,1.5107,
2013-12-23,1.6189,
2013-12-24,1.6110,
2013-12-25,1.7012,
2013-12-26,1.7674,
2013-12-27,1.8030,
2013-12-28,1.7889,
"""


@pytest.fixture
def cli(tmp_path: Path) -> Huoqi:
    huoqi = Huoqi(tmp_path / "fund.db")
    huoqi("db", "upgrade")
    huoqi("fund", "add", "--code", "000198", "--name", "Tianhong Yu'ebao")
    return huoqi


def rates(cli: Huoqi) -> list[tuple[str, int]]:
    with sqlite3.connect(cli.database) as db:
        return db.execute("SELECT rate_date, rate_e4 FROM fund_rates ORDER BY rate_date").fetchall()


def test_import_then_yields_reproduce_the_published_seven_day_figure(
    cli: Huoqi, tmp_path: Path
) -> None:
    file = tmp_path / "yuebao.csv"
    file.write_text(YU_EBAO)
    done = cli("fund", "income", "import", "--code", "000198", str(file))
    assert "9 days imported" in done.stdout
    again = cli("fund", "income", "import", "--code", "000198", str(file))
    assert "0 days imported, 9 unchanged" in again.stdout
    out = cli("fund", "yields", "--code", "000198", "--start", "20131226").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["date", "income_per_10k", "yield_7d", "yield_14d", "yield_28d"]
    by_date = {row["date"]: row for row in rows}
    assert sorted(by_date) == ["2013-12-26", "2013-12-27", "2013-12-28"]
    assert by_date["2013-12-28"]["yield_7d"] == "6.346"
    assert by_date["2013-12-28"]["income_per_10k"] == "1.7889"
    assert by_date["2013-12-28"]["yield_14d"] == ""  # not enough days yet


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("date,income_per_10k\n2013-12-20,1.5130\n2013-12-21,abc\n", "line 3"),
        ("date,income_per_10k\n2013-12-20,1.5130\n2013-12-20,1.5130\n", "appears twice"),
        ("day_of_week,amount\nMon,1\n", "line 1"),
        ("", "empty"),
        ("date,income_per_10k\n2013-02-30,1.5\n", "line 2"),
        ("date,income_per_10k\n2013-12-20,-0.5\n", "line 2"),
        ("date,income_per_10k\n2013-12-20,1.51301\n", "line 2"),
    ],
)
def test_a_bad_income_file_imports_nothing_and_names_the_problem(
    cli: Huoqi, tmp_path: Path, content: str, says: str
) -> None:
    file = tmp_path / "bad.csv"
    file.write_text(content)
    done = cli("fund", "income", "import", "--code", "000198", str(file), ok=False)
    assert done.returncode == 2
    assert "error[invalid_income_file]" in done.stderr and says in done.stderr
    assert rates(cli) == []


def test_unknown_fund_and_missing_file_are_clear_errors(cli: Huoqi, tmp_path: Path) -> None:
    file = tmp_path / "ok.csv"
    file.write_text("date,income_per_10k\n2013-12-20,1.5\n")
    unknown = cli("fund", "income", "import", "--code", "NOPE", str(file), ok=False)
    assert unknown.returncode == 2 and "error[unknown_fund]" in unknown.stderr
    missing = cli("fund", "income", "import", "--code", "000198", str(tmp_path / "x"), ok=False)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert rates(cli) == []


def test_eod_run_refuses_a_day_without_income_then_closes_and_reports_status(
    cli: Huoqi, tmp_path: Path
) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    not_over = cli("eod", "run", "--date", today.isoformat(), ok=False)
    assert not_over.returncode == 2 and "error[day_not_over]" in not_over.stderr
    # the fund was registered three days ago (written straight into the file: set-up only)
    registered = datetime.now(UTC) - timedelta(days=3)
    with sqlite3.connect(cli.database) as db:
        db.execute("UPDATE funds SET created_at = ?", (registered.strftime("%Y-%m-%d %H:%M:%S"),))
    day = registered.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    refused = cli("eod", "run", "--date", day, ok=False)
    assert refused.returncode == 2 and "error[income_missing]" in refused.stderr
    assert "huoqi fund income import" in refused.stderr
    file = tmp_path / "today.csv"
    file.write_text(f"date,income_per_10k\n{day},0.6512\n")
    cli("fund", "income", "import", "--code", "000198", str(file))
    closed = cli("eod", "run", "--date", day, "--fund", "000198")
    assert "closed, reconciled" in closed.stdout
    again = cli("eod", "run", "--date", day, "--fund", "000198")
    assert "already closed" in again.stdout
    status = cli("eod", "status").stdout
    assert "000198" in status and day in status
    (report,) = [
        json.loads(line) for line in cli("eod", "report", "--date", day).stdout.splitlines()
    ]
    assert report["fund"] == "000198" and report["reconciled"] is True
    assert report["income_per_10k_e4"] == 6512 and report["accounts_earning"] == 0
    file.write_text(f"date,income_per_10k\n{day},0.7000\n")
    changed = cli("fund", "income", "import", "--code", "000198", str(file), ok=False)
    assert changed.returncode == 2 and "error[closed_day_changed]" in changed.stderr
    assert rates(cli)[-1][1] == 6512  # the closed day keeps its figure


def test_bench_eod_prints_its_figure_last(cli: Huoqi) -> None:
    done = cli("bench", "eod", "--accounts", "2000")
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("accounts_per_second=") and int(last.split("=")[1]) > 0


def test_a_customer_account_from_the_command_line(cli: Huoqi) -> None:
    cli("current", "fund-pool", "--amount", "1000000.00", "--key", "pool-1")
    cli("current", "open", "--customer", "alice", "--fund", "000198")
    small = cli(
        "current", "buy", "--customer", "alice", "--amount", "0.99", "--key", "b0", ok=False
    )
    assert small.returncode == 2 and "error[below_minimum]" in small.stderr
    bought = cli("current", "buy", "--customer", "alice", "--amount", "20000.00", "--key", "b1")
    assert "purchase of 20,000.00 CNY, awaiting_payment" in bought.stdout
    reference = bought.stdout.split("bank reference ")[1].split()[0]
    paid = cli("current", "bank-answer", "--reference", reference)
    assert "requested; trade date" in paid.stdout and "confirms" in paid.stdout
    again = cli("current", "buy", "--customer", "alice", "--amount", "20000.00", "--key", "b1")
    assert "requested" in again.stdout  # the replayed key returns the first order
    conflict = cli(
        "current", "buy", "--customer", "alice", "--amount", "1.00", "--key", "b1", ok=False
    )
    assert "error[idempotency_conflict]" in conflict.stderr
    short = cli(
        "current", "redeem", "--customer", "alice", "--amount", "1.00", "--key", "r1", ok=False
    )
    assert "error[insufficient_shares]" in short.stderr  # not confirmed yet: no shares
    listed = cli("current", "orders", "--customer", "alice").stdout
    assert "purchase" in listed and "20,000.00" in listed and "requested" in listed
    shown = cli("current", "limits").stdout
    assert "10,000.00 CNY per customer per fund per day" in " ".join(shown.split())
    changed = cli("current", "limits", "--per-customer", "5000.00").stdout
    assert "5,000.00 CNY per customer" in " ".join(changed.split())
    unknown = cli("current", "orders", "--customer", "nobody", ok=False)
    assert "error[unknown_holder]" in unknown.stderr
