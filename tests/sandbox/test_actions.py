"""The API's non-CRUD routes (reference section 3, appendix A) over raw HTTP: invoice
rendering, company invoice settings, Authenticate, time off balances and approval, inventory
stock moves, contract service adjustments and checklist libraries."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

# The module's own tiny sandbox (`server` and `w` fixtures in conftest.py).
SERVER_SEED = 5


def first_id(api: Any, entity: str, *flt: dict[str, Any]) -> int:
    return api.ids(entity, list(flt) or [{"op": "exist", "field": "id"}], MaxRecords=1)[0]


def invoice_with_lines(api: Any) -> tuple[int, list[dict[str, Any]]]:
    lines = api.query("BillingItems", [{"op": "exist", "field": "invoiceID"}]).json()["items"]
    invoice_id = lines[0]["invoiceID"]
    return invoice_id, [line for line in lines if line["invoiceID"] == invoice_id]


def check_pdf(pdf: bytes) -> str:
    """Structural PDF check: header, trailer, and every xref offset pointing at its object."""
    assert pdf.startswith(b"%PDF-1.") and pdf.rstrip().endswith(b"%%EOF")
    start = int(re.search(rb"startxref\n(\d+)\n", pdf).group(1))
    assert pdf[start:].startswith(b"xref\n")
    size = int(re.search(rb"/Size (\d+)", pdf).group(1))
    table = pdf[start:].split(b"\n")[2 : 2 + size]
    for number, entry in enumerate(table[1:], start=1):
        offset = int(entry[:10])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    for m in re.finditer(rb"<< /Length (\d+) >>\nstream\n", pdf):
        assert pdf[m.end() + int(m.group(1)) :].startswith(b"\nendstream")
    return " ".join(t.decode("latin-1") for t in re.findall(rb"\(((?:[^()\\]|\\.)*)\) '", pdf))


def test_invoice_pdf_is_a_valid_pdf_of_the_invoice(api: Any) -> None:
    invoice_id, lines = invoice_with_lines(api)
    invoice = api.get(f"Invoices/{invoice_id}").json()["item"]
    r = api.get(f"invoices/{invoice_id}/invoicepdf")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"id", "contentType", "fileName", "fileSize", "data"}
    assert body["id"] == invoice_id and body["contentType"] == "application/pdf"
    pdf = base64.b64decode(body["data"])
    assert body["fileSize"] == len(pdf) and body["fileName"].endswith(".pdf")
    text = check_pdf(pdf)
    assert f"Invoice {invoice['invoiceNumber']}" in text
    assert f"Lines: {len(lines)}" in text
    assert f"Total: {invoice['invoiceTotal']:,.2f}" in text


def test_invoice_markup_html_and_xml_render_the_lines(api: Any) -> None:
    invoice_id, lines = invoice_with_lines(api)
    html = api.get(f"Invoices/{invoice_id}/InvoiceMarkupHtml").json()
    assert list(html) == ["invoiceMarkup"]
    assert html["invoiceMarkup"].count("<tr><td>") == len(lines)
    xml = api.get(f"Invoices/{invoice_id}/InvoiceMarkupXml").json()["invoiceMarkup"]
    root = ET.fromstring(xml.split("?>", 1)[1])
    assert root.get("id") == str(invoice_id)
    assert sorted(int(item.get("billingItemID")) for item in root.iter("line")) == sorted(
        item["id"] for item in lines
    )
    total = sum(float(item["extendedPrice"]) for item in lines)
    assert float(root.findtext("subtotal")) == pytest.approx(total)


def test_invoice_rendering_of_a_missing_invoice_is_404_and_verbs_are_checked(api: Any) -> None:
    assert api.error(api.get("Invoices/1/InvoicePdf"), 404) == "Unable to find Invoice with id 1."
    r = api.post("Invoices/1/InvoicePdf", {})
    assert r.status_code == 405 and r.json() == {
        "Message": "The requested resource does not support http method 'POST'."
    }


def test_authenticate_answers_a_token(api: Any) -> None:
    body = api.get("Authenticate").json()
    assert set(body) == {"authToken", "expiration"} and len(body["authToken"]) >= 32
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", body["expiration"])
    assert api.http.get(api.url("Authenticate"), headers={"Secret": "wrong"}).status_code == 401


def test_company_invoice_settings_round_trip(w: Any) -> None:
    company = first_id(w, "Companies", {"op": "gt", "field": "id", "value": 0})
    settings = w.get(f"Companies/{company}/invoiceSettings").json()
    assert set(settings) == {
        "taxExempt",
        "taxRegionId",
        "taxId",
        "invoiceEmailingEnabled",
        "contactRecipients",
        "resourceRecipients",
        "otherEmails",
    }
    r = w.put(
        f"Companies/{company}/invoiceSettings",
        {"invoiceEmailingEnabled": True, "otherEmails": "ap@example.com"},
    )
    assert r.json() == {"itemId": company}
    contact = first_id(w, "Contacts", {"op": "eq", "field": "companyID", "value": company})
    r = w.post(f"Companies/{company}/invoiceSettings/contactRecipients", {"items": [contact]})
    assert r.json() == {"contactRecipients": [contact]}
    resource = first_id(w, "Resources", {"op": "eq", "field": "isActive", "value": True})
    assert w.post(
        f"Companies/{company}/invoiceSettings/resourceRecipients", {"items": [resource]}
    ).json() == {"resourceRecipients": [resource]}
    after = w.get(f"Companies/{company}/invoiceSettings").json()
    assert after["invoiceEmailingEnabled"] is True and after["otherEmails"] == "ap@example.com"
    assert after["contactRecipients"] == [contact] and after["resourceRecipients"] == [resource]
    assert w.delete(f"Companies/{company}/invoiceSettings/contactRecipients/{contact}").json() == {
        "itemId": contact
    }
    assert w.get(f"Companies/{company}/invoiceSettings").json()["contactRecipients"] == []
    other = first_id(w, "Contacts", {"op": "noteq", "field": "companyID", "value": company})
    msg = w.error(w.post(f"Companies/{company}/invoiceSettings/contactRecipients", {"items": [other]}))
    assert f"Contact {other} does not belong to company {company}" in msg
    assert "Unable to find" in w.error(w.put(f"Companies/{company}/invoiceSettings", {"bogus": 1}))


def test_time_off_request_approve_and_reject_change_status_and_balances(w: Any) -> None:
    resource = first_id(
        w,
        "Resources",
        {"op": "eq", "field": "isActive", "value": True},
        {"op": "gt", "field": "id", "value": 29680001},
    )
    year = 2027
    before = w.get(f"Resources/{resource}/TimeOffBalances/{year}").json()["item"]
    assert before["year"] == year and before["resourceID"] == resource

    def request(hours: float) -> int:
        r = w.post(
            f"Resources/{resource}/TimeOffRequests",
            {
                "resourceID": resource,
                "status": 1,
                "timeOffRequestType": 1,
                "hours": hours,
                "startTime": f"{year}-03-02T09:00:00",
                "endTime": f"{year}-03-02T17:00:00",
                "requestDate": f"{year}-03-02T00:00:00",
            },
        )
        assert r.status_code == 200, r.text
        return r.json()["itemId"]

    approved, rejected = request(8.0), request(4.0)
    waiting = w.get(f"Resources/{resource}/TimeOffBalances/{year}").json()["item"]
    assert waiting["vacationTimeWaitingApproval"] == before["vacationTimeWaitingApproval"] + 12.0
    assert w.get(f"TimeOffRequests/{approved}/Approve").json() == {"itemId": approved}
    item = w.get(f"TimeOffRequests/{approved}").json()["item"]
    assert item["status"] == 2 and item["approvedDateTime"] and item["approveRejectResourceID"]
    assert w.post(f"TimeOffRequests/{rejected}/Reject", {"reason": "Project deadline"}).json() == {
        "itemId": rejected
    }
    item = w.get(f"TimeOffRequests/{rejected}").json()["item"]
    assert item["status"] == 3 and item["rejectReason"] == "Project deadline"
    after = w.get(f"Resources/{resource}/TimeOffBalances/{year}").json()["item"]
    assert after["vacationTimePlanned"] == before["vacationTimePlanned"] + 8.0
    assert after["vacationTimeBalance"] == before["vacationTimeBalance"] - 8.0
    assert after["vacationTimeWaitingApproval"] == before["vacationTimeWaitingApproval"]
    assert "not waiting for approval" in w.error(w.get(f"TimeOffRequests/{approved}/Approve"))
    assert "reason" in w.error(w.post(f"TimeOffRequests/{request(1.0)}/Reject", {}))
    assert w.post(f"TimeOffRequests/{approved}/Approve", {}).status_code == 405
    years = [b["year"] for b in w.get(f"Resources/{resource}/TimeOffBalances").json()["items"]]
    assert year in years


def test_inventory_stock_add_remove_transfer(w: Any) -> None:
    product_id = first_id(w, "InventoryProducts")
    product = w.get(f"InventoryProducts/{product_id}").json()["item"]
    r = w.post(
        f"InventoryProducts/{product_id}/StockedItemsAdd",
        {"quantityBeingAdded": 10, "unitCost": 12.5, "serialNumber": "SN-1"},
    )
    assert r.status_code == 200, r.text
    item_id = r.json()["itemId"]
    item = w.get(f"InventoryStockedItems/{item_id}").json()["item"]
    assert item["inventoryProductID"] == product_id and item["availableUnits"] == 10
    assert w.post(
        f"InventoryProducts/{product_id}/StockedItemsRemove",
        {"inventoryStockedItemID": item_id, "quantityBeingRemoved": 3},
    ).json() == {"itemId": item_id}
    location = first_id(w, "InventoryLocations")
    moved = w.post(
        f"InventoryProducts/{product_id}/StockedItemsTransfer",
        {
            "inventoryStockedItemID": item_id,
            "quantityBeingTransferred": 2,
            "newInventoryLocationID": location,
        },
    ).json()["itemId"]
    source = w.get(f"InventoryStockedItems/{item_id}").json()["item"]
    target = w.get(f"InventoryStockedItems/{moved}").json()["item"]
    assert (source["availableUnits"], source["removedUnits"], source["transferredUnits"]) == (5, 3, 2)
    assert target["availableUnits"] == 2 and target["currentInventoryLocationID"] == location
    assert target["parentInventoryStockedItemID"] == item_id
    after = w.get(f"InventoryProducts/{product_id}").json()["item"]
    assert after["onHandUnits"] == (product["onHandUnits"] or 0) + 7
    msg = w.error(
        w.post(
            f"InventoryProducts/{product_id}/StockedItemsRemove",
            {"inventoryStockedItemID": item_id, "quantityBeingRemoved": 99},
        )
    )
    assert "Cannot remove 99 units" in msg
    assert w.get(f"InventoryStockedItems/{item_id}").json()["item"]["availableUnits"] == 5


def test_contract_service_adjustment_adds_units(w: Any) -> None:
    service = w.query("ContractServices", [{"op": "exist", "field": "id"}], MaxRecords=1).json()["items"][0]
    contract = service["contractID"]
    flt = [{"op": "eq", "field": "contractServiceID", "value": service["id"]}]
    before = len(w.query("ContractServiceUnits", flt).json()["items"])
    r = w.post(
        f"Contracts/{contract}/ServiceAdjustments",
        {
            "contractServiceID": service["id"],
            "unitChange": 5,
            "effectiveDate": "2026-11-01",
            "adjustedUnitPrice": 42.0,
        },
    )
    assert r.status_code == 200, r.text
    units = w.query("ContractServiceUnits", flt).json()["items"]
    assert len(units) == before + 1
    assert units[-1]["units"] == 5 and units[-1]["price"] == 42.0
    assert units[-1]["startDate"].startswith("2026-11-01T00:00:00")
    other = first_id(w, "Contracts", {"op": "noteq", "field": "id", "value": contract})
    assert "contractServiceID" in w.error(
        w.post(
            f"Contracts/{other}/ServiceAdjustments",
            {"contractServiceID": service["id"], "unitChange": 1, "effectiveDate": "2026-11-01"},
        )
    )
    assert w.get(f"Contracts/{contract}/ServiceAdjustments").status_code == 405


def test_ticket_checklist_library_copies_its_items(w: Any) -> None:
    library = w.post("ChecklistLibraries", {"name": "Onboarding", "isActive": True, "entityType": 1})
    assert library.status_code == 200, library.text
    library_id = library.json()["itemId"]
    for position, name in enumerate(["Create account", "Ship laptop"], start=1):
        r = w.post(
            f"ChecklistLibraries/{library_id}/ChecklistItems",
            {"itemName": name, "position": position, "isImportant": position == 1},
        )
        assert r.status_code == 200, r.text
    ticket = first_id(w, "Tickets")
    flt = [{"op": "eq", "field": "ticketID", "value": ticket}]
    before = w.query("TicketChecklistItems", flt).json()["items"]
    r = w.post(f"Tickets/{ticket}/ChecklistLibraries", {"checklistLibraryID": library_id})
    assert r.status_code == 200 and isinstance(r.json()["itemId"], int), r.text
    after = w.query("TicketChecklistItems", flt).json()["items"]
    added = after[len(before) :]
    assert [i["itemName"] for i in added] == ["Create account", "Ship laptop"]
    assert all(i["isCompleted"] is False for i in added)
    assert "checklistLibraryID" in w.error(
        w.post(f"Tickets/{ticket}/ChecklistLibraries", {"checklistLibraryID": 1})
    )


def test_time_off_allowance_comes_from_time_off_additional(w: Any) -> None:
    resource = first_id(w, "Resources", {"op": "eq", "field": "isActive", "value": True})
    (row,) = w.get(f"Resources/{resource}/TimeOffAdditional").json()["items"]
    year = row["nextYear"]
    before = w.get(f"Resources/{resource}/TimeOffBalances/{year}").json()["item"]
    assert before["vacationTimeAnnualAllowance"] == (
        row["nextYearAnnualVacationTime"] + row["nextYearAdditionalVacationTime"]
    )
    r = w.patch(
        f"Resources/{resource}/TimeOffAdditional",
        {"id": row["id"], "nextYearAdditionalVacationTime": row["nextYearAdditionalVacationTime"] + 24},
    )
    assert r.status_code == 200, r.text
    after = w.get(f"Resources/{resource}/TimeOffBalances/{year}").json()["item"]
    assert after["vacationTimeAnnualAllowance"] == before["vacationTimeAnnualAllowance"] + 24
    assert after["vacationTimeBalance"] == before["vacationTimeBalance"] + 24
