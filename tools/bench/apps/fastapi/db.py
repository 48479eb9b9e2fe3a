"""The SQLite access of the seed benchmark's FastAPI app. The report used Tortoise ORM, which
Debian does not package; this client does what Tortoise's SQLite backend does
(tortoise/backends/sqlite/client.py), on the same driver, aiosqlite:
- one aiosqlite connection per process (one background thread runs every statement),
  opened with isolation_level=None (autocommit);
- at connect: PRAGMA journal_mode=WAL, journal_size_limit=16384, foreign_keys=ON;
- an asyncio.Lock around every statement; a transaction holds it from BEGIN to COMMIT.
Run as `BENCH_DATA=DIR python3 db.py init` to create and seed a fresh database."""

import asyncio
import contextlib
import os
import sqlite3
import sys

import aiosqlite

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchcommon  # noqa: E402

PRAGMAS = {"journal_mode": "WAL", "journal_size_limit": 16384, "foreign_keys": "ON"}

# The schema Tortoise's generate_schemas would emit for the same models, plus the foreign-key
# index Django creates, so both databases answer the same queries with the same plans.
SCHEMA = """
CREATE TABLE IF NOT EXISTS "item" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "name" VARCHAR(100) NOT NULL, "value" REAL NOT NULL, "stock" INT NOT NULL,
  "created_at" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS "purchase" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "qty" INT NOT NULL, "created_at" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "item_id" INT NOT NULL REFERENCES "item" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "idx_purchase_item_id" ON "purchase" ("item_id");
CREATE TABLE IF NOT EXISTS "auditlog" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "action" VARCHAR(50) NOT NULL, "detail" TEXT NOT NULL,
  "created_at" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
"""


class Transaction:
    """Statements inside SqliteClient.transaction(): the lock is already held."""

    def __init__(self, conn):
        self._conn = conn

    async def fetch(self, sql, params=()):
        return [dict(row) for row in await self._conn.execute_fetchall(sql, params)]

    async def insert(self, sql, params=()):
        return (await self._conn.execute_insert(sql, params))[0]

    async def execute(self, sql, params=()):
        cursor = await self._conn.execute(sql, params)
        await cursor.close()


class SqliteClient:
    def __init__(self, path):
        self.path = path
        self.connections_opened = 0
        self._conn = None
        self._lock = asyncio.Lock()

    async def connect(self):
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self.connections_opened += 1
        for pragma, value in PRAGMAS.items():
            cursor = await self._conn.execute("PRAGMA %s=%s" % (pragma, value))
            await cursor.close()

    async def close(self):
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def fetch(self, sql, params=()):
        async with self._lock:
            return await Transaction(self._conn).fetch(sql, params)

    async def insert(self, sql, params=()):
        async with self._lock:
            return await Transaction(self._conn).insert(sql, params)

    @contextlib.asynccontextmanager
    async def transaction(self):
        async with self._lock:
            await self._conn.commit()
            await self._conn.execute("BEGIN")
            try:
                yield Transaction(self._conn)
            except BaseException:
                await self._conn.rollback()
                raise
            await self._conn.commit()

    async def pragmas(self):
        values = {}
        for name in benchcommon.PRAGMAS:
            rows = await self.fetch("PRAGMA %s" % name)
            values[name] = next(iter(rows[0].values())) if rows else None
        return values

    @property
    def isolation_level(self):
        return self._conn.isolation_level


async def init_database():
    os.makedirs(benchcommon.files_dir(), exist_ok=True)
    client = SqliteClient(benchcommon.db_path())
    await client.connect()
    try:
        await client._conn.executescript(SCHEMA)
        async with client.transaction() as tx:
            for i in range(1, benchcommon.SEED_ITEMS + 1):
                await tx.execute('INSERT INTO "item" ("id","name","value","stock","created_at") '
                                 "VALUES (?,?,?,?,?)",
                                 (i, "item-%d" % i, i * 1.5, 1000000, benchcommon.now_text()))
        rows = await client.fetch('SELECT COUNT(*) AS n FROM "item"')
        print("seeded %d items" % rows[0]["n"])
    finally:
        await client.close()


if __name__ == "__main__":
    if sys.argv[1:] != ["init"]:
        sys.exit("usage: BENCH_DATA=DIR python3 db.py init")
    asyncio.run(init_database())
