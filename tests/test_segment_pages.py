"""Segment pages: the rule builder without JavaScript, its count and sample, the live count, equality guard,
errors beside their rows, saving; invitation list exports, their record and the signed download.

Expected figures are counted by hand from the four people below.
"""

import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from crm.audit import Actor
from crm.models import AuditEntry, Topic
from segments import exports, services
from segments.models import Event, Invitation, InvitationExport, Segment

ENGAGEMENT, DATA_PROTECTION, COMMUNICATIONS = "Engagement", "Data protection", "Communications"
DEMENTIA_RULES = {"version": 1, "match": "all", "rules": [{"field": "topics", "op": "any", "value": ["dementia"]}]}


@pytest.fixture
def people(db, make_contact):
    """ann: dementia, events + bulletin     bob: dementia, bulletin only
    cat: dementia, events only             dan: cancer, events + bulletin
    Dementia → 3 match (ann, bob, cat); 2 can be invited (ann, cat); 2 can get the bulletin (ann, bob)."""
    dementia, cancer = Topic.objects.get(slug="dementia"), Topic.objects.get(slug="cancer")
    return {
        "ann": make_contact(email="ann@example.org", name="Ann Able", topics=[dementia], purposes=("events", "bulletin")),
        "bob": make_contact(email="bob@example.org", name="Bob Baker", topics=[dementia], purposes=("bulletin",)),
        "cat": make_contact(email="cat@example.org", name="Cat Cole", topics=[dementia], purposes=("events",)),
        "dan": make_contact(email="dan@example.org", name="Dan Dee", topics=[cancer], purposes=("events", "bulletin")),
    }


@pytest.fixture
def engagement(staff_client):
    return staff_client(ENGAGEMENT)


def builder_post(**rows) -> dict:
    """Form fields for a builder with top-level conditions, as the page would post them."""
    data = {"name": "Dementia", "description": "", "match": "all", "node": []}
    for path, (field, op, values) in rows.items():
        data["node"].append(path)
        data |= {f"{path}-kind": "condition", f"{path}-field": field, f"{path}-shown": field, f"{path}-op": op,
                 f"{path}-value": values}
    return data


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


# --- the builder without JavaScript ---------------------------------------------------------------

def test_the_buttons_add_and_remove_rows_and_the_rules_travel_as_form_fields(engagement, people):
    url = reverse("segments:segment_new")
    page = engagement.get(url)
    assert page.status_code == 200
    assert page.content.decode().count('name="node"') == 1  # one empty condition to start
    assert 'id="row-0-field"' in page.content.decode()

    data = builder_post(**{"0": ("topics", "any", ["dementia"])}) | {"action": "add_group"}
    page = engagement.post(url, data)
    html = page.content.decode()
    assert 'name="node" value="1"' in html and 'name="node" value="1.0"' in html  # a group with one row
    assert 'value="dementia" checked' in html  # the first row kept its value

    data["node"] += ["1", "1.0"]
    data |= {"1-kind": "group", "1-match": "any", "1.0-kind": "condition", "action": "add_condition:1"}
    html = engagement.post(url, data).content.decode()
    assert 'name="node" value="1.1"' in html

    data |= {"action": "remove:1"}
    html = engagement.post(url, data).content.decode()
    assert 'name="node" value="1"' not in html and 'name="node" value="0"' in html


def test_count_shows_the_hand_counted_figures_and_a_sample_linking_to_contacts(engagement, people):
    data = builder_post(**{"0": ("topics", "any", ["dementia"])}) | {"action": "count"}
    page = engagement.post(reverse("segments:segment_new"), data)
    text = text_of(page)
    assert "3 people match; 2 can be invited to events now; 2 can be sent the e-bulletin" in text
    for name in ("Ann Able", "Bob Baker", "Cat Cole"):
        assert name in text
    assert "Dan Dee" not in text
    assert reverse("consent_staff:contact", args=[people["ann"].public_id]) in page.content.decode()


