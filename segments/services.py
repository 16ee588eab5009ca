"""Every write about segments. Each refuses what its caller may not do, whoever the caller is."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from crm.audit import Actor, record_audit
from segments.models import Segment
from segments.rules import RuleSet, parse_rules, protected_fields, rules_as_json

EQUALITY_PERMISSION = "crm.view_equality_data"
EQUALITY_REFUSAL = ("Only staff with permission to see equality answers can use protected characteristics "
                    "(age band, sex, ethnic group, religion, disability, carer and the rest) in a segment.")


def check_equality_use(*, actor: Actor, rules: RuleSet) -> list[str]:
    """The protected fields the rules use; PermissionDenied if the actor may not use them."""
    fields = protected_fields(rules)
    if fields and not (actor.user is not None and actor.user.has_perm(EQUALITY_PERMISSION)):
        raise PermissionDenied(EQUALITY_REFUSAL)
    return fields


def record_equality_use(*, actor: Actor, fields: list[str], use: str, segment: Segment | None = None) -> None:
    """Every use of a protected-characteristic rule is audited: which fields, for what (never whom)."""
    if fields:
        record_audit(actor=actor, action="segment.equality_rules_used", obj=segment,
                     object_type="" if segment else "segments.segment",
                     changes={"fields": fields, "use": use})


def create_segment(*, name: str, description: str = "", rules, actor: Actor) -> Segment:
    parsed = parse_rules(rules)
    fields = check_equality_use(actor=actor, rules=parsed)
    with transaction.atomic():
        try:
            with transaction.atomic():
                segment = Segment.objects.create(
                    name=_clean_name(name), description=description.strip(), rules=rules_as_json(parsed),
                    uses_equality=bool(fields), created_by=actor.user, updated_by=actor.user,
                )
        except IntegrityError:
            raise ValidationError({"name": "A segment with this name already exists"}) from None
        record_audit(actor=actor, action="segment.created", obj=segment, summary=segment.name,
                     changes={"conditions": _fields_used(parsed)})
        record_equality_use(actor=actor, fields=fields, use="saved", segment=segment)
    return segment


def update_segment(*, segment: Segment, name: str, description: str = "", rules, actor: Actor) -> Segment:
    parsed = parse_rules(rules)
    fields = check_equality_use(actor=actor, rules=parsed)
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        if segment.uses_equality:
            # Someone without the permission may not see, and so may not rewrite, protected rules.
            check_equality_use(actor=actor, rules=parse_rules(segment.rules))
        segment.name, segment.description = _clean_name(name), description.strip()
        segment.rules, segment.uses_equality, segment.updated_by = rules_as_json(parsed), bool(fields), actor.user
        try:
            with transaction.atomic():
                segment.save(update_fields=["name", "description", "rules", "uses_equality", "updated_by",
                                            "updated_at"])
        except IntegrityError:
            raise ValidationError({"name": "A segment with this name already exists"}) from None
        record_audit(actor=actor, action="segment.updated", obj=segment, summary=segment.name,
                     changes={"conditions": _fields_used(parsed)})
        record_equality_use(actor=actor, fields=fields, use="saved", segment=segment)
    return segment


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Give the segment a name"})
    if len(name) > 120:
        raise ValidationError({"name": "Use at most 120 characters"})
    return name


def _fields_used(rules: RuleSet) -> list[str]:
    from segments.rules import conditions

    return sorted({c.field for c in conditions(rules)})
