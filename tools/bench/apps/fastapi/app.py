"""The benchmark endpoints, written the way an async FastAPI app writes them: async handlers,
aiofiles for files, one shared async SQLite connection (see db.py)."""

import asyncio
import os
import sys

import aiofiles
import aiofiles.os
import aiosqlite
import fastapi
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchcommon  # noqa: E402
from db import SqliteClient  # noqa: E402

app = FastAPI()
db = SqliteClient(benchcommon.db_path())

if os.environ.get("BENCH_ALLOWED_HOSTS"):
    # Only for BROKEN=fastapi: FastAPI checks no Host header by default.
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    app.add_middleware(TrustedHostMiddleware,
                       allowed_hosts=os.environ["BENCH_ALLOWED_HOSTS"].split(","))


class ItemIn(BaseModel):
    name: str
    value: float


class PurchaseIn(BaseModel):
    item_id: int
    qty: int = 1


@app.on_event("startup")
async def startup():
    await db.connect()
    benchcommon.log_settings("fastapi", await measured_settings())


@app.on_event("shutdown")
async def shutdown():
    await db.close()


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/io/file")
async def io_file(n: int = 0):
    path, data = benchcommon.file_path(n), benchcommon.file_payload(n)
    async with aiofiles.open(path, "wb") as f:
        await f.write(data)
    async with aiofiles.open(path, "rb") as f:
        back = await f.read()
    return benchcommon.file_result(path, data, back)


@app.get("/db/select")
async def db_select(id: int = 1):
    rows = await db.fetch('SELECT "id","name","value","stock","created_at" FROM "item" '
                          'WHERE "id"=? LIMIT 2', (id,))
    if not rows:
        raise HTTPException(status_code=404, detail="no such item")
    following = await db.fetch('SELECT "id","name","value" FROM "item" WHERE "id">? '
                               'ORDER BY "id" LIMIT 10', (id,))
    return {"item": rows[0], "next": following}


@app.post("/db/insert", status_code=201)
async def db_insert(item: ItemIn):
    new_id = await db.insert('INSERT INTO "item" ("name","value","stock","created_at") '
                             "VALUES (?,?,?,?)",
                             (item.name, item.value, 1000000, benchcommon.now_text()))
    return {"id": new_id}


@app.post("/db/transaction")
async def db_transaction(body: PurchaseIn):
    async with db.transaction() as tx:
        rows = await tx.fetch('SELECT "id","stock" FROM "item" WHERE "id"=? LIMIT 2',
                              (body.item_id,))
        if not rows:
            raise HTTPException(status_code=404, detail="no such item")
        await tx.execute('UPDATE "item" SET "stock"="stock"-? WHERE "id"=?',
                         (body.qty, body.item_id))
        purchase = await tx.insert('INSERT INTO "purchase" ("item_id","qty","created_at") '
                                   "VALUES (?,?,?)",
                                   (body.item_id, body.qty, benchcommon.now_text()))
        detail = '{"item": %d, "qty": %d, "purchase": %d}' % (body.item_id, body.qty, purchase)
        await tx.insert('INSERT INTO "auditlog" ("action","detail","created_at") VALUES (?,?,?)',
                        ("purchase", detail, benchcommon.now_text()))
        count = await tx.fetch('SELECT COUNT(*) AS "n" FROM "purchase" WHERE "item_id"=?',
                               (body.item_id,))
    return {"purchase": purchase, "item": body.item_id, "stock": rows[0]["stock"] - body.qty,
            "purchases": count[0]["n"]}


@app.post("/json")
async def json_endpoint(request: Request):
    return benchcommon.transform(await request.json())


@app.get("/fs/list")
async def fs_list():
    folder = benchcommon.files_dir()
    entries = []
    for name in await aiofiles.os.listdir(folder):
        entries.append((name, await aiofiles.os.stat(os.path.join(folder, name))))
    return benchcommon.dir_summary(entries)


async def measured_settings():
    """Settings read from the running process and the live database connection."""
    loop = asyncio.get_running_loop()
    executor = getattr(loop, "_default_executor", None)
    executor_threads = (executor._max_workers if executor is not None
                        else min(32, (os.cpu_count() or 1) + 4))
    facts = benchcommon.process_facts()
    facts.update(benchcommon.pragma_facts(await db.pragmas()))
    facts.update({
        "app": "fastapi",
        "framework": "FastAPI " + fastapi.__version__,
        "orm": "Tortoise-equivalent client on aiosqlite (tools/bench/apps/fastapi/db.py)",
        "db_driver": "aiosqlite " + getattr(aiosqlite, "__version__", "?"),
        "concurrency": "one asyncio event loop thread; SQLite on aiosqlite's one thread; "
                       "aiofiles on the loop's default executor (%d threads max); "
                       "gunicorn --threads ignored by this worker class" % executor_threads,
        "event_loop": "%s.%s" % (type(loop).__module__, type(loop).__name__),
        "http_parser": "uvicorn " + facts["uvicorn_http_auto_would_pick"],
        "db_connection": "one connection per process, opened at startup, kept for its life",
        "db_conn_max_age": "process lifetime",
        "db_connections_opened": db.connections_opened,
        "db_statement_lock": "asyncio.Lock around every statement; held BEGIN..COMMIT "
                             "(Tortoise): one statement at a time per process",
        "db_isolation_level": repr(db.isolation_level),
        "db_autocommit": db.isolation_level is None,
        "db_transaction_begin": "BEGIN (deferred), after a COMMIT, lock held (Tortoise)",
        "db_atomic_requests": False,
        "file_io": "aiofiles: each open/write/read/close on the default thread-pool executor",
        "dir_listing": "aiofiles.os.listdir + aiofiles.os.stat per entry (executor)",
        "executor_max_threads": executor_threads,
        "debug": app.debug,
    })
    return facts


@app.get("/config")
async def config():
    return await measured_settings()
