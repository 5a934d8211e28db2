"""The two file formats: what is written reads back the same; a bad line refuses the file."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huoqi.reconcile.formats import InvalidReconciliationFile, Source, parse, write
from huoqi.reconcile.inject import Injection, file_lines, inject, parse_injections
from huoqi.reconcile.matching import Item, Line, Outcome, reconcile

references = st.text("ABCXYZ0189_.:/-", max_size=12)
days = st.dates(date(2020, 1, 1), date(2030, 12, 31))
amounts = st.integers(1, 10**12)
bank_lines = st.lists(
    st.builds(
        Line, st.just(0), days, st.sampled_from(["in", "out"]), amounts, references,
        st.text("abc ,\"'中文", max_size=20),
    ),
    max_size=20,
)  # fmt: skip
fund_lines = st.lists(
    st.builds(
        Line, st.just(0), days,
        st.sampled_from(["MMF1/purchase", "F2/redemption", "F2/instant_redemption"]),
        amounts, references,
    ),
    max_size=20,
)  # fmt: skip


def _numbered(lines: list[Line]) -> list[Line]:
    """As parsed: numbered from line 2, memos trimmed."""
    return [Line(n, *line.content(), line.memo.strip()) for n, line in enumerate(lines, start=2)]


@settings(max_examples=200, deadline=None)
@given(bank_lines)
def test_a_bank_statement_reads_back_as_written(lines: list[Line]) -> None:
    assert parse(Source.BANK, write(Source.BANK, lines).encode()) == _numbered(lines)


@settings(max_examples=200, deadline=None)
@given(fund_lines)
def test_a_fund_file_reads_back_as_written(lines: list[Line]) -> None:
    assert parse(Source.FUND, write(Source.FUND, lines).encode()) == _numbered(lines)


BANK = "value_date,direction,amount,reference,memo\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("value_date,amount\n", "line 1: the header must be"),
        (BANK + "2026-11-02,CR,0,R,\n", "line 2: amount is zero"),
        (BANK + "2026-11-02,CR,1e3,R,\n", "line 2: '1e3' is not an amount"),
        (BANK + "2026-11-02,CR,1.00,R 1,\n", "line 2: reference 'R 1'"),
        (BANK + "2026-11-02,CR,1.00,R,x\n\n2026-11-02,DR,1.00,R,x,y\n", "line 4: expected 5"),
        (BANK + "02/11/2026,CR,1.00,R,\n", "line 2: '02/11/2026' is not a date"),
        (BANK + "2026-11-02,CR,1.00," + "R" * 65 + ",\n", "line 2: reference"),
        (BANK + '2026-11-02,CR,1.00,R,"' + "x" * 200_000 + '"\n', "not readable CSV"),
    ],
)
def test_a_bad_line_refuses_the_file_and_names_the_line(text: str, message: str) -> None:
    with pytest.raises(InvalidReconciliationFile) as refused:
        parse(Source.BANK, text.encode())
    assert message in refused.value.detail


def test_a_bom_and_case_in_the_header_are_fine() -> None:
    text = "\ufeffCONFIRM_DATE,fund_code,kind,reference,amount\r\n20261103,MMF1,purchase,FO1,1\r\n"
    (line,) = parse(Source.FUND, text.encode())
    assert line == Line(2, date(2026, 11, 3), "MMF1/purchase", 100, "FO1")


def test_unknown_injections_are_named() -> None:
    with pytest.raises(Exception, match="unknown injection lost, gone"):
        parse_injections("missing, lost,gone")
    assert parse_injections("split,,extra") == [Injection.SPLIT, Injection.EXTRA]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.builds(
            Item, st.text("xyz", min_size=1, max_size=3), st.just(date(2026, 11, 2)),
            st.sampled_from(["in", "out"]), st.integers(2, 10**6),
            st.integers(0, 10**6).map(lambda n: f"HQ{n}"),
        ),
        min_size=4, max_size=12, unique_by=lambda item: item.reference,
    ),
    st.integers(0, 1000),
)  # fmt: skip
def test_every_injection_is_reported_as_what_it_is(items: list[Item], seed: int) -> None:
    everything = list(Injection)
    lines, done = inject(file_lines(items), everything, seed=seed)
    report = reconcile(lines, items)
    expected = {
        Injection.MISSING: Outcome.MISSING_IN_FILE,
        Injection.DUPLICATE: Outcome.DUPLICATE,
        Injection.WRONG_AMOUNT: Outcome.MISMATCHED,
        Injection.SPLIT: Outcome.MATCHED,
        Injection.EXTRA: Outcome.MISSING_IN_HUOQI,
    }
    for injected in done:
        outcomes = {
            group.outcome
            for group in report.groups
            if injected.reference
            in {x.reference for x in group.lines} | {x.reference for x in group.items}
        }
        assert expected[injected.injection] in outcomes, injected
    assert len(report.of(Outcome.MATCHED)) == len(items) - 2  # all but missing and wrong
