"""Run one daily close in its own process, so a test can kill it with SIGKILL.

It prints ``started``, then a ``progress`` line for each unit of work the close reports,
then ``closed``: the test kills it after a chosen number of progress lines, so the kill
lands inside the close however fast the machine is."""

from __future__ import annotations

import sys
from datetime import date, datetime

from huoqi.db.engine import make_engine
from huoqi.fund.close import close_day


def main() -> None:
    url, fund, day, now = sys.argv[1:5]
    engine = make_engine(url)
    print("started", flush=True)
    close_day(
        engine, fund, date.fromisoformat(day), now=datetime.fromisoformat(now),
        progress=lambda step, _total, done: print(f"progress {step} {done}", flush=True),
    )  # fmt: skip
    print("closed", flush=True)


if __name__ == "__main__":
    main()
