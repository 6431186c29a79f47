"""Writes (section 6) on a private server: create/PUT/PATCH/DELETE answers, PUT vs PATCH
semantics, UDF writes, read-only and unknown fields, reference and picklist validation with
Autotask's messages, maintained timestamps, child routes and impersonation."""

from __future__ import annotations

from typing import Any

from autotask_sandbox.testing import SandboxServer

# The module's own tiny sandbox (`server` and `w` fixtures in conftest.py).
SERVER_SEED = 3


def some_id(w: Any, entity: str, **eq: Any) -> int:
    flt = [{"op": "eq", "field": k, "value": v} for k, v in eq.items()] or [{"op": "exist", "field": "id"}]
    return w.ids(entity, flt, MaxRecords=1)[0]


def new_ticket(w: Any, **extra: Any) -> int:
    company = some_id(w, "Companies", isActive=True)
    r = w.post(
        "Tickets", {"companyID": company, "title": "Printer on fire", "status": 1, "priority": 2, **extra}
    )
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["itemId"] and isinstance(r.json()["itemId"], int)
    return r.json()["itemId"]


def test_create_then_get(w: Any) -> None:
    tid = new_ticket(w, Description="Smoke", userDefinedFields=[{"name": "Root Cause", "value": "3"}])
    item = w.get(f"Tickets/{tid}").json()["item"]
    assert item["title"] == "Printer on fire" and item["description"] == "Smoke"
    assert item["createDate"] and item["lastActivityDate"] == item["createDate"]
    assert item["ticketNumber"].startswith("T")
    assert {"name": "Root Cause", "value": "3"} in item["userDefinedFields"]
    assert item["creatorResourceID"] is not None


def test_patch_is_sparse_and_put_nulls_omitted_fields(w: Any) -> None:
    tid = new_ticket(
        w,
        description="keep me",
        userDefinedFields=[
            {"name": "Root Cause", "value": "1"},
            {"name": "External Reference", "value": "X-1"},
        ],
    )
    before = w.get(f"Tickets/{tid}").json()["item"]
    r = w.patch(
        "Tickets",
        {
            "id": tid,
            "title": "Patched",
            "userDefinedFields": [{"name": "External Reference", "value": "X-2"}],
        },
    )
    assert r.json() == {"itemId": tid}
    after = w.get(f"Tickets/{tid}").json()["item"]
    assert after["title"] == "Patched" and after["description"] == "keep me"
    udfs = {u["name"]: u["value"] for u in after["userDefinedFields"]}
    assert udfs["Root Cause"] == "1" and udfs["External Reference"] == "X-2"
    assert after["lastActivityDate"] > before["lastActivityDate"]
    r = w.put(
        "Tickets",
        {"id": tid, "companyID": before["companyID"], "title": "Replaced", "status": 1, "priority": 2},
    )
    assert r.json() == {"itemId": tid}
    replaced = w.get(f"Tickets/{tid}").json()["item"]
    assert replaced["title"] == "Replaced" and replaced["description"] is None
    assert all(u["value"] is None for u in replaced["userDefinedFields"])
    assert replaced["createDate"] == before["createDate"]
    r = w.put("Tickets", {"id": tid, "companyID": before["companyID"], "status": 1, "priority": 2})
    assert w.error(r) == "Missing Required Field: title. ; on record number [1]."


def test_patch_checks_paired_fields_against_the_stored_row(w: Any) -> None:
    resource = some_id(w, "Resources", isActive=True)
    role = some_id(w, "Roles")
    tid = new_ticket(w, assignedResourceID=resource, assignedResourceRoleID=role)
    other = w.ids(
        "Resources",
        [{"op": "eq", "field": "isActive", "value": True}, {"op": "noteq", "field": "id", "value": resource}],
        MaxRecords=1,
    )[0]
    assert w.patch("Tickets", {"id": tid, "assignedResourceID": other}).status_code == 200
    assert "assignedResourceRoleID" in w.error(
        w.patch("Tickets", {"id": tid, "assignedResourceRoleID": None})
    )
    assert w.get(f"Tickets/{tid}").json()["item"]["assignedResourceID"] == other


def test_completing_a_ticket_stamps_completion(w: Any) -> None:
    tid = new_ticket(w)
    assert w.get(f"Tickets/{tid}").json()["item"]["completedDate"] is None
    w.patch("Tickets", {"id": tid, "status": 5})
    item = w.get(f"Tickets/{tid}").json()["item"]
    assert item["completedDate"] == item["lastActivityDate"] == item["resolvedDateTime"]
    assert item["completedByResourceID"] is not None


def test_read_only_fields_are_ignored(w: Any) -> None:
    tid = new_ticket(w)
    w.patch("Tickets", {"id": tid, "title": "t2"})
    assert w.get(f"Tickets/{tid}").json()["item"]["id"] == tid
    r = w.post("Tickets", {"id": 5, "companyID": 0, "title": "x", "status": 1, "priority": 1})
    assert r.json()["itemId"] != 5


