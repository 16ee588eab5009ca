"""Plain bulk INSERTs (COPY on PostgreSQL) for the demo loader, on SQLite and PostgreSQL.

The ORM's ``bulk_create`` would overwrite ``auto_now_add`` timestamps (demo history spans years)
and cannot hand back ids on every backend, so rows are written with explicit ids reserved up front.
Inserts are all the ledger triggers allow, and all this module does.
"""

from django.db import connection


class TableWriter:
    """INSERT rows (tuples in ``fields`` order, already database-ready) into one model's table."""

    def __init__(self, model, fields: list[str]):
        opts = model._meta
        quote = connection.ops.quote_name
        columns = ", ".join(quote(opts.get_field(name).column) for name in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        self.sql = f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
        self.copy_sql = f"COPY {quote(opts.db_table)} ({columns}) FROM STDIN"
        self.rows_written = 0

    def write(self, rows: list[tuple]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # COPY is several times faster than batched INSERTs on PostgreSQL.
                with cursor.cursor.copy(self.copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(self.sql, rows)
        self.rows_written += len(rows)


def reserve_ids(model, count: int) -> list[int]:
    """``count`` primary keys nobody else will be given. Call inside the loading transaction."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # nextval() is safe against concurrent inserts and leaves the sequence past our ids.
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the transaction already holds the write lock (transaction_mode IMMEDIATE), so
        # nobody can insert between this read and our inserts. AUTOINCREMENT never reuses ids,
        # hence sqlite_sequence as well as MAX(id).
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        highest = cursor.fetchone()[0]
        if connection.vendor == "sqlite":
            cursor.execute("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = %s", [table])
            highest = max(highest, cursor.fetchone()[0])
    return list(range(highest + 1, highest + 1 + count))


def datetime_adapter():
    """A function turning an aware datetime into what the backend stores (SQLite: naive UTC text).

    Bound once per batch: going through the ``connection`` proxy for each value costs more than
    the conversion itself.
    """
    return connection.ops.adapt_datetimefield_value