def test_changing_a_field_resets_its_operator_and_values_until_the_form_is_updated(engagement, people):
    data = builder_post(**{"0": ("kind", "in", ["dementia"])})
    data["0-shown"] = "topics"  # the row was drawn for topics; the select now says kind
    html = engagement.post(reverse("segments:segment_new"), data | {"action": "refresh"}).content.decode()
    assert 'value="public"' in html and 'Member of the public' in html  # the kind's choices are offered now
    assert "There is a problem" not in html


def test_the_live_count_takes_the_same_form_fields(engagement, people):
    data = builder_post(**{"0": ("topics", "any", ["dementia"])})
    answer = engagement.post(reverse("segments:segment_count_json"), data).json()
    assert answer["ok"] is True
    assert (answer["matching"], answer["reachable_for_events"], answer["reachable_for_bulletin"]) == (3, 2, 2)
    assert engagement.get(reverse("segments:segment_count_json")).status_code == 405
    unfinished = engagement.post(reverse("segments:segment_count_json"), builder_post(**{"0": ("topics", "any", [])}))
    assert unfinished.json()["ok"] is False


def test_the_live_count_needs_the_csrf_token(staff_user, people):
    from django.test import Client

    from tests.conftest import verify_client_session

    user = staff_user(ENGAGEMENT)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    verify_client_session(client, user)
    data = builder_post(**{"0": ("topics", "any", ["dementia"])})
    assert client.post(reverse("segments:segment_count_json"), data).status_code == 403


def test_errors_appear_beside_their_row_with_a_summary(engagement, people):
    data = builder_post(**{"0": ("topics", "any", ["dementia"]), "1": ("topics", "any", [])})
    data |= {"action": "count"}
    html = engagement.post(reverse("segments:segment_new"), data).content.decode()
    assert "There is a problem" in html
    assert 'href="#row-1-field"' in html  # the summary links to the second row
    row = html[html.index('id="row-1"'):]
    assert "Choose at least one topics option" in row[:row.index("Update the form")]
    # An operator the field does not take is the validator's error, shown on its row with the field's label.
    data = builder_post(**{"0": ("signed_up", "before", ["not-a-date"])}) | {"action": "count"}
    html = engagement.post(reverse("segments:segment_new"), data).content.decode()
    assert "Signed up needs a date like 2026-03-12" in html
    assert 'href="#row-0-field"' in html


def test_protected_characteristics_only_for_staff_with_the_equality_permission(engagement, staff_client, people):
    author = engagement
    html = engagement.get(reverse("segments:segment_new")).content.decode()
    assert 'value="age_band"' not in html and 'value="topics"' in html
    data = builder_post(**{"0": ("age_band", "in", ["80+"])}) | {"action": "count"}
    assert engagement.post(reverse("segments:segment_new"), data).status_code == 403
    assert engagement.post(reverse("segments:segment_count_json"), data).status_code == 403
    assert not AuditEntry.objects.filter(action="segment.equality_rules_used").exists()

    segment = services.create_segment(name="Dementia", rules=DEMENTIA_RULES, actor=Actor.staff(author.user))
    dpo = staff_client(DATA_PROTECTION)
    url = reverse("segments:segment_edit", args=[segment.pk])
    assert 'value="age_band"' in dpo.get(url).content.decode()
    page = dpo.post(url, data)
    assert page.status_code == 200
    # Nobody here gave equality_targeting consent, so nobody matches a protected rule.
    assert "0 people match" in text_of(page)
    assert AuditEntry.objects.filter(action="segment.equality_rules_used").exists()


