"""Organisation configuration: topics are health subjects, not ways of taking part.

"Big Chat events" duplicated the ``events`` purpose (invitations to Big Chats and Mini Chats), so
people were asked twice and segments could mean either. New databases never get it
(crm/reference_data.py); existing ones stop offering it. People who chose it keep the link, so
their history is unchanged; the topic is only hidden from forms that offer active topics.
"""

from django.db import migrations


def retire_duplicate_topic(apps, schema_editor):
    apps.get_model("crm", "Topic").objects.filter(name="Big Chat events").update(is_active=False)


def offer_it_again(apps, schema_editor):
    apps.get_model("crm", "Topic").objects.filter(name="Big Chat events").update(is_active=True)


class Migration(migrations.Migration):
    dependencies = [("crm", "0007_staff_role_requests")]
    operations = [migrations.RunPython(retire_duplicate_topic, offer_it_again)]
