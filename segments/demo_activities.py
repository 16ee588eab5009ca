"""Demo engagement activities: a few programmes and six activities in every status, one completed with
its "you said, we did" feedback, one completed still waiting for it. Never in production.

Run by ``manage.py load_demo_activities`` (bin/serve, after the demo staff accounts exist). Rows are
written directly rather than through segments.activities: the demo needs dates in the past (a
completion three months ago) and must not email the demo staff about activities nobody just created.
Does nothing if any activity exists. One audit entry says what was loaded.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from crm.audit import Actor, record_audit
from crm.london_time import first_occurrence_utc
from crm.models import Contact, Locality, Topic
from segments.models import Activity, ActivityHeadcount, ActivityParticipant, Event, Invitation, Programme

PROGRAMMES = (
    ("Urgent and emergency care", "A&E, urgent treatment centres, NHS 111 and out-of-hours care."),
    ("Mental health", "Adult and children's mental health services, crisis care and talking therapies."),
    ("Maternity", "Care in pregnancy, birth and the first weeks after."),
    ("Primary care", "GP practices, community pharmacy, dentistry and optometry."),
)
LEAD = "engagement"  # demo staff usernames (crm.demo_staff)
COMMISSIONER = "commissioner"
FOLLOWERS = ("comms",)


class DemoActivitiesRefused(Exception):
    pass


@dataclass
class Loaded:
    programmes: int = 0
    activities: int = 0
    skipped: str = ""


def load_demo_activities(*, actor: Actor, today: date | None = None) -> Loaded:
    if settings.ENVIRONMENT == "production":
        raise DemoActivitiesRefused("Demo activities are never loaded in production.")
    if Activity.objects.exists():
        return Loaded(skipped="activities already exist")
    users = {u.username: u for u in get_user_model().objects.filter(username__in=[LEAD, COMMISSIONER, *FOLLOWERS])}
    if LEAD not in users:
        return Loaded(skipped="the demo staff accounts do not exist yet (manage.py ensure_demo_staff)")
    lead, commissioner = users[LEAD], users.get(COMMISSIONER, users[LEAD])
    followers = [users[name] for name in FOLLOWERS if name in users]
    today = today or timezone.localdate()
    loaded = Loaded()
    with transaction.atomic():
        programmes = {}
        for name, description in PROGRAMMES:
            programmes[name], created = Programme.objects.get_or_create(name=name,
                                                                         defaults={"description": description})
            loaded.programmes += created
        places = {loc.slug: loc for loc in Locality.objects.all()}
        topics = {t.slug: t for t in Topic.objects.all()}
        people = list(Contact.objects.order_by("pk")[:40])

        def make(*, localities=(), topic_slugs=(), follow=True, **values) -> Activity:
            activity = Activity.objects.create(created_by=lead, **values)
            activity.localities.set([places[s] for s in localities if s in places])
            activity.topics.set([topics[s] for s in topic_slugs if s in topics])
            if follow:
                activity.followers.set(followers)
            loaded.activities += 1
            return activity

        done_on = today - timedelta(days=90)
        urgent = make(
            title="Urgent care in south Sefton: where should people go out of hours?",
            summary="Proposals to bring the walk-in centre and out-of-hours GP service together in one urgent "
                    "treatment centre, open 8am to 10pm every day.",
            programme=programmes["Urgent and emergency care"], lead=lead, kind=Activity.Kind.CONSULTATION,
            legal_basis=Activity.LegalBasis.SUBSTANTIAL_VARIATION, status=Activity.Status.COMPLETED,
            status_changed_at=_at(done_on), completed_on=done_on,
            starts_on=today - timedelta(days=200), ends_on=today - timedelta(days=110),
            equality_analysis_done=True, equality_analysis_on=today - timedelta(days=220),
            equality_analysis_reference="EQIA-2026-014, engagement team shared drive",
            groups_expected_affected=["age", "disability", "pregnancy_maternity", "race", "carers"],
            themes_heard="Travel: two buses from Maghull after 6pm. Waiting times at the walk-in centre. Not knowing "
                         "whether to ring 111, see a pharmacist or go to A&E. Parents of young children want "
                         "evening appointments.",
            you_said="It is hard to get to the new centre in the evening without a car, and it is not clear where "
                     "to go when your GP practice is closed.",
            we_did="The urgent treatment centre stays open until 10pm, Merseytravel added a 7pm and an 8.30pm bus "
                   "from Maghull, and a leaflet and web page explain where to go, in six languages and Easy Read.",
            feedback_published_on=done_on + timedelta(days=30),
            localities=("bootle", "crosby", "maghull", "seaforth-litherland"),
            topic_slugs=("urgent-and-emergency-care", "primary-care-and-gp-services"),
        )
        chat = _past_big_chat(lead=lead, day=today - timedelta(days=150), locality=places.get("bootle"))
        urgent.events.add(chat)
        for person in people[:12]:
            Invitation.objects.create(event=chat, contact=person, source=Invitation.Source.EXPORT,
                                      invited_at=chat.starts_at - timedelta(days=14), response=Invitation.Response.YES,
                                      attended=True, attendance_recorded_at=chat.ends_at)
        for person in people[10:16]:  # two of them also came to the Big Chat: counted once
            ActivityParticipant.objects.create(activity=urgent, contact=person, added_by=lead)
        ActivityHeadcount.objects.create(
            activity=urgent, locality=places.get("bootle"), label="Drop-in at Bootle Strand", count=34, added_by=lead,
            equality_breakdown={"age_band": {"20-29": 6, "30-39": 9, "60-69": 8, "70-79": 5},
                                "sex": {"female": 19, "male": 13, "prefer_not_to_say": 2}})
        ActivityHeadcount.objects.create(activity=urgent, locality=places.get("crosby"),
                                         label="Stall at Crosby library", count=18, added_by=lead)
        ActivityHeadcount.objects.create(activity=urgent, label="Paper surveys returned without names", count=57,
                                         added_by=lead)

        ppg_on = today - timedelta(days=21)
        make(title="Bootle patient participation groups: joint meeting", programme=programmes["Primary care"],
             summary="Chairs of the Bootle practices' patient participation groups on booking appointments online.",
             lead=lead, kind=Activity.Kind.PPG_MEETING, legal_basis=Activity.LegalBasis.NONE,
             status=Activity.Status.COMPLETED, status_changed_at=_at(ppg_on), completed_on=ppg_on,
             starts_on=ppg_on, ends_on=ppg_on, localities=("bootle",),
             themes_heard="Online booking shuts out people without a smartphone; receptionists are kind but rushed.",
             topic_slugs=("primary-care-and-gp-services",))
        make(title="Perinatal mental health: what would help new parents?", programme=programmes["Mental health"],
             summary="Focus groups with parents who used, or needed, perinatal mental health support.",
             lead=commissioner, kind=Activity.Kind.FOCUS_GROUP, legal_basis=Activity.LegalBasis.DUTY_TO_INVOLVE,
             status=Activity.Status.IN_PROGRESS, status_changed_at=_at(today - timedelta(days=10)),
             starts_on=today - timedelta(days=10), ends_on=today + timedelta(days=40),
             equality_analysis_done=True, equality_analysis_on=today - timedelta(days=30),
             equality_analysis_reference="EQIA-2026-031",
             groups_expected_affected=["pregnancy_maternity", "sex", "race"],
             localities=("crosby", "seaforth-litherland"), topic_slugs=("mental-health", "children-and-maternity"))
        make(title="Co-producing the community mental health offer", programme=programmes["Mental health"],
             summary="A co-production group of people with lived experience, carers and staff, meeting monthly.",
             lead=lead, kind=Activity.Kind.CO_PRODUCTION, legal_basis=Activity.LegalBasis.DUTY_TO_INVOLVE,
             status=Activity.Status.IN_PROGRESS, status_changed_at=_at(today - timedelta(days=60)),
             starts_on=today - timedelta(days=60), localities=("bootle", "seaforth-litherland"),
             topic_slugs=("mental-health",), follow=False)
        make(title="Maternity services survey", programme=programmes["Maternity"],
             summary="A survey of everyone who gave birth in the last year, online and on paper.",
             lead=commissioner, kind=Activity.Kind.SURVEY, legal_basis=Activity.LegalBasis.DUTY_TO_INVOLVE,
             starts_on=today + timedelta(days=30), ends_on=today + timedelta(days=90),
             localities=("bootle", "crosby", "maghull", "seaforth-litherland"), topic_slugs=("children-and-maternity",))
        make(title="Maghull minor injuries unit: opening hours", programme=programmes["Urgent and emergency care"],
             summary="Asking Maghull residents when they would use the minor injuries unit.", lead=lead,
             kind=Activity.Kind.ENGAGEMENT, legal_basis=Activity.LegalBasis.DUTY_TO_INVOLVE,
             starts_on=today + timedelta(days=14), localities=("maghull",), topic_slugs=("urgent-and-emergency-care",))
        record_audit(actor=actor, action="demo.loaded", object_type="segments.activity",
                     changes={"count": loaded.activities})
    return loaded


def _at(day: date, hour: int = 10) -> datetime:
    return first_occurrence_utc(datetime.combine(day, time(hour)))


def _past_big_chat(*, lead, day: date, locality) -> Event:
    starts = first_occurrence_utc(datetime.combine(day, time(18, 30)))
    return Event.objects.create(
        kind=Event.Kind.BIG_CHAT, title="Big Chat: urgent care in south Sefton", starts_at=starts,
        ends_at=starts + timedelta(hours=2), venue_name="Bootle Town Hall", venue_address="Oriel Road, Bootle L20 7AE",
        step_free=True, hearing_loop=True, locality=locality, capacity=80, created_by=lead,
        description="An evening to talk about where people should go for urgent care when their practice is closed.")
