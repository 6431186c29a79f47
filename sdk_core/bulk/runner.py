"""Running a bulk job: worker threads (sync client) or tasks (async client).

Autotask has no batch endpoint, so speed is requests in flight: one worker more than the
endpoint's thread limit keeps every slot busy while a worker journals its last row (the
governor holds the extra one back, and keeps the budget share). The next chunk is prepared
(its look-ups sent) while the workers write the current one. Whatever stops the job (Ctrl-C,
an authentication error, an exhausted budget, the network) leaves every row in the journal
as it is, and `BulkInterruptedError` says how to resume.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import ConfigurationError
from .job import Job, Prepared
from .ops import drive, drive_async
from .result import BulkInterruptedError, BulkResult

__all__ = ["run_bulk", "run_bulk_async"]

log = logging.getLogger("sdk_core.bulk")


def _workers(client: Any) -> int:
    settings = getattr(client, "settings", None)
    return int(getattr(settings, "max_concurrency", 3) or 3) + 1


def run_bulk(
    entity: Any, operation: str, rows: Any, journal: Any, dry_run: bool, options: dict[str, Any]
) -> BulkResult:
    """The sync engine behind `Entity.bulk_*`."""
    client = entity._client
    job = Job(client, entity.name, operation, journal=journal, dry_run=dry_run, **options)
    try:
        job.open(rows)
        with job.reporter:
            try:
                drive(client, job.setup())
                if job.dry_run:
                    for chunk in job.chunks():
                        for p in drive(client, job.prepare(chunk)):
                            job.check_only(p)
                else:
                    _write_all(client, job)
            except BaseException as exc:
                wrapped = _interrupted(job, exc)
                if wrapped is exc:
                    _tell_resume(job, exc)
                    raise
                raise wrapped from exc
            result = job.result()
        job.reporter.summary(result.summary())  # under the finished bar
        return result
    finally:
        job.close()


def _write_all(client: Any, job: Job) -> None:
    stop = threading.Event()
    room = threading.Semaphore(2 * job.chunk_size)  # rows handed to workers, not yet finished
    failures: list[BaseException] = []

    def work(p: Prepared) -> None:
        try:
            if not stop.is_set():
                drive(client, job.write(p))
        except BaseException as exc:
            failures.append(exc)
            stop.set()
        finally:
            room.release()

    pool = ThreadPoolExecutor(_workers(client), thread_name_prefix=f"autotask-bulk-{job.name}")
    try:
        for chunk in job.chunks():
            if stop.is_set():
                break
            for p in drive(client, job.prepare(chunk)):
                room.acquire()
                if stop.is_set():
                    room.release()
                    break
                pool.submit(work, p)
    except BaseException:
        stop.set()  # rows not started stay pending in the journal
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if failures:
        raise failures[0]


async def run_bulk_async(
    entity: Any, operation: str, rows: Any, journal: Any, dry_run: bool, options: dict[str, Any]
) -> BulkResult:
    """The async engine behind `AsyncEntity.bulk_*`."""
    client = entity._client
    job = Job(client, entity.name, operation, journal=journal, dry_run=dry_run, **options)
    try:
        await asyncio.to_thread(job.open, rows)  # reading files may take a while
        with job.reporter:
            try:
                await drive_async(client, job.setup())
                if job.dry_run:
                    for chunk in job.chunks():
                        for p in await drive_async(client, job.prepare(chunk)):
                            job.check_only(p)
                else:
                    await _write_all_async(client, job)
            except BaseException as exc:
                wrapped = _interrupted(job, exc)
                if wrapped is exc:
                    _tell_resume(job, exc)
                    raise
                raise wrapped from exc
            result = job.result()
        job.reporter.summary(result.summary())  # under the finished bar
        return result
    finally:
        job.close()


async def _write_all_async(client: Any, job: Job) -> None:
    queue: asyncio.Queue[Prepared | None] = asyncio.Queue(maxsize=2 * job.chunk_size)
    failures: list[BaseException] = []

    async def work() -> None:
        while True:
            p = await queue.get()
            if p is None:
                return
            if failures:
                continue
            try:
                await drive_async(client, job.write(p))
            except Exception as exc:
                failures.append(exc)

    workers = [asyncio.ensure_future(work()) for _ in range(_workers(client))]
    try:
        for chunk in job.chunks():
            if failures:
                break
            for p in await drive_async(client, job.prepare(chunk)):
                if failures:
                    break
                await queue.put(p)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    finally:
        for w in workers:
            w.cancel()
    if failures:
        raise failures[0]


def _tell_resume(job: Job, exc: BaseException) -> None:
    if job.job_id and not job.dry_run and isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):
        log.warning(
            "bulk %s of %s interrupted; nothing done is lost or repeated: resume with resume=%r (journal %s)",
            job.operation,
            job.name,
            job.job_id,
            job.journal_path,
        )


def _interrupted(job: Job, exc: BaseException) -> BaseException:
    """KeyboardInterrupt, cancellation and a wrong argument pass through unchanged (the journal
    is safe either way); anything else becomes BulkInterruptedError with the partial result."""
    if not job.job_id or isinstance(
        exc, (KeyboardInterrupt, asyncio.CancelledError, SystemExit, ConfigurationError)
    ):
        return exc
    result = job.result()
    where = f" (journal {job.journal_path})" if job.journal_path else ""
    return BulkInterruptedError(
        f"bulk {job.operation} of {job.name} stopped after {result.done} of {len(result.ids)} rows: "
        f"{exc}. Nothing done is lost or repeated: resume with resume={job.job_id!r}{where}.",
        result,
    )
