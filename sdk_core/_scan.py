"""Id-cursor paging rules shared by both clients (pure functions)."""

from __future__ import annotations

import math
from typing import Any

from .errors import ServerError

__all__ = ["check_page", "plan_ranges"]


def check_page(entity: str, items: list[dict[str, Any]], after_id: int | None) -> None:
    """Refuse a page the id cursor cannot continue from (no ids, or ids not ascending)."""
    if not items:
        return
    try:
        first, last = items[0]["id"], items[-1]["id"]
    except (KeyError, TypeError):
        raise ServerError(f"{entity}: a query page has rows without an id; paging needs it") from None
    if first > last or (after_id is not None and first <= after_id):
        raise ServerError(
            f"{entity}: the page is not in ascending id order after {after_id} "
            f"(first {first}, last {last}); paging by id cannot continue safely")


def plan_ranges(first_page: list[dict[str, Any]], total: int, parallel: int,
                page_size: int | None = None) -> list[tuple[int, int | None]]:
    """Split the ids after the first page into `parallel` ranges `(lower_exclusive, upper_inclusive)`.

    The span is estimated from the first page's id density and the total count; the last range
    is open-ended, so a wrong estimate costs balance, never rows. With `page_size`, a range is a
    whole number of pages' worth of ids, so with contiguous ids it ends on a full page and needs
    no short trailing request.
    """
    first_id, last_id = first_page[0]["id"], first_page[-1]["id"]
    density = max(1.0, (last_id - first_id + 1) / len(first_page))
    remaining = max(0, total - len(first_page))
    span = int(remaining * density) + 1
    step = max(1, span // parallel)
    if page_size:
        per_page = page_size * density
        step = max(1, int(math.ceil(step / per_page) * per_page))
    bounds: list[tuple[int, int | None]] = []
    lower = last_id
    for i in range(parallel):
        upper = None if i == parallel - 1 else lower + step
        bounds.append((lower, upper))
        if upper is not None:
            lower = upper
    return bounds
