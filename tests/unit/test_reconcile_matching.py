"""The matcher: every line and item ends in exactly one outcome, matched groups agree, and
the order of the input changes nothing; each injected difference is reported as what it is."""

from __future__ import annotations

import json
import random
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from huoqi.reconcile.matching import Group, Item, Line, Outcome, Report, reconcile

D1 = date(2026, 11, 25)
D2 = date(2026, 11, 26)

items_st = st.lists(
    st.builds(
        Item,
        key=st.text("abcdef", min_size=1, max_size=4),
        day=st.sampled_from([D1, D2]),
        kind=st.sampled_from(["in", "out"]),
        amount=st.sampled_from([100, 200, 300, 500, 1_000, 1_234]),
        reference=st.sampled_from(["", "", "R1", "R2", "R3", "B1"]),
    ),
    max_size=14,
)
lines_st = st.lists(
    st.tuples(
        st.sampled_from([D1, D2]),
        st.sampled_from(["in", "out"]),
        st.sampled_from([100, 200, 300, 400, 500, 800, 1_000, 1_234]),
        st.sampled_from(["", "", "R1", "R2", "R4", "B1"]),
    ),
    max_size=14,
).map(lambda rows: [Line(n, *row) for n, row in enumerate(rows, start=2)])


def _mirror(items: list[Item]) -> list[Line]:
    """The file that agrees with ``items`` line for line."""
    return [
        Line(n, item.day, item.kind, item.amount, item.reference)
        for n, item in enumerate(items, start=2)
    ]


def canonical(report: Report) -> list[str]:
    return sorted(json.dumps(group.as_dict(), sort_keys=True) for group in report.groups)


def assert_partition(report: Report, lines: list[Line], items: list[Item]) -> None:
    seen_lines = [line for group in report.groups for line in group.lines]
    seen_items = [item for group in report.groups for item in group.items]
    assert sorted(seen_lines, key=repr) == sorted(lines, key=repr)
    assert sorted(seen_items, key=repr) == sorted(items, key=repr)


@settings(max_examples=300, deadline=None)
@given(items_st, lines_st, st.data())
def test_every_line_and_item_ends_in_exactly_one_outcome(
    items: list[Item], extra: list[Line], data: st.DataObject
) -> None:
    # a file near what Huoqi expects (some lines kept, some altered) plus unrelated lines
    lines = [line for line in _mirror(items) if data.draw(st.booleans(), label="keep")] + [
        Line(line.number + 100, line.day, line.kind, line.amount, line.reference) for line in extra
    ]
    report = reconcile(lines, items)
    assert_partition(report, lines, items)
    for group in report.groups:
        assert group.lines or group.items
        if group.outcome is Outcome.MATCHED:
            assert sum(line.amount for line in group.lines) == sum(i.amount for i in group.items)
            assert len({x.day for x in group.lines} | {x.day for x in group.items}) == 1
            assert len({x.kind for x in group.lines} | {x.kind for x in group.items}) == 1
            assert group.lines and group.items
        if group.outcome is Outcome.MISMATCHED:
            assert group.lines and group.items
            assert {line.reference for line in group.lines} == {i.reference for i in group.items}
        if group.outcome in (Outcome.DUPLICATE, Outcome.MISSING_IN_HUOQI):
            assert (len(group.lines), len(group.items)) == (1, 0)
        if group.outcome is Outcome.MISSING_IN_FILE:
            assert (len(group.lines), len(group.items)) == (0, 1)
    summary = report.summary()
    assert sum(row["lines"] for row in summary.values()) == len(lines)
    assert sum(row["items"] for row in summary.values()) == len(items)


@settings(max_examples=300, deadline=None)
@given(items_st, lines_st, st.randoms(use_true_random=False))
def test_shuffling_the_input_does_not_change_the_outcome(
    items: list[Item], lines: list[Line], rnd: random.Random
) -> None:
    first = reconcile(lines, items)
    shuffled_lines, shuffled_items = lines[:], items[:]
    rnd.shuffle(shuffled_lines)
    rnd.shuffle(shuffled_items)
    assert canonical(reconcile(shuffled_lines, shuffled_items)) == canonical(first)


@settings(max_examples=200, deadline=None)
@given(items_st)
def test_a_file_that_agrees_matches_everything(items: list[Item]) -> None:
    report = reconcile(_mirror(items), items)
    assert report.clean, [g for g in report.groups if g.outcome is not Outcome.MATCHED]


def _items() -> list[Item]:
    return [
        Item("fund-order:1:paid", D1, "in", 10_000, "HQ01"),
        Item("fund-order:2:paid", D1, "in", 25_000, "HQ02"),
        Item("fund-order:3:paid", D1, "in", 7_500, "HQ03"),
        Item("settlement:4", D1, "out", 99_400, "ST4"),
    ]


