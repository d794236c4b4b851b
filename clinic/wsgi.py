import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
application = get_wsgi_application()

from clinic.startup import refuse_to_start_if_misconfigured  # noqa: E402  (needs the apps loaded above)

refuse_to_start_if_misconfigured()
