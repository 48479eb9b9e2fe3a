"""The work both benchmark apps share, so that django and fastapi do exactly the same
computation and differ only in framework, server model and database access."""

import json
import os
import platform
import sqlite3
import sys
import threading

N_FILES = 32          # /io/file rotates over this many files, so /fs/list stays bounded
FILE_SIZE = 4096
SEED_ITEMS = 1000     # items 1..SEED_ITEMS exist in both databases from the start
PRAGMAS = ("journal_mode", "synchronous", "locking_mode", "busy_timeout", "foreign_keys",
           "journal_size_limit", "cache_size", "page_size", "mmap_size", "temp_store",
           "wal_autocheckpoint")
SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def data_dir():
    return os.environ["BENCH_DATA"]


def db_path():
    return os.path.join(data_dir(), "db.sqlite3")


def files_dir():
    return os.path.join(data_dir(), "files")


def file_path(n):
    return os.path.join(files_dir(), "f%02d.dat" % (n % N_FILES))


def file_payload(n):
    line = ("%010d payload line for the file write/read endpoint\n" % n).encode()
    return (line * (FILE_SIZE // len(line) + 1))[:FILE_SIZE]


def file_result(path, data, back):
    return {"name": os.path.basename(path), "bytes": len(back), "match": back == data}


def transform(doc):
    """The JSON endpoint's work: deserialize (done by the caller), reshape, serialize, parse back."""
    out = []
    for rec in doc.get("records", []):
        out.append({"id": rec.get("id"), "name": str(rec.get("name", "")).upper(),
                    "tags": sorted(rec.get("tags", [])), "score": sum(rec.get("values", [])),
                    "active": bool(rec.get("active"))})
    text = json.dumps({"request": doc.get("request"), "records": out}, sort_keys=True)
    back = json.loads(text)
    return {"request": back["request"], "count": len(back["records"]), "bytes": len(text),
            "records": back["records"]}


def dir_summary(entries):
    """entries: (name, os.stat_result) pairs of the files directory."""
    newest = max(entries, key=lambda entry: entry[1].st_mtime_ns, default=(None, None))[0]
    return {"files": len(entries), "bytes": sum(st.st_size for _, st in entries),
            "newest": newest}


def now_text():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).isoformat(sep=" ")


def pragma_facts(rows_by_pragma):
    """rows_by_pragma: {pragma: first column of `PRAGMA name`} read on a live connection."""
    facts = {}
    for name in PRAGMAS:
        value = rows_by_pragma.get(name)
        if name == "synchronous" and value in SYNCHRONOUS:
            value = "%d (%s)" % (value, SYNCHRONOUS[value])
        facts["sqlite_" + name] = value
    return facts


def process_facts():
    gun = json.loads(os.environ.get("BENCH_GUNICORN", "{}"))
    try:
        import httptools  # noqa: F401  (uvicorn's "auto" picks it when importable)
        http_auto = "httptools"
    except ImportError:
        http_auto = "h11"
    return {
        "python": platform.python_version(),
        "sqlite_library_version": sqlite3.sqlite_version,
        "server": "gunicorn " + str(gun.get("version", "?")),
        "gunicorn_workers": gun.get("workers"),
        "gunicorn_threads_setting": gun.get("threads"),
        "gunicorn_worker_class": gun.get("worker_class"),
        "gunicorn_keepalive_s": gun.get("keepalive"),
        "gunicorn_worker_connections": gun.get("worker_connections"),
        "gunicorn_timeout_s": gun.get("timeout"),
        "gunicorn_backlog": gun.get("backlog"),
        "process_threads": len(os.listdir("/proc/self/task")),
        "python_threads": sorted(t.name for t in threading.enumerate()),
        "uvicorn_http_auto_would_pick": http_auto,
        "host_check_allowed_hosts": os.environ.get("BENCH_ALLOWED_HOSTS") or None,
    }


def log_settings(app, facts):
    print("bench-settings %s %s" % (app, json.dumps(facts, sort_keys=True)), file=sys.stderr,
          flush=True)
