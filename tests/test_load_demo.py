"""manage.py load_demo: a realistic, self-consistent demo population written in bulk."""

import io
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.utils import timezone

from consent.demo.population import Population, census_ethnic_group_weights, sefton_baseline
from consent.models import ConsentEvent, ConsentState, ConsentStatement, ErasurePermit, Suppression
from consent.selectors import contacts_reachable_for
from crm.audit import first_broken_link
from crm.models import AuditEntry, CommunicationNeed, Contact, EqualityProfile, PostcodeDistrict
from crm.normalise import address_hash, normalise_postcode, outward_code
from crm.reference_data import LOCALITY_DISTRICTS

pytestmark = pytest.mark.django_db
SIZE = 300


def load_demo(**options) -> str:
    out = io.StringIO()
    call_command("load_demo", no_progress=True, stdout=out, **{"contacts": SIZE, "seed": 7, **options})
    return out.getvalue()


@pytest.fixture
def demo(db):
    return load_demo()


def people():
    return sorted(Contact.objects.values_list("email", "name", "postcode", "kind"))


def test_contacts_live_in_all_four_localities_with_real_postcode_formats(demo):
    contacts = list(Contact.objects.select_related("locality"))
    assert len(contacts) == SIZE
    assert {c.locality.name for c in contacts if c.locality} == set(LOCALITY_DISTRICTS)
    districts = dict(PostcodeDistrict.objects.values_list("code", "locality__name"))
    for contact in contacts:
        if contact.postcode:
            assert normalise_postcode(contact.postcode) == contact.postcode
        expected = districts.get(outward_code(contact.postcode))
        assert (contact.locality.name if contact.locality else None) == expected
    assert any(not c.postcode for c in contacts), "some people give no postcode"


def test_addresses_are_fake_normalised_and_hashed_as_the_services_would(demo):
    now = timezone.now()
    for contact in Contact.objects.all():
        assert contact.email_normalised.rsplit("@", 1)[1] in {"example.org", "example.net", "example.com"}
        # Demo addresses are plain ASCII: normalising is trimming and lower-casing (crm/normalise.py's rule).
        assert contact.email_normalised == contact.email.strip().lower()
        assert contact.email_hash == address_hash(contact.email_normalised)
        assert contact.source == Contact.Source.DEMO
        assert contact.created_at <= contact.confirmed_at <= now
        assert contact.topics.exists()
    assert Contact.objects.exclude(email=Lower("email")).exists(), "some addresses were typed with capitals"


# The ledger's meaning, written out from DESIGN.md (not read from consent.selectors.fold_status, the code
# under test): (status so far, next action) -> status after it. None means never asked.
AFTER = {
    (None, "given"): "pending", ("pending", "given"): "pending", ("granted", "given"): "granted",
    ("withdrawn", "given"): "pending",
    (None, "confirmed"): "granted", ("pending", "confirmed"): "granted", ("granted", "confirmed"): "granted",
    ("withdrawn", "confirmed"): "granted",
    (None, "withdrawn"): "withdrawn", ("pending", "withdrawn"): "withdrawn", ("granted", "withdrawn"): "withdrawn",
    ("withdrawn", "withdrawn"): "withdrawn",
}


def test_the_hand_written_ledger_table_agrees_with_a_hand_worked_history():
    status = None
    for action, expected in [("given", "pending"), ("confirmed", "granted"), ("given", "granted"),
                             ("withdrawn", "withdrawn"), ("given", "pending"), ("confirmed", "granted")]:
        status = AFTER[(status, action)]
        assert status == expected


def test_every_consent_state_is_the_fold_of_its_events(demo):
    events = defaultdict(list)
    for event in ConsentEvent.objects.order_by("occurred_at", "id"):
        events[(event.contact_id, event.purpose_id)].append(event)
    states = {(s.contact_id, s.purpose_id): s for s in ConsentState.objects.all()}
    assert set(states) == set(events)
    seen = Counter()
    for key, history in events.items():
        status = None
        for event in history:
            status = AFTER[(status, event.action)]
        last = history[-1]
        seen[status] += 1
        state = states[key]
        assert state.last_event_id == last.pk
        assert state.status == status
        assert state.statement_id == last.statement_id
        assert state.since == last.occurred_at
    assert seen["granted"] and seen["withdrawn"], "the demo has both granted and withdrawn people"


def test_events_are_demo_events_on_published_statements_of_their_purpose(demo):
    now = timezone.now()
    published = dict(ConsentStatement.objects.filter(published_at__isnull=False).values_list("id", "purpose_id"))
    for event in ConsentEvent.objects.all():
        assert published[event.statement_id] == event.purpose_id
        assert event.method == ConsentEvent.Method.DEMO
        assert event.occurred_at <= now
        assert event.recorded_by_id is None
    assert Contact.objects.filter(consent_states__purpose__code="bulletin").count() > SIZE * 0.8
    assert ConsentState.objects.filter(purpose__code="events").exists()
    assert ConsentState.objects.filter(purpose__code="involvement").exists()


