"""Spreadsheet files that are safe to open: no cell a spreadsheet would run as a formula.

CSV has no types, so a value a spreadsheet would read as a formula (starting with = + - @, a tab,
CR or LF, or their full-width forms, after any leading whitespace) is prefixed with an apostrophe
(OWASP's advice); the apostrophe shows, the formula never runs. XLSX cells are always written as
typed strings (or numbers), never formulas, and get the same prefix so a copy-paste into another
sheet stays inert. Both writers stream: rows go to the file as they come, memory stays flat.
"""

import csv
import hashlib
import io
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

# ASCII triggers and their full-width forms (U+FF1D ＝, U+FF0B ＋, U+FF0D －, U+FF20 ＠).
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
# Leading characters a spreadsheet skips before deciding a cell is a formula.
LEADING_BLANKS = " \u00a0\u3000"


def neutralise(value) -> object:
    """A cell value no spreadsheet will evaluate. Numbers stay numbers; text that could run is prefixed."""
    if value.__class__ is str:  # the common case first: an export calls this for every cell
        if value and (value[0] in FORMULA_TRIGGERS
                      or (value[0] in LEADING_BLANKS and value.lstrip(LEADING_BLANKS)[:1] in FORMULA_TRIGGERS)):
            return "'" + value
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return value
    return neutralise("".join(str(value)))  # exactly str: str() of a str subclass may return the subclass


CSV_FLUSH_ROWS = 1000


def write_csv(path: Path, header: list[str], rows) -> tuple[int, str]:
    """Write rows (iterables of cell values) to ``path``. Returns (row count, SHA-256 of the file).

    Rows are formatted into a small text buffer and written (and hashed) a thousand at a time:
    one encode and one write per block, not per row; memory stays flat whatever the row count."""
    count = 0
    digest = hashlib.sha256()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    with path.open("wb") as handle:

        def flush():
            data = buffer.getvalue().encode("utf-8")
            digest.update(data)
            handle.write(data)
            buffer.seek(0)
            buffer.truncate()

        buffer.write("\ufeff")  # a BOM, so Excel reads UTF-8 (names with accents) correctly
        writer.writerow([neutralise(h) for h in header])
        for row in rows:
            writer.writerow(list(map(neutralise, row)))
            count += 1
            if not count % CSV_FLUSH_ROWS:
                flush()
        flush()
    return count, digest.hexdigest()


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
