"""Forms for the engagement activity pages: they check the shape of what was typed; the services in
``segments.activities`` and ``segments.activity_evidence`` decide the rest (and the edit policy)."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q

from consent.staff.forms import DateInputField, StaffForm
from crm.models import Locality, Topic
from crm.validators import ControlCharacterValidator
from segments.activities import CHANGE_ANY
from segments.activity_evidence import MAX_HEADCOUNT, equality_categories, equality_labels
from segments.models import EXPECTED_AFFECTED_GROUPS, Activity, Event, Programme


def staff_who_see_activities():
    """Active staff who may see activities (possible leads and followers), by name."""
    permission = Permission.objects.filter(content_type__app_label="segments", codename="view_activity")
    return (get_user_model().objects.filter(is_active=True)
            .filter(Q(groups__permissions__in=permission) | Q(user_permissions__in=permission) | Q(is_superuser=True))
            .distinct().order_by("first_name", "last_name", "username"))


def staff_name(user) -> str:
    return user.get_full_name() or user.get_username()


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return staff_name(obj)


class StaffMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return staff_name(obj)


class ActivityForm(StaffForm):
    title = forms.CharField(label="Title", max_length=200, validators=[ControlCharacterValidator("Title")],
                            error_messages={"required": "Give the activity a title"})
    summary = forms.CharField(label="Summary (optional)", required=False, widget=forms.Textarea,
                              help_text="What the activity is about, in a few sentences.")
    programme = forms.ModelChoiceField(label="Programme", queryset=Programme.objects.none(),
                                       empty_label="Choose a programme",
                                       error_messages={"required": "Choose the programme the activity belongs to"})
    kind = forms.ChoiceField(label="Kind of activity", choices=[("", "Choose a kind"), *Activity.Kind.choices],
                             error_messages={"required": "Choose the kind of activity"})
    legal_basis = forms.ChoiceField(label="Legal basis", choices=Activity.LegalBasis.choices,
                                    widget=forms.RadioSelect, initial=Activity.LegalBasis.DUTY_TO_INVOLVE,
                                    error_messages={"required": "Choose the legal basis"})
    lead = StaffChoiceField(label="Lead", queryset=get_user_model().objects.none(), empty_label="Choose the lead",
                            help_text="The lead and the engagement team can change the activity.",
                            error_messages={"required": "Choose who leads the activity"})
    followers = StaffMultipleChoiceField(label="Followers (optional)", queryset=get_user_model().objects.none(),
                                         required=False, widget=forms.CheckboxSelectMultiple,
                                         help_text="The lead and followers are emailed when the activity is created "
                                                   "or its status changes.")
    topics = forms.ModelMultipleChoiceField(label="Topics (optional)", queryset=Topic.objects.order_by("name"),
                                            required=False, widget=forms.CheckboxSelectMultiple)
    localities = forms.ModelMultipleChoiceField(label="Localities (optional)",
                                                queryset=Locality.objects.order_by("name"), required=False,
                                                widget=forms.CheckboxSelectMultiple)
    starts_on = DateInputField(label="Starts on (optional)", past_only=False, required=False,
                               help_text="For example, 3 3 2027")
    ends_on = DateInputField(label="Ends on (optional)", past_only=False, required=False,
                             help_text="For example, 28 4 2027")
    equality_analysis_done = forms.BooleanField(label="An equality analysis was done", required=False)
    equality_analysis_on = DateInputField(label="Date of the equality analysis (if done)", past_only=True,
                                          required=False, help_text="For example, 14 1 2027")
    equality_analysis_reference = forms.CharField(
        label="Where the equality analysis is kept (optional)", max_length=200, required=False,
        validators=[ControlCharacterValidator("Where the equality analysis is kept")],
        help_text="For example, 'EqIA 2027/03 on the governance drive'.")
    groups_expected_affected = forms.MultipleChoiceField(
        label="Groups expected to be affected (optional)", choices=EXPECTED_AFFECTED_GROUPS, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The protected characteristics (Equality Act 2010), and carers, the change may affect.")
    themes_heard = forms.CharField(label="Themes heard (optional)", required=False, widget=forms.Textarea,
                                   help_text="What people told you, in a few lines per theme.")
    you_said = forms.CharField(label="You said (optional)", required=False, widget=forms.Textarea,
                               help_text="The feedback people gave, as you will report it back to them.")
    we_did = forms.CharField(label="We did (optional)", required=False, widget=forms.Textarea,
                             help_text="What changed because of it.")
    feedback_published_on = DateInputField(label="Feedback published on (optional)", past_only=True,
                                           required=False, help_text="The date 'you said, we did' was published.")

    M2M = ("topics", "localities", "followers")

    def __init__(self, *args, user, activity: Activity | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        programmes = Q(is_active=True)
        if activity is not None:
            programmes |= Q(pk=activity.programme_id)
        self.fields["programme"].queryset = Programme.objects.filter(programmes).order_by("name")
        staff = staff_who_see_activities()
        self.fields["lead"].queryset = staff
        self.fields["followers"].queryset = staff
        # Only the engagement team hands an activity to another lead; a lead keeps their own.
        self.can_choose_lead = user.has_perm(CHANGE_ANY)
        if not self.can_choose_lead:
            del self.fields["lead"]

    @classmethod
    def initial_for(cls, activity: Activity) -> dict:
        initial = {name: getattr(activity, name) for name in (
            "title", "summary", "programme", "kind", "legal_basis", "lead", "starts_on", "ends_on",
            "equality_analysis_done", "equality_analysis_on", "equality_analysis_reference",
            "groups_expected_affected", "themes_heard", "you_said", "we_did", "feedback_published_on")}
        initial.update({name: list(getattr(activity, name).all()) for name in cls.M2M})
        return initial

    def service_values(self) -> tuple[dict, dict]:
        """(plain values, many-to-many lists) for create_activity / update_activity."""
        data = dict(self.cleaned_data)
        many = {name: list(data.pop(name)) for name in self.M2M}
        return data, many


class StatusForm(StaffForm):
    status = forms.ChoiceField(label="New status", choices=Activity.Status.choices,
                               error_messages={"required": "Choose the new status"})


class HeadcountForm(StaffForm):
    label = forms.CharField(label="Where or how they took part", max_length=200,
                            validators=[ControlCharacterValidator("Where or how they took part")],
                            help_text="For example, 'Drop-in at the shopping centre' or 'Paper survey returns'.",
                            error_messages={"required": "Say where or how these people took part"})
    count = forms.IntegerField(label="How many people", min_value=1, max_value=MAX_HEADCOUNT,
                               error_messages={"required": "Enter how many people took part",
                                               "invalid": "Enter how many people took part as a whole number",
                                               "min_value": "Enter 1 or more people"})
    locality = forms.ModelChoiceField(label="Locality (optional)", queryset=Locality.objects.order_by("name"),
                                      required=False, empty_label="Not in one locality")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Optional counts of the equality answers they gave, one number box per category.
        self.equality_groups = []
        labels = equality_labels()
        for characteristic, categories in equality_categories().items():
            names = []
            for code, category in categories.items():
                if not code:
                    continue
                name = f"eq__{characteristic}__{code}"
                self.fields[name] = forms.IntegerField(
                    label=category, required=False, min_value=0, max_value=MAX_HEADCOUNT,
                    error_messages={"invalid": "Enter a whole number", "min_value": "Enter 0 or more"})
                names.append(name)
            self.equality_groups.append({"key": characteristic, "label": labels[characteristic], "names": names})

    def breakdown(self) -> dict:
        result: dict[str, dict[str, int]] = {}
        for name, value in self.cleaned_data.items():
            if name.startswith("eq__") and value:
                _prefix, characteristic, code = name.split("__", 2)
                result.setdefault(characteristic, {})[code] = value
        return result

    def equality_rows(self):
        """For the template: each characteristic with its bound number boxes."""
        return [{"key": group["key"], "label": group["label"], "fields": [self[name] for name in group["names"]],
                 "has_value": any(self[name].value() not in (None, "") for name in group["names"]),
                 "has_error": any(self[name].errors for name in group["names"])}
                for group in self.equality_groups]


class ParticipantForm(StaffForm):
    email = forms.CharField(label="Their email address", max_length=254,
                            help_text="The person must already be a contact (for example from a survey sign-up).",
                            error_messages={"required": "Enter the email address of the person who took part"})


class EventLinksForm(StaffForm):
    events = forms.ModelMultipleChoiceField(label="Events that were part of this activity",
                                            queryset=Event.objects.none(), required=False,
                                            widget=forms.CheckboxSelectMultiple,
                                            help_text="People who came to these events count as participants.")

    def __init__(self, *args, activity: Activity, **kwargs):
        from segments.forms import event_label  # noqa: PLC0415

        super().__init__(*args, **kwargs)
        recent = Event.objects.order_by("-starts_at").values_list("pk", flat=True)[:200]
        self.fields["events"].queryset = Event.objects.filter(
            Q(pk__in=list(recent)) | Q(activities=activity)).distinct().order_by("-starts_at")
        self.fields["events"].label_from_instance = event_label


class ActivityFilterForm(StaffForm):
    """The activity list's filters (a GET form): every field optional."""

    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any status"), *Activity.Status.choices])
    programme = forms.ModelChoiceField(label="Programme", required=False, queryset=Programme.objects.order_by("name"),
                                       empty_label="Any programme")
    locality = forms.ModelChoiceField(label="Locality", required=False, queryset=Locality.objects.order_by("name"),
                                      empty_label="Any locality")
    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Any kind"), *Activity.Kind.choices])

    def filters(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}
