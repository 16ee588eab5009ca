"""Importing paper sign-up sheets and partner lists: preview first, then all at once.

A file (CSV or XLSX) is read into rows, each checked and classified against what we hold:
create, update, unchanged — or rejected with its line number and the reason. Two kinds of
rejection differ: a *malformed* row (invalid email, unknown topic, bad postcode, a yes/no cell that
is neither, a duplicate address) stops the import until the file is fixed, so a half-understood
file is never written; a row the consent rules *refuse* (the address is suppressed, the person
withdrew, or was erased) is left out and reported — the file never wins over a withdrawal.

Each import declares its evidence: the wording people saw (statement version per purpose), how
and when it was collected, by whom, and where the paper originals are. The confirmed import is
one transaction: contacts created in bulk, changed fields updated in bulk, consent recorded per
purpose with ``record_consent_for_many`` (set-based, the ledger's own policy), one audit entry.
Re-importing the same file changes nothing: every row is then unchanged.
"""

import codecs
import csv
import hashlib
import heapq
import uuid
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from consent import services as consent_services
from consent.models import ConsentEvent, ConsentState, ConsentStatement, Purpose, Suppression
from crm.audit import Actor, record_audit
from crm.bulk_sql import in_list
from crm.models import Contact, Topic
from crm.normalise import address_hashes, normalise_email, normalise_postcode
from crm.validators import has_control_characters
from segments import import_writes
from segments.models import ContactImport

LONDON = ZoneInfo("Europe/London")
IMPORT_PURPOSES = (Purpose.Code.BULLETIN, Purpose.Code.EVENTS, Purpose.Code.INVOLVEMENT)
TRUE_WORDS = {"yes", "y", "true", "1", "ticked", "x", "✓", "✔"}
FALSE_WORDS = {"no", "n", "false", "0", "unticked"}
HEADER_ALIASES = {
    "email": "email", "email address": "email", "e-mail": "email",
    "name": "name", "full name": "name",
    "postcode": "postcode", "post code": "postcode",
    "topics": "topics", "interests": "topics",
    "bulletin": "bulletin", "e-bulletin": "bulletin", "ebulletin": "bulletin",
    "events": "events", "big chat": "events", "invitations": "events",
    "involvement": "involvement", "surveys": "involvement",
}
CHUNK = 5000
DECODE_SLICE = 1 << 20  # bytes checked at a time for the file's encoding
ACTIONS = ("create", "update", "unchanged", "rejected")


class ImportFileError(ValidationError):
    """The file as a whole cannot be read (encoding, format, no email column)."""


@dataclass
class RowOutcome:
    line: int
    action: str  # "create" | "update" | "unchanged" | "rejected"
    reason: str = ""
    malformed: bool = False
    detail: str = ""  # for a preview sample: what a create or update brings (no cell values)


@dataclass
class ChunkWork:
    """What one chunk of rows asks for; applied and dropped before the next chunk is read."""

    creates: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    malformed: list[int] = field(default_factory=list)  # line numbers
    consents: dict[str, dict[str, set]] = field(
        default_factory=lambda: {p: {"give": set(), "withdraw": set()} for p in IMPORT_PURPOSES})


@dataclass
class ImportPlan:
    """Counts and the rejected rows: memory stays flat however long the file."""

    tallies: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    rejected: list[RowOutcome] = field(default_factory=list)
    sample_size: int = 0
    samples: dict[str, list[tuple[RowOutcome, str]]] = field(default_factory=lambda: {"create": [], "update": []})

    def add(self, outcome: RowOutcome, clean: dict | None = None) -> None:
        self.tallies[outcome.action] += 1
        bucket = self.samples.get(outcome.action)
        if outcome.action == "rejected":
            self.rejected.append(outcome)
        elif clean is not None and bucket is not None and len(bucket) < self.sample_size:
            bucket.append((outcome, clean["typed"]))

    @property
    def malformed(self) -> list[RowOutcome]:
        return [o for o in self.rejected if o.malformed]

    def counts(self) -> dict[str, int]:
        return dict(self.tallies)


