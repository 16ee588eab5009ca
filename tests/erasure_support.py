"""Checks that an erased person left no trace: whole identifiers anywhere, partial ones in new rows.

"Every row of every table" includes the audit entries' summary and changes. Whole identifiers (the
address, the name, the full postcode, the public id) must appear nowhere. Partial identifiers (the
outward postcode, the locality's name, the local part of the address, one name) also appear in
reference data that was there before the person (postcode districts, localities), so those are
looked for in every row that was not there before the person was added: any row written since, or
changed since (the audit head, say), must not carry them.

Matching is case-insensitive and on whole words (no letter or digit either side), so "L21" is found
in "L21 4AA" and in {"district": "L21"} but not inside a random hash or session string.
"""

import re

from django.db import connection


def table_rows() -> set[str]:
    """Every row of every table, as "table: (value, value, …)" lines."""
    rows = set()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from introspection
            rows.update(f"{table}: {row!r}" for row in cursor.fetchall())
    return rows


def _word(identifier: str) -> re.Pattern:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(identifier)}(?![A-Za-z0-9])", re.IGNORECASE)


def rows_with(rows, identifiers) -> list[tuple[str, str]]:
    """(identifier, row) for every row that mentions one of ``identifiers``."""
    patterns = [(identifier, _word(identifier)) for identifier in identifiers]
    return [(identifier, row) for row in sorted(rows) for identifier, pattern in patterns if pattern.search(row)]


def assert_no_trace(*, before: set[str], whole: list[str], partial: list[str]) -> None:
    """``before``: table_rows() taken before the person existed. Fails with the rows that leak."""
    after = table_rows()
    leaks = rows_with(after, whole) + rows_with(after - before, partial)
    assert not leaks, "Traces of the erased person:\n" + "\n".join(f"{i!r} in {row}" for i, row in leaks)
