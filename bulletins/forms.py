"""Forms for writing, checking, scheduling and moderating bulletins, and the public comment form.

Validation at the edge only: the services re-check everything and own the policy.
"""

import re
from datetime import datetime, time

from django import forms
from django.core.exceptions import ValidationError

from bulletins.comments import MAX_COMMENT, MAX_REPLY
from bulletins.models import Bulletin
from bulletins.services import ItemContent, test_recipients
from consent.forms import NhsukForm
from consent.staff.forms import DateInputField, StaffForm, find_contact
from crm.models import Topic
from crm.validators import ControlCharacterValidator
from segments.models import Segment
from segments.selectors import segments_visible_to


class SegmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, segment):
        return segment.name


class BulletinForm(NhsukForm):
    subject = forms.CharField(label="Subject", max_length=200, validators=[ControlCharacterValidator("The subject")],
                              error_messages={"required": "Enter the subject"})
    preheader = forms.CharField(
        label="Preview text (optional)", max_length=200, required=False,
        validators=[ControlCharacterValidator("The preview text")],
        help_text="Shown after the subject in most inboxes. One sentence.")
    introduction = forms.CharField(label="Introduction (optional)", required=False, widget=forms.Textarea,
                                   help_text="Markdown: *italic*, **bold**, [link text](https://…), lists with -.")
    audience = forms.ChoiceField(label="Who it goes to", choices=Bulletin.Audience.choices,
                                 widget=forms.RadioSelect, initial=Bulletin.Audience.TOPICS,
                                 error_messages={"required": "Choose who the bulletin goes to"})
    segment = SegmentChoiceField(
        label="Only people in this segment (optional)", queryset=Segment.objects.none(), required=False,
        empty_label="No segment: everyone above", help_text="A saved segment narrows who it goes to. The rules "
        "are copied when the bulletin is approved: later changes to the segment do not change this bulletin.",
        error_messages={"invalid_choice": "Choose a segment from the list"})

    def __init__(self, *args, user=None, kind=Bulletin.Kind.BULLETIN, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = segments_visible_to(user).order_by("name") if user else Segment.objects.none()
        if kind != Bulletin.Kind.BULLETIN:
            del self.fields["audience"]  # never by topics
        if kind == Bulletin.Kind.ACTIVITY_FEEDBACK:
            # Feedback goes to the activity's participants (reachable for events or involvement).
            del self.fields["segment"]
            self.fields["introduction"].label = "What you heard and what you did"
            self.fields["introduction"].required = True
            self.fields["introduction"].error_messages["required"] = "Write the feedback"
            self.fields["introduction"].help_text = "Markdown. Filled in from the activity: change it as you need."
        elif kind == Bulletin.Kind.EVENT_INVITATION:
            # An invitation goes to its segment (people reachable for events).
            self.fields["segment"].required = True
            self.fields["segment"].label = "Invite the people in this segment"
            self.fields["segment"].empty_label = "Choose a segment"
            self.fields["segment"].help_text = ("Only those who agreed to hear about events get it. The rules are "
                                                "copied when the invitation is approved.")
            self.fields["segment"].error_messages["required"] = "Choose the segment to invite"
            self.fields["introduction"].label = "Introduction"
            self.fields["introduction"].required = True
            self.fields["introduction"].error_messages["required"] = "Write the introduction"
            self.fields["introduction"].help_text = ("Why you are inviting people. The date, place, access and "
                                                     "the answer links are added below it for you.")


class ItemForm(NhsukForm):
    title = forms.CharField(label="Title", max_length=200, validators=[ControlCharacterValidator("The title")],
                            error_messages={"required": "Enter the title"})
    body_markdown = forms.CharField(
        label="Text", widget=forms.Textarea, error_messages={"required": "Enter the text of the item"},
        help_text="Markdown: *italic*, **bold**, [link text](https://…), lists with -, ## for a sub-heading. "
                  "HTML is shown as typed, not run.")
    topic = forms.ModelChoiceField(label="Topic", queryset=Topic.objects.filter(is_active=True).order_by("name"),
                                   empty_label="Choose a topic", error_messages={"required": "Choose the topic of the item"})
    image_url = forms.URLField(label="Image address (optional)", required=False, assume_scheme="https",
                               help_text="An https:// address of an image already published on the web.",
                               error_messages={"invalid": "Enter the image address, starting with https://"})
    image_alt = forms.CharField(label="Image description (needed with an image)", max_length=200, required=False,
                                help_text="What the image shows, for people who cannot see it.")
    comments_enabled = forms.BooleanField(label="Readers can comment on this item", required=False)

    def clean(self):
        data = super().clean()
        if data.get("image_url") and not (data.get("image_alt") or "").strip():
            self.add_error("image_alt", "Describe the image for people who cannot see it")
        return data

    def content(self) -> ItemContent:
        data = self.cleaned_data
        return ItemContent(title=data["title"], body_markdown=data["body_markdown"], topic=data["topic"],
                           image_url=data["image_url"], image_alt=data["image_alt"],
                           comments_enabled=data["comments_enabled"])


class PreviewForm(NhsukForm):
    contact = forms.CharField(
        label="Preview as (optional)", required=False, max_length=254,
        help_text="The email address of someone who gets bulletins. Leave empty to see it with no topics matched.")

    def clean_contact(self):
        value = self.cleaned_data["contact"].strip()
        if not value:
            return None
        contact = find_contact(value)
        if contact is None:
            raise ValidationError("No contact has that email address")
        return contact


class StaffChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        name = user.get_full_name() or user.get_username()
        return f"{name} ({user.email})"


class TestSendForm(NhsukForm):
    recipients = StaffChoiceField(label="Send a test to", queryset=test_recipients(),
                                  widget=forms.CheckboxSelectMultiple,
                                  error_messages={"required": "Choose at least one member of staff"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipients"].queryset = test_recipients()


class ApproveForm(NhsukForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$")


def parse_time(value: str) -> time:
    """9:30am, 9.30am, 9am, 09:30, 21:30, 12pm (noon), 12am (midnight)."""
    match = _TIME.match((value or "").strip().lower().replace(" ", ""))
    if not match:
        raise ValidationError("Enter a time, for example 9:30am or 14:00")
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            raise ValidationError("Enter a time, for example 9:30am or 14:00")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ValidationError("Enter a real time, for example 9:30am or 14:00")
    return time(hour, minute)


class ScheduleForm(StaffForm):
    send_on = DateInputField(label="Date", past_only=False, help_text="For example, 2 12 2026")
    send_at = forms.CharField(label="Time (UK time)", max_length=10,
                              help_text="For example, 9:30am or 14:00", error_messages={"required": "Enter a time"})

    def clean_send_at(self):
        return parse_time(self.cleaned_data["send_at"])

    def local_datetime(self) -> datetime:
        return datetime.combine(self.cleaned_data["send_on"], self.cleaned_data["send_at"])


class ModerateForm(NhsukForm):
    decision = forms.ChoiceField(label="Decision", widget=forms.RadioSelect,
                                 choices=[("approve", "Publish it under the item"), ("reject", "Reject it")],
                                 error_messages={"required": "Choose whether to publish or reject the comment"})
    reply = forms.CharField(label="Reply (optional)", widget=forms.Textarea, required=False, max_length=MAX_REPLY,
                            help_text="Published under the comment, from the team.")


class CommentForm(NhsukForm):
    body = forms.CharField(
        label="Your comment", widget=forms.Textarea, max_length=MAX_COMMENT,
        help_text=f"Up to {MAX_COMMENT:,} characters. Do not include personal or medical details: comments are "
                  "published after we read them, without your name.",
        error_messages={"required": "Enter your comment",
                        "max_length": f"Your comment must be {MAX_COMMENT:,} characters or fewer"})
    # Honeypot: hidden from people (and from assistive technology); bots fill every field.
    website = forms.CharField(required=False, label="Leave this empty")
    item = forms.IntegerField(widget=forms.HiddenInput)

    def is_bot(self) -> bool:
        return bool(self.data.get("website"))
