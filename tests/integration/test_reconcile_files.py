"""Reconciliation against a real database: files made from the day's ledger with injected
differences (missing, duplicated, wrong amount, split, extra) report each one correctly."""

from __future__ import annotations

from datetime import date

import pytest
from fund_story import Story, at, story
from sqlalchemy import Engine, func, select

from huoqi.db.engine import make_engine
from huoqi.payments.tables import reconciliation_runs
from huoqi.reconcile import service
from huoqi.reconcile.formats import InvalidReconciliationFile, Source
from huoqi.reconcile.inject import Injection, parse_injections
from huoqi.reconcile.service import Run

PAID_DAY = date(2026, 11, 2)  # card payments of the purchases reach the bank
CONFIRM_DAY = date(2026, 11, 3)  # the fund confirms them
CLOSE_RUN_DAY = date(2026, 11, 4)  # the close of the 3rd runs at 01:00 on the 4th
CUSTOMERS = ("ana", "bo", "chen", "dai", "eli", "fan")


@pytest.fixture
def engine(db_url: str) -> Engine:
    return make_engine(db_url)


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Engine:
    return make_engine(sqlite_url)


def a_day_of_business(engine: Engine) -> Story:
    """Six purchases paid on the 2nd, confirmed on the 3rd (closed on the 4th at 01:00),
    then one instant and one normal redemption on the 4th."""
    tale = story(engine)
    tale.clock.now = at(2, 10)
    for n, customer in enumerate(CUSTOMERS):
        tale.desk.open_holder(customer, "MMF1")
        tale.buy(customer, 10_000 * (n + 1) + n, key=f"buy-{customer}")
    tale.clock.now = at(4, 1)
    tale.desk.close(CONFIRM_DAY)
    tale.clock.now = at(4, 10)
    tale.desk.redeem("ana", 2_000, key="ana-instant", instant=True)
    tale.desk.redeem("bo", 3_000, key="bo-normal")
    return tale


def run_with(
    engine: Engine, source: Source, day: date, injections: list[Injection], seed: int = 7
) -> tuple[Run, dict[Injection, str]]:
    text, done = service.make_file(engine, source, day, injections=injections, seed=seed)
    run = service.import_file(
        engine, source, file_name=f"{source}-{day}.csv", data=text.encode(), now=at(5, 9)
    )
    return run, {injected.injection: injected.reference for injected in done}


def outcomes(run: Run) -> dict[str, int]:
    return {outcome: row["groups"] for outcome, row in run.summary.items() if row["groups"]}


def groups_of(run: Run, reference: str) -> list[tuple[str, str, str]]:
    assert run.groups is not None
    return sorted(
        (group["outcome"], group["rule"], group["shape"])
        for group in run.groups
        if reference in {x["reference"] for x in (*group["lines"], *group["items"])}
    )


def test_a_clean_bank_day_matches_every_payment(sqlite_engine: Engine) -> None:
    a_day_of_business(sqlite_engine)
    run, _ = run_with(sqlite_engine, Source.BANK, PAID_DAY, [])
    assert outcomes(run) == {"matched": 6}
    assert run.business_date == PAID_DAY and run.clean
    assert run.summary["matched"]["huoqi_fen"] == sum(10_000 * (n + 1) + n for n in range(6))


def test_the_funds_batch_is_one_bank_line_for_several_purchases(sqlite_engine: Engine) -> None:
    a_day_of_business(sqlite_engine)
    run, _ = run_with(sqlite_engine, Source.BANK, CLOSE_RUN_DAY, [])
    assert outcomes(run) == {"matched": 1}
    assert groups_of(run, "SUB-MMF1-20261104") == [("matched", "reference", "1:N")]
    assert run.summary["matched"]["items"] == 6


EXPECTED = {
    Injection.MISSING: [("missing_in_file", "", "0:1")],
    Injection.DUPLICATE: [("duplicate", "", "1:0"), ("matched", "reference", "1:1")],
    Injection.WRONG_AMOUNT: [("mismatched", "reference", "1:1")],
    Injection.SPLIT: [("matched", "reference", "N:1")],
    Injection.EXTRA: [("missing_in_huoqi", "", "1:0")],
}


@pytest.mark.parametrize("source", [Source.BANK, Source.FUND])
@pytest.mark.parametrize("injection", list(Injection))
def test_each_injected_difference_is_reported_as_what_it_is(
    sqlite_engine: Engine, source: Source, injection: Injection
) -> None:
    a_day_of_business(sqlite_engine)
    day = PAID_DAY if source is Source.BANK else CONFIRM_DAY
    run, injected = run_with(sqlite_engine, source, day, [injection])
    assert groups_of(run, injected[injection]) == EXPECTED[injection]
    others = {k: v for k, v in outcomes(run).items() if k != "matched"}
    # nothing else is out of place (a split is matched: nothing is)
    assert sum(others.values()) == (0 if injection is Injection.SPLIT else 1), others
    lost = injection in (Injection.MISSING, Injection.WRONG_AMOUNT)
    assert run.summary["matched"]["groups"] == (5 if lost else 6)


