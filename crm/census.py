"""The population baseline: the census counts the people we reach are compared with.

By default the organisation's own (the CSV its organisation file names); staff may upload a baseline
for another area (``upload_baseline``), and then the newest upload is used until another replaces it.
Used to compare the people we reach with the population they should represent, and (in the demo)
to draw realistic equality answers. The file format is described in crm/data/README.md.
"""

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm.audit import Actor, record_audit
from crm.models import PopulationBaseline
from crm.organisation import BASELINE_CHARACTERISTICS, OrganisationFileError, current, read_baseline

CHARACTERISTICS = BASELINE_CHARACTERISTICS
MAX_BASELINE_BYTES = 1024 * 1024  # a census baseline is a few hundred rows


def population_baseline() -> dict[str, dict[str, int]]:
    """The organisation file's baseline: characteristic → {category: residents}, in file order (e.g.
    ``["age"]["80+"]``). A fresh copy. Needs no database (the demo draws its answers from it)."""
    return read_baseline(current().baseline_file)


def baseline_area() -> str:
    """The census area the organisation file's baseline describes."""
    return current().baseline_area


def report_baseline() -> dict[str, dict[str, int]]:
    """The baseline the representation report compares with: the newest upload, else the organisation's."""
    uploaded = newest_upload()
    return _parse(uploaded.content) if uploaded is not None else population_baseline()


def report_baseline_area() -> str:
    uploaded = newest_upload()
    return uploaded.area_name if uploaded is not None else baseline_area()


def newest_upload() -> PopulationBaseline | None:
    return PopulationBaseline.objects.select_related("uploaded_by").order_by("-uploaded_at", "-pk").first()


@dataclass(frozen=True)
class CheckedBaseline:
    area_name: str
    text: str
    residents: int


def check_baseline(content: bytes) -> CheckedBaseline:
    """Read an uploaded file as ``read_baseline`` reads the organisation's: a ValidationError naming
    the line for anything it would refuse, and for a file of more than one area."""
    if len(content) > MAX_BASELINE_BYTES:
        raise ValidationError("The file must be smaller than 1 MB: a census baseline is a few hundred rows")
    try:
        text = content.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text: save it as 'CSV UTF-8' and upload it again") from None
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise ValidationError("The file is empty")
    baseline = _parse(text)
    areas = []
    for row in csv.DictReader(io.StringIO(text)):
        name, code = (row["area_name"] or "").strip(), (row["area_code"] or "").strip()
        area = f"{name} ({code})" if name and code else name
        if area and area not in areas:
            areas.append(area)
    if len(areas) != 1:
        raise ValidationError("Every row must name the same area: this file names " + (
            ", ".join(areas) if areas else "none (the area_name column is empty)"))
    return CheckedBaseline(area_name=areas[0][:200], text=text, residents=sum(baseline["sex"].values()))


def upload_baseline(*, content: bytes, actor: Actor) -> PopulationBaseline:
    """Store a checked baseline: from now on the representation report compares with it."""
    checked = check_baseline(content)
    with transaction.atomic():
        record = PopulationBaseline.objects.create(
            area_name=checked.area_name, content=checked.text, residents=checked.residents,
            sha256=hashlib.sha256(checked.text.encode()).hexdigest(), uploaded_by=actor.user,
            uploaded_at=timezone.now())
        record_audit(actor=actor, action="baseline.uploaded", obj=record, summary=record.area_name,
                     changes={"residents": record.residents})
    return record


def _parse(text: str) -> dict[str, dict[str, int]]:
    """``read_baseline`` on the text, through a file named by its hash (read_baseline caches by path:
    the same name always holds the same bytes). Its errors lose the path: the person uploaded no path."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    folder = Path(settings.VAR_DIR) / "baselines"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.csv"
    if not path.exists():
        partial = folder / f"{digest}.partial"
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)  # never a half-written file under the name the cache trusts
    try:
        return read_baseline(path)
    except OrganisationFileError as error:
        message = str(error).removeprefix(f"{path}: ")
        raise ValidationError(message[:1].upper() + message[1:]) from None
