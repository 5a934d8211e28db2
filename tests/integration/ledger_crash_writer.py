"""A writer that the crash test kills with SIGKILL: run as a script, never imported by tests.

    python ledger_crash_writer.py URL RUN SEED ACCOUNT_ID,... [PAUSE_BATCH PAUSE_BEFORE]

It posts atomic batches of 200 small transfers between the given accounts, forever. After
each batch it places a hold and captures 0.01 of the previous one, then prints
``committed <batch>`` so that the test knows what is durable. Keys are
``<RUN>-b<batch>-<n>`` for transfers, ``<RUN>-h<batch>`` for holds and ``<RUN>-c<batch>``
for captures.

With PAUSE_BATCH and PAUSE_BEFORE (the start of an SQL statement, e.g.
``INSERT INTO postings``) it stops inside that batch's transaction just before that
statement, prints ``in flight <batch>`` and waits to be killed: a crash at a known point
in the middle of a transaction, with part of the batch already written to the database.
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any

from sqlalchemy import event

from huoqi.db.engine import make_engine
from huoqi.ledger.domain import HoldRequest, transfer
from huoqi.ledger.service import Ledger

BATCH = 200


def main(
    url: str, run: str, seed: int, accounts: list[int], *, pause_batch: int, pause_before: str
) -> None:
    engine = make_engine(url)
    ledger = Ledger(engine)
    rng = random.Random(seed)
    now = {"batch": -1, "posting": False}

    @event.listens_for(engine, "before_cursor_execute")
    def _pause(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if now["posting"] and now["batch"] == pause_batch and statement.startswith(pause_before):
            print(f"in flight {pause_batch}", flush=True)
            time.sleep(60)  # the test kills us long before this ends

    previous_hold: int | None = None
    for batch in range(1_000_000):
        requests = []
        for n in range(BATCH):
            debit, credit = rng.sample(accounts, 2)
            key = f"{run}-b{batch}-{n}"
            requests.append(transfer(key, debit=debit, credit=credit, amount=rng.randint(1, 99)))
        now.update(batch=batch, posting=True)
        ledger.post_many(requests, atomic=True)
        now.update(posting=False)
        debit, credit = rng.sample(accounts, 2)
        hold = ledger.hold(HoldRequest(f"{run}-h{batch}", debit, credit, rng.randint(2, 99)))
        if previous_hold is not None:
            ledger.post_hold(previous_hold, key=f"{run}-c{batch}", amount=1)
        previous_hold = hold.id
        print(f"committed {batch}", flush=True)


if __name__ == "__main__":
    url, run, seed, ids, *pause = sys.argv[1:]
    main(
        url,
        run,
        int(seed),
        [int(a) for a in ids.split(",")],
        pause_batch=int(pause[0]) if pause else -1,
        pause_before=pause[1] if pause else "",
    )
