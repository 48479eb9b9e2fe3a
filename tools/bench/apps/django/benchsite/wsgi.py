import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
application = get_wsgi_application()

# Log the settings the app really runs with (read from a live connection), then close it so the
# first request starts like every other one.
from bench.views import measured_settings  # noqa: E402

import benchcommon  # noqa: E402

benchcommon.log_settings("django", measured_settings())
