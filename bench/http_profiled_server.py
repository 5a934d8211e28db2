"""``huoqi serve`` under cProfile: where the server's time goes under `bench http`.

`python -m bench http` starts this instead of ``python -m huoqi serve`` when
``HUOQI_BENCH_PROFILE`` names a file (nothing else reads that variable). Every thread gets
a profiler of its own: the event loop's thread, the request thread pool, the bank's timer
threads. They time wall-clock time (``time.thread_time`` as cProfile's timer gave
unreliable figures here, idle waits counted as CPU), so run the load at a rate low enough
that requests seldom overlap: then a request thread's time is its CPU time plus SQLite's
own reads, writes and lock waits, and the idle waits are in ``queue.get`` and
``lock.acquire``. SIGUSR1, sent by the benchmark as its load starts, clears them, so
start-up is left out. When the server stops, all are merged into ``HUOQI_BENCH_PROFILE``
(pstats: ``python -m pstats FILE``) and ``HUOQI_BENCH_PROFILE.txt`` (the top functions by
own and by cumulative time).

cProfile makes the server two to three times slower, so the latencies of a profiled run
mean nothing; the shares of time do.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any


class Profiles:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.profiles: list[cProfile.Profile] = []
        self.started = time.monotonic()

    def thread_hook(self, _frame: FrameType, _event: str, _arg: Any) -> None:
        """The first profile event of a new thread: give it a profiler of its own."""
        self.enable_here()

    def enable_here(self) -> None:
        profile = cProfile.Profile()
        with self.lock:
            self.profiles.append(profile)
        profile.enable()  # replaces this thread's hook with the profiler

    def reset(self) -> None:
        """Forget everything so far (under the GIL; a thread's profiler copes with losing
        the calls it is inside of)."""
        with self.lock:
            for profile in self.profiles:
                profile.clear()
            self.started = time.monotonic()

    def write(self, path: Path) -> None:
        with self.lock:
            profiles = list(self.profiles)
        for profile in profiles:
            profile.disable()
            profile.create_stats()
        stats = pstats.Stats(*profiles) if profiles else None
        if stats is None:
            return
        stats.dump_stats(path)
        text = io.StringIO()
        text.write(f"{len(profiles)} threads profiled over {time.monotonic() - self.started:.1f} s"
                   " (wall-clock time per thread)\n")  # fmt: skip
        stats.stream = text  # type: ignore[attr-defined]
        stats.sort_stats("tottime").print_stats(60)
        stats.sort_stats("cumulative").print_stats(100)
        Path(f"{path}.txt").write_text(text.getvalue())


def main() -> None:
    target = Path(os.environ["HUOQI_BENCH_PROFILE"])
    profiles = Profiles()
    threading.setprofile(profiles.thread_hook)
    profiles.enable_here()

    def stopped(signum: int, _frame: object) -> None:
        # uvicorn handles SIGTERM itself, then raises it again with this handler restored
        profiles.write(target)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: profiles.reset())
    from huoqi.cli import main as huoqi

    sys.argv = ["huoqi", "serve", *sys.argv[1:]]
    huoqi()


if __name__ == "__main__":
    main()
