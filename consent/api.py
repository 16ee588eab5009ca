"""Public JSON API: sign-up, plus the topics and purposes a client needs to render its own form.

Sign-up answers 202 with the same body whether the address is new, pending or already known
(no address enumeration), is throttled per client address, and validates with the same form as
the web page so both give the same per-field messages.
"""

from django.core.exceptions import ValidationError
from ninja import Field, Router, Schema, Status

from consent import services
from consent.forms import SignUpForm
from consent.models import ConsentEvent, Purpose
from consent.ratelimits import PublicClientThrottle
from consent.selectors import current_statements
from crm.api_schemas import NO_CONTROLS, VALIDATION_DETAIL, UnicodeText, error_responses, form_errors
from crm.audit import Actor, client_ip
from crm.models import Topic
from crm.services import DuplicateContact

router = Router(tags=["public"])

SIGN_UP_ACCEPTED = (
    "Thank you. If this address can be signed up, we have sent it an email. Follow the link in that "
    "email to confirm or manage your choices."
)


# Offered at sign-up; the equality purposes are asked separately, on the "about you" step.
SIGN_UP_PURPOSES = [code for code in Purpose.Code.values
                    if code not in (Purpose.Code.EQUALITY_MONITORING, Purpose.Code.EQUALITY_TARGETING)]


def _documented(**json_schema) -> dict:
    """What the form checks, stated in the OpenAPI schema only: the form itself validates, so that
    the API and the web page give the same message per field."""
    return {"json_schema_extra": json_schema}


class SignUpIn(Schema):
    # Defaults let the form report a missing field with its own message, like the web page does;
    # the form also refuses line breaks and control characters, naming the field.
    email: UnicodeText = Field("", **_documented(format="email", minLength=3, maxLength=254, pattern=NO_CONTROLS))
    name: UnicodeText = Field("", **_documented(minLength=1, maxLength=200, pattern=NO_CONTROLS))
    postcode: UnicodeText | None = Field("", description="A UK postcode, like L20 3NJ; may be left out",
                                         **_documented(maxLength=10))
    topics: list[UnicodeText] = Field([], max_length=100, description="Topic slugs from GET /topics")
    purposes: list[UnicodeText] = Field(
        [], max_length=20, description="Purpose codes from GET /purposes: at least one",
        **_documented(minItems=1, items={"type": "string", "enum": SIGN_UP_PURPOSES}))

    model_config = {"json_schema_extra": {"required": ["email", "name", "purposes"], "examples": [{
        "email": "sam.jones@example.org", "name": "Sam Jones", "postcode": "L20 3NJ",
        "topics": ["respiratory"], "purposes": ["bulletin"]}]}}


class MessageOut(Schema):
    detail: str


class TopicOut(Schema):
    slug: str
    name: str
    description: str


class StatementOut(Schema):
    version: int
    text: str


class PurposeOut(Schema):
    code: str
    name: str
    description: str
    lawful_basis: str
    statement: StatementOut


@router.post(
    "/signup",
    response={202: MessageOut, **error_responses(400, 422, 429)},
    throttle=[PublicClientThrottle()],  # the one public budget, shared with the web forms
    summary="Sign up for My NHS",
    description=(
        "Starts a double opt-in sign-up: the person is emailed a confirmation link and nothing else is sent "
        "until they follow it. Answers 202 with the same body whether or not the address is already known. "
        "`topics` are topic slugs and `purposes` purpose codes from `GET /topics` and `GET /purposes`; at "
        "least one purpose is required. Invalid input answers 422 with a message per field. Limited per "
        "client address (429 when exceeded)."
    ),
)
def sign_up(request, payload: SignUpIn):
    data = payload.dict()
    data["postcode"] = data["postcode"] or ""
    form = SignUpForm(data=data)
    if form.is_valid():
        cleaned = form.cleaned_data
        try:
            services.sign_up(
                email=cleaned["email"], name=cleaned["name"], postcode=cleaned["postcode"],
                purposes=cleaned["purposes"], topic_ids=[t.pk for t in cleaned["topics"]],
                method=ConsentEvent.Method.API, actor=Actor.public(client_ip(request)),
            )
        except DuplicateContact:
            # A simultaneous sign-up created this address first: answer exactly as for any other.
            return Status(202, {"detail": SIGN_UP_ACCEPTED})
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            return Status(202, {"detail": SIGN_UP_ACCEPTED})
    return Status(422, {"detail": VALIDATION_DETAIL, "errors": form_errors(form)})


@router.get("/topics", response=list[TopicOut], summary="Topics a person can choose")
def topics(request):
    return Topic.objects.filter(is_active=True).order_by("name")


@router.get(
    "/purposes",
    response=list[PurposeOut],
    summary="Purposes offered at sign-up, with their current wording",
    description="Show each purpose's statement text beside its checkbox, unticked; the version is recorded.",
)
def purposes(request):
    return [
        {
            "code": s.purpose.code,
            "name": s.purpose.name,
            "description": s.purpose.description,
            "lawful_basis": s.purpose.lawful_basis,
            "statement": {"version": s.version, "text": s.text},
        }
        for s in current_statements(equality=False)
    ]

