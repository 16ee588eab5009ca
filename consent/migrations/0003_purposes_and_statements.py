from django.db import migrations
from django.utils import timezone

PURPOSES = [
    ("bulletin", "E-bulletin", "consent", False, 1,
     "Email me the My NHS e-bulletin about the topics I choose. I can unsubscribe at any time with one click."),
    ("events", "Big Chat and Mini Chat invitations", "consent", False, 2,
     "Invite me by email to Big Chat and Mini Chat events near me, where the public help shape local NHS services."),
    ("involvement", "Surveys, consultations and panels", "consent", False, 3,
     "Ask me to take part in surveys, consultations and patient panels about local health services."),
    ("equality_monitoring", "Equality monitoring (anonymous statistics)", "explicit_consent", True, 4,
     "Use my answers about me, without my name, to check whether the people we hear from reflect our "
     "communities. My answers are never shared and I can remove them at any time."),
    ("equality_targeting", "Invitations because of a protected characteristic", "explicit_consent", True, 5,
     "Use my answers about me to invite me to events and conversations for people who share a characteristic "
     "with me (for example, a group for carers or for a particular community)."),
]


def load(apps, schema_editor):
    Purpose = apps.get_model("consent", "Purpose")
    ConsentStatement = apps.get_model("consent", "ConsentStatement")
    for code, name, basis, is_equality, order, text in PURPOSES:
        purpose, _ = Purpose.objects.get_or_create(
            code=code,
            defaults={"name": name, "lawful_basis": basis, "is_equality": is_equality, "display_order": order},
        )
        ConsentStatement.objects.get_or_create(
            purpose=purpose, version=1, defaults={"text": text, "published_at": timezone.now()}
        )


class Migration(migrations.Migration):
    dependencies = [("consent", "0002_ledger_triggers")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
