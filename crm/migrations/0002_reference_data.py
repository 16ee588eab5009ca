from django.db import migrations
from django.utils.text import slugify

from crm.reference_data import LOCALITY_DISTRICTS, TOPICS


def load(apps, schema_editor):
    Locality = apps.get_model("crm", "Locality")
    PostcodeDistrict = apps.get_model("crm", "PostcodeDistrict")
    Topic = apps.get_model("crm", "Topic")
    for name, districts in LOCALITY_DISTRICTS.items():
        locality, _ = Locality.objects.get_or_create(name=name, defaults={"slug": slugify(name)})
        for code in districts:
            PostcodeDistrict.objects.get_or_create(code=code, defaults={"locality": locality})
    for name in TOPICS:
        Topic.objects.get_or_create(name=name, defaults={"slug": slugify(name)})


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
