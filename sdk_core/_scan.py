"""Id-cursor paging, planned once for both clients (pure: no I/O, no threads, no tasks).

A scan is one or more id ranges, each read page by page with an id cursor. `ScanPlan` says
which ranges to read and `IdRange.advance` says, after each page, where the next one starts or
that the range is done; the sync client drives ranges with threads, the async one with tasks.

With `parallel > 1` the plan needs the first page (where the ids start, how dense they are)
and the count, which are fetched together. The ranges then cover the ids after the first page
(`split`), each a whole number of pages' worth of ids, balanced so that the ranges finish
together: a range that would end on a short page is the cost of one extra round trip.

A range's next request needs the last id of its page, so a range alone leaves its slot idle
while that page is parsed. When the governor's endpoint slots already cap the scan at
`parallel` requests in flight, the plan reads `RANGES_PER_SLOT` ranges per slot: a freed slot
goes at once to a range whose cursor is ready, and parsing leaves the critical path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import ServerError

__all__ = ["check_page", "plan_ranges", "ranges_per_slot", "IdRange", "ScanPlan", "RANGES_PER_SLOT"]

Row = dict[str, Any]

RANGES_PER_SLOT = 2  # two ranges per slot: one waits with its cursor ready while the other parses
SLACK = 0.02  # of a page: how many rows short of its pages a closed range is planned


def ranges_per_slot(parallel: int, slot_limit: int) -> int:
    """Ranges to read per concurrent request of a `parallel` scan.

    More ranges than requests in flight is only safe when something else caps the requests:
    the governor's per-endpoint slots do when `parallel` is their whole limit.
    """
    return RANGES_PER_SLOT if parallel > 1 and parallel >= slot_limit else 1


def check_page(entity: str, items: list[Row], after_id: int | None) -> None:
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
            f"(first {first}, last {last}); paging by id cannot continue safely"
        )


@dataclass
class IdRange:
    """Ids in `(lower, upper]` (`None`: unbounded), read from `cursor` on."""

    lower: int | None
    upper: int | None = None

    def __post_init__(self) -> None:
        self.cursor = self.lower

    def advance(self, items: list[Row], page_size: int) -> bool:
        """Move the cursor past `items`; False when the range holds nothing more."""
        if len(items) < page_size or (self.upper is not None and items[-1]["id"] >= self.upper):
            return False  # a short page, or a full one ending on the bound: nothing is left
        self.cursor = items[-1]["id"]
        return True


@dataclass(frozen=True)
class ScanPlan:
    """One query's paging: filter, fields, page size, starting id and how many ranges."""

    compiled: list[dict[str, Any]]
    include: list[str] | None
    after_id: int | None
    page_size: int
    parallel: int = 1
    per_slot: int = 1  # ranges per concurrent request (see `ranges_per_slot`)

    def first(self) -> IdRange:
        """The range every scan starts with (all of it when `parallel == 1`)."""
        return IdRange(self.after_id)

    @property
    def count_filter(self) -> list[dict[str, Any]]:
        """The filter of the count that sizes the ranges (rows after `after_id`)."""
        if self.after_id is None:
            return self.compiled
        return [*self.compiled, {"op": "gt", "field": "id", "value": self.after_id}]

    def split(self, first_page: list[Row], total: int) -> list[IdRange]:
        """The ranges after the first page; none when the first page was the last."""
        if self.parallel == 1 or len(first_page) < self.page_size:
            return []
        count = self.parallel * self.per_slot
        return [IdRange(lo, hi) for lo, hi in plan_ranges(first_page, total, count, self.page_size)]


def plan_ranges(
    first_page: list[Row], total: int, parallel: int, page_size: int | None = None
) -> list[tuple[int, int | None]]:
    """Split the ids after the first page into `parallel` ranges `(lower_exclusive, upper_inclusive)`.

    The span is estimated from the first page's id density and the total count; the last range
    is open-ended, so a wrong estimate costs balance, never rows. With `page_size`, every range
    but the last is a whole number of pages' worth of ids, less its share of the pages' spare
    room (with contiguous ids it ends on its last page and needs no short trailing request),
    and the requests are dealt so that no range makes more than one more than another.
    """
    first_id, last_id = first_page[0]["id"], first_page[-1]["id"]
    density = max(1.0, (last_id - first_id + 1) / len(first_page))
    remaining = max(0, total - len(first_page))
    if page_size:
        pages = max(1, math.ceil(remaining / page_size))
        parallel = min(parallel, pages)  # no range without a page of its own
        # Requests, not pages, are dealt: the open range also reads an empty page at its end
        # when the rows fill its pages exactly, so it takes that many fewer pages.
        extra = 1 if remaining % page_size == 0 else 0
        cost = pages + extra
        shares = [cost // parallel + (1 if i < cost % parallel else 0) for i in range(parallel)]
        shares[-1] = max(1, shares[-1] - extra)
        # A range whose ids hold a few rows more than its pages pays a whole request for them,
        # one a few rows short pays nothing: each range is kept SLACK of a page short, taken
        # from the pages' spare room (never more, or the open range would overflow instead).
        slack = min(int(page_size * SLACK), (pages * page_size - remaining) // parallel)
        steps = [max(1, int(round((share * page_size - slack) * density))) for share in shares]
    else:
        step = max(1, (int(remaining * density) + 1) // parallel)
        steps = [step] * parallel
    bounds: list[tuple[int, int | None]] = []
    lower = last_id
    for i in range(parallel):
        upper = None if i == parallel - 1 else lower + steps[i]
        bounds.append((lower, upper))
        if upper is not None:
            lower = upper
    return bounds
