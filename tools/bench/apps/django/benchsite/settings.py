"""Django settings for the benchmark: `django-admin startproject` defaults (Django 3.2) except
where noted. Every database setting is left at Django's default on purpose (CONN_MAX_AGE=0,
no OPTIONS, no ATOMIC_REQUESTS): those defaults are what the seed benchmark measured."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))  # benchcommon

SECRET_KEY = "iogap-bench-not-a-secret"
DEBUG = False  # deviation from startproject: a benchmark does not run with DEBUG on
ALLOWED_HOSTS = os.environ.get("BENCH_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [  # startproject's, less admin and staticfiles (no pages served)
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "bench",
]

MIDDLEWARE = [  # startproject's, unchanged
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "benchsite.urls"
WSGI_APPLICATION = "benchsite.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(os.environ["BENCH_DATA"], "db.sqlite3"),
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_L10N = True
USE_TZ = True

# Two deviations from startproject, both in logging only:
# - 500 tracebacks also go to stderr (the container log); by default, with DEBUG off, Django only
#   hands them to its mail_admins handler, which still runs (and, before Django 5.1, renders the
#   whole traceback report even with no ADMINS: ticket #35364; the report's 4.2.7 did too).
# - Rejected Host headers (DisallowedHost) are silenced, as Django's logging docs suggest; left
#   on, each rejection costs ~9 ms of CPU in that report rendering. Only BROKEN=django sends them.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"},
                 "null": {"class": "logging.NullHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR"},
        "django.security.DisallowedHost": {"handlers": ["null"], "propagate": False},
    },
}