def test_unknown_field_rejected_and_nothing_written(w: Any) -> None:
    before = w.post("Tickets/query/count", {"filter": [{"op": "exist", "field": "id"}]}).json()
    r = w.post("Tickets", {"companyID": 0, "title": "x", "status": 1, "priority": 1, "colour": "red"})
    assert w.error(r) == "Unable to find colour in the Ticket Entity."
    assert w.post("Tickets/query/count", {"filter": [{"op": "exist", "field": "id"}]}).json() == before


def test_reference_and_picklist_messages(w: Any) -> None:
    r = w.post("Tickets", {"companyID": 0, "title": "x", "status": 1, "priority": 1, "contactID": 12345})
    assert w.error(r) == (
        "Reference value on field: contactID of type: Contact does not exist or is invalid."
    )
    r = w.post("Tickets", {"companyID": 0, "title": "x", "status": 1, "priority": 99})
    assert w.error(r) == "Picklist value [99] does not exist for priority. ; on record number [1]."
    r = w.post("Tickets", {"companyID": 0, "status": 1, "priority": 1})
    assert w.error(r) == "Missing Required Field: title. ; on record number [1]."
    r = w.post(
        "Tickets",
        {
            "companyID": 0,
            "title": "x",
            "status": 1,
            "priority": 1,
            "userDefinedFields": [{"name": "Root Cause", "value": "77"}],
        },
    )
    assert w.error(r) == "Picklist value [77] does not exist for Root Cause. ; on record number [1]."
    fields = {f["name"]: f for f in w.get("Tickets/entityInformation/fields").json()["fields"]}
    subs = fields["SubIssueType"]["picklistValues"]
    wrong_parent = next(
        v["value"] for v in fields["IssueType"]["picklistValues"] if v["value"] != subs[0]["parentValue"]
    )
    r = w.post(
        "Tickets",
        {
            "companyID": 0,
            "title": "x",
            "status": 1,
            "priority": 1,
            "issueType": int(wrong_parent),
            "subIssueType": int(subs[0]["value"]),
        },
    )
    assert w.error(r).startswith(f"Picklist value [{subs[0]['value']}] does not exist for subIssueType.")
    r = w.post(
        "Tickets",
        {
            "companyID": 0,
            "title": "x",
            "status": 1,
            "priority": 1,
            "issueType": int(subs[0]["parentValue"]),
            "subIssueType": int(subs[0]["value"]),
        },
    )
    assert r.status_code == 200, r.text
    r = w.post(
        "Tickets",
        {
            "companyID": 0,
            "title": "x",
            "status": 1,
            "priority": 1,
            "assignedResourceID": some_id(w, "Resources", isActive=True),
        },
    )
    assert "assignedResourceRoleID" in w.error(r)


def test_note_and_time_entry_bump_ticket_last_activity(w: Any) -> None:
    tid = new_ticket(w)
    stamp = w.get(f"Tickets/{tid}").json()["item"]["lastActivityDate"]
    r = w.post(f"Tickets/{tid}/Notes", {"title": "n", "description": "d", "noteType": 1, "publish": 1})
    note = r.json()["itemId"]
    ticket = w.get(f"Tickets/{tid}").json()["item"]
    assert ticket["lastActivityDate"] > stamp
    assert w.get(f"Tickets/{tid}/Notes/{note}").json()["item"]["ticketID"] == tid
    assert [n["id"] for n in w.get(f"Tickets/{tid}/Notes").json()["items"]] == [note]
    stamp = ticket["lastActivityDate"]
    resource = some_id(w, "Resources", isActive=True)
    r = w.post(
        "TimeEntries",
        {"ticketID": tid, "resourceID": resource, "dateWorked": "2026-01-05", "hoursWorked": 1.5},
    )
    assert r.status_code == 200, r.text
    assert w.get(f"Tickets/{tid}").json()["item"]["lastActivityDate"] > stamp


def test_child_routes_scope_by_parent(w: Any) -> None:
    company = some_id(w, "Companies", isActive=True)
    r = w.post(f"Companies/{company}/Contacts", {"firstName": "Ada", "lastName": "Lovelace", "isActive": 1})
    contact = r.json()["itemId"]
    assert w.get(f"Contacts/{contact}").json()["item"]["companyID"] == company
    r = w.patch(f"Companies/{company}/Contacts", {"id": contact, "title": "Countess"})
    assert r.json() == {"itemId": contact}
    assert w.get(f"Contacts/{contact}").json()["item"]["title"] == "Countess"
    other = w.ids("Companies", [{"op": "noteq", "field": "id", "value": company}], MaxRecords=1)[0]
    assert w.get(f"Companies/{other}/Contacts/{contact}").status_code == 404
    assert "no matching record" in w.error(
        w.patch(f"Companies/{other}/Contacts", {"id": contact, "title": "x"})
    )
    r = w.delete(f"Companies/{company}/Contacts/{contact}")
    assert r.json() == {"itemId": contact}
    assert w.get(f"Contacts/{contact}").status_code == 404
    assert "No matching records found" in w.error(w.delete(f"Companies/{company}/Contacts/{contact}"))


