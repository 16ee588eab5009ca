"""Forms for staff sign-in, accounts, tokens and the audit log filter.

Widgets are written out in the templates with NHS.UK markup; these forms only validate.
"""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator

from crm.roles import ALL_ROLES

ROLE_CHOICES = [(role, role) for role in ALL_ROLES]
ROLE_HINTS = {
    "Communications": "Bulletins and comment moderation",
    "Engagement": "Contacts, segments, imports, exports and events",
    "Data protection": "Consent wording, subject access, erasure, audit log and equality data",
    "Administrator": "Staff accounts and roles",
}


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150, error_messages={"required": "Enter your username"})
    password = forms.CharField(strip=False, error_messages={"required": "Enter your password"})


class CodeForm(forms.Form):
    code = forms.CharField(max_length=32, error_messages={"required": "Enter the code"})


class StaffAccountForm(forms.Form):
    PASSWORD_GENERATE = "generate"
    PASSWORD_SET = "set"

    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()],
                               error_messages={"required": "Enter a username"})
    first_name = forms.CharField(max_length=150, error_messages={"required": "Enter a first name"})
    last_name = forms.CharField(max_length=150, error_messages={"required": "Enter a last name"})
    email = forms.EmailField(error_messages={"required": "Enter a work email address",
                                             "invalid": "Enter an email address in the correct format"})
    roles = forms.MultipleChoiceField(choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple,
                                      error_messages={"required": "Select at least one role"})
    password_choice = forms.ChoiceField(
        choices=[(PASSWORD_GENERATE, "Generate a temporary password"), (PASSWORD_SET, "Set a password now")],
        initial=PASSWORD_GENERATE, widget=forms.RadioSelect, error_messages={"required": "Choose how to set the password"},
    )
    password1 = forms.CharField(required=False, strip=False)
    password2 = forms.CharField(required=False, strip=False)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A staff account with this username already exists")
        return username

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password_choice") != self.PASSWORD_SET:
            cleaned["password1"] = ""
            return cleaned
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if not first:
            self.add_error("password1", "Enter a password")
        elif first != second:
            self.add_error("password2", "The passwords do not match")
        else:
            candidate = User(username=cleaned.get("username", ""), email=cleaned.get("email", ""),
                             first_name=cleaned.get("first_name", ""), last_name=cleaned.get("last_name", ""))
            try:
                password_validation.validate_password(first, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, error_messages={"required": "Enter a name for the token",
                                                           "max_length": "Name must be 100 characters or fewer"})


class AuditFilterForm(forms.Form):
    action = forms.CharField(max_length=80, required=False)
    object_type = forms.CharField(max_length=80, required=False)
    object_id = forms.CharField(max_length=64, required=False)
    actor = forms.CharField(max_length=150, required=False)
