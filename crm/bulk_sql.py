"""``column IN (...)`` over thousands of values, for the set-based writers (imports, the ledger).

Django's ``field__in=[...]`` prepares, adapts and compiles each value in Python: about 25 ms for
5,000 values, and a 100,000-row import makes hundreds of such lookups. ``in_list`` passes the same
values as plain parameters of one RawSQL condition, so the query stays an ORM queryset (joins,
``values_list`` converters, ``select_for_update``) and only the list is left unprepared. The values
must already be what the column holds (ints for ids, normalised strings), never user input that
the ORM would have converted.
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL


def in_list(model, attname: str, values: Sequence) -> RawSQL:
    """A filter condition ``<table>.<column> IN (values)``; an empty list matches nothing.

    For the outermost query only: it names the table, and Django renames tables (U0, V0) in a
    queryset used as a subquery, where the condition would name a table that is not there.
    """
    values = list(values)
    if not values:
        return RawSQL("1 = 0", [], output_field=BooleanField())
    field = model._meta.get_field(attname)  # by name or attname ("contact" or "contact_id")
    column = f"{connection.ops.quote_name(model._meta.db_table)}.{connection.ops.quote_name(field.column)}"
    # Only the quoted column name is formatted in; every value is a query parameter.
    return RawSQL(f"{column} IN ({', '.join(['%s'] * len(values))})", values,  # noqa: S611
                  output_field=BooleanField())
