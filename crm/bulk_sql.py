"""SQL helpers for work over many rows: ``in_list`` for the set-based writers (imports, the ledger),
``large_read`` for the reports that read up to a million contacts in one query.

``column IN (...)`` over thousands of values:

Django's ``field__in=[...]`` prepares, adapts and compiles each value in Python: about 25 ms for
5,000 values, and a 100,000-row import makes hundreds of such lookups. ``in_list`` passes the same
values as plain parameters of one RawSQL condition, so the query stays an ORM queryset (joins,
``values_list`` converters, ``select_for_update``) and only the list is left unprepared: one
parameter, a JSON array read by ``json_each`` on SQLite, an array compared with ``= ANY`` on PostgreSQL. The values
must already be what the column holds (ints for ids, normalised strings), never user input that
the ORM would have converted.
"""

import json
from collections.abc import Sequence
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL


def in_list(model, attname: str, values: Sequence, **equal) -> RawSQL:
    """A filter condition ``<table>.<column> IN (values)``; an empty list matches nothing.

    ``equal`` adds ``<column> = value`` terms (e.g. ``purpose_id=3``) that must not choose the index:
    on SQLite, without statistics, ``purpose_id = ?`` picked consent_state_reach_idx (purpose, ...)
    and walked every state row of the purpose for each chunk; written ``+purpose_id`` it stays a
    filter on the rows found by ``contact_id IN``. The value compared is the same.

    For the outermost query only: it names the table, and Django renames tables (U0, V0) in a
    queryset used as a subquery, where the condition would name a table that is not there.
    """
    values = list(values)
    if not values:
        return RawSQL("1 = 0", [], output_field=BooleanField())
    quote, table = connection.ops.quote_name, connection.ops.quote_name(model._meta.db_table)

    def column(name):
        return f"{table}.{quote(model._meta.get_field(name).column)}"  # by name or attname

    plus = "+" if connection.vendor == "sqlite" else ""
    # One parameter holding the whole list, so the statement's text is the same whatever its length:
    # SQLite's statement cache (128 per connection) kept a compiled copy of every differently sized
    # IN (?, ?, …) list, ~23 MiB more memory in a 100,000-row import; now one is reused.
    if connection.vendor == "postgresql":
        sql, listed = f"{column(attname)} = ANY(%s)", list(values)
    else:
        sql, listed = f"{column(attname)} IN (SELECT value FROM json_each(%s))", json.dumps(values)  # noqa: S608
    sql += "".join(f" AND {plus}{column(name)} = %s" for name in equal)
    # Only quoted column names are formatted in; every value is a query parameter.
    return RawSQL(sql, [listed, *equal.values()], output_field=BooleanField())  # noqa: S611


@contextmanager
def large_read(*, work_mem: str | None = None):
    """A transaction for one query over up to a million contacts (a segment count, the representation
    report). On PostgreSQL, for this transaction only (``SET LOCAL``): JIT off, because such a query's
    cost estimate switches it on and compiling took 130-400 ms of every run; and ``work_mem`` if given,
    so big sorts and hashes stay in memory instead of temp files. Nothing changes on SQLite.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
                if work_mem:
                    cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
        yield
