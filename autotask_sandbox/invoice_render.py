"""Renders an invoice and its billing items as the API's PDF, HTML and XML invoice documents.

`GET /Invoices/{id}/InvoicePdf|InvoiceMarkupHtml|InvoiceMarkupXml` answer with documents built
from the stored rows, so a change to the invoice or its lines shows in the rendering. The PDF is
a minimal PDF 1.4 file (one Helvetica text page per 48 lines, a cross-reference table with exact
byte offsets), small enough to write directly rather than pulling in a PDF library.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

LINES_PER_PAGE = 48


@dataclass(frozen=True)
class InvoiceDocument:
    """What every rendering shows: the invoice header and one line per billing item."""

    invoice: dict[str, Any]
    company_name: str
    lines: list[dict[str, Any]]

    @property
    def number(self) -> str:
        return str(self.invoice.get("invoiceNumber") or self.invoice["id"])

    def subtotal(self) -> float:
        return round(sum(_amount(line) for line in self.lines), 2)


def _amount(line: dict[str, Any]) -> float:
    return float(line.get("extendedPrice") or line.get("totalAmount") or 0)


def _money(value: Any) -> str:
    return f"{float(value or 0):,.2f}"


def text_lines(doc: InvoiceDocument) -> list[str]:
    inv = doc.invoice
    out = [
        f"Invoice {doc.number}",
        f"Bill to: {doc.company_name}",
        f"Invoice date: {str(inv.get('invoiceDateTime') or '')[:10]}",
        f"Period: {str(inv.get('fromDate') or '')[:10]} - {str(inv.get('toDate') or '')[:10]}",
        f"Due: {str(inv.get('dueDate') or '')[:10]}",
        "",
    ]
    for line in doc.lines:
        out.append(
            f"{str(line.get('itemDate') or '')[:10]}  {line.get('itemName') or ''}: "
            f"{line.get('description') or ''}  {line.get('quantity') or 0} x "
            f"{_money(line.get('rate'))} = {_money(_amount(line))}"
        )
    out += [
        "",
        f"Lines: {len(doc.lines)}  Subtotal: {_money(doc.subtotal())}",
        f"Tax: {_money(inv.get('totalTaxValue'))}  Total: {_money(inv.get('invoiceTotal'))}",
    ]
    return out


def render_html(doc: InvoiceDocument) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(str(line.get('itemDate') or '')[:10])}</td><td>{esc(str(line.get('itemName') or ''))}</td>"
        f"<td>{esc(str(line.get('description') or ''))}</td><td>{esc(str(line.get('quantity') or 0))}</td>"
        f"<td>{_money(line.get('rate'))}</td><td>{_money(_amount(line))}</td></tr>"
        for line in doc.lines
    )
    inv = doc.invoice
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Invoice {esc(doc.number)}</title>'
        f'</head><body><h1>Invoice {esc(doc.number)}</h1><p class="bill-to">{esc(doc.company_name)}</p>'
        f'<p class="dates">{esc(str(inv.get("invoiceDateTime") or "")[:10])}</p>'
        "<table><thead><tr><th>Date</th><th>Item</th><th>Description</th><th>Quantity</th>"
        f"<th>Rate</th><th>Amount</th></tr></thead><tbody>{rows}</tbody></table>"
        f'<p class="subtotal">{_money(doc.subtotal())}</p>'
        f'<p class="tax">{_money(inv.get("totalTaxValue"))}</p>'
        f'<p class="total">{_money(inv.get("invoiceTotal"))}</p></body></html>'
    )


def render_xml(doc: InvoiceDocument) -> str:
    inv = doc.invoice
    root = ET.Element("invoice", id=str(inv["id"]), number=doc.number)
    ET.SubElement(root, "billTo").text = doc.company_name
    for key in ("invoiceDateTime", "fromDate", "toDate", "dueDate"):
        ET.SubElement(root, key).text = str(inv.get(key) or "")
    lines = ET.SubElement(root, "lines")
    for line in doc.lines:
        el = ET.SubElement(lines, "line", billingItemID=str(line.get("id")))
        for key in ("itemDate", "itemName", "description", "quantity", "rate"):
            ET.SubElement(el, key).text = "" if line.get(key) is None else str(line.get(key))
        ET.SubElement(el, "amount").text = f"{_amount(line):.2f}"
    ET.SubElement(root, "subtotal").text = f"{doc.subtotal():.2f}"
    ET.SubElement(root, "totalTax").text = f"{float(inv.get('totalTaxValue') or 0):.2f}"
    ET.SubElement(root, "total").text = f"{float(inv.get('invoiceTotal') or 0):.2f}"
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def _pdf_text(text: str) -> bytes:
    raw = text.encode("latin-1", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def render_pdf(doc: InvoiceDocument) -> bytes:
    """A valid PDF 1.4 file with the invoice's text lines."""
    lines = text_lines(doc)
    pages = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    font_obj = 3
    objects: list[bytes] = []  # object n is objects[n - 1]
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = b" ".join(b"%d 0 R" % p for p in page_ids)
    objects.append(b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(pages))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for page_id, page in zip(page_ids, pages):
        stream = (
            b"BT /F1 10 Tf 50 800 Td 14 TL "
            + b" ".join(b"(" + _pdf_text(line) + b") '" for line in page)
            + b" ET"
        )
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources "
            b"<< /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (font_obj, page_id + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
