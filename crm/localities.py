"""Writes to localities and postcode districts: the organisation file's map, put into the database.

Contacts point at a locality, worked out from their postcode's district when they are saved; a new
map re-points the contacts it moves, in the same transaction, so the two never disagree.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify

from crm.audit import Actor, record_audit
from crm.models import Contact, Locality, PostcodeDistrict
from crm.organisation import Organisation


@dataclass
class LocalityChanges:
    localities_created: list[str] = field(default_factory=list)
    localities_removed: list[str] = field(default_factory=list)
    districts_created: int = 0
    districts_moved: int = 0
    districts_removed: int = 0
    contacts_moved: int = 0


def apply_organisation_localities(*, organisation: Organisation, actor: Actor) -> LocalityChanges:
    """Make the database's localities and postcode districts exactly the file's; re-point moved contacts."""
    changes = LocalityChanges()
    with transaction.atomic():
        wanted = {name: _locality(name, changes) for name in organisation.localities}
        _apply_districts(organisation, wanted, changes)
        changes.contacts_moved = _repoint_contacts(wanted, organisation)
        _remove_other_localities(wanted, changes)  # nobody points at them any more
        record_audit(actor=actor, action="organisation.localities_loaded", object_type="crm.locality",
                     changes={"organisation": organisation.name, "localities": sorted(organisation.localities),
                              "districts": organisation.district_count, "contacts_moved": changes.contacts_moved,
                              "removed": changes.localities_removed})
    return changes


def _locality(name: str, changes: LocalityChanges) -> Locality:
    locality = Locality.objects.select_for_update().filter(name=name).first()
    if locality is None:
        locality = Locality.objects.create(name=name, slug=_free_slug(name))
        changes.localities_created.append(name)
    return locality


def _free_slug(name: str) -> str:
    base = slugify(name)[:70] or "locality"
    slug, n = base, 1
    while Locality.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _apply_districts(organisation: Organisation, wanted: dict[str, Locality], changes: LocalityChanges) -> None:
    existing = {d.code: d for d in PostcodeDistrict.objects.select_for_update()}
    listed = set()
    for name, codes in organisation.localities.items():
        for code in codes:
            listed.add(code)
            district = existing.get(code)
            if district is None:
                PostcodeDistrict.objects.create(code=code, locality=wanted[name])
                changes.districts_created += 1
            elif district.locality_id != wanted[name].pk:
                district.locality = wanted[name]
                district.save(update_fields=["locality"])
                changes.districts_moved += 1
    changes.districts_removed, _ = PostcodeDistrict.objects.exclude(code__in=listed).delete()


def _remove_other_localities(wanted: dict[str, Locality], changes: LocalityChanges) -> None:
    others = Locality.objects.exclude(pk__in=[locality.pk for locality in wanted.values()])
    changes.localities_removed = list(others.order_by("name").values_list("name", flat=True))
    others.delete()


def _repoint_contacts(wanted: dict[str, Locality], organisation: Organisation) -> int:
    """Each contact's locality follows its postcode district under the new map (none if unmapped)."""
    moved = 0
    mapped = Q()
    for name, codes in organisation.localities.items():
        in_districts = Q()
        for code in codes:
            # Postcodes are stored normalised ("L20 3NJ"): the outward code is everything before the space.
            in_districts |= Q(postcode__startswith=f"{code} ")
        mapped |= in_districts
        moved += Contact.objects.filter(in_districts).exclude(locality=wanted[name]).update(locality=wanted[name])
    moved += Contact.objects.filter(locality__isnull=False).exclude(mapped).update(locality=None)
    return moved
