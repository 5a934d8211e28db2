"""The matcher: the lines of a bank or fund file against the items Huoqi expects.

A pure function over plain data. Every line and every item ends in exactly one group, and
every group has one outcome:

* ``matched``: lines and items that agree — by reference first (1:1, or a reference shared
  by several lines or items whose sums agree: 1:N, N:1), then, for what carries no
  reference known to the other side, by amount and date (1:1, then a bounded search for
  several lines adding up to one item, N:1, and for several items adding up to one line,
  1:N, all on the same day and of the same kind);
* ``mismatched``: the same reference on both sides, but a different amount, day or kind;
* ``duplicate``: a copy of a line (same day, kind, amount and reference) that Huoqi expects
  only once;
* ``missing_in_huoqi``: a line Huoqi knows nothing of;
* ``missing_in_file``: an item Huoqi expects and the file does not have.

The order of the lines and items does not change the outcome: every choice is made in an
order given by the contents (day, kind, amount, reference), never by position.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from huoqi.money import format_amount

#: At most this many lines (or items) make one side of an N:1 (1:N) group found by amount.
MAX_GROUP = 4
#: The subset search looks at no more than this many candidates of one day and kind.
MAX_CANDIDATES = 16


class Outcome(StrEnum):
    MATCHED = "matched"
    MISMATCHED = "mismatched"
    DUPLICATE = "duplicate"
    MISSING_IN_HUOQI = "missing_in_huoqi"
    MISSING_IN_FILE = "missing_in_file"


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the file. ``number`` is its line number, for the report only."""

    number: int
    day: date
    kind: str
    amount: int  # fen, positive
    reference: str = ""
    memo: str = ""

    def content(self) -> tuple[date, str, int, str]:
        return (self.day, self.kind, self.amount, self.reference)


@dataclass(frozen=True, slots=True)
class Item:
    """One movement Huoqi expects. ``key`` names its source (a ledger entry, an order)."""

    key: str
    day: date
    kind: str
    amount: int  # fen, positive
    reference: str = ""

    def content(self) -> tuple[date, str, int, str, str]:
        return (self.day, self.kind, self.amount, self.reference, self.key)


@dataclass(frozen=True, slots=True)
class Group:
    outcome: Outcome
    rule: str  # "reference", "amount_date" or "" (nothing matched)
    lines: tuple[Line, ...]
    items: tuple[Item, ...]
    note: str = ""

    @property
    def shape(self) -> str:
        def side(n: int) -> str:
            return str(n) if n <= 1 else "N"

        return f"{side(len(self.lines))}:{side(len(self.items))}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "rule": self.rule,
            "shape": self.shape,
            "note": self.note,
            "lines": [
                {
                    "line": line.number,
                    "day": line.day.isoformat(),
                    "kind": line.kind,
                    "amount": line.amount,
                    "reference": line.reference,
                }
                for line in self.lines
            ],
            "items": [
                {
                    "key": item.key,
                    "day": item.day.isoformat(),
                    "kind": item.kind,
                    "amount": item.amount,
                    "reference": item.reference,
                }
                for item in self.items
            ],
        }


@dataclass(frozen=True, slots=True)
class Report:
    groups: tuple[Group, ...]

    def of(self, outcome: Outcome) -> list[Group]:
        return [group for group in self.groups if group.outcome is outcome]

    def summary(self) -> dict[str, dict[str, int]]:
        """Per outcome: groups, lines, items and the fen on each side."""
        totals: dict[str, dict[str, int]] = {
            outcome.value: {"groups": 0, "lines": 0, "items": 0, "file_fen": 0, "huoqi_fen": 0}
            for outcome in Outcome
        }
        for group in self.groups:
            row = totals[group.outcome.value]
            row["groups"] += 1
            row["lines"] += len(group.lines)
            row["items"] += len(group.items)
            row["file_fen"] += sum(line.amount for line in group.lines)
            row["huoqi_fen"] += sum(item.amount for item in group.items)
        return totals

    @property
    def clean(self) -> bool:
        return all(group.outcome is Outcome.MATCHED for group in self.groups)


def _line_order(line: Line) -> tuple[Any, ...]:
    return (*line.content(), line.memo, line.number)


def _item_order(item: Item) -> tuple[Any, ...]:
    return item.content()


