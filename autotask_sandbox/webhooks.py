"""Webhook delivery: what Autotask does when a watched record changes.

The five webhook configuration entities (`CompanyWebhooks`, `ContactWebhooks`,
`ConfigurationItemWebhooks`, `TicketWebhooks`, `TicketNoteWebhooks`) and their children
(`Fields`, `UdfFields`, `ExcludedResources`) are ordinary entities stored by the backend. This
module listens to the backend's committed changes and turns them into callouts, as reference
section 11 describes:

* a change of a watched entity fans out to every active, ready webhook of that entity that
  subscribes to the action; creates and deletes always fire, an update only when one of the
  webhook's subscribed fields (or UDFs) changed; changes made by an excluded resource never fire;
* the payload is `{Action, Guid, EntityType, Id, Fields, EventTime, SequenceNumber, PersonID}`
  and is signed `X-Hook-Signature: sha1=<base64 HMAC-SHA1(secretKey, body)>` over the .NET
  (HTML-safe) escaped serialization, which is also the body sent, unless `unescaped_body` is
  switched on to reproduce the mismatch integrators report;
* delivery runs on a background thread, FIFO per (webhook, action); a failed attempt is retried
  every `retry_interval` seconds up to `max_attempts`, then the payload is dropped into
  `WebhookEventErrorLogs`; `deactivate_after` consecutive dropped payloads deactivate the
  webhook and notify its `deactivationUrl`.

Field ids. Autotask's `fieldID` is an internal number the API does not publish. The sandbox
numbers an entity's fields by their 1-based position in the bundled catalog's field list
(`Tickets`: 1 = `id`, 75 = `title`), see `field_ids()`. Real tenants use other numbers: clients
must read them from `/{X}WebhookFields/entityInformation/fields` (the `fieldID` picklist), never
hard-code them. `udfFieldID` is the id of the UDF definition.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from functools import cache
from typing import Any, Mapping

from sdk_core.catalog import load_catalog

__all__ = [
    "WATCHED_ENTITIES",
    "WebhookSettings",
    "dotnet_json",
    "field_ids",
    "plain_json",
    "sign",
]

# Webhook configuration entity -> the entity whose changes it watches.
WATCHED_ENTITIES: dict[str, str] = {
    "CompanyWebhooks": "Companies",
    "ContactWebhooks": "Contacts",
    "ConfigurationItemWebhooks": "ConfigurationItems",
    "TicketWebhooks": "Tickets",
    "TicketNoteWebhooks": "TicketNotes",
}


@dataclass
class WebhookSettings:
    """Delivery knobs; the defaults are Autotask's documented values (reference section 11.5)."""

    timeout: float = 10.0
    retry_interval: float = 30.0
    max_attempts: int = 5
    deactivate_after: int = 25
    unescaped_body: bool = False

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply admin-route changes, refusing unknown keys and nonsensical values."""
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                known = ", ".join(self.__dataclass_fields__)
                raise ValueError(f"unknown webhook setting {key!r}; known settings: {known}")
            current = getattr(self, key)
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"webhook setting {key!r} must be true or false")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"webhook setting {key!r} must be a positive number")
            elif isinstance(current, int) and not float(value).is_integer():
                raise ValueError(f"webhook setting {key!r} must be a whole number")
            setattr(self, key, type(current)(value))


# --- serialization and signature -------------------------------------------------------------

# Characters .NET's default (HTML-safe) JSON encoder writes as \uXXXX inside strings.
_DOTNET_ESCAPED = frozenset("&<>'+`\"")
_SHORT_ESCAPES = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _dotnet_string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char in _DOTNET_ESCAPED or code < 0x20 or 0x7F <= code <= 0xFFFF:
            out.append(f"\\u{code:04X}")
        elif code > 0xFFFF:  # astral plane: a UTF-16 surrogate pair, as .NET strings hold it
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def dotnet_json(value: Any) -> str:
    """Compact JSON as Autotask's .NET serializer writes it, the text the signature covers.

    Inside strings `& < > ' + ` "` and every non-ASCII character become `\\uXXXX` (upper-case
    hex), so the text is pure ASCII and identical to what a verifier rebuilds by escaping.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _dotnet_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot serialize {value!r} in a webhook payload")
        return json.dumps(value)
    if isinstance(value, Mapping):
        items = (f"{_dotnet_string(str(k))}:{dotnet_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dotnet_json(v) for v in value) + "]"
    raise TypeError(f"cannot serialize {type(value).__name__} in a webhook payload")


def plain_json(value: Any) -> str:
    """Compact JSON without the HTML-safe escaping: the bytes of the mismatch switch."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def sign(secret: str, body: bytes) -> str:
    """`X-Hook-Signature` value: `sha1=` + base64 of HMAC-SHA1 keyed with the secret."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).digest()
    return "sha1=" + base64.b64encode(digest).decode("ascii")


# --- field ids ---------------------------------------------------------------------------------


@cache
def field_ids(entity: str) -> dict[int, str]:
    """fieldID -> REST field name for a watched entity: its 1-based catalog position."""
    info = load_catalog().get(entity)
    return {position: f.name for position, f in enumerate(info.fields, start=1)}