def _all_at_once(engine: Engine, source: Source) -> None:
    day = PAID_DAY if source is Source.BANK else CONFIRM_DAY
    everything = parse_injections("missing,duplicate,wrong-amount,split,extra")
    run, injected = run_with(engine, source, day, everything, seed=3)
    assert len(set(injected.values())) == 5
    for injection, reference in injected.items():
        assert groups_of(run, reference) == EXPECTED[injection], injection
    assert outcomes(run) == {
        "matched": 4,  # 2 untouched, the split, the duplicate's original
        "duplicate": 1,
        "mismatched": 1,
        "missing_in_file": 1,
        "missing_in_huoqi": 1,
    }
    assert not run.clean


def test_all_differences_at_once_on_either_database(engine: Engine) -> None:
    a_day_of_business(engine)
    _all_at_once(engine, Source.BANK)
    _all_at_once(engine, Source.FUND)
    assert [run.source for run in service.list_runs(engine)] == ["fund", "bank"]


def test_the_fund_file_holds_purchases_and_both_redemptions(sqlite_engine: Engine) -> None:
    a_day_of_business(sqlite_engine)
    text, _ = service.make_file(sqlite_engine, Source.FUND, date(2026, 11, 4))
    assert text.splitlines()[1:] == [
        next(line for line in text.splitlines() if "redemption" in line and "instant" not in line)
    ]  # the normal redemption trades (and is confirmed) on the 4th
    text, _ = service.make_file(sqlite_engine, Source.FUND, date(2026, 11, 5))
    assert [line.split(",")[2] for line in text.splitlines()[1:]] == ["instant_redemption"]


def test_a_line_on_the_wrong_day_is_a_mismatch(sqlite_engine: Engine) -> None:
    a_day_of_business(sqlite_engine)
    text, _ = service.make_file(sqlite_engine, Source.BANK, PAID_DAY)
    lines = text.splitlines()
    lines[1] = lines[1].replace("2026-11-02", "2026-11-03")
    reference = lines[1].split(",")[3]
    run = service.import_file(
        sqlite_engine, "bank", file_name="late.csv", data="\n".join(lines).encode(), now=at(5)
    )
    assert run.business_date == PAID_DAY
    assert groups_of(run, reference) == [("mismatched", "reference", "1:1")]
    assert outcomes(run) == {"matched": 5, "mismatched": 1}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "line 1: the header must be"),
        (
            b"value_date,direction,amount,reference,memo\n2026-11-02,XX,1.00,R,\n",
            "line 2: direction",
        ),
        (
            b"value_date,direction,amount,reference,memo\n2026-11-02,CR,1.001,R,\n",
            "line 2: '1.001'",
        ),
        (b"value_date,direction,amount,reference,memo\n2026-11-02,CR,-1,R,\n", "line 2:"),
        (b"value_date,direction,amount,reference,memo\n2026-11-31,CR,1.00,R,\n", "line 2:"),
        (b"value_date,direction,amount,reference,memo\n2026-11-02,CR,1.00\n", "expected 5 columns"),
        (b"value_date,direction,amount,reference,memo\n", "the file has no lines"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_stored(
    sqlite_engine: Engine, content: bytes, message: str
) -> None:
    a_day_of_business(sqlite_engine)
    with pytest.raises(Exception, match=r".") as refused:
        service.import_file(sqlite_engine, "bank", file_name="bad.csv", data=content, now=at(5))
    assert message in str(refused.value)
    assert getattr(refused.value, "code", "") in {
        InvalidReconciliationFile.code,
        "invalid_input",
    }
    with sqlite_engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(reconciliation_runs))
        assert count.scalar_one() == 0


def test_an_unknown_source_or_run_is_refused(sqlite_engine: Engine) -> None:
    with pytest.raises(Exception, match="must be bank or fund"):
        service.import_file(sqlite_engine, "cash", file_name="x", data=b"", now=at(5))
    with pytest.raises(service.UnknownRun):
        service.get_run(sqlite_engine, 999)


def test_odd_names_and_far_dates_are_handled_on_either_database(engine: Engine) -> None:
    a_day_of_business(engine)
    text = (
        "value_date,direction,amount,reference,memo\n"
        "0001-01-01,CR,1.00,OLD,nul\x00in memo\n"
        "9999-12-31,DR,2.00,NEW,\n"
        "9999-12-31,DR,3.00,,\n"
    )
    run = service.import_file(
        engine, "bank", file_name="odd\x00name\n.csv", data=text.encode(), now=at(5)
    )
    assert run.file_name == "oddname.csv" and run.business_date == date(9999, 12, 31)
    assert outcomes(run) == {"missing_in_huoqi": 3}
