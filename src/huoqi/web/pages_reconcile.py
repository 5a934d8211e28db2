"""The console's reconciliation pages: ``/console/reconciliation``.

Operators upload a bank statement or a fund confirmation file (a file or pasted text) and
land on the run's report; auditors see the runs and reports but no upload form. The page's
texts live here, in both languages, beside the page that shows them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from huoqi.db.engine import read_transaction
from huoqi.errors import HuoqiError, InvalidInput
from huoqi.reconcile import service
from huoqi.web.context import Services, actor
from huoqi.web.pages import (
    PageError,
    checked_form,
    error_text,
    page_principal,
    parse_day,
    render,
    translator,
)

router = APIRouter(prefix="/console/reconciliation", include_in_schema=False)
STAFF = ("operator", "auditor")
MAX_UPLOAD = 1 << 20
OUTCOMES = ("matched", "mismatched", "duplicate", "missing_in_huoqi", "missing_in_file")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Reconciliation",
        "upload": "Import a file",
        "help": "A bank statement (value_date,direction,amount,reference,memo) or a fund "
        "confirmation file (confirm_date,fund_code,kind,reference,amount); "
        "see docs/reconciliation.md. At most 1 MiB here; larger files: huoqi reconcile.",
        "source": "File",
        "bank": "Bank statement",
        "fund": "Fund confirmation",
        "date": "Business date (optional)",
        "day": "Business date",
        "line_no": "line {n}",
        "file": "CSV file",
        "paste": "or paste the CSV",
        "submit": "Import and match",
        "runs": "Runs",
        "none": "No file imported yet.",
        "run": "Run {id}",
        "file_name": "File name",
        "imported": "Imported",
        "clean": "File and Huoqi agree",
        "differences": "Differences found",
        "outcome": "Outcome",
        "groups": "Groups",
        "lines": "File lines",
        "items": "Huoqi items",
        "file_cny": "File CNY",
        "huoqi_cny": "Huoqi CNY",
        "not_matched": "To look into",
        "matched_groups": "Matched",
        "shape": "Shape",
        "rule": "By",
        "in_file": "In the file",
        "in_huoqi": "In Huoqi",
        "note": "Note",
        "back": "All runs",
        "more": "{n} more matched groups are in the API's report.",
        "matched": "matched",
        "mismatched": "mismatched",
        "duplicate": "duplicate",
        "missing_in_huoqi": "missing in Huoqi",
        "missing_in_file": "missing in the file",
        "refused": "File refused",
    },
    "zh": {
        "title": "对账",
        "upload": "导入对账文件",
        "help": "银行流水（value_date,direction,amount,reference,memo）或基金确认文件"
        "（confirm_date,fund_code,kind,reference,amount），格式见 docs/reconciliation.md。"
        "此处最大 1 MiB，更大的文件请用 huoqi reconcile。",
        "source": "文件",
        "bank": "银行流水",
        "fund": "基金确认",
        "date": "业务日期（可选）",
        "day": "业务日期",
        "line_no": "第 {n} 行",
        "file": "CSV 文件",
        "paste": "或粘贴 CSV",
        "submit": "导入并对账",
        "runs": "对账记录",
        "none": "尚未导入文件。",
        "run": "对账 {id}",
        "file_name": "文件名",
        "imported": "导入时间",
        "clean": "文件与活期一致",
        "differences": "存在差异",
        "outcome": "结果",
        "groups": "组数",
        "lines": "文件行数",
        "items": "活期记录数",
        "file_cny": "文件金额",
        "huoqi_cny": "活期金额",
        "not_matched": "待核查",
        "matched_groups": "已匹配",
        "shape": "形态",
        "rule": "依据",
        "in_file": "文件中",
        "in_huoqi": "活期中",
        "note": "说明",
        "back": "全部对账记录",
        "more": "另有 {n} 组已匹配，见 API 报告。",
        "matched": "已匹配",
        "mismatched": "不一致",
        "duplicate": "重复",
        "missing_in_huoqi": "活期缺失",
        "missing_in_file": "文件缺失",
        "refused": "文件被拒绝",
    },
}
MATCHED_SHOWN = 200


def _texts(request: Request) -> Any:
    language = translator(request).language
    texts = TEXTS.get(language, TEXTS["en"])

    def rt(key: str, **values: Any) -> str:
        text = texts.get(key) or TEXTS["en"].get(key, key)
        return text.format(**values) if values else text

    return rt


def _ctx(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _list(request: Request, principal: Any, **extra: Any) -> Response:
    runs = service.list_runs(_ctx(request).engine, limit=50)
    status = extra.pop("status", 200)
    context = {"runs": runs, "rt": _texts(request), "outcomes": OUTCOMES, **extra}
    return render(request, "console_reconcile.html", context, principal=principal, status=status)


@router.get("")
def runs_page(request: Request) -> Response:
    return _list(request, page_principal(request, *STAFF))


@router.post("")
async def upload(request: Request) -> Response:
    principal = page_principal(request, "operator")
    form = await checked_form(request)
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    source = fields.get("source", "")
    name = "pasted.csv"
    raw = fields.get("text", "").encode()
    file = form.get("file")
    if file is not None and not isinstance(file, str):
        content = await file.read(MAX_UPLOAD + 1)
        if content:
            raw, name = content, file.filename or "upload.csv"
    ctx = _ctx(request)
    try:
        if len(raw) > MAX_UPLOAD:
            raise InvalidInput("the file is larger than 1 MiB: use huoqi reconcile")
        day = fields.get("business_date", "").strip()
        business_date = parse_day(day)
        if day and business_date is None:
            raise InvalidInput(f"{day!r} is not a date: use YYYY-MM-DD")

        def work() -> service.Prepared:
            with read_transaction(ctx.engine) as connection:
                return service.prepare(
                    connection, source, file_name=name, data=raw, business_date=business_date
                )

        prepared = await asyncio.to_thread(work)
    except HuoqiError as error:
        return _list(
            request, principal, status=error.status, refused=error_text(translator(request), error),
            chosen=source,
        )  # fmt: skip
    who = actor(request, principal)
    run_id = await ctx.writer.run_async(
        lambda c: service.store(c, prepared, now=ctx.clock(), actor=who)
    )
    return RedirectResponse(f"/console/reconciliation/{run_id}", status_code=303)


@router.get("/{run_id}")
def run_page(request: Request, run_id: int) -> Response:
    principal = page_principal(request, *STAFF)
    try:
        run = service.get_run(_ctx(request).engine, run_id)
    except HuoqiError:
        raise PageError(404, "error.not_found") from None
    groups = run.groups or []
    open_groups = [group for group in groups if group["outcome"] != "matched"]
    matched = [group for group in groups if group["outcome"] == "matched"]
    context = {
        "run": run,
        "rt": _texts(request),
        "outcomes": OUTCOMES,
        "open_groups": open_groups,
        "matched": matched[:MATCHED_SHOWN],
        "more_matched": max(0, len(matched) - MATCHED_SHOWN),
    }
    return render(request, "console_reconcile_run.html", context, principal=principal)
