"""Running validators in worker processes, each file under a time and a memory cap.

Every validation runs in a child process (``forkserver`` context: never a fork of a threaded
server) whose address space is capped with ``RLIMIT_AS`` at ``Limits.memory_bytes``: an
allocation past it raises ``MemoryError`` in the validator (reported as a ``fail``) or kills
the child (reported as a ``fail``, with the signal) instead of the worker or the machine.
The parent gives each child one file at a time and waits at most ``Limits.timeout_seconds``
for its answer; a child that overruns is killed and replaced, and its file is a ``fail``:
check 3-4 asks for proof that the file opens, and a file that a validator cannot finish
within its cap has not given it (the profile still decides whether that rejects the SIP).

Children outlive one call: those that finished cleanly wait, idle, for the next SIP with the
same caps (at most :data:`KEEP_IDLE` in all), because starting one (a process and the imports of
every validator) cost a third of a small SIP's time in the worker. A child that overran or
died is never reused.

Nothing is written anywhere: validators only read the staged file.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import resource
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait

from preserve.ingest.checks import Result
from preserve.ingest.validation.registry import family_of, validator
from preserve.ingest.validation.result import Finding, Item, Limits, Validation

log = logging.getLogger(__name__)
Runner = Callable[[Item, Limits], Validation]
READY = "ready"
START_SECONDS = 120  # for a child to start (imports on a loaded machine), outside any file's cap
KEEP_IDLE = 4  # idle children kept in all (whatever their caps), for the next call
_idle: list[tuple[tuple[Limits, Runner], _Child]] = []  # oldest first
_idle_lock = threading.Lock()


def validate_one(item: Item, limits: Limits) -> Validation:
    """One file through the validator of its family (in the calling process, no caps)."""
    family = family_of(item.puid, item.mime)
    if family is None:
        why = f"no validator for {item.puid}" if item.puid else "format not identified"
        return Validation(item.shown, item.puid, None, Result.WARN, f"{why}: not checked", "")
    check, tool = validator(family)
    try:
        found = check(item, limits)
    except MemoryError:
        found = Finding(Result.FAIL, "validation exceeded the memory cap")
    except Exception as exc:  # a validator's own bug: the file is not proven to open
        log.exception("validator %s failed on %s", family, item.shown)
        found = Finding(Result.FAIL, f"validator error: {type(exc).__name__}: {exc}")
    detail = found.detail.replace(str(item.path), item.shown)  # no server path in a report
    return Validation(item.shown, item.puid, family, found.outcome, detail, tool, found.where)


def _serve(conn: Connection, limits: Limits, runner: Runner) -> None:
    """A child's loop: cap its address space, then validate what it is sent until None."""
    if limits.memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    conn.send(READY)
    while True:
        try:
            item = conn.recv()
        except EOFError:
            return
        if item is None:
            return
        conn.send(runner(item, limits))


class _Child:
    def __init__(self, context, limits: Limits, runner: Runner) -> None:
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, limits, runner), daemon=True)
        self.process.start()
        theirs.close()
        self.index: int | None = None
        self.deadline = 0.0
        self.ready = False

    def give(self, index: int, item: Item, timeout: float) -> None:
        """Send one file, starting its clock once the child has started (imports are not the
        file's fault)."""
        if not self.ready:
            if not self.conn.poll(START_SECONDS) or self.conn.recv() != READY:
                raise RuntimeError("a validation process did not start")
            self.ready = True
        self.index, self.deadline = index, time.monotonic() + timeout
        self.conn.send(item)

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            with contextlib.suppress(OSError):
                self.conn.send(None)
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _stopped(item: Item, detail: str) -> Validation:
    family = family_of(item.puid, item.mime)
    tool = validator(family)[1] if family else ""
    return Validation(item.shown, item.puid, family, Result.FAIL, detail, tool)


def validate_many(
    items: Sequence[Item], limits: Limits, workers: int = 2, runner: Runner = validate_one
) -> list[Validation]:
    """Every item validated, in order, by ``workers`` capped child processes."""
    results: list[Validation | None] = [None] * len(items)
    if not items:
        return []
    context = multiprocessing.get_context("forkserver")
    pending = deque(enumerate(items))
    children = [_take(context, limits, runner) for _ in range(min(workers, len(items)))]
    try:
        while pending or any(c.index is not None for c in children):
            for child in children:
                if child.index is None and pending:
                    child.give(*pending.popleft(), limits.timeout_seconds)
            busy = [c for c in children if c.index is not None]
            timeout = max(0.0, min(c.deadline for c in busy) - time.monotonic())
            ready = wait([c.conn for c in busy], timeout=timeout)
            for n, child in enumerate(children):
                if child.index is None:
                    continue
                if _collect(child, child.conn in ready, items[child.index], results, limits):
                    children[n] = _Child(context, limits, runner)
    finally:
        for child in children:
            _put_back(child, limits, runner)
    return [r for r in results if r is not None]


def _take(context, limits: Limits, runner: Runner) -> _Child:
    """An idle child with these caps (the last one kept), or a new one."""
    with _idle_lock:
        for n in range(len(_idle) - 1, -1, -1):
            key, child = _idle[n]
            if key == (limits, runner):
                del _idle[n]
                if child.process.is_alive():
                    return child
                child.stop(kill=True)
    return _Child(context, limits, runner)


def _put_back(child: _Child, limits: Limits, runner: Runner) -> None:
    """Keep a child that is alive and owes no answer for the next call, making room by
    stopping the child kept longest; stop the rest."""
    if child.index is None and child.ready and child.process.is_alive():
        with _idle_lock:
            _idle.append(((limits, runner), child))
            evicted = _idle.pop(0)[1] if len(_idle) > KEEP_IDLE else None
        if evicted is not None:
            evicted.stop()
        return
    child.stop(kill=child.index is not None)


def _collect(
    child: _Child, ready: bool, item: Item, results: list[Validation | None], limits: Limits
) -> bool:
    """Take a child's answer, or stop it at its deadline; True when it must be replaced."""
    index = child.index
    assert index is not None
    if ready:
        try:
            results[index] = child.conn.recv()
            child.index = None
            return False
        except (EOFError, OSError):
            child.process.join(5)
            code = child.process.exitcode
            results[index] = _stopped(item, f"the validator process died (exit {code})")
    elif time.monotonic() >= child.deadline:
        results[index] = _stopped(
            item, f"stopped at the time cap: no answer within {limits.timeout_seconds:g} s"
        )
        log.warning("validation of %s stopped at its time cap", item.shown)
    else:
        return False
    child.index = None
    child.stop(kill=True)
    return True