def test_saving_creates_then_updates_the_segment(engagement, people):
    data = builder_post(**{"0": ("topics", "any", ["dementia"])}) | {"action": "save", "description": "Carers"}
    response = engagement.post(reverse("segments:segment_new"), data)
    segment = Segment.objects.get(name="Dementia")
    assert response.status_code == 302 and response["Location"] == reverse("segments:segment_edit", args=[segment.pk])
    assert segment.rules == DEMENTIA_RULES and segment.description == "Carers"

    data = builder_post(**{"0": ("topics", "any", ["dementia"]), "1": ("kind", "in", ["carer"])})
    data |= {"action": "save", "match": "any", "name": "Dementia or carers"}
    engagement.post(reverse("segments:segment_edit", args=[segment.pk]), data)
    segment.refresh_from_db()
    assert segment.name == "Dementia or carers" and segment.rules["match"] == "any"
    assert segment.rules["rules"][1] == {"field": "kind", "op": "in", "value": ["carer"]}


def test_a_name_already_used_is_an_error_on_the_name(engagement, people):
    author = engagement
    services.create_segment(name="Dementia", rules=DEMENTIA_RULES, actor=Actor.staff(author.user))
    data = builder_post(**{"0": ("topics", "any", ["dementia"])}) | {"action": "save"}
    page = engagement.post(reverse("segments:segment_new"), data)
    assert page.status_code == 200 and "A segment with this name already exists" in page.content.decode()
    assert Segment.objects.count() == 1


def test_data_protection_may_count_but_not_save(staff_client, people):
    author = staff_client(ENGAGEMENT)
    segment = services.create_segment(name="Dementia", rules=DEMENTIA_RULES, actor=Actor.staff(author.user))
    dpo = staff_client(DATA_PROTECTION)
    page = dpo.get(reverse("segments:segment_edit", args=[segment.pk]))
    assert "3 people match" in text_of(page) and "Save segment" not in page.content.decode()
    data = builder_post(**{"0": ("topics", "any", ["cancer"])}) | {"action": "save", "name": "Hijack"}
    assert dpo.post(reverse("segments:segment_edit", args=[segment.pk]), data).status_code == 403
    assert Segment.objects.get().name == "Dementia"


def test_the_list_counts_one_segment_on_request(engagement, people):
    segment = services.create_segment(name="Dementia", rules=DEMENTIA_RULES, actor=Actor.staff(engagement.user))
    page = engagement.get(reverse("segments:segment_list"))
    assert "Dementia" in text_of(page) and "people match" not in text_of(page)
    page = engagement.post(reverse("segments:segment_list"), {"count": segment.pk})
    assert "3 people match; 2 can be invited to events now; 2 can be sent the e-bulletin" in text_of(page)


# --- invitation lists ---------------------------------------------------------------------------------

@pytest.fixture
def chat(db, staff_user):
    return Event.objects.create(title="Big Chat, Bootle", starts_at=timezone.now() + timezone.timedelta(days=30),
                                ends_at=timezone.now() + timezone.timedelta(days=30, hours=2),
                                created_by=staff_user())


def _export_form(chat, **extra):
    return {"event": chat.pk, "stated_purpose": "Invitations by post", "columns": ["name", "email"],
            "file_format": "csv", **extra}


@time_machine.travel("2026-12-02 09:30:00+00:00", tick=False)
def test_exporting_shows_the_record_and_a_link_that_downloads_and_is_audited(engagement, people, chat):
    segment = services.create_segment(name="Dementia", rules=DEMENTIA_RULES, actor=Actor.staff(engagement.user))
    response = engagement.post(reverse("segments:segment_export", args=[segment.pk]), _export_form(chat))
    export = InvitationExport.objects.get()
    assert response.status_code == 302
    page = engagement.get(response["Location"])
    text = text_of(page)
    assert "People listed 2" in text  # ann and cat can be invited; bob cannot
    assert "9 December 2026, 9:30am" in text and export.sha256 in text
    assert set(Invitation.objects.filter(event=chat).values_list("contact__name", flat=True)) == {"Ann Able", "Cat Cole"}

    link = reverse("segments:export_download", args=[exports.download_token(export)])
    assert link in page.content.decode()
    download = engagement.get(link)
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    assert "Ann Able" in body and "Bob Baker" not in body
    assert AuditEntry.objects.filter(action="segment.export_downloaded").count() == 1


