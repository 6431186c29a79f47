"""Id-cursor paging rules shared by both clients (pure functions)."""

from __future__ import annotations

from typing import Any, Iterator

from .errors import ServerError

__all__ = ["check_page", "plan_windows"]

SPARSE_FILL = 0.9


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


def plan_windows(first_page: list[dict[str, Any]], total: int,
                 page_size: int) -> Iterator[tuple[int, int | None]]:
    """Id windows `(lower_exclusive, upper_inclusive)` after the first page, each expected to
    hold one page, then one open-ended window so a wrong estimate costs requests, never rows.

    The width comes from the first page's id density: with contiguous ids a window is exactly
    one full page, and a page whose last id is the window's bound needs no follow-up request;
    with gaps, windows aim at 90% of a page so that local density changes rarely overflow one.
    Windows are independent, so `parallel` of them are always in flight (no serial chain of
    pages per range, no short trailing page per range).
    """
    first_id, last_id = first_page[0]["id"], first_page[-1]["id"]
    density = max(1.0, (last_id - first_id + 1) / len(first_page))
    width = max(1, int(page_size * (density if density == 1.0 else density * SPARSE_FILL)))
    end = last_id + int(max(0, total - len(first_page)) * density)
    lower = last_id
    while lower < end:
        yield lower, lower + width
        lower += width
    yield lower, None
