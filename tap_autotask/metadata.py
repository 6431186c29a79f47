"""Field metadata for the streams, from the live API (cached by sdk_core) or the bundled catalog.

Both sources are reduced to one shape, `FieldSpec`, so that schema building and record
conversion do not care where the facts came from. Live metadata names fields in PascalCase
(`AssignedResourceID`) while records use camelCase (`assignedResourceID`); the catalog's names
are the record names, so live names are matched to them case-insensitively.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sdk_core.catalog import EntityInfo
from sdk_core.errors import NotFoundError, PermissionDeniedError

__all__ = [
    "FieldSpec",
    "MetadataSource",
    "CatalogMetadata",
    "LiveMetadata",
    "camel_name",
    "udf_column",
    "udf_columns",
    "TYPE_CORRECTIONS",
]

# Where Autotask's metadata (swagger and entityInformation/fields) names a type its answers do
# not have. Evidence: ../shared/reference/samples/query-contracts-page.json sends
# `"contractPeriodType": "m"` for a field both describe as an integer.
TYPE_CORRECTIONS: dict[tuple[str, str], str] = {
    ("Contracts", "contractPeriodType"): "string",
}

log = logging.getLogger("tap-autotask")

_LEADING_CAPS = re.compile(r"^([A-Z]+)(?=[A-Z][a-z]|$|[0-9_])|^([A-Z])")


@dataclass(frozen=True)
class FieldSpec:
    """One column of a stream: where it comes from and what it holds."""

    name: str
    data_type: str
    label: str | None = None
    reference: str | None = None
    picklist: tuple[dict[str, Any], ...] | None = None
    picklist_parent: str | None = None
    udf_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_udf(self) -> bool:
        return self.udf_name is not None


class MetadataSource(Protocol):
    """What the tap needs to know about an entity's fields."""

    def fields(self, entity: EntityInfo) -> list[FieldSpec]: ...

    def udfs(self, entity: EntityInfo) -> list[FieldSpec]: ...

    def raw_udfs(self, entity: EntityInfo) -> list[dict[str, Any]]: ...


def camel_name(pascal: str) -> str:
    """Autotask's record key for a metadata name: `GLCode` -> `glCode`, `ID` -> `id`."""
    match = _LEADING_CAPS.match(pascal)
    if not match:
        return pascal
    caps = match.group(1) or match.group(2)
    return caps.lower() + pascal[len(caps) :]


def udf_column(name: str) -> str:
    """Column name of a user-defined field, a function of its name alone (stable in any order).

    A plain name (ASCII letters and digits, single spaces) keeps its readable slug:
    `Customer Ranking` -> `udf_customer_ranking`. Any other name also gets a hash of the exact
    name, since its slug may be shared: `contract-value` -> `udf_contract_value_1a2b3c4d`,
    `Стоимость` -> `udf_stoimost_5e6f7a8b`. Two names share a column only if they differ in
    case alone, which Autotask does not allow (`udf_columns` still keeps them apart).
    """
    slug = _ascii_slug(name)
    if _PLAIN.fullmatch(name) and len(slug) <= _MAX_SLUG:
        return f"udf_{slug}"
    return _hashed(slug, name)


def udf_columns(names: Iterable[str]) -> dict[str, str]:
    """`udf_column` of each name, and a hash for every name of a group that would share one."""
    columns = {name: udf_column(name) for name in names}
    seen = Counter(columns.values())
    return {
        name: _hashed(_ascii_slug(name), name) if seen[column] > 1 else column
        for name, column in columns.items()
    }


_PLAIN = re.compile(r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)*")
_MAX_SLUG = 48  # leaves room for the prefix and hash under PostgreSQL's 63-character limit
# Letters NFKD does not reduce to ASCII, by their usual Latin spelling (Cyrillic, Greek).
_TRANSLIT = str.maketrans(
    {
        **dict(zip("абвгдезийклмнопрстуфыэ", "abvgdezijklmnoprstufye")),
        "ж": "zh",
        "х": "kh",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "shch",
        "ю": "yu",
        "я": "ya",
        "ё": "e",
        "ъ": "",
        "ь": "",
        "є": "ye",
        "і": "i",
        "ї": "yi",
        "ґ": "g",
        **dict(zip("αβγδεζηικλμνξοπρσςτυφω", "abgdeziiklmnxoprsstyfo")),
        "θ": "th",
        "χ": "ch",
        "ψ": "ps",
        "ß": "ss",
        "æ": "ae",
        "ø": "o",
        "đ": "d",
        "ł": "l",
        "þ": "th",
    }
)


