"""Per-field rules shared by the writes (backend) and `/fields` (metadata), so both agree:
which fields a caller must send, how long a string may be, and which timestamps the server
stamps on every write."""

from __future__ import annotations

from sdk_core.catalog import EntityInfo, FieldInfo

# Fields a caller must send on create and may not null later (reported as isRequired).
REQUIRED: dict[str, tuple[str, ...]] = {
    "Tickets": ("companyID", "title", "status", "priority"),
    "TicketNotes": ("description", "noteType", "publish", "title"),
    "Companies": ("companyName", "companyType", "phone"),
    "Contacts": ("firstName", "lastName", "isActive"),
    "CompanyLocations": ("name",),
    "TimeEntries": ("resourceID", "dateWorked"),
    "Projects": ("projectName", "companyID", "status", "projectType", "startDateTime", "endDateTime"),
    "Tasks": ("title", "status", "taskType"),
    "Contracts": ("contractName", "companyID", "contractType", "startDate", "endDate", "status"),
    "ConfigurationItems": ("companyID", "productID", "isActive"),
    "Opportunities": ("title", "companyID", "amount", "cost", "status", "stage"),
    "ContactGroups": ("name",),
}

# Lengths: the documented ones (ticket/task title 255; the webhook models, reference 11.2);
# otherwise INFERRED by name: long texts 8000, URLs and paths 500, other strings 100.
LONG_TEXT = (
    "description",
    "note",
    "resolution",
    "summary",
    "comment",
    "content",
    "text",
    "message",
    "payload",
)
URL_LIKE = ("url", "path", "link")
WEBHOOK_LENGTHS = {
    "name": 50,
    "webhookUrl": 500,
    "deactivationUrl": 500,
    "secretKey": 64,
    "notificationEmailAddress": 150,
    "webhookGUID": 100,
}
KNOWN_LENGTHS: dict[tuple[str, str], int] = {
    ("Tickets", "title"): 255,
    ("Tasks", "title"): 255,
    **{
        (f"{kind}Webhooks", name): length
        for kind in ("Company", "Contact", "ConfigurationItem", "Ticket", "TicketNote")
        for name, length in WEBHOOK_LENGTHS.items()
    },
}


# Ids the backend stamps on writes (the catalog marks them read-only for callers).
CREATOR_FIELDS = ("creatorResourceID", "createdByResourceID", "createdByPersonID")
ACTOR_FIELDS = ("lastActivityResourceID", "lastActivityPersonID", "lastModifiedByResourceID")


def field_length(entity: str, name: str, data_type: str) -> int:
    """The `length` `/fields` reports and writes enforce (0 = not a string)."""
    if data_type != "string":
        return 0
    known = KNOWN_LENGTHS.get((entity, name))
    if known is not None:
        return known
    low = name.lower()
    if any(word in low for word in LONG_TEXT):
        return 8000
    return 500 if any(word in low for word in URL_LIKE) else 100


def is_modification_field(name: str) -> bool:
    low = name.lower()
    return any(k in low for k in ("lastmodified", "lastactivitydate", "lasttracked")) or low == "lastactivity"


def is_maintained_timestamp(info: EntityInfo, f: FieldInfo) -> bool:
    """Creation and modification timestamps the backend stamps on every write."""
    return (
        f.name == info.creation_timestamp
        or f.name == info.modification_timestamp
        or (f.data_type == "datetime" and is_modification_field(f.name))
    )


def is_read_only(info: EntityInfo, f: FieldInfo) -> bool:
    """Read-only to callers: the catalog marks server-maintained fields (timestamps, creator,
    actor and impersonator ids) as well as the swagger's read-only ones."""
    return f.read_only
