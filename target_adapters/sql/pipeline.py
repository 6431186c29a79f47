"""Commit batches on a worker thread, in order, while the next batch is parsed.

The target parses and validates on the main thread; the database works on the
other core. Memory stays flat: at most ``depth`` jobs are queued or running, so
with the default of one, one batch is written while the next one fills. A failed job stops the pipeline: later jobs (including the
state messages queued behind the failed batch) are dropped, so no state is
emitted past rows that were not saved, and the error is raised on the main
thread at its next call.
"""

from __future__ import annotations

import queue
import threading
import typing as t

Job = t.Callable[[], None]


class BatchPipeline:
    """A single background writer with a bounded queue."""

    def __init__(self, depth: int = 1) -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._slots = threading.Semaphore(depth)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def submit(self, job: Job) -> None:
        """Queue a job after the ones already queued (blocks while ``depth`` are pending)."""
        self._raise_if_failed()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="target-sql-writer", daemon=True)
            self._thread.start()
        self._slots.acquire()
        self._raise_if_failed()
        self._jobs.put(job)

    def wait(self) -> None:
        """Block until every queued job ran; raise the first failure, if any."""
        if self._thread is not None:
            self._jobs.join()
        self._raise_if_failed()

    def settle(self) -> None:
        """Let queued jobs finish without raising (used while another error unwinds)."""
        if self._thread is not None:
            self._jobs.join()

    def close(self) -> None:
        """Finish queued jobs and stop the worker."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    job()
            except BaseException as exc:
                self._error = exc
            finally:
                if job is not None:
                    self._slots.release()
                self._jobs.task_done()
