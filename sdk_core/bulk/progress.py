"""Progress of a bulk job: a callback per finished row, and a rich bar on a terminal."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["BulkProgress", "Reporter"]


@dataclass(frozen=True)
class BulkProgress:
    """Passed to `progress=` after every finished row (from the worker that finished it)."""

    done: int
    failed: int
    skipped: int
    finished: int
    total: int
    elapsed: float
    last_index: int
    last_status: str

    @property
    def rows_per_second(self) -> float:
        return self.finished / self.elapsed if self.elapsed > 0 else 0.0


class Reporter:
    """Counts finished rows, calls the callback, drives the bar; one lock, any thread."""

    def __init__(self, progress: Any, total: int, label: str, already: dict[str, int]):
        if progress is not None and not isinstance(progress, bool) and not callable(progress):
            raise TypeError("progress must be a callable, True (a bar), False or None (a bar on a terminal)")
        self.callback: Callable[[BulkProgress], Any] | None = progress if callable(progress) else None
        self.show_bar = progress is True or (progress is None and sys.stderr.isatty())
        self.total = total
        self.label = label
        self.counts = {
            "done": already.get("done", 0),
            "failed": already.get("failed", 0),
            "skipped": already.get("skipped", 0),
        }  # unknown rows are looked at again
        self.finished = sum(self.counts.values())
        self.started = time.perf_counter()
        self._lock = threading.Lock()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Reporter:
        if self.show_bar:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failed]} failed"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(
                self.label, total=self.total, completed=self.finished, failed=self.counts["failed"]
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def row(self, index: int, status: str) -> None:
        key = "failed" if status == "unknown" else status
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            self.finished += 1
            event = BulkProgress(
                self.counts["done"],
                self.counts["failed"],
                self.counts["skipped"],
                self.finished,
                self.total,
                time.perf_counter() - self.started,
                index,
                status,
            )
            if self._bar is not None:
                self._bar.update(self._task, completed=self.finished, failed=self.counts["failed"])
            if self.callback is not None:
                self.callback(event)

    def summary(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text)
