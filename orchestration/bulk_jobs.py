"""Which journal job a bulk write of a file belongs to, so that a retried run resumes it.

sdk_core's bulk engine names a job when it starts (a random id) and resumes it only when told
that id. A Dagster retry or re-execution knows only the run config, so the job is created
here, before anything is sent, and recorded under a key of tenant, entity, operation and the
file's path and contents (`<journal>.dagster/<key>`, created atomically: two runs of one file
never start two jobs). A later run of the same file finds it and resumes it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from sdk_core.bulk.journal import Journal

__all__ = ["journal_job", "job_key"]


def job_key(*, tenant: str, entity: str, operation: str, path: Path) -> str:
    digest = hashlib.sha256(f"{tenant}\0{entity}\0{operation}\0{path}\0".encode())
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:32]


def journal_job(
    journal: str, job_id: str | None, *, tenant: str, entity: str, operation: str, path: Path
) -> tuple[str, bool]:
    """(job id, whether it existed): the given one, the one this file started, or a new one."""
    if job_id:
        return job_id, True
    folder = Path(f"{journal}.dagster")
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / job_key(tenant=tenant, entity=entity, operation=operation, path=path)
    if marker.exists():
        return marker.read_text().strip(), True
    store = Journal(journal)
    try:
        new = store.new_job(entity, operation, str(path))
        fd, tmp = tempfile.mkstemp(dir=folder)
        with os.fdopen(fd, "w") as handle:
            handle.write(new)
        try:
            os.link(tmp, marker)  # atomic, and never over another run's record
        except FileExistsError:
            store.drop(new)  # another run of this file got there first: nothing was sent
            return marker.read_text().strip(), True
        finally:
            os.unlink(tmp)
    finally:
        store.close()
    return new, False
