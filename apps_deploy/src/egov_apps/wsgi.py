"""The WSGI callable gunicorn serves (see ENTRYPOINTS)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "egov_apps.settings")
application = get_wsgi_application()