# --- reading the file -----------------------------------------------------------------------

def read_rows(path: Path, file_name: str):
    """(line number, {column: text}) for each data row of the file at ``path``, read as it goes (never
    whole into memory). Raises ImportFileError for an unreadable file."""
    if file_name.lower().endswith(".xlsx"):
        return _xlsx_rows(path)
    return _csv_rows(path)


def _encoding(path: Path) -> str:
    """UTF-8 (with or without a BOM) or, failing that, Windows-1252; checked block by block from disk."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff"):
        raise ImportFileError("This file is UTF-16 text: save it as CSV UTF-8 (or Windows CSV) and upload it again")
    if b"\x00" in head:
        raise ImportFileError("This is not a CSV text file: upload a CSV or an Excel (.xlsx) file")
    for encoding in ("utf-8-sig", "cp1252"):
        if _decodes(path, encoding):
            return encoding
    raise ImportFileError("The file's characters are neither UTF-8 nor Windows-1252: save it as CSV UTF-8")


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as handle:
            while block := handle.read(DECODE_SLICE):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _csv_rows(path: Path):
    encoding = _encoding(path)
    with path.open("rb") as handle:
        first_line = handle.readline().decode(encoding)
    if "\t" in first_line and not (first_line.count(",") or first_line.count(";")):
        raise ImportFileError("The columns are separated by tabs: save the file as CSV (commas or semicolons) "
                              "and upload it again")
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    with path.open(encoding=encoding, newline="") as text:  # newline="" as the csv module asks
        reader = csv.reader(text, delimiter=delimiter)
        header = _header(next(reader, []))
        for line, row in enumerate(reader, start=2):
            if any(cell.strip() for cell in row):
                yield line, {name: (row[i].strip() if i < len(row) else "") for i, name in header.items()}


def _xlsx_rows(path: Path):
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception as error:  # openpyxl raises many kinds for a damaged or foreign file
        raise ImportFileError("This is not an Excel (.xlsx) file that can be read") from error
    try:
        rows = sheet.iter_rows(values_only=True)
        header = _header(["" if v is None else str(v) for v in next(rows, [])])
        for line, row in enumerate(rows, start=2):
            cells = ["" if v is None else str(v).strip() for v in row]
            if any(cells):
                yield line, {name: (cells[i] if i < len(cells) else "") for i, name in header.items()}
    finally:
        book.close()  # read-only mode keeps the file open until closed


def _header(cells) -> dict[int, str]:
    header = {i: HEADER_ALIASES[c.strip().lower()] for i, c in enumerate(cells) if c.strip().lower() in HEADER_ALIASES}
    if "email" not in header.values():
        raise ImportFileError("The first row must name the columns, with one called 'email'")
    return header


# --- checking rows against what we hold -------------------------------------------------------

def read_yes_no(value: str) -> bool | None:
    """True, False, or None for a blank cell (which never changes anything). Raises ValueError otherwise."""
    word = value.strip().lower()
    if not word:
        return None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(value)


def plan_import(path: Path, file_name: str, *, apply=None, progress=None, sample: int = 0) -> ImportPlan:
    """Check every row, chunk by chunk; with ``apply``, hand each chunk's work to it as it goes.

    ``progress(rows)`` is called after each chunk with the number of rows it held (a progress bar);
    ``sample`` keeps the first few creates and updates (line, address, what changes) for a preview.
    """
    plan = ImportPlan(sample_size=sample)
    for chunk in _checked_chunks(path, file_name):
        work = ChunkWork(malformed=[o.line for o, _ in chunk if o.malformed])
        _classify([(o, c) for o, c in chunk if c is not None], work)
        for outcome, clean in chunk:
            plan.add(outcome, clean)
        if apply is not None:
            apply(work)
        if progress is not None:
            progress(len(chunk))
    return plan


def count_rows(path: Path, file_name: str) -> int:
    """How many data rows the file has (for a progress bar's total). Raises ImportFileError like read_rows."""
    return sum(1 for _ in read_rows(Path(path), file_name))


def _checked_chunks(path: Path, file_name: str):
    seen = SeenAddresses()
    topics = _topic_lookup()
    chunk = []
    for line, row in read_rows(path, file_name):
        chunk.append(_check_row(line, row, topics, seen))
        if len(chunk) == CHUNK:
            seen.compact()
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _topic_lookup() -> dict[str, int]:
    lookup = {}
    for pk, slug, name in Topic.objects.filter(is_active=True).values_list("pk", "slug", "name"):
        lookup[slug.lower()] = lookup[name.lower()] = pk
    return lookup


class SeenAddresses:
    """The addresses met so far in a file and the line each was first on, in 12 bytes an address.

    A dict of address -> line cost ~130 bytes an address (a tenth of the memory of a 100,000-row
    import). Each address is kept as a 64-bit BLAKE2b digest in a sorted array with its line
    beside it; the current chunk's are in a small dict until ``compact`` merges them in. Two
    different addresses share a digest about once in 3 x 10^9 files of 100,000 rows; that would
    report a false duplicate, which stops the import (nothing is written): it can never merge people.
    """

    def __init__(self):
        self._digests, self._lines = array("Q"), array("L")
        self._recent: dict[int, int] = {}

    @staticmethod
    def _digest(email: str) -> int:
        return int.from_bytes(hashlib.blake2b(email.encode(), digest_size=8).digest(), "big")

    def first_line(self, email: str) -> int | None:
        digest = self._digest(email)
        if digest in self._recent:
            return self._recent[digest]
        at = bisect_left(self._digests, digest)
        if at < len(self._digests) and self._digests[at] == digest:
            return self._lines[at]
        return None

    def add(self, email: str, line: int) -> None:
        self._recent.setdefault(self._digest(email), line)

    def compact(self) -> None:
        if not self._recent:
            return
        digests, lines = array("Q"), array("L")
        # Streamed: no list of every address is built, only the two new arrays.
        for digest, line in heapq.merge(zip(self._digests, self._lines, strict=True), sorted(self._recent.items())):
            digests.append(digest)
            lines.append(line)
        self._digests, self._lines, self._recent = digests, lines, {}


def _check_row(line: int, row: dict, topics: dict, seen: SeenAddresses) -> tuple[RowOutcome, dict | None]:
    def malformed(reason):
        return RowOutcome(line, "rejected", reason, malformed=True), None

    try:
        email = normalise_email(row.get("email", ""))
    except ValidationError:
        return malformed("invalid email address")
    first = seen.first_line(email)
    if first is not None:
        return malformed(f"duplicate of line {first}")
    seen.add(email, line)
    name = " ".join(row.get("name", "").split())
    if has_control_characters(name) or len(name) > 200:
        return malformed("name has line breaks or control characters, or is too long")
    try:
        postcode = normalise_postcode(row.get("postcode", ""))
    except ValidationError:
        return malformed("postcode is not a real UK postcode")
    topic_ids = set()
    for word in filter(None, (t.strip().lower() for t in row.get("topics", "").replace(";", ",").split(","))):
        if word not in topics:
            return malformed(f"unknown topic '{word}'")
        topic_ids.add(topics[word])
    consents = {}
    for purpose in IMPORT_PURPOSES:
        try:
            consents[purpose] = read_yes_no(row.get(purpose, ""))
        except ValueError:
            return malformed(f"{purpose}: '{row.get(purpose)}' is not yes or no")
    clean = {"email": email, "typed": row["email"].strip(), "name": name, "postcode": postcode,
             "topics": topic_ids, "consents": consents}
    return RowOutcome(line, "pending"), clean


def _classify(rows: list[tuple[RowOutcome, dict]], plan: ChunkWork) -> None:
    emails = [clean["email"] for _, clean in rows]
    existing = import_writes.held_contacts(emails)
    topics = _topics_of([c.pk for c in existing.values()])
    states = _states_of([c.pk for c in existing.values()])
    hashes = {email: address_hashes(email) for email in emails}
    suppressed = _suppressed({h for hs in hashes.values() for h in hs})
    for outcome, clean in rows:
        contact = existing.get(clean["email"])
        refusal = _refusal(clean, contact, states.get(contact.pk, {}) if contact else {},
                           suppressed, hashes[clean["email"]])
        if refusal:
            outcome.action, outcome.reason = "rejected", refusal
            continue
        if contact is None:
            outcome.action = "create"
            plan.creates.append(clean)
            given = _plan_consents(plan, clean, {})
            outcome.detail = _describe([], given)
            continue
        changes = _changes(contact, clean, topics.get(contact.pk, set()))
        consent_changes = _plan_consents(plan, clean, states.get(contact.pk, {}))
        outcome.action = "update" if changes or consent_changes else "unchanged"
        outcome.detail = _describe(list(changes), consent_changes)
        if changes:
            plan.updates.append({"contact": contact, **changes})


def _topics_of(ids) -> dict[int, set[int]]:
    links: dict[int, set[int]] = {}
    through = Contact.topics.through
    for contact_id, topic_id in through.objects.filter(in_list(through, "contact_id", ids)).values_list(
            "contact_id", "topic_id"):
        links.setdefault(contact_id, set()).add(topic_id)
    return links


def _states_of(ids) -> dict[int, dict[str, str]]:
    states: dict[int, dict[str, str]] = {}
    for contact_id, code, status in ConsentState.objects.filter(in_list(ConsentState, "contact_id", ids)).values_list(
            "contact_id", "purpose__code", "status"):
        states.setdefault(contact_id, {})[code] = status
    return states


def _suppressed(hashes: set[str]) -> dict[str, set[tuple[str, str]]]:
    """address hash → (reason, purpose code) of each of its active suppressions: one query per chunk."""
    found: dict[str, set[tuple[str, str]]] = {}
    hashes = list(hashes)
    for start in range(0, len(hashes), CHUNK):
        for email_hash, reason, purpose in Suppression.objects.filter(
                in_list(Suppression, "address_hash", hashes[start:start + CHUNK]), lifted_at__isnull=True).values_list(
                "address_hash", "reason", "purpose__code"):
            found.setdefault(email_hash, set()).add((reason, purpose))
    return found


def _refusal(clean: dict, contact, states: dict, suppressed: dict, hashes: list[str]) -> str:
    # The row's address under every configured pepper: a suppression under any of them counts.
    found = [s for h in hashes if h in suppressed for s in suppressed[h]]
    if contact is None and found:
        if any(reason == Suppression.Reason.ERASURE for reason, _ in found):
            return "erased at the person's request: never added again"
        return "this address is suppressed (withdrawal, complaint or bounce): the file cannot add it"
    for purpose, value in clean["consents"].items():
        if not value:
            continue
        if states.get(purpose) == ConsentState.Status.WITHDRAWN:
            return f"withdrew from {purpose}: only their own new sign-up can restore it"
        if any(suppressed_for == purpose for _, suppressed_for in found):
            return f"suppressed for {purpose}: the file cannot re-subscribe them"
    return ""


def _changes(contact: Contact, clean: dict, current_topics: set[int]) -> dict:
    """Only non-blank cells that differ; topics are added, never taken away."""
    changes = {}
    if clean["name"] and clean["name"] != contact.name:
        changes["name"] = clean["name"]
    if clean["postcode"] and clean["postcode"] != contact.postcode:
        changes["postcode"] = clean["postcode"]
    new_topics = clean["topics"] - current_topics
    if new_topics:
        changes["add_topics"] = new_topics
    return changes


def _plan_consents(plan: ChunkWork, clean: dict, states: dict) -> list[str]:
    """The consent changes this row asks for, as words ("bulletin: yes"); empty when none."""
    changed = []
    for purpose, value in clean["consents"].items():
        status = states.get(purpose)
        if value is True and status != ConsentState.Status.GRANTED:
            plan.consents[purpose]["give"].add(clean["email"])
            changed.append(f"{purpose}: yes")
        elif value is False and status in (ConsentState.Status.GRANTED, ConsentState.Status.PENDING):
            plan.consents[purpose]["withdraw"].add(clean["email"])
            changed.append(f"{purpose}: no")
    return changed


FIELD_WORDS = {"name": "name", "postcode": "postcode", "add_topics": "new topics"}


def _describe(changed_fields: list[str], consent_changes: list[str]) -> str:
    """What a row brings, in words and without its values (a preview shows it beside the line number)."""
    parts = [FIELD_WORDS.get(f, f) for f in changed_fields] + consent_changes
    return ", ".join(parts)


# --- preview and confirm ----------------------------------------------------------------------

def imports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def preview_import(*, content: bytes | BinaryIO, file_name: str, method: str,
                   statement_versions: dict[str, int] | None, collected_on: date, collected_by: str,
                   evidence_reference: str, actor: Actor, progress=None) -> tuple[ContactImport, ImportPlan]:
    """Check the file and record the preview; nothing about any person is written yet.

    ``content`` is the file's bytes or a binary file (an upload): it is copied to the imports folder
    as it is read and checked from there, so a large file is never held whole in memory. A file that
    cannot be read at all (ImportFileError) leaves nothing behind. The record keeps counts (with
    ``malformed``: rows that stop the import until the file is fixed) and each rejected row as
    [line, reason, "malformed" or "refused"]: no personal data.
    """
    evidence = _evidence(method, statement_versions, collected_on, collected_by, evidence_reference)
    stored = f"{uuid.uuid4().hex}{Path(file_name).suffix.lower()[:6]}"
    path = imports_dir() / stored
    try:
        sha256 = _store(content, path)
        plan = plan_import(path, file_name, progress=progress)
        with transaction.atomic():
            record = ContactImport.objects.create(
                file_name=Path(file_name).name[:200], stored_name=stored, sha256=sha256,
                created_by=actor.user, counts={**plan.counts(), "malformed": len(plan.malformed)},
                rejected=rejected_json(plan),
                **evidence,
            )
            record_audit(actor=actor, action="import.previewed", obj=record, summary=record.file_name,
                         changes={"counts": record.counts})
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return record, plan


def _store(content: bytes | BinaryIO, path: Path) -> str:
    """Write the upload to ``path`` block by block; returns its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        if isinstance(content, bytes | bytearray):
            digest.update(content)
            out.write(content)
        else:
            while block := content.read(DECODE_SLICE):
                digest.update(block)
                out.write(block)
    return digest.hexdigest()


def rejected_json(plan: ImportPlan) -> list[list]:
    return [[o.line, o.reason, "malformed" if o.malformed else "refused"] for o in plan.rejected]


def preview_sample(record: ContactImport, *, size: int = 5) -> ImportPlan | None:
    """The first few creates and updates of a previewed file (read again from its stored copy), or None
    once the file is gone. Only the address and what changes are kept: the page needs no more."""
    path = imports_dir() / record.stored_name if record.stored_name else None
    if path is None or not path.exists():
        return None
    return plan_import(path, record.file_name, sample=size)


def _evidence(method, statement_versions, collected_on, collected_by, evidence_reference) -> dict:
    errors = {}
    if method not in ContactImport.Method.values:
        errors["method"] = "Say how the consent was collected"
    if not collected_on or collected_on > timezone.localdate():
        errors["collected_on"] = "Give the date the forms were filled in (not in the future)"
    if not (collected_by or "").strip():
        errors["collected_by"] = "Say who collected the forms"
    if not (evidence_reference or "").strip():
        errors["evidence_reference"] = "Say where the paper originals are kept"
    versions = {}
    for purpose in IMPORT_PURPOSES:
        wanted = (statement_versions or {}).get(purpose)
        statement = (ConsentStatement.objects.filter(purpose__code=purpose, published_at__isnull=False)
                     .filter(**({"version": wanted} if wanted else {})).order_by("-version").first())
        if statement is None:
            errors[f"statement_{purpose}"] = "Choose a published wording version"
        else:
            versions[purpose] = statement.version
    if errors:
        raise ValidationError(errors)
    return {"method": method, "statement_versions": versions, "collected_on": collected_on,
            "collected_by": collected_by.strip()[:150], "evidence_reference": evidence_reference.strip()[:200]}


def confirm_import(*, record: ContactImport, actor: Actor, progress=None) -> ContactImport:
    """Apply the previewed file, all at once. Refused while any row is malformed."""
    with transaction.atomic():
        record = ContactImport.objects.select_for_update().get(pk=record.pk)
        if record.status != ContactImport.Status.PREVIEWED:
            raise ValidationError("This import has already been confirmed or cancelled")
        path = imports_dir() / record.stored_name
        # Checked again as it is applied (things change after a preview); one malformed row anywhere
        # raises inside this transaction, so nothing at all is written.
        totals = {"created": 0, "consents": {p: {"given": 0, "withdrawn": 0} for p in IMPORT_PURPOSES}}

        def apply(work: ChunkWork) -> None:
            if work.malformed:
                lines = ", ".join(map(str, work.malformed[:10]))
                raise ValidationError(f"Lines {lines} cannot be read: fix the file and upload it again (nothing was "
                                      "imported)")
            totals["created"] += import_writes.create_contacts(work.creates, record)
            import_writes.apply_updates(work.updates)
            for purpose, counts in _apply_consents(work, record, actor).items():
                for key, n in counts.items():
                    totals["consents"][purpose][key] += n

        plan = plan_import(path, record.file_name, apply=apply, progress=progress)
        created, consent_counts = totals["created"], totals["consents"]
        record.status, record.imported_at = ContactImport.Status.IMPORTED, timezone.now()
        record.counts = {**plan.counts(), "consents": consent_counts}
        record.rejected = rejected_json(plan)
        record.stored_name = ""
        record.save(update_fields=["status", "imported_at", "counts", "rejected", "stored_name"])
        record_audit(actor=actor, action="import.confirmed", obj=record, summary=record.file_name,
                     changes={"created": created, "counts": record.counts, "evidence": record.evidence_reference})
    path.unlink(missing_ok=True)
    return record


def cancel_import(*, record: ContactImport, actor: Actor) -> None:
    with transaction.atomic():
        record = ContactImport.objects.select_for_update().get(pk=record.pk)
        if record.status != ContactImport.Status.PREVIEWED:
            raise ValidationError("Only an import waiting for confirmation can be cancelled")
        (imports_dir() / record.stored_name).unlink(missing_ok=True)
        record.status, record.stored_name = ContactImport.Status.CANCELLED, ""
        record.save(update_fields=["status", "stored_name"])
        record_audit(actor=actor, action="import.cancelled", obj=record)


def _apply_consents(plan: ChunkWork, record: ContactImport, actor: Actor) -> dict[str, dict[str, int]]:
    emails = {e for wanted in plan.consents.values() for group in wanted.values() for e in group}
    ids = dict(Contact.objects.filter(in_list(Contact, "email_normalised", list(emails))).values_list(
        "email_normalised", "pk"))
    occurred_at = datetime.combine(record.collected_on, time(12), tzinfo=LONDON)
    reference = f"{record.evidence_reference} (import {record.public_id})"[:200]
    counts = {}
    for purpose, wanted in plan.consents.items():
        statement = ConsentStatement.objects.get(purpose__code=purpose, version=record.statement_versions[purpose])
        counts[purpose] = {"given": 0, "withdrawn": 0}
        for key, action in (("give", ConsentEvent.Action.CONFIRMED), ("withdraw", ConsentEvent.Action.WITHDRAWN)):
            if not wanted[key]:
                continue
            result = consent_services.record_consent_for_many(
                contact_ids=[ids[e] for e in wanted[key]], purpose=purpose, action=action, method=record.method,
                actor=actor, statement=statement, occurred_at=occurred_at, evidence_reference=reference)
            counts[purpose]["given" if key == "give" else "withdrawn"] = result.recorded_count
    return counts
