"""The benchmark endpoints, written the way a Django app writes them: blocking I/O in the
request's thread, the Django ORM on its default per-request connection."""

import itertools
import json
import os

import django
from django.conf import settings
from django.db import connection, transaction
from django.db.backends.signals import connection_created
from django.db.models import F
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

import benchcommon
from bench.models import AuditLog, Item, Purchase

_opened = itertools.count(1)
_connections_opened = [0]


def _count_connection(sender, **kwargs):
    _connections_opened[0] = next(_opened)


connection_created.connect(_count_connection)


def _item(item):
    return {"id": item.id, "name": item.name, "value": item.value, "stock": item.stock,
            "created_at": item.created_at.isoformat()}


@require_GET
def health(request):
    return JsonResponse({"status": "ok"})


@require_GET
def io_file(request):
    n = int(request.GET.get("n", 0))
    path, data = benchcommon.file_path(n), benchcommon.file_payload(n)
    with open(path, "wb") as f:
        f.write(data)
    with open(path, "rb") as f:
        back = f.read()
    return JsonResponse(benchcommon.file_result(path, data, back))


@require_GET
def db_select(request):
    item_id = int(request.GET.get("id", 1))
    item = Item.objects.get(pk=item_id)
    following = list(Item.objects.filter(id__gt=item_id).order_by("id")
                     .values("id", "name", "value")[:10])
    return JsonResponse({"item": _item(item), "next": following})


@csrf_exempt
@require_POST
def db_insert(request):
    body = json.loads(request.body)
    item = Item.objects.create(name=body["name"], value=float(body["value"]), stock=1000000)
    return JsonResponse({"id": item.id}, status=201)


@csrf_exempt
@require_POST
def db_transaction(request):
    body = json.loads(request.body)
    item_id, qty = int(body["item_id"]), int(body.get("qty", 1))
    with transaction.atomic():
        item = Item.objects.get(pk=item_id)
        Item.objects.filter(pk=item_id).update(stock=F("stock") - qty)
        purchase = Purchase.objects.create(item_id=item_id, qty=qty)
        AuditLog.objects.create(action="purchase", detail=json.dumps(
            {"item": item_id, "qty": qty, "purchase": purchase.id}))
        count = Purchase.objects.filter(item_id=item_id).count()
    return JsonResponse({"purchase": purchase.id, "item": item_id, "stock": item.stock - qty,
                         "purchases": count})


@csrf_exempt
@require_POST
def json_endpoint(request):
    return JsonResponse(benchcommon.transform(json.loads(request.body)))


@require_GET
def fs_list(request):
    folder = benchcommon.files_dir()
    entries = [(entry.name, entry.stat()) for entry in os.scandir(folder)]
    return JsonResponse(benchcommon.dir_summary(entries))


def measured_settings():
    """Settings read from the running process and a live database connection."""
    with connection.cursor() as cursor:
        pragmas = {}
        for name in benchcommon.PRAGMAS:
            cursor.execute("PRAGMA %s" % name)
            pragmas[name] = cursor.fetchone()[0]
        isolation = connection.connection.isolation_level
    db = settings.DATABASES["default"]
    facts = benchcommon.process_facts()
    facts.update(benchcommon.pragma_facts(pragmas))
    facts.update({
        "app": "django",
        "framework": "Django " + django.get_version(),
        "orm": "Django ORM",
        "db_driver": "sqlite3 (stdlib) via django.db.backends.sqlite3",
        "concurrency": "gthread: %s OS threads per worker, each request runs blocking in one"
                       % facts["gunicorn_threads_setting"],
        "event_loop": None,
        "http_parser": "gunicorn (pure Python)",
        "db_connection": "per request: opened at the first query, closed at request end "
                         "(CONN_MAX_AGE=%s)" % db["CONN_MAX_AGE"],
        "db_conn_max_age": db["CONN_MAX_AGE"],
        "db_connections_opened": _connections_opened[0],
        "db_statement_lock": "none in the app (each thread its own connection; SQLite's file "
                             "locks and busy timeout arbitrate)",
        "db_isolation_level": repr(isolation),
        "db_autocommit": connection.get_autocommit(),
        "db_transaction_begin": "BEGIN (deferred), from transaction.atomic()",
        "db_atomic_requests": db["ATOMIC_REQUESTS"],
        "file_io": "blocking open/write/read in the request thread",
        "dir_listing": "os.scandir + DirEntry.stat in the request thread",
        "host_check_allowed_hosts": ",".join(settings.ALLOWED_HOSTS),
        "debug": settings.DEBUG,
    })
    return facts


@require_GET
def config(request):
    return JsonResponse(measured_settings())
