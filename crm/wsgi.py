import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
application = get_wsgi_application()

# A production server refuses to start while the demo staff accounts can sign in.
from crm.startup import refuse_unsafe_start  # noqa: E402 (needs the apps loaded above)

refuse_unsafe_start()