def reconcile(lines: Iterable[Line], items: Iterable[Item]) -> Report:
    """Match ``lines`` (the file) against ``items`` (what Huoqi expects); see the module."""
    file_lines = sorted(lines, key=_line_order)
    expected = sorted(items, key=_item_order)
    groups: list[Group] = []
    file_lines = _take_duplicates(file_lines, expected, groups)
    file_lines, expected = _by_reference(file_lines, expected, groups)
    file_lines, expected = _one_to_one_by_amount(file_lines, expected, groups)
    file_lines, expected = _subsets(file_lines, expected, groups, lines_per_item=True)
    file_lines, expected = _subsets(file_lines, expected, groups, lines_per_item=False)
    groups += [Group(Outcome.MISSING_IN_HUOQI, "", (line,), ()) for line in file_lines]
    groups += [Group(Outcome.MISSING_IN_FILE, "", (), (item,)) for item in expected]
    return Report(tuple(groups))


def _take_duplicates(lines: list[Line], items: Sequence[Item], groups: list[Group]) -> list[Line]:
    """Copies of a line beyond what Huoqi expects become ``duplicate``; the rest go on.

    Copies are not duplicates when the reference's lines add up to its items anyway (a
    payment split into equal halves is two identical lines, both needed)."""
    line_sums: Counter[tuple[str, str]] = Counter()
    item_sums: Counter[tuple[str, str]] = Counter()
    expected: Counter[tuple[date, str, int, str]] = Counter()
    for line in lines:
        line_sums[line.reference, line.kind] += line.amount
    for item in items:
        item_sums[item.reference, item.kind] += item.amount
        expected[item.day, item.kind, item.amount, item.reference] += 1
    seen: Counter[tuple[date, str, int, str]] = Counter()
    first: dict[tuple[date, str, int, str], Line] = {}
    kept: list[Line] = []
    for line in lines:
        content = line.content()
        seen[content] += 1
        first.setdefault(content, line)
        sums_agree = line_sums[line.reference, line.kind] == item_sums[line.reference, line.kind]
        if line.reference and seen[content] > max(1, expected[content]) and not sums_agree:
            note = f"a copy of line {first[content].number}"
            groups.append(Group(Outcome.DUPLICATE, "", (line,), (), note))
        else:
            kept.append(line)
    return kept


def _by_reference(
    lines: list[Line], items: list[Item], groups: list[Group]
) -> tuple[list[Line], list[Item]]:
    """Lines and items sharing a reference: exact pairs first, then the rest as one group,
    matched when the sums, days and kinds agree and mismatched otherwise. What has no
    reference, or one the other side does not know, goes on to the matching by amount."""
    lines_by_ref: dict[str, list[Line]] = defaultdict(list)
    items_by_ref: dict[str, list[Item]] = defaultdict(list)
    for line in lines:
        lines_by_ref[line.reference].append(line)
    for item in items:
        items_by_ref[item.reference].append(item)
    shared = set(lines_by_ref) & set(items_by_ref) - {""}
    rest_lines = [line for line in lines if line.reference not in shared]
    rest_items = [item for item in items if item.reference not in shared]
    for reference in sorted(shared):
        left, right = _pair_exactly(lines_by_ref[reference], items_by_ref[reference], groups)
        if left and right:
            groups.append(_reference_group(tuple(left), tuple(right)))
        for line in left if not right else ():
            groups.append(_extra_line(line, lines_by_ref[reference], left))
        for item in right if not left else ():
            groups.append(Group(Outcome.MISSING_IN_FILE, "", (), (item,)))
    return rest_lines, rest_items


def _pair_exactly(
    lines: list[Line], items: list[Item], groups: list[Group], rule: str = "reference"
) -> tuple[list[Line], list[Item]]:
    """Pair lines and items of the same day, kind and amount; return what is left."""
    waiting: dict[tuple[date, str, int], list[Item]] = defaultdict(list)
    for item in items:
        waiting[item.day, item.kind, item.amount].append(item)
    left: list[Line] = []
    for line in lines:
        bucket = waiting.get((line.day, line.kind, line.amount))
        if bucket:
            groups.append(Group(Outcome.MATCHED, rule, (line,), (bucket.pop(0),)))
        else:
            left.append(line)
    right = [item for bucket in waiting.values() for item in bucket]
    return left, sorted(right, key=_item_order)