def test_withdrawals_are_suppressed_and_returns_lift_the_suppression(demo):
    withdrawn = ConsentState.objects.filter(status=ConsentState.Status.WITHDRAWN).select_related("contact")
    assert withdrawn.count() >= 5
    for state in withdrawn:
        assert Suppression.objects.filter(address_hash=state.contact.email_hash, purpose_id=state.purpose_id,
                                          reason=Suppression.Reason.WITHDRAWAL, lifted_at__isnull=True).exists()
    came_back = ConsentState.objects.filter(status=ConsentState.Status.GRANTED).filter(
        Exists(ConsentEvent.objects.filter(contact=OuterRef("contact"), purpose=OuterRef("purpose"),
                                           action=ConsentEvent.Action.WITHDRAWN))
    ).select_related("contact")
    assert came_back.exists(), "some people withdrew and later signed up again"
    for state in came_back:
        suppression = Suppression.objects.get(address_hash=state.contact.email_hash, purpose_id=state.purpose_id)
        assert suppression.lifted_at == state.since
    assert Suppression.objects.count() == ConsentEvent.objects.filter(action=ConsentEvent.Action.WITHDRAWN).count()
    granted = ConsentState.objects.filter(purpose__code="bulletin", status=ConsentState.Status.GRANTED).count()
    assert contacts_reachable_for(purpose="bulletin").count() == granted


def test_equality_answers_only_with_monitoring_consent(demo):
    profiles = EqualityProfile.objects.all()
    assert profiles.count() >= SIZE * 0.2
    monitoring = set(ConsentState.objects.filter(purpose__code="equality_monitoring",
                                                 status=ConsentState.Status.GRANTED).values_list("contact_id", flat=True))
    assert set(profiles.values_list("contact_id", flat=True)) == monitoring
    targeting = set(ConsentState.objects.filter(purpose__code="equality_targeting").values_list("contact_id", flat=True))
    assert targeting and targeting <= monitoring
    for profile in profiles:
        for name in EqualityProfile.ANSWER_FIELDS:
            value = getattr(profile, name)
            assert value == "" or value in dict(EqualityProfile._meta.get_field(name).choices), (name, value)


def test_kinds_organisations_and_communication_needs(demo):
    kinds = Counter(Contact.objects.values_list("kind", flat=True))
    assert kinds[Contact.Kind.PUBLIC] > SIZE / 2 and len(kinds) >= 4
    assert not Contact.objects.filter(kind=Contact.Kind.PRACTICE_STAFF, organisation__isnull=True).exists()
    assert not Contact.objects.filter(kind=Contact.Kind.PARTNER, organisation__isnull=True).exists()
    assert CommunicationNeed.objects.exists()
    for need in CommunicationNeed.objects.filter(need=CommunicationNeed.Need.OTHER_LANGUAGE).select_related("contact"):
        assert need.detail == need.contact.preferred_language != "English"


def test_one_audit_entry_for_the_whole_load_without_personal_data(db):
    before = AuditEntry.objects.count()
    load_demo()
    entries = list(AuditEntry.objects.order_by("id")[before:])
    assert [e.action for e in entries] == ["demo.loaded"]
    assert entries[0].changes["contacts"] == SIZE
    assert entries[0].changes["consent_events"] == ConsentEvent.objects.count()
    assert entries[0].changes["consent_states"] == ConsentState.objects.count()
    assert entries[0].changes["suppressions"] == Suppression.objects.count()
    assert "@" not in entries[0].summary + str(entries[0].changes)
    assert first_broken_link() is None


def test_running_again_adds_nobody(demo):
    before = people()
    output = load_demo(seed=99)
    assert "nothing loaded" in output
    assert people() == before


def test_reset_replaces_demo_contacts_deterministically_and_keeps_real_ones(demo, make_contact):
    first = people()
    real = make_contact(email="real.person@nhs.example")
    load_demo(reset=True, seed=8)
    assert people() != first
    load_demo(reset=True)
    assert [p for p in people() if p[0] != real.email] == first
    assert Contact.objects.filter(pk=real.pk).exists()
    assert ConsentEvent.objects.filter(contact=real).exists()
    assert not ErasurePermit.objects.exists()
    hashes = set(Contact.objects.values_list("email_hash", flat=True))
    assert set(Suppression.objects.values_list("address_hash", flat=True)) <= hashes


def test_refuses_in_production(db, settings):
    settings.ENVIRONMENT = "production"
    with pytest.raises(CommandError, match="production"):
        load_demo()
    assert not Contact.objects.exists()


def test_equality_answers_follow_the_census(db):
    population = Population(seed=3, now=timezone.now(), size=1)
    answers = [population._equality() for _ in range(6000)]
    weights = census_ethnic_group_weights()
    white = {c for c in weights if c.startswith("white_")}
    census_white = sefton_baseline()["ethnic_group"]["White"] / sum(sefton_baseline()["ethnic_group"].values())
    share = sum(a["ethnic_group"] in white for a in answers) / len(answers)
    assert share == pytest.approx(census_white * 0.98, abs=0.015)  # 2% answer "prefer not to say"
    religions = Counter(a["religion"] for a in answers)
    assert religions.most_common(1)[0][0] == EqualityProfile.Religion.CHRISTIAN
    assert not any(a["age_band"] == EqualityProfile.AgeBand.UNDER_16 for a in answers)


def test_sign_ups_spread_over_three_years_in_id_order(demo):
    dates = list(Contact.objects.order_by("id").values_list("created_at", flat=True))
    assert dates == sorted(dates)
    assert timezone.now() - dates[0] > timedelta(days=900)
