"""The HTTP service under a constant request rate: `python -m bench http`.

Four phases, each against a server of its own started for it on 127.0.0.1 (one uvicorn
worker, as ``huoqi serve`` runs by default): five requests one at a time first (the first
use's costs, such as lazy imports, are paid there; the first one's time is reported), then
3 s of warm-up (not counted) and 30 s measured at 300 requests/s:

* ``bare``: ``GET /bare`` of a FastAPI app with nothing of Huoqi (`bench.http_bare_app`),
  the floor the machine, uvicorn and FastAPI set;
* ``read``: ``GET /api/v1/account``, the signed-in customer's summary;
* ``write``: ``POST /api/v1/account/purchases`` of 100.00 CNY with a new Idempotency-Key
  per request (201 expected);
* ``write-normal``: the same at ``HUOQI_SQLITE_SYNCHRONOUS=NORMAL`` (no fsync per commit),
  for comparison only: how much of the write's cost is the disk.

Huoqi's server is ``python -m huoqi serve`` on a fresh migrated SQLite file with the demo
funds and logins (``HUOQI_DEMO_SETUP=1``) and the demo clock at Thursday 2025-06-05 10:00
in Shanghai, at the service's defaults: ``HUOQI_SQLITE_SYNCHRONOUS=FULL`` (every commit
fsynced) and ``HUOQI_BANK_DELAY=0.2`` (the simulated bank approves purchases 0.2 s after
they commit, in batches from one thread: a second write per purchase, beside the requests).
Both servers run two worker processes, one per core. Access logs (one JSON line per
request) go to a file, as a deployment's would.

The load is open-loop: request *i* is due at ``start + i / rate`` whatever happened to the
earlier ones, and its latency is measured from that due time to the last byte of its
answer, so time spent queued behind a slow answer (in the client or the server) counts and
a stall cannot hide itself by slowing the sender (no coordinated omission). Requests go
over a pool of keep-alive HTTP/1.1 connections written and parsed by hand on asyncio
(uvloop when installed), in this process, not the server's; the two share the machine's
cores, so the client's own CPU time is reported beside the server's. Every request must
answer 2xx; anything else, a broken connection, or no answer within 10 s of the end counts
as an error. Target: p99 under 50 ms for the read and the write, without errors.

Set ``HUOQI_BENCH_PROFILE=FILE`` to run Huoqi's servers under cProfile instead
(`bench.http_profiled_server`); the latencies of such a run mean nothing.

``--quick`` runs 1 s of warm-up and 3 s per phase at 20 requests/s and records nothing.
Nothing here connects anywhere but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.report import machine, table, write_section

HOST = "127.0.0.1"
RATE = 300
SECONDS = 30
WARMUP = 3
CONNECTIONS = 16
P99_BAR_MS = 50.0
DRAIN_SECONDS = 10.0
QUICK = {"rate": 20, "seconds": 3, "warmup": 1}
ROOT = Path(__file__).resolve().parent.parent
DEMO_START = "2025-06-05T10:00:00+08:00"
CUSTOMER = ("13800000001", "huoqi-demo-customer")  # huoqi.service.demo_setup.DEMO_LOGINS
PURCHASE = b'{"amount":"100.00"}'
TICKS = os.sysconf("SC_CLK_TCK")
# One server process per core, as `huoqi serve --workers 2` runs on this two-core machine
# (the bare baseline gets the same).
WORKERS = 2
PRIME = 5  # sequential requests before each phase's load, not counted
T = TypeVar("T")


@dataclass(frozen=True)
class Phase:
    name: str
    request: str
    target_rate: int
    seconds: float
    sent: int
    answered: int
    errors: int
    achieved_rate: float
    p50: Latency
    p90: Latency
    p99: Latency
    max: Latency
    client_cpu: float  # share of one core over the phase (warm-up included)
    server_cpu: float
    others_cpu: float  # every other process on the machine
    server_ms_per_request: float  # server CPU time per answered request
    statuses: dict[str, int]
    first_ms: float  # the server's very first such request, before the load

    @property
    def passed(self) -> bool:
        return self.errors == 0 and self.p99.exact and self.p99.ms < P99_BAR_MS

    def line(self) -> str:
        verdict = "pass" if self.passed else "FAIL"
        return (
            f"http {self.name:5} {self.request}: target {self.target_rate}/s, achieved "
            f"{self.achieved_rate:.1f}/s, sent {self.sent:,}, errors {self.errors:,}; latency ms "
            f"p50 {self.p50} p90 {self.p90} p99 {self.p99} max {self.max}; CPU (share of one "
            f"core) client {self.client_cpu:.0%}, server {self.server_cpu:.0%} "
            f"({self.server_ms_per_request:.2f} ms per request), other processes "
            f"{self.others_cpu:.0%}; p99 < {P99_BAR_MS:.0f} ms: {verdict}"
        )


@dataclass(frozen=True)
class Latency:
    """Milliseconds from a request's due time to its answer. A request never answered
    counts from its due time to the moment the client gave up on it: a lower bound. A
    percentile is exact when no such request sorts at or below its rank, and otherwise a
    lower bound itself (``exact`` false, shown as ``>=``)."""

    ms: float
    exact: bool = True

    def __str__(self) -> str:
        return f"{self.ms:.2f}" if self.exact else f">={self.ms:.0f}"


# --- servers ---------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def cpu_seconds(self) -> float:
        """User plus system CPU so far of the server process (all its threads) and of its
        worker processes (uvicorn's ``--workers`` children)."""
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended while we looked
                continue
            pid, parent = int(stat.parent.name), int(fields[1])
            if self.process.pid in (pid, parent):
                total += (int(fields[11]) + int(fields[12])) / TICKS
        return total

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _start(command: list[str], env: dict[str, str], folder: Path, ready: str) -> Server:
    port = _free_port()
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, cwd=ROOT, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(process, port, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}{ready}", timeout=1) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the server did not become ready: {log.read_text()[-2000:]}")


