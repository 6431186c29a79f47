"""The filter builder: Python expressions compiled to Autotask filter JSON, checked locally.

`Q("status") == 1`, `Q("priority").in_([1, 2])`, `(a & b) | c`, `Q("Rank", udf=True) == "Gold"`.
Everything that Autotask would reject for its shape fails here, before a request is spent.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ._datetime import format_datetime, parse_datetime
from .catalog import EntityInfo
from .errors import QueryError

__all__ = ["Q", "Expr", "Condition", "Group", "compile_filter", "FilterLike", "OPERATORS"]

COMPARISON = ("eq", "noteq", "gt", "gte", "lt", "lte")
STRING = ("beginsWith", "endsWith", "contains")
EXISTENCE = ("exist", "notExist")
LIST = ("in", "notIn")
GROUPING = ("and", "or")
OPERATORS = COMPARISON + STRING + EXISTENCE + LIST
_CANONICAL = {op.lower(): op for op in OPERATORS + GROUPING}
MAX_OR_CONDITIONS = 500
_ALIASES = {
    "startswith": "beginsWith",
    "ne": "noteq",
    "neq": "noteq",
    "isnull": "notExist",
    "isnotnull": "exist",
    "like": "contains",
    "exists": "exist",
    "notexists": "notExist",
    "nin": "notIn",
    "equals": "eq",
}

Scalar = int | float | str | bool | datetime | date


class Expr:
    """A filter expression; combine with `&` and `|`."""

    def __and__(self, other: Expr) -> Group:
        return Group("and", _flatten("and", self, _expr(other)))

    def __or__(self, other: Expr) -> Group:
        return Group("or", _flatten("or", self, _expr(other)))

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_filter(self) -> list[dict[str, Any]]:
        """The top-level filter list (a top-level `and` is spread, as Autotask ANDs the list)."""
        if isinstance(self, Group) and self.op == "and":
            return [item.to_dict() for item in self.items]
        return [self.to_dict()]

    def __bool__(self) -> bool:
        raise TypeError("a filter expression has no truth value; combine with & and |, not and/or")


class Condition(Expr):
    """One comparison on one field."""

    __slots__ = ("op", "field", "value", "udf")

    def __init__(self, op: str, field: str, value: Any = None, udf: bool = False):
        self.op, self.field, self.value, self.udf = op, field, value, udf

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op, "field": self.field}
        if self.op not in EXISTENCE:
            out["value"] = self.value
        if self.udf:
            out["udf"] = True
        return out

    def __repr__(self) -> str:
        return f"Condition({self.to_dict()!r})"


class Group(Expr):
    """`and` / `or` over items."""

    __slots__ = ("op", "items")

    def __init__(self, op: str, items: Sequence[Expr]):
        if not items:
            raise QueryError(f'an "{op}" group needs at least one condition')
        self.op, self.items = op, list(items)

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "items": [item.to_dict() for item in self.items]}

    def __repr__(self) -> str:
        return f"Group({self.to_dict()!r})"


class Q:
    """A field to compare: `Q("status") == 1`; `Q("My UDF", udf=True)` for a user-defined field."""

    __slots__ = ("field", "udf")
    __hash__ = None  # type: ignore[assignment]  # == builds a Condition, so Q is unhashable

    def __init__(self, field: str, *, udf: bool = False):
        if not isinstance(field, str) or not field.strip():
            raise QueryError(f"a field name must be a non-empty string, not {field!r}")
        self.field, self.udf = field, udf

    def _cmp(self, op: str, value: Any) -> Condition:
        return Condition(op, self.field, _scalar(op, self.field, value), self.udf)

    def __eq__(self, value: Any) -> Condition:  # type: ignore[override]  # builds a Condition
        return self._cmp("eq", value)

    def __ne__(self, value: Any) -> Condition:  # type: ignore[override]  # builds a Condition
        return self._cmp("noteq", value)

    def __gt__(self, value: Any) -> Condition:
        return self._cmp("gt", value)

    def __ge__(self, value: Any) -> Condition:
        return self._cmp("gte", value)

    def __lt__(self, value: Any) -> Condition:
        return self._cmp("lt", value)

    def __le__(self, value: Any) -> Condition:
        return self._cmp("lte", value)

    def eq(self, value: Any) -> Condition:
        return self._cmp("eq", value)

    def noteq(self, value: Any) -> Condition:
        return self._cmp("noteq", value)

    def begins_with(self, text: str) -> Condition:
        return self._cmp("beginsWith", text)

    def ends_with(self, text: str) -> Condition:
        return self._cmp("endsWith", text)

    def contains(self, text: str) -> Condition:
        return self._cmp("contains", text)

    def exists(self) -> Condition:
        return Condition("exist", self.field, None, self.udf)

    def not_exists(self) -> Condition:
        return Condition("notExist", self.field, None, self.udf)

    def in_(self, values: Iterable[Any]) -> Condition:
        return self._cmp("in", values)

    def not_in(self, values: Iterable[Any]) -> Condition:
        return self._cmp("notIn", values)

    def __repr__(self) -> str:
        return f"Q({self.field!r}{', udf=True' if self.udf else ''})"


FilterLike = Expr | Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


def compile_filter(filter: FilterLike, entity: EntityInfo | None = None) -> list[dict[str, Any]]:
    """Any accepted filter form to the Autotask filter list, validated (`[]` means all rows)."""
    if filter is None:
        items: list[dict[str, Any]] = []
    elif isinstance(filter, Expr):
        items = filter.to_filter()
    elif isinstance(filter, Q):
        raise QueryError(f"{filter!r} is a field, not a condition; compare it, e.g. Q(...) == 1")
    elif isinstance(filter, Mapping):
        items = [filter] if _is_raw(filter) else _shorthand(filter)  # type: ignore[list-item]  # a raw item passes as given
    elif isinstance(filter, (list, tuple)):
        items = list(filter)
    else:
        raise QueryError(
            f"a filter must be a Q expression, a dict of field: value, or a list of Autotask "
            f"filter dicts, not {type(filter).__name__}"
        )
    checked = [_check(item, entity, path=f"filter[{i}]") for i, item in enumerate(items)]
    udfs = sum(_count(c, lambda d: bool(d.get("udf"))) for c in checked)
    if udfs > 1:
        raise QueryError(
            "Autotask allows one user-defined field per query; this filter uses "
            f"{udfs}. Filter on one and check the others in Python."
        )
    ors = sum(_count(c, lambda d: d["op"] == "or", ors=True) for c in checked)
    if ors > MAX_OR_CONDITIONS:
        raise QueryError(
            f"Autotask allows {MAX_OR_CONDITIONS} or fewer 'OR' conditions; this "
            f"filter has {ors}. Split it into several queries."
        )
    return checked


def _is_raw(d: Mapping[str, Any]) -> bool:
    return "op" in d and set(d) <= {"op", "field", "value", "udf", "items"}


def _shorthand(d: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for field, value in d.items():
        if isinstance(value, (list, tuple, set, frozenset)):
            out.append(Q(field).in_(value).to_dict())
        else:
            out.append(Q(field).eq(value).to_dict())
    return out


def _check(item: Any, entity: EntityInfo | None, path: str) -> dict[str, Any]:
    if isinstance(item, Expr):
        item = item.to_dict()
    if not isinstance(item, Mapping):
        raise QueryError(
            f'{path}: expected a filter dict like {{"op": "eq", "field": "id", "value": 1}}, got {item!r}'
        )
    raw_op = item.get("op")
    op = _CANONICAL.get(str(raw_op).lower()) if raw_op is not None else None
    if op is None:  # aliases only name the valid operator; they are never sent
        alias = _ALIASES.get(str(raw_op).lower())
        close = difflib.get_close_matches(str(raw_op), list(_CANONICAL.values()), n=1)
        hint = (
            f' Autotask has no {raw_op!r}: use "{alias}".'
            if alias
            else f' Did you mean "{close[0]}"?'
            if close
            else ""
        )
        raise QueryError(
            f"{path}: unknown operator {raw_op!r}.{hint} Autotask supports {', '.join(OPERATORS + GROUPING)}."
        )
    if op in GROUPING:
        sub = item.get("items")
        if not isinstance(sub, (list, tuple)) or not sub:
            raise QueryError(f'{path}: an "{op}" group needs a non-empty "items" list')
        return {"op": op, "items": [_check(s, entity, f"{path}.items[{i}]") for i, s in enumerate(sub)]}
    field = item.get("field")
    if not isinstance(field, str) or not field:
        raise QueryError(f'{path}: operator "{op}" needs a "field"')
    udf = bool(item.get("udf"))
    is_datetime = False
    if entity is not None and not udf:
        field = _known_field(entity, field, path)
        known = entity.field(field)
        is_datetime = known is not None and known.data_type == "datetime"
    out: dict[str, Any] = {"op": op, "field": field}
    if op not in EXISTENCE:
        if "value" not in item:
            raise QueryError(f'{path}: operator "{op}" on {field!r} needs a "value"')
        out["value"] = _scalar(op, field, item["value"])
        if is_datetime:
            _check_timestamps(op, field, out["value"], path)
    if udf:
        out["udf"] = True
    return out


def _known_field(entity: EntityInfo, field: str, path: str) -> str:
    known = entity.field(field)
    if known is not None:
        return known.name
    close = difflib.get_close_matches(field, entity.field_names, n=1, cutoff=0.6)
    hint = f' Did you mean "{close[0]}"?' if close else ""
    raise QueryError(
        f"{path}: {entity.name} has no field {field!r}.{hint} (For a user-defined field, pass udf=True.)"
    )


def _check_timestamps(op: str, field: str, value: Any, path: str) -> None:
    """A datetime field compared with text that is no timestamp would fail (or match nothing) remotely."""
    if op in STRING:
        raise QueryError(
            f'{path}: "{op}" does not apply to the datetime field {field!r}; '
            "compare it with gt/gte/lt/lte and a timestamp"
        )
    for one in value if isinstance(value, list) else [value]:
        if isinstance(one, bool) or not isinstance(one, str):
            raise QueryError(
                f"{path}: {field!r} is a datetime field; compare it with a datetime or "
                f'a timestamp such as "2026-01-31T15:04:05Z", not {one!r}'
            )
        try:
            parse_datetime(one)
        except ValueError:
            raise QueryError(
                f"{path}: {field!r} is a datetime field and {one!r} is not a timestamp; "
                'use a datetime or text such as "2026-01-31T15:04:05Z"'
            ) from None


def _scalar(op: str, field: str, value: Any) -> Any:
    if op in LIST:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise QueryError(f'"{op}" on {field!r} needs a list of values, got {value!r}')
        values = [_one(op, field, v) for v in value]
        if not values:
            raise QueryError(f'"{op}" on {field!r} needs at least one value')
        return values
    if op in STRING and not isinstance(value, str):
        raise QueryError(f'"{op}" on {field!r} needs a string, got {value!r}')
    return _one(op, field, value)


def _one(op: str, field: str, value: Any) -> Any:
    if value is None:
        raise QueryError(
            f'"{op}" on {field!r} with None never matches in Autotask; use '
            f"Q({field!r}).not_exists() or .exists() instead"
        )
    if isinstance(value, (datetime, date)):
        return format_datetime(value)
    if isinstance(value, (bool, int, float, str)):
        return value
    raise QueryError(
        f'"{op}" on {field!r}: {type(value).__name__} values are not supported; '
        "use a number, string, boolean or datetime"
    )


def _count(d: dict[str, Any], pred: Any, ors: bool = False) -> int:
    n = 0
    if ors and d["op"] == "or":
        n += len(d["items"])
    elif not ors and pred(d):
        n += 1
    for sub in d.get("items", ()):
        n += _count(sub, pred, ors)
    return n


def _expr(other: Any) -> Expr:
    if isinstance(other, Expr):
        return other
    raise QueryError(f"cannot combine a filter with {other!r}; both sides must be conditions")


def _flatten(op: str, left: Expr, right: Expr) -> list[Expr]:
    items: list[Expr] = []
    for side in (left, right):
        if isinstance(side, Group) and side.op == op:
            items.extend(side.items)
        else:
            items.append(side)
    return items
