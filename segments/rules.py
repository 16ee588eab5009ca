"""Segment rules: validated, versioned JSON.

    {"version": 1, "match": "all", "rules": [
        {"field": "locality", "op": "in", "value": ["north-locality", "riverside"]},
        {"match": "any", "rules": [
            {"field": "topics", "op": "any", "value": ["dementia"]},
            {"field": "age_band", "op": "in", "value": ["70-79", "80+"]}]}]}

A condition names a field, an operator that field allows and a value of the right shape; an
unknown field, operator or value is a validation error naming where it is (the API answers 422),
never ignored. Values that name database rows (localities, topics, events) are checked when the
rules are compiled (``segments.compiler``), against the rows that exist then.
"""

import re
from datetime import date
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from consent.models import Purpose
from crm.models import CommunicationNeed, Contact, EqualityProfile, Organisation

SCHEMA_VERSION = 1
MAX_DEPTH = 3
MAX_CONDITIONS = 50
MAX_VALUES = 200
_OUTWARD_CODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?$")
_SLUG = re.compile(r"^[-a-z0-9_]{1,80}$")


def _choices(choices) -> set[str]:
    return {value for value, _ in choices if value}


# Protected characteristics: only over people who gave equality_targeting consent, only for staff
# with the equality permission.
PROTECTED_FIELDS = {
    name: _choices(EqualityProfile._meta.get_field(name).choices) for name in EqualityProfile.ANSWER_FIELDS
}

# field -> (operators, kind of value). Kinds: "slugs", "codes" (postcode districts), "ids",
# "choice:<set name>", "purpose", "date".
FIELDS: dict[str, tuple[frozenset[str], str]] = {
    "locality": (frozenset({"in", "not_in"}), "slugs"),
    "postcode_district": (frozenset({"in", "not_in"}), "codes"),
    "topics": (frozenset({"any", "all", "none"}), "slugs"),
    "kind": (frozenset({"in", "not_in"}), "choice:kind"),
    "organisation": (frozenset({"in", "not_in"}), "ids"),
    "organisation_kind": (frozenset({"in", "not_in"}), "choice:organisation_kind"),
    "purpose": (frozenset({"reachable", "not_reachable", "granted", "pending", "withdrawn", "not_asked"}), "purpose"),
    "signed_up": (frozenset({"before", "on_or_after"}), "date"),
    "communication_need": (frozenset({"any", "none"}), "choice:need"),
    "event": (frozenset({"invited", "not_invited", "responded_yes", "attended", "not_attended"}), "ids"),
    **{name: (frozenset({"in", "not_in"}), f"choice:{name}") for name in PROTECTED_FIELDS},
}
CHOICE_SETS = {
    "kind": _choices(Contact.Kind.choices),
    "organisation_kind": _choices(Organisation.Kind.choices),
    "need": _choices(CommunicationNeed.Need.choices),
    **PROTECTED_FIELDS,
}
FIELD_LABELS = {
    "locality": "Locality", "postcode_district": "Postcode district", "topics": "Topics", "kind": "Kind of contact",
    "organisation": "Organisation", "organisation_kind": "Kind of organisation", "purpose": "Consent",
    "signed_up": "Signed up", "communication_need": "Communication needs", "event": "Event",
    **{name: str(EqualityProfile._meta.get_field(name).verbose_name).capitalize() for name in PROTECTED_FIELDS},
}


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    op: str
    value: Any

    @field_validator("field")
    @classmethod
    def _known_field(cls, field: str) -> str:
        if field not in FIELDS:
            raise ValueError(f"unknown field {field!r}; choose one of {', '.join(sorted(FIELDS))}")
        return field

    @model_validator(mode="after")
    def _op_and_value(self) -> "Condition":
        ops, kind = FIELDS[self.field]
        if self.op not in ops:
            raise ValueError(f"{self.field!r} does not take operator {self.op!r}; choose one of {', '.join(sorted(ops))}")
        object.__setattr__(self, "value", _check_value(self.field, kind, self.value))
        return self

    @property
    def is_protected(self) -> bool:
        return self.field in PROTECTED_FIELDS