def test_root_delete_where_allowed(w: Any) -> None:
    resource = some_id(w, "Resources", isActive=True)
    r = w.post(
        "TimeEntries",
        {"ticketID": new_ticket(w), "resourceID": resource, "dateWorked": "2026-01-05T00:00:00"},
    )
    entry = r.json()["itemId"]
    ticket = w.get(f"TimeEntries/{entry}").json()["item"]["ticketID"]
    assert w.delete(f"TimeEntries/{entry}").json() == {"itemId": entry}
    assert w.get(f"TimeEntries/{entry}").status_code == 404
    log = w.query("DeletedTicketActivityLogs", [{"op": "eq", "field": "ticketID", "value": ticket}]).json()
    assert [(i["typeID"], i["deletedByResourceID"] is not None) for i in log["items"]] == [(1, True)]


def test_impersonation(w: Any, server: SandboxServer) -> None:
    active = w.ids(
        "Resources",
        [
            {"op": "eq", "field": "isActive", "value": True},
            {"op": "noteq", "field": "email", "value": server.username},
        ],
    )[0]
    inactive = some_id(w, "Resources", isActive=False)
    api_user = some_id(w, "Resources", email=server.username)
    body = {"companyID": 0, "title": "as someone", "status": 1, "priority": 1}
    on_behalf = {"ImpersonationResourceId": str(active)}
    r = w.http.post(w.url("Tickets"), json=body, headers=on_behalf)
    ticket = r.json()["itemId"]
    item = w.get(f"Tickets/{ticket}").json()["item"]
    # creator = the impersonated resource; impersonator = the API user's own resource
    assert item["creatorResourceID"] == active and item["impersonatorCreatorResourceID"] == api_user
    plain = w.get(f"Tickets/{w.post('Tickets', body).json()['itemId']}").json()["item"]
    assert plain["creatorResourceID"] == api_user and plain["impersonatorCreatorResourceID"] is None
    r = w.http.post(w.url("Tickets"), json=body, headers={"impersonationresourceid": str(inactive)})
    assert r.status_code == 500 and "not an active resource" in r.json()["errors"][0]
    r = w.http.post(w.url("Tickets"), json=body, headers={"ImpersonationResourceId": str(api_user)})
    assert r.status_code == 500 and "cannot be impersonated" in r.json()["errors"][0]


def test_update_needs_an_existing_id(w: Any) -> None:
    assert "id" in w.error(w.patch("Tickets", {"title": "no id"}))
    assert "no matching record" in w.error(w.patch("Tickets", {"id": 1, "title": "x"}))


def test_impersonated_note_and_time_entry_move_the_tickets_last_activity(
    w: Any, server: SandboxServer
) -> None:
    api_user = some_id(w, "Resources", email=server.username)
    people = w.ids(
        "Resources",
        [
            {"op": "eq", "field": "isActive", "value": True},
            {"op": "noteq", "field": "email", "value": server.username},
        ],
    )
    ticket = new_ticket(w)
    assert w.get(f"Tickets/{ticket}").json()["item"]["lastActivityResourceID"] == api_user
    note = {"description": "on behalf", "noteType": 1, "publish": 1, "title": "impersonated"}
    r = w.http.post(
        w.url(f"Tickets/{ticket}/Notes"), json=note, headers={"ImpersonationResourceId": str(people[0])}
    )
    assert r.status_code == 200, r.text
    saved = w.get(f"TicketNotes/{r.json()['itemId']}").json()["item"]
    assert (saved["creatorResourceID"], saved["impersonatorCreatorResourceID"]) == (people[0], api_user)
    item = w.get(f"Tickets/{ticket}").json()["item"]
    assert (item["lastActivityResourceID"], item["lastActivityPersonType"]) == (people[0], 1)
    entry = {
        "ticketID": ticket,
        "resourceID": people[1],
        "dateWorked": "2026-01-05T00:00:00",
        "hoursWorked": 1,
    }
    r = w.http.post(w.url("TimeEntries"), json=entry, headers={"ImpersonationResourceId": str(people[1])})
    assert r.status_code == 200, r.text
    assert w.get(f"Tickets/{ticket}").json()["item"]["lastActivityResourceID"] == people[1]
    r = w.http.patch(
        w.url(f"Tickets/{ticket}/Notes"),
        json={"id": saved["id"], "title": "edited"},
        headers={"ImpersonationResourceId": str(people[1])},
    )
    assert r.status_code == 200, r.text
    assert w.get(f"TicketNotes/{saved['id']}").json()["item"]["impersonatorUpdaterResourceID"] == api_user
    assert w.patch(f"Tickets/{ticket}/Notes", {"id": saved["id"], "title": "again"}).status_code == 200
    assert w.get(f"TicketNotes/{saved['id']}").json()["item"]["impersonatorUpdaterResourceID"] is None
