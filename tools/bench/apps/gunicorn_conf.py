"""Gunicorn hook shared by both apps: hands the worker's effective settings to the app, so that
its /config endpoint reports what gunicorn really runs with instead of what we think we asked."""

import json
import os

import gunicorn


def post_worker_init(worker):
    cfg = worker.cfg
    os.environ["BENCH_GUNICORN"] = settings = json.dumps({
        "version": gunicorn.__version__, "workers": cfg.workers, "threads": cfg.threads,
        "worker_class": cfg.worker_class_str, "keepalive": cfg.keepalive,
        "worker_connections": cfg.worker_connections, "timeout": cfg.timeout,
        "backlog": cfg.backlog,
    })
    worker.log.info("bench-gunicorn %s", settings)
