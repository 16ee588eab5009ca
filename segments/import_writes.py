"""The confirmed import's writes, set-based: contacts, changed fields and topic links per chunk.

Each is one ``executemany`` of a parameterised statement (SQLite runs it in C, psycopg pipelines
it), not the ORM's ``bulk_create``/``bulk_update``: those spend most of an import's time preparing
every field of every model instance in Python, and ``bulk_update`` writes a CASE WHEN per column.
The reads for classifying rows are plain tuples for the same reason.
"""

import uuid
from datetime import datetime, time
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

from crm.bulk_sql import in_list
from crm.models import Contact, Locality
from crm.normalise import address_hash, outward_code

LONDON = ZoneInfo("Europe/London")
# Every column of crm_contact this writer fills. A column added to Contact later makes
# ``insert_contacts`` fall back to ``bulk_create`` (slower, always complete) until it is listed here.
CONTACT_COLUMNS = ("public_id", "email", "email_normalised", "email_hash", "name", "postcode", "locality_id", "kind",
                   "organisation_id", "preferred_language", "source", "confirmed_at", "link_epoch",
                   "data_link_counter", "created_at", "updated_at")


class Held(NamedTuple):
    """What the import compares and writes for a person we already hold."""

    pk: int
    email_normalised: str
    name: str
    postcode: str
    locality_id: int | None


def held_contacts(emails: list[str]) -> dict[str, Held]:
    rows = Contact.objects.filter(in_list(Contact, "email_normalised", emails)).values_list(
        "pk", "email_normalised", "name", "postcode", "locality_id")
    return {row[1]: Held._make(row) for row in rows}


def districts() -> dict[str, int]:
    return dict(Locality.objects.values_list("postcode_districts__code", "pk"))


def create_contacts(creates: list[dict], record) -> int:
    """Insert the chunk's new people (and their topics); returns how many."""
    if not creates:
        return 0
    localities = districts()
    confirmed_at = datetime.combine(record.collected_on, time(12), tzinfo=LONDON)
    rows = [{"email": c["typed"], "email_normalised": c["email"], "email_hash": address_hash(c["email"]),
             "name": c["name"] or c["email"].split("@")[0], "postcode": c["postcode"],
             "locality_id": localities.get(outward_code(c["postcode"])),
             # staff-recorded consent with evidence counts as confirmation
             "source": Contact.Source.IMPORT, "confirmed_at": confirmed_at} for c in creates]
    insert_contacts(rows)
    ids = dict(Contact.objects.filter(in_list(Contact, "email_normalised", [c["email"] for c in creates])).values_list(
        "email_normalised", "pk"))
    add_topic_links([(ids[c["email"]], t) for c in creates for t in c["topics"]])
    return len(rows)


def insert_contacts(rows: list[dict]) -> None:
    """One executemany INSERT; every column not given gets the model field's default."""
    if {f.attname for f in Contact._meta.concrete_fields if not f.primary_key} != set(CONTACT_COLUMNS):
        Contact.objects.bulk_create([Contact(**row) for row in rows], batch_size=1000)
        return
    adapt_dt = connection.ops.adapt_datetimefield_value
    native_uuid = connection.features.has_native_uuid_field
    now = adapt_dt(timezone.now())
    # The fields' own defaults (None for a nullable one without), read once, not hard-coded here.
    defaults = {f.attname: f.get_default() for f in Contact._meta.concrete_fields
                if f.attname not in {"id", "public_id", "created_at", "updated_at"}}
    values = []
    for row in rows:
        full = {**defaults, **row}
        public_id = uuid.uuid4()
        values.append((public_id if native_uuid else public_id.hex, full["email"], full["email_normalised"],
                       full["email_hash"], full["name"], full["postcode"], full["locality_id"], str(full["kind"]),
                       full["organisation_id"], full["preferred_language"], str(full["source"]),
                       adapt_dt(full["confirmed_at"]), full["link_epoch"], full["data_link_counter"], now, now))
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO crm_contact (public_id, email, email_normalised, email_hash, name, postcode, locality_id, "
            "kind, organisation_id, preferred_language, source, confirmed_at, link_epoch, data_link_counter, "
            "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            values)


def add_topic_links(links: list[tuple[int, int]]) -> None:
    """(contact id, topic id) pairs; a link already there is left as it is."""
    if links:
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO crm_contact_topics (contact_id, topic_id) VALUES (%s, %s) "
                               "ON CONFLICT DO NOTHING", links)


def apply_updates(updates: list[dict]) -> None:
    """Changed fields of people we hold, in one executemany UPDATE; new topics added, none removed."""
    localities = districts()
    rows, links = [], []
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    for update in updates:
        contact = update["contact"]
        if "name" in update or "postcode" in update:
            postcode = update.get("postcode", contact.postcode)
            locality = localities.get(outward_code(postcode)) if "postcode" in update else contact.locality_id
            rows.append((update.get("name", contact.name), postcode, locality, now, contact.pk))
        links += [(contact.pk, t) for t in update.get("add_topics", ())]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE crm_contact SET name = %s, postcode = %s, locality_id = %s, updated_at = %s WHERE id = %s", rows)
    add_topic_links(links)