def test_the_link_is_refused_after_seven_days_and_when_the_file_is_gone(engagement, people, chat):
    segment = services.create_segment(name="Dementia", rules=DEMENTIA_RULES, actor=Actor.staff(engagement.user))
    with time_machine.travel(timezone.now() - timezone.timedelta(days=7, minutes=1)):
        old = exports.create_invitation_export(segment=segment, event=chat, stated_purpose="Post", columns=["name"],
                                               file_format="csv", actor=Actor.staff(engagement.user))
        old_link = reverse("segments:export_download", args=[exports.download_token(old)])
    assert (exports.exports_dir() / old.file_name).exists()  # the hourly task has not run yet: the link still dies
    page = engagement.get(old_link)
    assert page.status_code == 410 and "This link has expired" in page.content.decode()

    export = exports.create_invitation_export(segment=segment, event=chat, stated_purpose="Post", columns=["name"],
                                              file_format="csv", actor=Actor.staff(engagement.user))
    link = reverse("segments:export_download", args=[exports.download_token(export)])
    (exports.exports_dir() / export.file_name).unlink()
    page = engagement.get(link)
    assert page.status_code == 410 and "This link has expired" in page.content.decode()
    assert not AuditEntry.objects.filter(action="segment.export_downloaded").exists()
    assert engagement.get(link[:-12] + "tampered/download").status_code in (404, 410)


def test_equality_columns_are_offered_only_with_the_equality_permission(engagement, people, chat):
    segment = services.create_segment(name="Dementia", rules=DEMENTIA_RULES, actor=Actor.staff(engagement.user))
    url = reverse("segments:segment_export", args=[segment.pk])
    html = engagement.get(url).content.decode()
    assert 'value="age_band"' not in html and "Equality answers" not in html
    page = engagement.post(url, _export_form(chat, columns=["name", "age_band"]))
    assert page.status_code == 200 and not InvitationExport.objects.exists()


def test_a_purpose_is_required(engagement, people, chat):
    segment = services.create_segment(name="Dementia", rules=DEMENTIA_RULES, actor=Actor.staff(engagement.user))
    page = engagement.post(reverse("segments:segment_export", args=[segment.pk]), _export_form(chat, stated_purpose=""))
    assert "Say what the list is for" in page.content.decode() and not InvitationExport.objects.exists()


def test_the_exports_list_for_data_protection(staff_client, people, chat):
    engagement = Actor.staff(staff_client(ENGAGEMENT).user)
    segment = services.create_segment(name="Dementia", rules=DEMENTIA_RULES, actor=engagement)
    exports.create_invitation_export(segment=segment, event=chat, stated_purpose="Posting invitations",
                                     columns=["name"], file_format="xlsx", actor=engagement)
    dpo = staff_client(DATA_PROTECTION)
    text = text_of(dpo.get(reverse("segments:export_list")))
    assert "Posting invitations" in text and "Dementia" in text and "Available" in text
    detail = dpo.get(reverse("segments:export_detail", args=[InvitationExport.objects.get().public_id]))
    assert "Download the list" not in detail.content.decode()  # Data protection may not export
    assert staff_client(COMMUNICATIONS).get(reverse("segments:export_list")).status_code == 403


def test_the_contact_page_shows_invitations_and_the_export_that_listed_them(engagement, people, chat):
    segment = services.create_segment(name="Dementia", rules=DEMENTIA_RULES, actor=Actor.staff(engagement.user))
    exports.create_invitation_export(segment=segment, event=chat, stated_purpose="Posting invitations",
                                     columns=["name"], file_format="csv", actor=Actor.staff(engagement.user))
    text = text_of(engagement.get(reverse("consent_staff:contact", args=[people["ann"].public_id])))
    assert "Big Chat, Bootle" in text and "Posting invitations" in text and "Invitation list export" in text
    text = text_of(engagement.get(reverse("consent_staff:contact", args=[people["dan"].public_id])))
    assert "This person has not been invited to any events" in text
