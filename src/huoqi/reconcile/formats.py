"""The two files, read and written: the bank statement and the fund confirmation file.

Both are UTF-8 CSV with a fixed header (see docs/reconciliation.md). A file is checked whole
before anything is matched: one bad line refuses the file and names the line.

* bank statement, the movements of the platform's bank account on a day:
  ``value_date,direction,amount,reference,memo`` — direction ``CR`` (money in) or ``DR``
  (money out), amount in CNY with at most two decimals;
* fund confirmation file, what the fund company confirmed on a day:
  ``confirm_date,fund_code,kind,reference,amount`` — kind ``purchase``, ``redemption`` or
  ``instant_redemption``, reference Huoqi's order reference (``FO`` and the order id).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from enum import StrEnum

from huoqi.dates import parse_date
from huoqi.errors import HuoqiError, InvalidInput
from huoqi.money import format_amount, parse_amount
from huoqi.reconcile.matching import Line

MAX_FILE_BYTES = 20_000_000
MAX_LINES = 500_000
MAX_REFERENCE = 64
MAX_MEMO = 200
REFERENCE = re.compile(r"^[0-9A-Za-z_.:/-]*$")
FUND_CODE = re.compile(r"^[0-9A-Za-z]{1,16}$")

BANK_HEADER = ("value_date", "direction", "amount", "reference", "memo")
FUND_HEADER = ("confirm_date", "fund_code", "kind", "reference", "amount")
DIRECTIONS = {"CR": "in", "DR": "out"}
FUND_KINDS = ("purchase", "redemption", "instant_redemption")


class Source(StrEnum):
    BANK = "bank"
    FUND = "fund"


class InvalidReconciliationFile(InvalidInput):
    code = "invalid_reconciliation_file"
    title = "Reconciliation file rejected"


def fund_kind(fund_code: str, kind: str) -> str:
    """The kind a fund file's line and Huoqi's item share: ``MMF1/purchase``."""
    return f"{fund_code}/{kind}"


def parse(source: Source, data: bytes) -> list[Line]:
    """The lines of a file of ``source``, or raise naming the first bad line."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidReconciliationFile(f"the file is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidReconciliationFile(
            f"the file is not UTF-8 text (byte {error.start} cannot be read)"
        ) from None
    try:
        return _read_lines(source, text)
    except csv.Error as error:  # a field beyond the csv module's size limit, say
        raise InvalidReconciliationFile(f"the file is not readable CSV: {error}") from None


def _read_lines(source: Source, text: str) -> list[Line]:
    header = BANK_HEADER if source is Source.BANK else FUND_HEADER
    reader = csv.reader(io.StringIO(text, newline=""))
    first = next(reader, None)
    if first is None or [cell.strip().lower() for cell in first] != list(header):
        raise InvalidReconciliationFile(
            f"line 1: the header must be {','.join(header)}, not {','.join(first or [])[:80]!r}"
        )
    read_line = _bank_line if source is Source.BANK else _fund_line
    lines: list[Line] = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(lines) >= MAX_LINES:
            raise InvalidReconciliationFile(f"the file has more than {MAX_LINES:,} lines")
        if len(cells) != len(header):
            raise InvalidReconciliationFile(
                f"line {number}: expected {len(header)} columns, got {len(cells)}"
            )
        try:
            lines.append(read_line(number, [cell.strip() for cell in cells]))
        except HuoqiError as error:
            raise InvalidReconciliationFile(f"line {number}: {error.detail}") from None
    return lines


def _reference(text: str) -> str:
    if len(text) > MAX_REFERENCE or not REFERENCE.match(text):
        raise InvalidInput(
            f"reference {text[:80]!r} must be at most {MAX_REFERENCE} of A-Z a-z 0-9 _ . : / -"
        )
    return text


def _bank_line(number: int, cells: list[str]) -> Line:
    day, direction, amount, reference, memo = cells
    if direction.upper() not in DIRECTIONS:
        raise InvalidInput(f"direction {direction!r} must be CR (money in) or DR (money out)")
    if len(memo) > MAX_MEMO:
        raise InvalidInput(f"memo is longer than {MAX_MEMO} characters")
    return Line(
        number,
        parse_date(day),
        DIRECTIONS[direction.upper()],
        parse_amount(amount),
        _reference(reference),
        memo,
    )


def _fund_line(number: int, cells: list[str]) -> Line:
    day, fund_code, kind, reference, amount = cells
    if not FUND_CODE.match(fund_code):
        raise InvalidInput(f"fund code {fund_code!r} must be 1 to 16 letters or digits")
    if kind not in FUND_KINDS:
        raise InvalidInput(f"kind {kind!r} must be one of {', '.join(FUND_KINDS)}")
    return Line(
        number, parse_date(day), fund_kind(fund_code, kind), parse_amount(amount),
        _reference(reference),
    )  # fmt: skip


def write(source: Source, lines: Iterable[Line]) -> str:
    """The file text of ``lines`` (the inverse of `parse`, line numbers aside)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if source is Source.BANK:
        writer.writerow(BANK_HEADER)
        directions = {kind: code for code, kind in DIRECTIONS.items()}
        for line in lines:
            writer.writerow(
                (line.day.isoformat(), directions[line.kind], format_amount(line.amount),
                 line.reference, line.memo)
            )  # fmt: skip
    else:
        writer.writerow(FUND_HEADER)
        for line in lines:
            fund_code, kind = line.kind.split("/", 1)
            writer.writerow(
                (line.day.isoformat(), fund_code, kind, line.reference, format_amount(line.amount))
            )
    return out.getvalue()
