"""Attachments: plausible generated files and the API's rules for attaching new ones.

The 19 `*Attachments` entities share one model (`attachDate`, `fullPath`, `contentType`,
`fileSize`, `title`, `data`...). Their file content (`data`, base64) is returned only by GET by
id (root or parent-scoped), never in query results, where it is null. Creates go through the
parent route (`POST /Tickets/{id}/Attachments`, body as in the vendor's Postman sample) and are
refused when one file is over `MAX_FILE_BYTES` (reference 6.1: "6-7 MB via API") or when the
bytes attached in the last 5 minutes would exceed `MAX_WINDOW_BYTES` (10,000,000).
`parentType` numbers the parent kinds in catalog order (a sandbox convention; the reference
gives no values). As in Autotask, attachment ids are global: every attachment entity draws
from one id sequence and each attachment has its `AttachmentInfo` row with the same id (the
sample's `GET AttachmentInfo/90` then `DELETE Tickets/{id}/Attachments/91`).
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import random
import threading
import time
from collections import deque
from datetime import datetime
from typing import Any

from sdk_core.catalog import Catalog, EntityInfo

from . import tenant_data as words
from .errors import ApiError
from .rows import RECIPES, RowMaker, RowSource, ts

MAX_FILE_BYTES = 7 * 1024 * 1024
MAX_WINDOW_BYTES = 10_000_000
WINDOW_SECONDS = 300
FILE_ATTACHMENT = "FILE_ATTACHMENT"
SAMPLE_FILES = (
    ("network-diagram.txt", "Switch stack and VLAN layout"),
    ("error-log.log", "Application error log excerpt"),
    ("asset-list.csv", "Asset inventory export"),
    ("signed-quote.txt", "Signed quote confirmation"),
    ("backup-report.txt", "Nightly backup report"),
)


def is_attachment(info: EntityInfo) -> bool:
    return info.name.endswith("Attachments") and info.field("data") is not None


_ALL_PARENTS: list[str] = []  # parent URL names of attachment entities, sorted


# AttachmentInfo column naming a parent whose internal name does not give it directly.
INFO_PARENT_COLUMNS = {"KnowledgeBaseArticles": "articleID"}


def info_row(info: EntityInfo, values: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """The `AttachmentInfo` row of an attachment (no file data; the parent's id in its column)."""
    columns = {f.name for f in catalog.get("AttachmentInfo").fields}
    row = {k: v for k, v in values.items() if k in columns and k != "id"}
    parent = catalog.get(info.parents[0].parent) if info.parents else None
    if parent is not None:
        internal = parent.internal_name or parent.name
        column = INFO_PARENT_COLUMNS.get(parent.name, internal[0].lower() + internal[1:] + "ID")
        if column in columns and values.get("parentID") is not None:
            row[column] = values["parentID"]
    return row


def next_attachment_id(conn: Any, catalog: Catalog) -> int:
    """One past the highest id of any attachment entity (the global attachment sequence)."""
    tables = [e.name for e in catalog if is_attachment(e)]
    union = " UNION ALL ".join(f'SELECT max("id") AS m FROM "{name}"' for name in tables)
    top = conn.execute(f"SELECT max(m) FROM ({union})").fetchone()[0]
    return int(top or 0) + 1


def content_type(path: str) -> str:
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def sample_content(rng: random.Random, title: str, when: datetime) -> bytes:
    lines = [title, f"Generated {ts(when)}"]
    lines += [rng.choice(words.NOTE_PHRASES) for _ in range(rng.randint(2, 8))]
    return ("\r\n".join(lines) + "\r\n").encode()


def register_recipes(catalog: Catalog) -> None:
    """A generator recipe for every attachment entity of the catalog (idempotent)."""
    infos = [e for e in catalog if is_attachment(e) and e.parents]
    _ALL_PARENTS[:] = sorted({e.parents[0].parent for e in infos})
    for info in infos:
        RECIPES.setdefault(info.name, _recipe_for(info))


def _recipe_for(info: EntityInfo) -> Any:
    parent = info.parents[0].parent
    parent_type = 1 + _ALL_PARENTS.index(parent)

    def make(
        rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
    ) -> dict[str, Any]:
        name, title = rng.choice(SAMPLE_FILES)
        data = sample_content(rng, title, when)
        parent_id = fixed.get("parentID") or src.random_id(parent, rng)
        values: dict[str, Any] = {f.name: None for f in info.fields if f.name != "id"}
        values.update(
            attachDate=ts(when),
            attachmentType=FILE_ATTACHMENT,
            contentType=content_type(name),
            fileSize=float(len(data)),
            fullPath=name,
            title=title,
            publish=1,
            creatorType=1,
            parentID=parent_id,
            parentType=parent_type,
            isTaskAttachment=False,
            attachedByResourceID=src.random_id("Resources", rng),
            data=base64.b64encode(data).decode(),
        )
        for f in info.fields:
            if f.reference == parent:
                values[f.name] = parent_id
        return values

    return make


class AttachmentRules:
    """Validates and completes an attachment create; keeps the 5-minute byte window."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.window: deque[tuple[float, int]] = deque()

    def reset(self) -> None:
        with self.lock:
            self.window.clear()

    def prepare(
        self,
        info: EntityInfo,
        values: dict[str, Any],
        parent: tuple[str, int] | None,
        stamp: str,
        person: int | None,
    ) -> None:
        raw = values.get("data")
        if not isinstance(raw, str) or not raw:
            raise ApiError(
                500,
                "Missing Required Field: data. ; on record number [1]. Send the file "
                "content base64-encoded in 'data'.",
            )
        try:
            content = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(
                500,
                "The attachment 'data' is not valid base64; encode the file's bytes with standard base64.",
            ) from exc
        if len(content) > MAX_FILE_BYTES:
            raise ApiError(
                500,
                f"The attachment is {len(content):,} bytes; the API accepts files up to "
                f"{MAX_FILE_BYTES:,} bytes. Attach a smaller file or a link to it.",
            )
        if not values.get("fullPath"):
            raise ApiError(500, "Missing Required Field: fullPath. ; on record number [1].")
        self._charge(len(content))
        values["fileSize"] = float(len(content))
        values["contentType"] = values.get("contentType") or content_type(values["fullPath"])
        values["attachmentType"] = values.get("attachmentType") or FILE_ATTACHMENT
        values["attachDate"] = values.get("attachDate") or stamp
        values["title"] = values.get("title") or values["fullPath"]
        if values.get("attachedByResourceID") is None and values.get("attachedByContactID") is None:
            values["attachedByResourceID"] = person
        if parent is not None:
            values["parentID"] = int(parent[1])
        if _ALL_PARENTS and info.parents and info.parents[0].parent in _ALL_PARENTS:
            values["parentType"] = 1 + _ALL_PARENTS.index(info.parents[0].parent)

    def _charge(self, size: int) -> None:
        now = time.monotonic()
        with self.lock:
            while self.window and self.window[0][0] <= now - WINDOW_SECONDS:
                self.window.popleft()
            used = sum(n for _, n in self.window)
            if used + size > MAX_WINDOW_BYTES:
                wait = int(self.window[0][0] + WINDOW_SECONDS - now) + 1
                raise ApiError(
                    500,
                    f"Attachment upload limit reached: {used:,} of {MAX_WINDOW_BYTES:,} "
                    f"bytes in the last 5 minutes. Retry in {wait} s.",
                )
            self.window.append((now, size))