def _check_value(field: str, kind: str, value: Any):
    if kind == "purpose":
        if value not in Purpose.Code.values:
            raise ValueError(f"{field!r} needs a purpose code: one of {', '.join(Purpose.Code.values)}")
        return value
    if kind == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError(f"{field!r} needs a date like 2026-03-12") from None
    if not isinstance(value, list) or not value or len(value) > MAX_VALUES:
        raise ValueError(f"{field!r} needs a list of 1 to {MAX_VALUES} values")
    if kind == "ids":
        if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31 for v in value):
            raise ValueError(f"{field!r} needs a list of ids (whole numbers)")
        return sorted(set(value))
    if not all(isinstance(v, str) for v in value):
        raise ValueError(f"{field!r} needs a list of text values")
    if kind == "slugs" and not all(_SLUG.match(v) for v in value):
        raise ValueError(f"{field!r} needs slugs like 'riverside'")
    if kind == "codes":
        value = [v.strip().upper() for v in value]
        if not all(_OUTWARD_CODE.match(v) for v in value):
            raise ValueError(f"{field!r} needs outward postcodes like 'L20'")
    if kind.startswith("choice:"):
        allowed = CHOICE_SETS[kind.removeprefix("choice:")]
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ValueError(f"{field!r} does not know {', '.join(map(repr, unknown))}; choose from {', '.join(sorted(allowed))}")
    return sorted(set(value))


def _rule_kind(rule) -> str:
    """A dict with "match" (or a Group) is a group; anything else is read as a condition."""
    if isinstance(rule, Group) or (isinstance(rule, dict) and "match" in rule):
        return "group"
    return "condition"


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    match: Literal["all", "any"] = "all"
    rules: list[Annotated[
        Union[Annotated[Condition, Tag("condition")], Annotated["Group", Tag("group")]],  # noqa: UP007
        Discriminator(_rule_kind),
    ]] = Field(default_factory=list, max_length=MAX_CONDITIONS)


class RuleSet(Group):
    version: Literal[1] = SCHEMA_VERSION

    @model_validator(mode="after")
    def _bounded(self) -> "RuleSet":
        if depth(self) > MAX_DEPTH:
            raise ValueError(f"groups may be nested at most {MAX_DEPTH} deep")
        if sum(1 for _ in conditions(self)) > MAX_CONDITIONS:
            raise ValueError(f"a segment may have at most {MAX_CONDITIONS} conditions")
        return self


def depth(group: Group) -> int:
    return 1 + max((depth(r) for r in group.rules if isinstance(r, Group)), default=0)


def conditions(group: Group):
    for rule in group.rules:
        if isinstance(rule, Group):
            yield from conditions(rule)
        else:
            yield rule


def protected_fields(rules: RuleSet) -> list[str]:
    return sorted({c.field for c in conditions(rules) if c.is_protected})


class RulesInvalid(ValueError):
    """The rules do not validate: ``errors`` is a list of {"loc": [...], "msg": "..."} for the caller."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc'])) or 'rules'}: {e['msg']}" for e in errors))


def parse_rules(data: Any) -> RuleSet:
    """Validate raw JSON-ready data. Raises RulesInvalid with every problem and where it is."""
    if isinstance(data, RuleSet):
        return data
    try:
        return RuleSet.model_validate(data)
    except ValidationError as error:
        raise RulesInvalid([
            {"loc": [str(p) for p in e["loc"] if p not in ("condition", "group")],
             "msg": e["msg"].removeprefix("Value error, ")}
            for e in error.errors(include_url=False)
        ]) from None


def rules_as_json(rules: RuleSet) -> dict:
    return rules.model_dump(mode="json")
