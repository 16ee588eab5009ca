"""Spreadsheet files that are safe to open: no cell a spreadsheet would run as a formula.

CSV has no types, so a value a spreadsheet would read as a formula (starting with = + - @, a tab,
CR or LF, or their full-width forms, after any leading whitespace) is prefixed with an apostrophe
(OWASP's advice); the apostrophe shows, the formula never runs. XLSX cells are always written as
typed strings (or numbers), never formulas, and get the same prefix so a copy-paste into another
sheet stays inert. Both writers stream: rows go to the file as they come, memory stays flat.
"""

import csv
import hashlib
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

# ASCII triggers and their full-width forms (U+FF1D ＝, U+FF0B ＋, U+FF0D －, U+FF20 ＠).
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
# Leading characters a spreadsheet skips before deciding a cell is a formula.
LEADING_BLANKS = " \u00a0\u3000"


def neutralise(value) -> object:
    """A cell value no spreadsheet will evaluate. Numbers stay numbers; text that could run is prefixed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return value
    text = str(value)
    if not text:
        return text
    if text[0] in FORMULA_TRIGGERS or text.lstrip(LEADING_BLANKS)[:1] in FORMULA_TRIGGERS:
        return "'" + text
    return text


class _Hashing:
    """A binary file wrapper that hashes what is written through it."""

    def __init__(self, handle):
        self.handle = handle
        self.sha256 = hashlib.sha256()

    def write(self, data):
        data = data.encode("utf-8") if isinstance(data, str) else data
        self.sha256.update(data)
        return self.handle.write(data)


def write_csv(path: Path, header: list[str], rows) -> tuple[int, str]:
    """Write rows (iterables of cell values) to ``path``. Returns (row count, SHA-256 of the file)."""
    count = 0
    with path.open("wb") as handle:
        hashing = _Hashing(handle)
        hashing.write("\ufeff")  # a BOM, so Excel reads UTF-8 (names with accents) correctly

        class _Text:
            def write(self, text):
                hashing.write(text)

        writer = csv.writer(_Text(), lineterminator="\r\n")
        writer.writerow([neutralise(h) for h in header])
        for row in rows:
            writer.writerow([neutralise(v) for v in row])
            count += 1
    return count, hashing.sha256.hexdigest()


def write_xlsx(path: Path, header: list[str], rows, *, title: str = "Invitation list") -> tuple[int, str]:
    """The same as XLSX (openpyxl's write-only mode streams rows to disk). Returns (rows, SHA-256)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append([_typed(sheet, h) for h in header])
    count = 0
    for row in rows:
        sheet.append([_typed(sheet, v) for v in row])
        count += 1
    workbook.save(path)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return count, digest.hexdigest()


def _typed(sheet, value) -> WriteOnlyCell:
    value = neutralise(value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would store a leading "=" as a formula otherwise
    return cell
