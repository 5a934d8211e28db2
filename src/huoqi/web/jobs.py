"""The daily close, started from the console and watched while it runs.

One close runs at a time per process, in a background thread, through the same
`huoqi.fund.close` code as ``huoqi eod run``: crash-safe, resumable and exactly once per
fund and day. Its progress lives here in memory for the console to poll; its results are
in the database (``eod_runs``), so a restart loses only the progress bar.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from huoqi.audit.log import Actor, record
from huoqi.db.engine import run_in_write_transaction
from huoqi.errors import Conflict, HuoqiError, NotFound
from huoqi.fund import close
from huoqi.fund.service import FundDesk
from huoqi.ledger import repository as ledger_repo

log = logging.getLogger("huoqi.close")


class CloseAlreadyRunning(Conflict):
    code = "close_running"
    title = "A close is already running"


class UnknownJob(NotFound):
    code = "unknown_job"
    title = "Unknown job"


@dataclass
class Job:
    id: int
    kind: str
    through: date
    fund: str | None
    started_at: datetime
    status: str = "running"
    step: str = "starting"
    done: int = 0
    finished_at: datetime | None = None
    error: str | None = None
    closed: list[dict[str, Any]] = field(default_factory=list)


class Jobs:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._running: Job | None = None

    def start_close(
        self, *, through: date, fund: str | None, actor: Actor, wait: bool = False
    ) -> Job:
        with self._lock:
            if self._running is not None and self._running.status == "running":
                raise CloseAlreadyRunning(
                    f"close job {self._running.id} is still running; watch it finish first",
                    job=self._running.id,
                )
            job = Job(next(self._ids), "close", through, fund, self.clock())
            self._jobs[job.id] = job
            self._running = job
        thread = threading.Thread(
            target=self._run, args=(job, actor), daemon=True, name=f"close-{job.id}"
        )
        thread.start()
        if wait:
            thread.join()
        return job

    def _run(self, job: Job, actor: Actor) -> None:
        """Close each fund in turn; one fund's refusal (its income is missing, say) does not
        stop the others, whose closes are independent. The job's status is set last, after
        its audit row, so a watcher that sees it finished sees everything."""

        def progress(step: str, _total: int, done: int) -> None:
            job.step, job.done = step, done

        self._audit(actor, "close.start", job, "ok")
        problems: list[str] = []
        try:
            codes = (
                [job.fund] if job.fund else [fund.code for fund in FundDesk(self.engine).funds()]
            )
            for code in codes:
                try:
                    closed = close.close_through(
                        self.engine, code, job.through, now=self.clock(), progress=progress
                    )
                except HuoqiError as error:
                    problems.append(f"{code}: {error.detail}")
                    continue
                job.closed += [
                    {
                        "fund": c.fund,
                        "date": c.day.isoformat(),
                        "already_closed": c.already_closed,
                        **c.report,
                    }
                    for c in closed
                ]
            if not problems:
                self._advance_business_date(job.through + timedelta(days=1))
        except Exception as error:  # the console must see it; the log keeps the trace
            log.exception("close job %s failed", job.id)
            problems.append(f"unexpected error: {error}")
        job.error = "; ".join(problems) or None
        outcome = "failed" if problems else "ok"
        self._audit(actor, "close.finish", job, outcome)
        job.finished_at = self.clock()
        job.step = "finished"
        job.status = "failed" if problems else "done"

    def _advance_business_date(self, day: date) -> None:
        def work(connection: Any) -> None:
            if ledger_repo.business_date(connection) < day:
                ledger_repo.set_business_date(connection, day)

        run_in_write_transaction(self.engine, work)

    def _audit(self, actor: Actor, action: str, job: Job, outcome: str) -> None:
        run_in_write_transaction(
            self.engine,
            lambda c: record(
                c,
                actor,
                action,
                now=self.clock(),
                object_type="close_job",
                object_id=job.id,
                outcome=outcome,
                detail={
                    "through": job.through,
                    "fund": job.fund,
                    "error": job.error,
                    "days": len(job.closed),
                },
            ),
        )

    def get(self, job_id: int) -> Job:
        found = self._jobs.get(job_id)
        if found is None:
            raise UnknownJob(f"there is no job {job_id} (jobs are kept until a restart)")
        return found

    def recent(self, limit: int = 10) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda job: -job.id)[:limit]