def _reference_group(lines: tuple[Line, ...], items: tuple[Item, ...]) -> Group:
    in_file = sum(line.amount for line in lines)
    in_huoqi = sum(item.amount for item in items)
    days = {line.day for line in lines} | {item.day for item in items}
    kinds = {line.kind for line in lines} | {item.kind for item in items}
    if in_file == in_huoqi and len(days) == 1 and len(kinds) == 1:
        return Group(Outcome.MATCHED, "reference", lines, items)
    differences = []
    if in_file != in_huoqi:
        differences.append(
            f"amount: file {format_amount(in_file)}, Huoqi {format_amount(in_huoqi)}"
        )
    if len(days) > 1:
        differences.append(
            "day: file "
            + ", ".join(sorted({line.day.isoformat() for line in lines}))
            + ", Huoqi "
            + ", ".join(sorted({item.day.isoformat() for item in items}))
        )
    if len(kinds) > 1:
        differences.append("kind: " + ", ".join(sorted(kinds)))
    return Group(Outcome.MISMATCHED, "reference", lines, items, "; ".join(differences))


def _extra_line(line: Line, same_reference: list[Line], left: list[Line]) -> Group:
    """A line left over under a reference whose items are all matched: a copy of a matched
    line is a duplicate, anything else is missing in Huoqi."""
    matched = [other for other in same_reference if other not in left]
    twin = next((other for other in matched if other.content() == line.content()), None)
    if twin is not None:
        return Group(Outcome.DUPLICATE, "", (line,), (), f"a copy of line {twin.number}")
    return Group(Outcome.MISSING_IN_HUOQI, "", (line,), (), "its reference is already matched")


def _one_to_one_by_amount(
    lines: list[Line], items: list[Item], groups: list[Group]
) -> tuple[list[Line], list[Item]]:
    return _pair_exactly(lines, items, groups, rule="amount_date")


def _subsets(
    lines: list[Line], items: list[Item], groups: list[Group], *, lines_per_item: bool
) -> tuple[list[Line], list[Item]]:
    """N:1 (several lines add up to one item) or 1:N (several items add up to one line),
    found by a bounded search among the other side's leftovers of the same day and kind."""
    targets: list[Any] = list(items if lines_per_item else lines)
    parts: list[Any] = list(lines if lines_per_item else items)
    target_order = _item_order if lines_per_item else _line_order
    part_order = _line_order if lines_per_item else _item_order
    pool: dict[tuple[date, str], list[Any]] = defaultdict(list)
    for part in sorted(parts, key=lambda part: (-part.amount, *part_order(part))):
        pool[part.day, part.kind].append(part)
    unmatched: list[Any] = []
    for target in sorted(targets, key=lambda target: (-target.amount, *target_order(target))):
        bucket = pool.get((target.day, target.kind), [])
        candidates = [part for part in bucket if part.amount < target.amount][:MAX_CANDIDATES]
        found = _first_subset(candidates, target.amount)
        if found is None:
            unmatched.append(target)
            continue
        for part in found:
            bucket.remove(part)
        group = (found, (target,)) if lines_per_item else ((target,), found)
        groups.append(Group(Outcome.MATCHED, "amount_date", *group))
    left_parts = sorted((part for bucket in pool.values() for part in bucket), key=part_order)
    left_targets = sorted(unmatched, key=target_order)
    if lines_per_item:
        return left_parts, left_targets
    return left_targets, left_parts


def _first_subset(candidates: list[Any], total: int) -> tuple[Any, ...] | None:
    """The first 2 to `MAX_GROUP` candidates (sorted by amount, largest first) that add up
    to ``total``, by a depth-first search that stops a branch once even its largest
    remaining candidates cannot reach the total."""
    amounts = [part.amount for part in candidates]

    def search(start: int, left: int, chosen: tuple[int, ...]) -> tuple[int, ...] | None:
        slots = MAX_GROUP - len(chosen)
        for index in range(start, len(amounts)):
            amount = amounts[index]
            if amount > left:
                continue
            if sum(amounts[index : index + slots]) < left:
                return None  # the rest are smaller still
            if amount == left:
                if chosen:
                    return (*chosen, index)
                continue
            if slots > 1:
                found = search(index + 1, left - amount, (*chosen, index))
                if found is not None:
                    return found
        return None

    found = search(0, total, ())
    return None if found is None else tuple(candidates[index] for index in found)
