"""What migrating on start costs a service, against the create_all it replaced.

    python bench/migrations.py [--rounds 10] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Per service and dialect, interleaved round by round (the machine is shared): the old start
(create_all on an empty database, then on one that has the tables) against the new one
(Migrations.ensure on an empty database, then on one at head: the everyday start). Prints the
median milliseconds and the load average.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from shared.db import create_schema, make_engine  # noqa: E402
from shared.migrate import Migrations, models_metadata  # noqa: E402

SERVICES = ("generator", "archive", "search")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def databases(dialect: str, admin_url: str | None, scratch: Path):
    """A factory of empty databases (url, cleanup) for one dialect."""
    if dialect == "sqlite":
        return lambda: (f"sqlite:///{scratch / (uuid.uuid4().hex + '.sqlite3')}", lambda: None)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def make():
        name = f"zhifa_bench_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return admin_url.rsplit("/", 1)[0] + f"/{name}", drop
    return make


def round_once(service: str, new_database) -> dict[str, float]:
    figures = {}
    for label, start in (("create_all", lambda e: create_schema(e, models_metadata(service))),
                         ("migrations", lambda e: Migrations(service).ensure(e))):
        url, drop = new_database()
        engine = make_engine(url)
        try:
            figures[f"{label} empty"] = timed(lambda: start(engine))
            figures[f"{label} again"] = timed(lambda: start(engine))
        finally:
            engine.dispose()
            drop()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--postgres", help="an admin URL: also measure on PostgreSQL (a database per run)")
    args = parser.parse_args()
    dialects = ["sqlite"] + (["postgresql"] if args.postgres else [])
    with tempfile.TemporaryDirectory() as scratch:
        for dialect in dialects:
            new_database = databases(dialect, args.postgres, Path(scratch))
            for service in SERVICES:
                rows: dict[str, list[float]] = {}
                round_once(service, new_database)          # warm imports and caches
                for _ in range(args.rounds):
                    for key, ms in round_once(service, new_database).items():
                        rows.setdefault(key, []).append(ms)
                cells = "  ".join(f"{k}: {statistics.median(v):6.1f} ms" for k, v in rows.items())
                print(f"{dialect:10} {service:9} {cells}   load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