def only(report: Report, outcome: Outcome) -> Group:
    (group,) = report.of(outcome)
    return group


def test_a_missing_line_is_missing_in_the_file() -> None:
    items = _items()
    report = reconcile(_mirror(items)[1:], items)
    assert only(report, Outcome.MISSING_IN_FILE).items == (items[0],)
    assert len(report.of(Outcome.MATCHED)) == 3


def test_a_duplicated_line_is_a_duplicate_and_the_original_matches() -> None:
    items = _items()
    lines = _mirror(items)
    copy = Line(99, *lines[1].content())
    report = reconcile([*lines, copy], items)
    duplicate = only(report, Outcome.DUPLICATE)
    assert duplicate.lines == (copy,) and duplicate.note == "a copy of line 3"
    assert len(report.of(Outcome.MATCHED)) == 4


def test_a_wrong_amount_is_a_mismatch_by_reference() -> None:
    items = _items()
    lines = _mirror(items)
    lines[2] = Line(4, D1, "in", 7_501, "HQ03")
    report = reconcile(lines, items)
    group = only(report, Outcome.MISMATCHED)
    assert group.items == (items[2],) and group.note == "amount: file 75.01, Huoqi 75.00"


def test_a_wrong_day_is_a_mismatch_by_reference() -> None:
    items = _items()
    lines = _mirror(items)
    lines[0] = Line(2, D2, "in", 10_000, "HQ01")
    group = only(reconcile(lines, items), Outcome.MISMATCHED)
    assert group.note == "day: file 2026-11-26, Huoqi 2026-11-25"


def test_a_split_payment_is_several_lines_for_one_item() -> None:
    items = _items()
    lines = _mirror(items)
    lines[1:2] = [Line(3, D1, "in", 20_000, "HQ02"), Line(30, D1, "in", 5_000, "HQ02")]
    report = reconcile(lines, items)
    assert report.clean
    (split,) = [group for group in report.groups if group.shape == "N:1"]
    assert split.rule == "reference" and split.items == (items[1],)


def test_a_split_without_reference_is_found_by_amount_and_date() -> None:
    items = _items()
    lines = _mirror(items)
    lines[1:2] = [Line(3, D1, "in", 20_000), Line(30, D1, "in", 5_000)]
    report = reconcile(lines, items)
    assert report.clean
    (split,) = [group for group in report.groups if group.shape == "N:1"]
    assert split.rule == "amount_date" and split.items == (items[1],)


def test_a_bank_batch_is_one_line_for_several_items() -> None:
    items = [
        Item("fund-order:7:to-fund", D1, "out", 10_000, "SUB-MMF1-20261125"),
        Item("fund-order:8:to-fund", D1, "out", 30_000, "SUB-MMF1-20261125"),
        Item("x:9", D1, "out", 1_100),
        Item("x:10", D1, "out", 900),
    ]
    lines = [Line(2, D1, "out", 40_000, "SUB-MMF1-20261125"), Line(3, D1, "out", 2_000, "BATCH")]
    report = reconcile(lines, items)
    assert report.clean
    assert sorted((g.rule, g.shape) for g in report.groups) == [
        ("amount_date", "1:N"),
        ("reference", "1:N"),
    ]


def test_an_extra_line_is_missing_in_huoqi() -> None:
    items = _items()
    extra = Line(50, D1, "in", 4_242, "HQ99")
    report = reconcile([*_mirror(items), extra], items)
    assert only(report, Outcome.MISSING_IN_HUOQI).lines == (extra,)


def test_equal_halves_of_a_split_are_not_duplicates() -> None:
    items = _items()
    lines = _mirror(items)
    lines[1:2] = [Line(3, D1, "in", 12_500, "HQ02"), Line(30, D1, "in", 12_500, "HQ02")]
    assert reconcile(lines, items).clean


def test_all_differences_at_once() -> None:
    items = _items()
    lines = _mirror(items)
    lines = [
        Line(3, D1, "in", 25_000, "HQ02"),
        Line(4, D1, "in", 25_000, "HQ02"),  # duplicate
        Line(5, D1, "in", 5_000, "HQ03"),  # split 5,000 + 2,500
        Line(6, D1, "in", 2_500, "HQ03"),
        Line(7, D1, "out", 99_000, "ST4"),  # wrong amount
        Line(8, D1, "in", 1_111, "HQ77"),  # extra
    ]  # HQ01 missing
    report = reconcile(lines, items)
    outcomes = sorted((g.outcome.value, g.shape) for g in report.groups)
    assert outcomes == [
        ("duplicate", "1:0"),
        ("matched", "1:1"),
        ("matched", "N:1"),
        ("mismatched", "1:1"),
        ("missing_in_file", "0:1"),
        ("missing_in_huoqi", "1:0"),
    ]
