"""The NHS organisation that runs this service, read from its organisation file (TOML).

Everything that differs from one organisation to the next is in that file, not in code: its name,
the text beside the NHS logo, its data protection contact, the organisation-specific parts of the
privacy notice, its localities with the postcode districts that map onto them, and the population
baseline (a census CSV beside the file). ``settings.ORGANISATION_FILE`` names the file
(``MYNHS_ORGANISATION_FILE``); the demo's is ``crm/data/demo-organisation.toml``.

Pages read the file through ``current()`` (parsed once per path). Localities and postcode districts
also live in the database, where contacts point at them: ``manage.py load_organisation FILE`` puts
the file's there (``crm.services.apply_organisation_localities``).
"""

import csv
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

OUTWARD_CODE = re.compile(r"^[A-PR-UWYZ][A-HK-Y]?\d[A-HJKPSTUW\d]?$")
BASELINE_COLUMNS = ("area_code", "area_name", "characteristic", "category", "residents")
BASELINE_CHARACTERISTICS = ("sex", "age", "ethnic_group", "religion")


class OrganisationFileError(ImproperlyConfigured):
    """The organisation file (or its baseline CSV) cannot be used; the message says where and why."""


@dataclass(frozen=True)
class DataProtectionContact:
    name: str  # e.g. "Data protection officer"
    email: str
    postal_address: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Organisation:
    name: str  # e.g. "NHS Tamar and Moor": the data controller, in page text and emails
    service_name: str  # the text beside the NHS logo, e.g. "My NHS"
    area_description: str  # where its people live, for sentences: "Tamar and the moor"
    data_protection: DataProtectionContact
    privacy_who_we_are: tuple[str, ...]  # paragraphs of the privacy notice's "Who we are"
    localities: dict[str, tuple[str, ...]]  # locality name → outward codes (postcode districts)
    baseline_file: Path
    baseline_area: str  # the census area, e.g. "Cornwall (E06000052)"
    source: Path

    @property
    def controller(self) -> str:
        """How the data controller is named in exports: "<name> (<service name>)"."""
        return f"{self.name} ({self.service_name})"

    @property
    def district_count(self) -> int:
        return sum(len(codes) for codes in self.localities.values())


def current() -> Organisation:
    """The organisation configured in ``settings.ORGANISATION_FILE``."""
    return load(str(settings.ORGANISATION_FILE))


@cache
def load(path: str) -> Organisation:
    """Read and check an organisation file. Raises OrganisationFileError naming the file and the problem."""
    source = Path(path)
    try:
        with source.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise OrganisationFileError(f"{source}: no such organisation file") from None
    except tomllib.TOMLDecodeError as error:
        raise OrganisationFileError(f"{source}: not valid TOML: {error}") from None
    return _organisation(data, source)


def _organisation(data: dict, source: Path) -> Organisation:
    fields = _Reader(data, source)
    protection = _Reader(fields.table("data_protection"), source, "data_protection.")
    privacy = _Reader(fields.table("privacy"), source, "privacy.")
    population = _Reader(fields.table("population"), source, "population.")
    baseline_file = (source.parent / population.text("baseline")).resolve()
    organisation = Organisation(
        name=fields.text("name"),
        service_name=fields.text("service_name"),
        area_description=fields.text("area_description"),
        data_protection=DataProtectionContact(
            name=protection.text("name"), email=protection.text("email"),
            postal_address=protection.text("postal_address", required=False),
            phone=protection.text("phone", required=False),
        ),
        privacy_who_we_are=tuple(_paragraphs(privacy.text("who_we_are"))),
        localities=_localities(fields.table("localities"), source),
        baseline_file=baseline_file,
        baseline_area=population.text("area"),
        source=source,
    )
    read_baseline(baseline_file)  # a broken baseline is refused when the file is loaded, not on a report
    return organisation


class _Reader:
    def __init__(self, data: dict, source: Path, prefix: str = ""):
        self.data, self.source, self.prefix = data, source, prefix

    def text(self, key: str, *, required: bool = True) -> str:
        value = self.data.get(key, "")
        if not isinstance(value, str):
            raise OrganisationFileError(f"{self.source}: {self.prefix}{key} must be text")
        if required and not value.strip():
            raise OrganisationFileError(f"{self.source}: {self.prefix}{key} is missing")
        return value.strip()

    def table(self, key: str) -> dict:
        value = self.data.get(key)
        if not isinstance(value, dict):
            raise OrganisationFileError(f"{self.source}: the [{self.prefix}{key}] table is missing")
        return value


def _paragraphs(text: str) -> list[str]:
    return [" ".join(part.split()) for part in re.split(r"\n\s*\n", text) if part.strip()]


def _localities(table: dict, source: Path) -> dict[str, tuple[str, ...]]:
    if not table:
        raise OrganisationFileError(f"{source}: [localities] names no locality")
    localities, seen = {}, {}
    for name, codes in table.items():
        if not isinstance(codes, list) or not codes:
            raise OrganisationFileError(f"{source}: locality {name!r} needs a list of postcode districts")
        cleaned = []
        for code in codes:
            district = str(code).strip().upper()
            if not OUTWARD_CODE.match(district):
                raise OrganisationFileError(f"{source}: locality {name!r}: {code!r} is not a postcode district")
            if district in seen:
                raise OrganisationFileError(
                    f"{source}: postcode district {district} is in both {seen[district]!r} and {name!r}"
                )
            seen[district] = name
            cleaned.append(district)
        localities[name.strip()] = tuple(cleaned)
    return localities


def read_baseline(path: Path) -> dict[str, dict[str, int]]:
    """characteristic → {category: residents}, in file order. Errors name the line."""
    return {name: dict(counts) for name, counts in _read_baseline(str(path)).items()}


@cache
def _read_baseline(path: str) -> dict[str, dict[str, int]]:
    baseline: dict[str, dict[str, int]] = {}
    try:
        handle = open(path, newline="", encoding="utf-8")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        raise OrganisationFileError(f"{path}: no such population baseline file") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [column for column in BASELINE_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise OrganisationFileError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
        for row in reader:
            line = reader.line_num
            characteristic, category = row["characteristic"].strip(), row["category"].strip()
            if characteristic not in BASELINE_CHARACTERISTICS:
                raise OrganisationFileError(
                    f"{path}: line {line}: characteristic {characteristic!r} is not one of "
                    + ", ".join(BASELINE_CHARACTERISTICS)
                )
            if not category:
                raise OrganisationFileError(f"{path}: line {line}: the category is empty")
            try:
                residents = int(row["residents"])
            except (TypeError, ValueError):
                raise OrganisationFileError(
                    f"{path}: line {line}: residents {row['residents']!r} is not a whole number"
                ) from None
            if residents < 0:
                raise OrganisationFileError(f"{path}: line {line}: residents cannot be negative")
            counts = baseline.setdefault(characteristic, {})
            if category in counts:
                raise OrganisationFileError(f"{path}: line {line}: {characteristic} {category!r} appears twice")
            counts[category] = residents
    absent = [name for name in BASELINE_CHARACTERISTICS if name not in baseline]
    if absent:
        raise OrganisationFileError(f"{path}: no rows for {', '.join(absent)}")
    return baseline
