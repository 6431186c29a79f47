"""Stream names to file names and Excel sheet titles, as a function of the name alone.

A name that is already plain (lowercase letters, digits, ``_`` and ``-``, at most 100
characters) is used as it is. Any other name is made safe and gets ``.`` and the first
8 hex digits of the SHA-256 of the full name: ``a/b`` -> ``a_b.<hash>`` while ``a_b``
stays ``a_b``. Plain names never contain a dot, so the two kinds cannot meet, and
names that differ only in case (``Foo``, ``foo``) get different files even on a
case-insensitive file system. The result does not depend on which stream arrived
first, so every run puts a stream's rows in the same file.

Sheet titles follow Excel's rules the same way: a valid title (31 characters, none of
``[]:*?/\\`` or control characters, no apostrophe at either end, not ``History``)
stays; any other becomes a cleaned prefix, ``~`` and the hash.
"""

from __future__ import annotations

import hashlib
import re

_PLAIN = re.compile(r"[a-z0-9_][a-z0-9_-]{0,99}")
_FILE_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
# Device names Windows refuses as file names, whatever the extension.
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{d}{i}" for d in ("com", "lpt") for i in range(10)}

EXCEL_MAX_TITLE = 31
# Excel's forbidden title characters, and what XML 1.0 cannot hold at all.
_TITLE_UNSAFE = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]+")
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_HASH_LEN = 8


def name_hash(name: str) -> str:
    """A short stable digest of a name (lone surrogates included, as sent in JSON)."""
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LEN]


def file_stem(name: str) -> str:
    """The base of a stream's file name (the caller adds the extension)."""
    if _PLAIN.fullmatch(name) and name not in _RESERVED:
        return name
    base = _FILE_UNSAFE.sub("_", name).strip("_")[:80] or "stream"
    return f"{base}.{name_hash(name)}"


def _valid_title(name: str) -> bool:
    return (
        0 < len(name) <= EXCEL_MAX_TITLE
        and not _TITLE_UNSAFE.search(name)
        and not name.startswith("'")
        and not name.endswith("'")
        and name.strip() == name
        and name.lower() != "history"
    )


def sheet_title(name: str) -> str:
    """The first sheet title of a stream in a workbook."""
    if _valid_title(name):
        return name
    base = _TITLE_UNSAFE.sub("_", name).strip("' ")[: EXCEL_MAX_TITLE - _HASH_LEN - 1].rstrip("' ")
    return f"{base}~{name_hash(name)}"


_WORKBOOK_UNSAFE = re.compile(r"[^A-Za-z0-9_. -]+")


def workbook_file_name(name: str) -> str:
    """The workbook's file name from the setting (one per folder, so no hash is needed)."""
    return (_WORKBOOK_UNSAFE.sub("_", name).strip("._ ") or "singer_export") + ".xlsx"
