"""Group commit for SQLite: one thread runs the process's writes, many to a transaction.

SQLite lets one writer in at a time, and at ``synchronous=FULL`` each commit waits for the
disk. Requests that each take the writer lock in turn pay one commit each and, when they
collide, SQLite's sleep-and-retry busy handler on top. Here every write of the web process
goes to one thread; whatever queues up while it commits becomes the next transaction, each
request's work inside a savepoint of its own, so one refusal rolls back only its own
changes. One commit (one wait for the disk) then covers the whole group, and a request's
answer is released only after that commit.

Several server processes (``huoqi serve --workers N``) take turns through a lock file
beside the database (``flock``): a process waiting for it sleeps in the kernel and wakes
the moment it is free, where SQLite's own busy handler would sleep and poll.

On PostgreSQL, which has row locks and many writers, each request keeps its own
transaction (`run_in_write_transaction`, with its retries).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from huoqi.db.engine import is_sqlite, run_in_write_transaction, write_transaction

T = TypeVar("T")


def _lock_file(engine: Engine) -> int | None:
    """A lock file beside a SQLite database file (None for an in-memory database)."""
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return os.open(f"{database}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)


log = logging.getLogger("huoqi.writer")
MAX_GROUP = 128


class Writer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.grouped = is_sqlite(engine)
        self._queue: queue.SimpleQueue[tuple[Callable[[Connection], Any], Future[Any]]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._lock_file = _lock_file(engine) if self.grouped else None

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction and return its result once committed."""
        if not self.grouped:
            return run_in_write_transaction(self.engine, work)
        return self.submit(work).result()

    async def run_async(self, work: Callable[[Connection], T]) -> T:
        if not self.grouped:
            return await asyncio.to_thread(run_in_write_transaction, self.engine, work)
        return await asyncio.wrap_future(self.submit(work))

    def submit(self, work: Callable[[Connection], T]) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put((work, future))
        self._ensure_thread()
        return future

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True, name="writer")
                self._thread.start()

    def _loop(self) -> None:
        while True:
            group = [self._queue.get()]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(group)

    def _commit(self, group: list[tuple[Callable[[Connection], Any], Future[Any]]]) -> None:
        if self._lock_file is None:
            self._commit_group(group)
            return
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            self._commit_group(group)
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def _commit_group(self, group: list[tuple[Callable[[Connection], Any], Future[Any]]]) -> None:
        if len(group) == 1:  # alone, its transaction is all the savepoint it needs
            work, future = group[0]
            try:
                with write_transaction(self.engine) as connection:
                    result = work(connection)
            except BaseException as error:  # handed to the request that sent it
                future.set_exception(error)
            else:
                future.set_result(result)
            return
        outcomes: list[tuple[bool, Any]] = [(False, None)] * len(group)
        try:
            with write_transaction(self.engine) as connection:
                for indexes in _batches(group):
                    self._run_batch(connection, group, indexes, outcomes)
        except BaseException as error:  # the commit failed: nothing of the group was written
            log.exception("a group of %d writes failed to commit", len(group))
            for _work, future in group:
                future.set_exception(error)
            return
        for (succeeded, value), (_work, future) in zip(outcomes, group, strict=True):
            if succeeded:
                future.set_result(value)
            else:
                future.set_exception(value)

    @staticmethod
    def _run_batch(
        connection: Connection,
        group: list[tuple[Callable[[Connection], Any], Future[Any]]],
        indexes: list[int],
        outcomes: list[tuple[bool, Any]],
    ) -> None:
        """Works that share a ``batch_with`` function run together, in one savepoint; if
        the batch fails as a whole, each runs alone in its own savepoint."""
        together = getattr(group[indexes[0]][0], "batch_with", None)
        if together is not None and len(indexes) > 1:
            savepoint = connection.begin_nested()
            try:
                results = together(connection, [group[i][0] for i in indexes])
            except Exception:
                log.exception("a batch of %d writes failed; running them one by one", len(indexes))
                savepoint.rollback()
            else:
                savepoint.commit()
                for i, result in zip(indexes, results, strict=True):
                    outcomes[i] = (not isinstance(result, BaseException), result)
                return
        for i in indexes:
            savepoint = connection.begin_nested()
            try:
                result = group[i][0](connection)
            except BaseException as error:
                savepoint.rollback()
                outcomes[i] = (False, error)
            else:
                savepoint.commit()
                outcomes[i] = (True, result)


def _batches(group: list[tuple[Callable[[Connection], Any], Future[Any]]]) -> list[list[int]]:
    """The group's works in runs: those sharing a ``batch_with`` function together (at the
    place of the first of them), every other work alone, in order."""
    runs: list[list[int]] = []
    by_kind: dict[Any, list[int]] = {}
    for i, (work, _future) in enumerate(group):
        kind = getattr(work, "batch_with", None)
        if kind is None:
            runs.append([i])
        elif kind in by_kind:
            by_kind[kind].append(i)
        else:
            by_kind[kind] = [i]
            runs.append(by_kind[kind])
    return runs
