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

# Deviation from startproject: with DEBUG off Django only mails (to nobody) the traceback of a
# 500; print it on stderr (the container log) so failures are visible. Costs nothing on 2xx.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}
