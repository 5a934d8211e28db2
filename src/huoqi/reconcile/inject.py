"""What the bank or the fund would send for a day, with differences put in on purpose.

`file_lines` turns the items Huoqi expects into the lines a counterparty would send (the
bank pays each fund's confirmed purchases in one transfer, so items sharing a ``SUB-``
reference become one line); `inject` then alters a seeded choice of lines, each
difference on a line of its own, and says what it did, for demos and tests.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from huoqi.errors import InvalidInput
from huoqi.reconcile.matching import Item, Line

BATCHED = "SUB-"


class Injection(StrEnum):
    MISSING = "missing"  # a line left out
    DUPLICATE = "duplicate"  # a line sent twice
    WRONG_AMOUNT = "wrong-amount"  # a line 1.00 CNY off
    SPLIT = "split"  # a line sent as two parts
    EXTRA = "extra"  # a line Huoqi knows nothing of


@dataclass(frozen=True, slots=True)
class Injected:
    injection: Injection
    reference: str
    amount: int


def parse_injections(text: str) -> list[Injection]:
    """``missing,duplicate`` → the injections, or a clear error."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = {injection.value: injection for injection in Injection}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InvalidInput(f"unknown injection {', '.join(unknown)}: use any of {', '.join(known)}")
    return [known[name] for name in names]


def file_lines(items: Iterable[Item]) -> list[Line]:
    """The lines a counterparty sends for ``items``: one per item, a batch per ``SUB-``."""
    batches: dict[tuple[str, object, str], int] = defaultdict(int)
    lines: list[Line] = []
    for item in sorted(items, key=lambda item: item.content()):
        if item.reference.startswith(BATCHED):
            batches[item.reference, item.day, item.kind] += item.amount
        else:
            lines.append(Line(0, item.day, item.kind, item.amount, item.reference))
    lines += [
        Line(0, day, kind, amount, reference)  # type: ignore[arg-type]
        for (reference, day, kind), amount in sorted(batches.items(), key=str)
    ]
    return _numbered(lines)


def inject(
    lines: Sequence[Line], injections: Sequence[Injection], *, seed: int = 0
) -> tuple[list[Line], list[Injected]]:
    """``lines`` with each of ``injections`` applied to a different, seeded line."""
    rnd = random.Random(seed)
    targets = [line for line in lines if line.reference]
    needed = [i for i in dict.fromkeys(injections) if i is not Injection.EXTRA]
    if len(targets) < len(needed):
        raise InvalidInput(
            f"{len(needed)} differences need as many lines with a reference; "
            f"the day has {len(targets)}"
        )
    chosen: dict[Injection, Line] = {}
    for wanted in needed:
        eligible = [
            line
            for line in targets
            if line not in chosen.values() and (wanted is not Injection.SPLIT or line.amount > 1)
        ]
        if not eligible:
            raise InvalidInput(f"no line of the day can take the difference {wanted.value}")
        chosen[wanted] = rnd.choice(eligible)
    out: list[Line] = []
    done: list[Injected] = []
    by_line: dict[int, Injection] = {id(line): wanted for wanted, line in chosen.items()}
    for line in lines:
        injection = by_line.get(id(line))
        if injection is None:
            out.append(line)
            continue
        done.append(Injected(injection, line.reference, line.amount))
        if injection is Injection.DUPLICATE:
            out += [line, line]
        elif injection is Injection.WRONG_AMOUNT:
            out.append(replace(line, amount=line.amount + 100))
        elif injection is Injection.SPLIT:
            part = max(1, line.amount // 3)
            out += [replace(line, amount=line.amount - part), replace(line, amount=part)]
    if Injection.EXTRA in injections:
        template = lines[0] if lines else None
        if template is None:
            raise InvalidInput("an extra line needs a day with at least one line to copy")
        amount = rnd.randrange(100, 1_000_000)
        extra = replace(template, amount=amount, reference=f"X{rnd.randrange(10**9):09d}")
        out.append(extra)
        done.append(Injected(Injection.EXTRA, extra.reference, amount))
    return _numbered(out), done


def _numbered(lines: Iterable[Line]) -> list[Line]:
    return [replace(line, number=number) for number, line in enumerate(lines, start=2)]
