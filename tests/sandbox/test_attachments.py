"""Attachments over raw HTTP: generated rows with plausible metadata, `data` only from GET by
id (never in query results), creates through the parent route with the vendor sample's body,
the per-file size limit and parent-scoped delete."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from autotask_sandbox.attachments import MAX_FILE_BYTES

SAMPLE = {
    "id": 0,
    "attachDate": "2020-10-05T10:59:57.537",
    "attachedByContactID": None,
    "attachedByResourceID": None,
    "attachmentType": "FILE_ATTACHMENT",
    "fullPath": "TestText.txt",
    "publish": 1,
    "title": "Test text to a ticket",
    "data": "VGVzdCB0ZXh0IGZpbGUgdG8gYXR0YWNoLg0KTGluZSAyDQo=",
}


# The module's own tiny sandbox (`server` and `w` fixtures in conftest.py).
SERVER_SEED = 7


@pytest.mark.parametrize(
    "entity,parent_field",
    [
        ("TicketAttachments", "ticketID"),
        ("ProjectAttachments", "projectID"),
        ("CompanyAttachments", "companyID"),
    ],
)
def test_generated_attachments_have_metadata_and_data_only_by_id(
    api: Any, entity: str, parent_field: str
) -> None:
    items = api.query(entity, [{"op": "exist", "field": "id"}]).json()["items"]
    assert items, f"the tenant has no {entity}"
    for item in items:
        assert item["data"] is None  # never in query results
        assert item["fullPath"] and item["title"] and item["contentType"]
        assert item["attachDate"] and item[parent_field] == item["parentID"]
    full = api.get(f"{entity}/{items[0]['id']}").json()["item"]
    content = base64.b64decode(full["data"])
    assert full["fileSize"] == len(content) and content.startswith(full["title"].encode())
    with_data = api.query(
        entity, [{"op": "eq", "field": "id", "value": items[0]["id"]}], IncludeFields=["id", "data"]
    ).json()["items"]
    assert with_data == [{"id": items[0]["id"], "data": None}]


def test_create_ticket_attachment_like_the_vendor_sample(w: Any) -> None:
    ticket = w.ids("Tickets", [{"op": "exist", "field": "id"}], MaxRecords=1)[0]
    r = w.post(f"Tickets/{ticket}/Attachments", SAMPLE)
    assert r.status_code == 200, r.text
    new_id = r.json()["itemId"]
    item = w.get(f"Tickets/{ticket}/Attachments/{new_id}").json()["item"]
    assert item["ticketID"] == ticket and item["parentID"] == ticket
    assert item["data"] == SAMPLE["data"]
    assert item["fileSize"] == len(base64.b64decode(SAMPLE["data"])) == 35
    assert item["contentType"] == "text/plain" and item["attachedByResourceID"] is not None
    listed = w.get(f"Tickets/{ticket}/Attachments").json()["items"]
    assert [i["data"] for i in listed if i["id"] == new_id] == [None]
    assert w.delete(f"Tickets/{ticket}/Attachments/{new_id}").json() == {"itemId": new_id}
    assert w.get(f"TicketAttachments/{new_id}").status_code == 404


def test_attachment_over_the_size_limit_or_not_base64_is_refused(w: Any) -> None:
    ticket = w.ids("Tickets", [{"op": "exist", "field": "id"}], MaxRecords=1)[0]
    flt = [{"op": "eq", "field": "ticketID", "value": ticket}]
    before = w.query("TicketAttachments", flt).json()["items"]
    big = base64.b64encode(b"x" * (MAX_FILE_BYTES + 1)).decode()
    msg = w.error(w.post(f"Tickets/{ticket}/Attachments", {**SAMPLE, "data": big}))
    assert f"{MAX_FILE_BYTES + 1:,} bytes" in msg and "up to" in msg
    assert "base64" in w.error(w.post(f"Tickets/{ticket}/Attachments", {**SAMPLE, "data": "not base64!"}))
    assert "data" in w.error(w.post(f"Tickets/{ticket}/Attachments", {**SAMPLE, "data": None}))
    assert w.query("TicketAttachments", flt).json()["items"] == before


def test_more_than_10_mb_in_5_minutes_is_refused(sandbox_factory: Any, api_for: Any) -> None:
    fresh = api_for(sandbox_factory(seed=7))
    ticket = fresh.ids("Tickets", [{"op": "exist", "field": "id"}], MaxRecords=1)[0]
    six_mb = base64.b64encode(b"y" * 6_000_000).decode()
    first = fresh.post(f"Tickets/{ticket}/Attachments", {**SAMPLE, "data": six_mb})
    assert first.status_code == 200, first.text[:300]
    msg = fresh.error(fresh.post(f"Tickets/{ticket}/Attachments", {**SAMPLE, "data": six_mb}))
    assert "upload limit" in msg and "last 5 minutes" in msg and "Retry in" in msg
    assert fresh.post(f"Tickets/{ticket}/Attachments", SAMPLE).status_code == 200  # small fits


def test_note_attachments_are_scoped_by_their_note(w: Any) -> None:
    notes = w.query("TicketNotes", [{"op": "exist", "field": "id"}], MaxRecords=2).json()["items"]
    mine, other = notes[0]["id"], notes[1]["id"]
    new_id = w.post(f"TicketNotes/{mine}/Attachments", SAMPLE).json()["itemId"]
    item = w.get(f"TicketNotes/{mine}/Attachments/{new_id}").json()["item"]
    assert item["parentID"] == mine and item["data"] == SAMPLE["data"]
    assert new_id in [i["id"] for i in w.get(f"TicketNotes/{mine}/Attachments").json()["items"]]
    assert new_id not in [i["id"] for i in w.get(f"TicketNotes/{other}/Attachments").json()["items"]]
    assert w.get(f"TicketNotes/{other}/Attachments/{new_id}").status_code == 404
    assert w.delete(f"TicketNotes/{other}/Attachments/{new_id}").status_code == 500
    assert w.delete(f"TicketNotes/{mine}/Attachments/{new_id}").json() == {"itemId": new_id}


def test_attachment_ids_are_global_and_mirrored_in_attachment_info(api: Any) -> None:
    info = {i["id"]: i for i in api.all_items("AttachmentInfo")}
    seen: dict[int, str] = {}
    for entity in (
        "TicketAttachments",
        "ProjectAttachments",
        "CompanyAttachments",
        "DocumentAttachments",
        "TicketNoteAttachments",
    ):
        for item in api.all_items(entity):
            assert item["id"] not in seen, f"{entity} {item['id']} also in {seen.get(item['id'])}"
            seen[item["id"]] = entity
            mirror = info[item["id"]]
            assert (mirror["fullPath"], mirror["fileSize"], mirror["title"]) == (
                item["fullPath"],
                item["fileSize"],
                item["title"],
            )
    ticket_rows = [i for i in info.values() if i["ticketID"] is not None and i["ticketNoteID"] is None]
    assert ticket_rows and "data" not in ticket_rows[0]


def test_created_attachment_has_its_attachment_info_until_deleted(w: Any) -> None:
    ticket = w.ids("Tickets", [{"op": "exist", "field": "id"}], MaxRecords=1)[0]
    top = max(i["id"] for i in w.all_items("AttachmentInfo"))
    new_id = w.post(f"Tickets/{ticket}/Attachments", SAMPLE).json()["itemId"]
    assert new_id == top + 1
    mirror = w.get(f"AttachmentInfo/{new_id}").json()["item"]
    assert mirror["ticketID"] == ticket and mirror["fullPath"] == "TestText.txt"
    assert mirror["parentID"] == ticket and mirror["fileSize"] == 35
    note = w.ids("TicketNotes", [{"op": "exist", "field": "id"}], MaxRecords=1)[0]
    note_att = w.post(f"TicketNotes/{note}/Attachments", SAMPLE).json()["itemId"]
    assert note_att == new_id + 1
    assert w.get(f"AttachmentInfo/{note_att}").json()["item"]["ticketNoteID"] == note
    w.delete(f"Tickets/{ticket}/Attachments/{new_id}")
    assert w.get(f"AttachmentInfo/{new_id}").status_code == 404