def _ascii_slug(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.lower())
    marks_gone = "".join(c for c in decomposed if not unicodedata.combining(c))
    latin = marks_gone.translate(_TRANSLIT)
    return re.sub(r"[^0-9a-z]+", "_", latin).strip("_")


def _hashed(slug: str, name: str) -> str:
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    short = slug[:_MAX_SLUG].rstrip("_")
    return f"udf_{short}_{digest}" if short else f"udf_{digest}"


class CatalogMetadata:
    """Offline metadata from the bundled catalog: types and references, no picklists, no UDFs."""

    def fields(self, entity: EntityInfo) -> list[FieldSpec]:
        return [
            FieldSpec(
                name=f.name,
                data_type=_corrected(entity, f.name, f.data_type),
                label=f.label,
                reference=f.reference,
            )
            for f in entity.fields
        ]

    def udfs(self, entity: EntityInfo) -> list[FieldSpec]:
        return []

    def raw_udfs(self, entity: EntityInfo) -> list[dict[str, Any]]:
        return []


class LiveMetadata:
    """Metadata read through sdk_core (`/entityInformation/fields`, `/userDefinedFields`).

    sdk_core caches these answers on disk, so only a cold cache costs requests.
    """

    def __init__(self, client: Any):
        self._client = client
        self._udf_cache: dict[str, list[dict[str, Any]]] = {}

    def fields(self, entity: EntityInfo) -> list[FieldSpec]:
        try:
            raws = self._client.entity(entity.name).fields()
        except (PermissionDeniedError, NotFoundError) as exc:
            log.warning(
                "Field metadata of %s unavailable (%s); using the bundled catalog.",
                entity.name,
                " ".join(str(exc).split()),
            )
            return CatalogMetadata().fields(entity)
        specs = []
        for raw in raws:
            known = entity.field(raw["name"])
            name = known.name if known else camel_name(raw["name"])
            reference = raw.get("referenceEntityType") or None
            if known and known.reference and not reference:
                reference = known.reference
            specs.append(
                FieldSpec(
                    name=name,
                    data_type=_corrected(
                        entity, name, raw.get("dataType") or (known.data_type if known else "string")
                    ),
                    label=raw.get("label") or raw["name"],
                    reference=reference if raw.get("isReference", bool(reference)) else None,
                    picklist=_picklist(raw),
                    picklist_parent=raw.get("picklistParentValueField") or None,
                )
            )
        return specs

    def raw_udfs(self, entity: EntityInfo) -> list[dict[str, Any]]:
        if not entity.has_udfs:
            return []
        if entity.name not in self._udf_cache:
            try:
                self._udf_cache[entity.name] = list(self._client.entity(entity.name).udfs())
            except (PermissionDeniedError, NotFoundError) as exc:
                log.warning(
                    "UDF metadata of %s unavailable (%s); no UDF columns.",
                    entity.name,
                    " ".join(str(exc).split()),
                )
                self._udf_cache[entity.name] = []
        return self._udf_cache[entity.name]

    def udfs(self, entity: EntityInfo) -> list[FieldSpec]:
        raws = self.raw_udfs(entity)
        columns = udf_columns(raw["name"] for raw in raws)
        return [
            FieldSpec(
                name=columns[raw["name"]],
                data_type=str(raw.get("type") or raw.get("dataType") or "string"),
                label=raw.get("label") or raw["name"],
                picklist=_picklist(raw),
                udf_name=raw["name"],
            )
            for raw in raws
        ]


def _corrected(entity: EntityInfo, name: str, data_type: str) -> str:
    return TYPE_CORRECTIONS.get((entity.name, name), data_type)


def _picklist(raw: dict[str, Any]) -> tuple[dict[str, Any], ...] | None:
    if not raw.get("isPickList"):
        return None
    return tuple(raw.get("picklistValues") or ())
