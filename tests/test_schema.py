"""Indexes the contact table must (and must not) have: each one costs every write."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def contact_indexes() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "crm_contact")
    return {name: info["columns"] for name, info in constraints.items() if info["index"] and not info["primary_key"]}


def test_email_hash_has_one_plain_index_and_no_pattern_index():
    on_hash = [name for name, columns in contact_indexes().items() if columns == ["email_hash"]]
    # PostgreSQL's db_index on a CharField adds a second, varchar_pattern_ops ("_like") index;
    # a hash is never LIKE-searched, so only the Meta index may exist.
    assert on_hash == ["contact_email_hash_idx"]


def test_name_prefix_index_exists_for_staff_search():
    from consent.search import NAME_INDEX

    assert NAME_INDEX in contact_indexes()