def _environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def start_bare(folder: Path) -> Server:
    command = [sys.executable, "-m", "bench.http_bare_app", "--workers", str(WORKERS)]
    return _start(command, _environment(), folder, "/bare")


def start_huoqi(folder: Path, synchronous: str = "FULL") -> Server:
    from huoqi.db.migrate import upgrade

    database_url = f"sqlite:///{folder}/huoqi.db"
    upgrade(database_url)
    env = _environment(
        HUOQI_DATABASE_URL=database_url, HUOQI_DEMO_SETUP="1", HUOQI_DEMO_CLOCK_START=DEMO_START,
        HUOQI_BANK_DELAY="0.2", HUOQI_SQLITE_SYNCHRONOUS=synchronous,
    )  # fmt: skip
    command = [sys.executable, "-m", "huoqi", "serve", "--workers", str(WORKERS)]
    if os.environ.get("HUOQI_BENCH_PROFILE"):  # see bench/http_profiled_server.py
        command = [sys.executable, "-m", "bench.http_profiled_server"]
    return _start(command, env, folder, "/readyz")


def sign_in(port: int) -> str:
    phone, password = CUSTOMER
    request = urllib.request.Request(
        f"http://{HOST}:{port}/api/v1/sessions", method="POST",
        data=json.dumps({"phone": phone, "password": password}).encode(),
        headers={"content-type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:
        token: str = json.loads(answer.read())["token"]
    return token


# --- the load generator -----------------------------------------------------------------


def _get(port: int, path: str, token: str | None = None) -> Callable[[], bytes]:
    auth = f"authorization: Bearer {token}\r\n" if token else ""
    data = f"GET {path} HTTP/1.1\r\nhost: {HOST}:{port}\r\n{auth}accept: */*\r\n\r\n".encode()
    return lambda: data


def _purchase(port: int, token: str) -> Callable[[], bytes]:
    head = (
        f"POST /api/v1/account/purchases HTTP/1.1\r\nhost: {HOST}:{port}\r\n"
        f"authorization: Bearer {token}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(PURCHASE)}\r\nidempotency-key: "
    ).encode()
    return lambda: head + uuid.uuid4().hex.encode() + b"\r\n\r\n" + PURCHASE


class _Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, data: bytes) -> int:
        """Send one request and read its whole answer; the answer's status."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked, close = 0, False, False
        for line in head[:-4].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        elif length:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class _Outcome:
    latencies: list[Latency]
    statuses: dict[str, int]
    sent: int
    first_due: float
    last_answer: float
    cpu: float
    machine_cpu: float
    wall: float


async def _drive(
    port: int, make: Callable[[], bytes], *, rate: int, seconds: float, warmup: float
) -> _Outcome:
    """Open-loop load: request i is due at start + i/rate; latency counts from that moment."""
    if HOST != "127.0.0.1":  # pragma: no cover - a guard against editing the constant
        raise SystemExit("bench http only targets 127.0.0.1")
    skipped = round(rate * warmup)
    total = skipped + round(rate * seconds)
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    clock = time.perf_counter
    start = clock() + 0.05
    due = [start + number / rate for number in range(total)]
    answered: list[float | None] = [None] * total
    statuses: list[str] = [""] * total

    async def worker() -> None:
        connection = _Connection(port)
        while (number := await queue.get()) is not None:
            try:
                status = str(await connection.request(make()))
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                status = "transport error"
                connection.close()
            answered[number] = clock()
            statuses[number] = status
        connection.close()

    cpu_before, machine_before = _own_cpu(), _machine_cpu()
    wall_before = clock()
    workers = [asyncio.create_task(worker()) for _ in range(CONNECTIONS)]
    for number in range(total):
        wait = due[number] - clock()
        if wait > 0:
            await asyncio.sleep(wait)
        queue.put_nowait(number)
    for _ in workers:
        queue.put_nowait(None)
    _done, pending = await asyncio.wait(workers, timeout=DRAIN_SECONDS)
    for task in pending:
        task.cancel()
    gave_up = clock()
    latencies: list[Latency] = []
    counts: dict[str, int] = {}
    for number in range(skipped, total):
        at = answered[number]
        latencies.append(Latency(((at or gave_up) - due[number]) * 1000, at is not None))
        status = statuses[number] if at is not None else "no answer"
        counts[status] = counts.get(status, 0) + 1
    last = max((at for at in answered[skipped:] if at is not None), default=due[skipped])
    return _Outcome(
        latencies=latencies, statuses=counts, sent=total - skipped, first_due=due[skipped],
        last_answer=last, cpu=_own_cpu() - cpu_before, machine_cpu=_machine_cpu() - machine_before,
        wall=clock() - wall_before,
    )  # fmt: skip


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _machine_cpu() -> float:
    """CPU seconds all processes have used (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


async def _prime(port: int, make: Callable[[], bytes], count: int) -> list[float]:
    """``count`` requests one after another, before the load: the first use's costs (lazy
    imports, caches) are paid here, and the first one's time is reported on its own."""
    connection = _Connection(port)
    took: list[float] = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            status = await connection.request(make())
            if not 200 <= status < 300:
                raise RuntimeError(f"priming request answered {status}")
            took.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    return took


def _run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _percentile(ordered: list[Latency], share: float) -> Latency:
    """Nearest-rank percentile of latencies sorted by their milliseconds (unanswered
    requests at their lower bounds); a lower bound if any unanswered one is at or below
    the rank, since its true latency could only move it up and a larger value down."""
    if not ordered:
        return Latency(float("nan"), exact=False)
    rank = max(1, int(-(-len(ordered) * share // 100)))  # ceil
    exact = all(latency.exact for latency in ordered[:rank])
    return Latency(ordered[rank - 1].ms, exact)


def measure(
    name: str, request: str, server: Server, make: Callable[[], bytes], *, rate: int,
    seconds: float, warmup: float,
) -> Phase:  # fmt: skip
    primed = _run_loop(_prime(server.port, make, PRIME))
    then = ", ".join(f"{ms:.1f}" for ms in primed[1:])
    print(f"http {name:5} first request {primed[0]:.0f} ms, then {then} ms, one at a time",
          flush=True)  # fmt: skip
    if os.environ.get("HUOQI_BENCH_PROFILE"):
        server.process.send_signal(signal.SIGUSR1)  # the profiler forgets the start-up
    server_before = server.cpu_seconds()
    outcome = _run_loop(_drive(server.port, make, rate=rate, seconds=seconds, warmup=warmup))
    server_cpu = server.cpu_seconds() - server_before
    ordered = sorted(outcome.latencies, key=lambda latency: latency.ms)
    answered = sum(latency.exact for latency in ordered)
    ok = sum(count for status, count in outcome.statuses.items() if status.startswith("2"))
    span = outcome.last_answer - outcome.first_due
    phase = Phase(
        name=name, request=request, target_rate=rate, seconds=seconds, sent=outcome.sent,
        answered=answered, errors=outcome.sent - ok,
        achieved_rate=answered / span if span > 0 else 0.0,
        p50=_percentile(ordered, 50), p90=_percentile(ordered, 90),
        p99=_percentile(ordered, 99), max=_percentile(ordered, 100),
        client_cpu=outcome.cpu / outcome.wall, server_cpu=server_cpu / outcome.wall,
        others_cpu=max(0.0, outcome.machine_cpu - outcome.cpu - server_cpu) / outcome.wall,
        server_ms_per_request=server_cpu * 1000 / max(1, answered + round(rate * warmup)),
        statuses=dict(sorted(outcome.statuses.items())), first_ms=primed[0],
    )  # fmt: skip
    print(phase.line(), flush=True)
    if phase.errors:
        print(f"http {name:5} answers: {phase.statuses}", flush=True)
    return phase


@dataclass(frozen=True)
class Plan:
    name: str
    request: str
    synchronous: str | None  # None: the bare app; else Huoqi at this SQLite setting
    target: bool  # the bar applies (the others are for comparison)


PLANS = (
    Plan("bare", "GET /bare", None, target=False),
    Plan("read", "GET /api/v1/account", "FULL", target=True),
    Plan("write", "POST /api/v1/account/purchases", "FULL", target=True),
    # the same writes without an fsync per commit: how much of the write is the disk
    Plan("write-normal", "POST /api/v1/account/purchases", "NORMAL", target=False),
)


def _load(plan: Plan, server: Server) -> Callable[[], bytes]:
    if plan.synchronous is None:
        return _get(server.port, "/bare")
    token = sign_in(server.port)
    if plan.request.startswith("GET"):
        return _get(server.port, "/api/v1/account", token)
    return _purchase(server.port, token)


def run(
    *, quick: bool = False, record: bool = True, names: tuple[str, ...] | None = None
) -> list[Phase]:
    rate, seconds, warmup = (
        (QUICK["rate"], QUICK["seconds"], QUICK["warmup"]) if quick else (RATE, SECONDS, WARMUP)
    )
    measured_on = machine()
    print(f"http: {measured_on}", flush=True)
    phases: list[Phase] = []
    folder = Path(tempfile.mkdtemp(prefix="huoqi-bench-http-"))
    try:
        for plan in PLANS:
            if names is not None and plan.name not in names:
                continue
            (folder / plan.name).mkdir()
            server = (
                start_bare(folder / plan.name)
                if plan.synchronous is None
                else start_huoqi(folder / plan.name, plan.synchronous)
            )
            try:
                phases.append(measure(plan.name, plan.request, server, _load(plan, server),
                                      rate=rate, seconds=seconds, warmup=warmup))  # fmt: skip
            finally:
                server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if record and not quick and names is None:
        write_section("http", _markdown(phases), measured_on=measured_on)
    return phases


def _markdown(phases: list[Phase]) -> str:
    rows = [
        [
            p.name, f"`{p.request}`", f"{p.target_rate}", f"{p.achieved_rate:.1f}", f"{p.sent:,}",
            f"{p.errors:,}", str(p.p50), str(p.p90), str(p.p99), str(p.max),
            f"{p.server_ms_per_request:.2f}", f"{p.first_ms:,.0f}",
            f"{p.client_cpu:.0%} / {p.server_cpu:.0%} / {p.others_cpu:.0%}",
            ("pass" if p.passed else "**fail**") if plan.target else "(comparison)",
        ]
        for p, plan in zip(phases, PLANS, strict=True)
    ]  # fmt: skip
    header = ["phase", "request", "target /s", "achieved /s", "sent", "errors", "p50 ms",
              "p90 ms", "p99 ms", "max ms", "server CPU ms per request", "first request ms",
              "CPU client / server / others", "p99 < 50 ms"]  # fmt: skip
    return "\n".join(
        [
            "## HTTP service (issue 4)",
            "",
            "`python -m bench http` — each phase against a server of its own on 127.0.0.1",
            "(`huoqi serve --workers 2`, one process per core): five requests one at a time",
            "first (the",
            "first one's time in its own column), then 3 s of warm-up, not counted, and 30 s at",
            "300 requests/s, open loop: each request's latency runs from the moment it was due",
            "to the end of its answer, so queueing counts. A request still unanswered 10 s after",
            "the last one was due is an error, and a percentile it could change is shown as a",
            "lower bound (`>=`). Achieved: answers per second from the first counted request's",
            "due time to the last answer. 16 keep-alive connections from a hand-written HTTP/1.1",
            "client on asyncio (uvloop) in another process.",
            "",
            "bare: a FastAPI app with one sync `GET /bare` and nothing of Huoqi, served the same",
            "way. read: the signed-in customer's summary. write: a 100.00 CNY purchase, a new",
            "Idempotency-Key each. Huoqi runs on a fresh SQLite file at its defaults:",
            "synchronous=FULL, and the simulated bank approving purchases 0.2 s after they",
            "commit (a second write per purchase, answered in batches); access log to a file.",
            "write-normal: the same writes at synchronous=NORMAL (no fsync per commit), for",
            "comparison only. Server CPU per request: the server process's CPU time over the",
            "phase (warm-up included) over the requests it answered. CPU: share of one core (the",
            "machine has two) used over the phase by the load generator, the server and every",
            "other process. Target: p99 under 50 ms for read and write, no errors.",
            "",
            table(header, rows),
        ]
    )
