"""`zhifa` command line: serve one service, run a worker, or run everything.

A failure a user can fix (a missing directory, a service not in this build,
a broken template, a port in use) ends as one line on stderr and exit code
2; ZHIFA_LOG_LEVEL=DEBUG adds the traceback.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from shared import config, logs
from shared.blobstore import FSCK_GRACE_SECONDS
from shared.config import DEFAULT_PORTS, SERVICES
from shared.migrate import SchemaError

log = logging.getLogger("zhifa.cli")

# How long a stopping server lets requests under way finish, then its runtime close.
STOP_REQUESTS_SECONDS = 10.0
STOP_RUNTIME_SECONDS = 10.0


class UsageError(Exception):
    """A failure the user can fix: printed as one line, exit code 2."""


def available_services() -> list[str]:
    """Services whose app module exists in this build (found, not imported:
    importing every service would load all their libraries for one command)."""
    return [name for name in SERVICES if importlib.util.find_spec(f"services.{name}.app") is not None]


def cmd_serve(args) -> int:
    if args.service not in available_services():
        raise UsageError(f"the {args.service} service is not in this build "
                         f"(available: {', '.join(available_services()) or 'none'})")
    settings = config.load()
    _warn_without_api_keys(settings)
    module = importlib.import_module(f"services.{args.service}.app")
    app = module.create_app(settings)
    serve_app(app, args.host, args.port or DEFAULT_PORTS[args.service], args.threads)
    return 0


def serve_app(app, host: str, port: int, threads: int = 8) -> None:
    """Serve until SIGTERM/Ctrl-C. The runtime warms (LibreOffice) once the
    socket listens, and is closed (LibreOffice, jobs, database) within a
    bound however serving ends: a stuck part never keeps the process alive."""
    from shared.web import serve
    runtime = app.extensions.get("zhifa.runtime")

    def listening(bound_host: str, bound_port) -> None:
        log.info("serving %s on http://%s:%s", app.extensions.get("zhifa.service"), bound_host, bound_port)
        if hasattr(runtime, "warm"):
            runtime.warm()
    try:
        serve(app, host, port, threads=threads, stop_timeout=STOP_REQUESTS_SECONDS, ready=listening)
    finally:
        if runtime is not None:
            _close_within(runtime, STOP_RUNTIME_SECONDS)
    log.info("stopped")


def _close_within(runtime, seconds: float) -> None:
    closer = threading.Thread(target=runtime.close, name="runtime-close", daemon=True)
    closer.start()
    closer.join(seconds)
    if closer.is_alive():
        log.warning("runtime did not close within %.0f s; exiting anyway", seconds)
        logging.shutdown()
        os._exit(0)   # skip atexit handlers that would wait on the stuck part


def _warn_without_api_keys(settings) -> None:
    from shared.auth import ApiKeys
    try:
        count = len(ApiKeys(settings.api_keys, settings.api_keys_file, settings.api_key_min_length))
    except (OSError, ValueError) as exc:
        raise UsageError(f"API keys: {exc}") from exc
    if not count:
        log.warning("no API key configured (ZHIFA_API_KEYS or ZHIFA_API_KEYS_FILE): "
                    "every write request will be refused with 401")


def cmd_worker(args) -> int:
    from redis import Redis
    from rq import Queue

    from shared.jobs import queue_name, worker_class
    settings = config.load()
    if not settings.redis_url:
        print("zhifa worker: set ZHIFA_REDIS_URL (without Redis, jobs run inline in the web process)",
              file=sys.stderr)
        return 2
    known = available_services()
    unknown = [q for q in args.queues if q not in known]
    if unknown:
        print(f"zhifa worker: unknown queue(s) {', '.join(unknown)}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    services = args.queues or known
    conn = Redis.from_url(settings.redis_url)
    queues = [Queue(queue_name(s, settings.deployment), connection=conn) for s in services]
    for s in services:   # warm each service's runtime (database, LibreOffice pool) before the first job
        importlib.import_module(f"services.{s}.runtime").current().warm(background=False)
    # SimpleWorker runs jobs in this process, so the warm LibreOffice pool and
    # database pool survive from one job to the next (a forking worker would
    # start LibreOffice again for every document). No RQ scheduler: retries
    # have no interval and are queued again at once, and the scheduler is a
    # forked process that would inherit the pipes of a LibreOffice start
    # under way in another thread (Popen then waits for that process to end).
    from redis.exceptions import ConnectionError as RedisDown, TimeoutError as RedisTimeout
    pause = 1.0
    while True:
        started = time.monotonic()
        try:
            # returns on SIGTERM/SIGINT once the job under way is finished
            worker_class()(queues, connection=conn).work()   # SimpleWorker, keeping each job's request id
            return 0
        except (RedisDown, RedisTimeout) as exc:
            if time.monotonic() - started > 60:
                pause = 1.0          # it had served a while: a new outage
            # An outage or a restart of Redis: wait for it and serve again with a new registration (the
            # old one may be gone with the data), in this process, whose LibreOffice stays warm. Exiting
            # would stop `zhifa run`'s other processes too; the jobs live in the outbox meanwhile.
            log.warning("worker: Redis unreachable (%s); reconnecting in %.0f s", exc, pause)
            time.sleep(pause)
            pause = min(pause * 2, 30.0)


def cmd_fonts(_args) -> int:
    from shared.fonts import install_fonts
    print(install_fonts(config.load().fonts_dir))
    return 0


def cmd_check_templates(args) -> int:
    """For clerks who edited the Word templates: check them before the service does."""
    from services.generator.catalogue import TEMPLATES_DIR, Catalogue
    from services.generator.template_lint import lint_catalogue
    directory = args.directory or config.load().templates_dir or TEMPLATES_DIR
    if not (directory / "catalogue.json").is_file():
        raise UsageError(f"{directory}: not a templates directory (no catalogue.json there)")
    catalogue = Catalogue(directory)
    problems = lint_catalogue(catalogue)
    for doc_type, lines in problems.items():
        for line in lines:
            print(f"{doc_type}: {line}")
    print(f"{directory}: {len(list(catalogue))} templates, {len(problems)} with problems")
    return 1 if problems else 0


def cmd_search(args) -> int:
    from services.search.reindex import cli
    return cli(args.action)


def cmd_migrate(args) -> int:
    """Each chosen service's database up to the newest revision (adopting one made before
    migrations); with --check, only say where each stands (exit 1 when one is behind);
    with --revision, write the next revision of one service from its models (developers)."""
    from shared.db import make_engine
    from shared.migrate import Migrations
    services = available_services() if args.service == "all" else [args.service]
    if args.service not in ("all", *available_services()):
        raise UsageError(f"the {args.service} service is not in this build")
    if args.revision is not None:
        if len(services) != 1:
            raise UsageError("--revision writes one service's revision: name the service")
        print(Migrations(services[0]).new_revision(args.revision))
        return 0
    settings = config.load()
    behind = 0
    for service in services:
        migrations = Migrations(service)
        engine = make_engine(settings.database_url(service))
        try:
            if args.check:
                with engine.connect() as conn:
                    status = migrations.status(conn)
                behind += not status.up_to_date
                state = "up to date" if status.up_to_date else "behind: run `zhifa migrate " + service + "`"
                print(f"{service}: {status.current or ('unversioned' if status.unversioned else 'empty')}"
                      f" (head {status.head}, {state})")
                continue
            before, after = migrations.upgrade(engine)
        finally:
            engine.dispose()
        was = before.current or ("made before migrations, adopted" if before.unversioned else "empty")
        print(f"{service}: {was} -> {after.current}" + ("  (already up to date)" if before.up_to_date else ""))
    return 1 if behind else 0
def cmd_fsck(args) -> int:
    """Blobs no row names (a crash between writing a blob and committing its row) and rows whose
    blob is missing; with --delete, orphans older than the grace period are removed. Exit 1 while
    anything is left to repair."""
    from shared.blobstore import fsck, open_store, utc
    from shared.db import make_engine
    settings = config.load()
    columns = getattr(importlib.import_module(f"services.{args.service}.models"), "BLOB_COLUMNS", ())
    if not columns:
        print(f"{args.service}: stores no blobs, nothing to check")
        return 0
    url = settings.database_url(args.service)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        raise UsageError(f"{url}: no such database (has the {args.service} service run with this configuration?)")
    engine = make_engine(url)
    try:
        from sqlalchemy import inspect
        missing = sorted({c.table.name for c in columns} - set(inspect(engine).get_table_names()))
        if missing:
            raise UsageError(f"the {args.service} database has no table {', '.join(missing)} "
                             "(has the service run with this configuration?)")
        store = open_store(settings, args.service)
        report = fsck(store, engine.connect, columns, delete=args.delete, grace_seconds=args.grace)
    finally:
        engine.dispose()
    for sha, where in report.missing:
        print(f"missing {sha}  named by {where}")
    deleted = set(report.deleted)
    for info in report.orphans:
        state = "deleted" if info.sha256 in deleted else (
            f"kept: younger than {args.grace:g} s" if args.delete else "orphan")
        print(f"orphan  {info.sha256}  {info.size} bytes  written {utc(info.modified)}  {state}")
    aborted = f", {report.aborted_uploads} incomplete uploads aborted" if report.aborted_uploads else ""
    print(f"{args.service}: {report.blobs} blobs in {store.describe()}, {len(report.orphans)} orphans "
          f"({len(deleted)} deleted), {len(report.missing)} rows without their blob{aborted}")
    return 0 if report.clean else 1


def _demo_api_keys(settings) -> str:
    """A token per role for the embedded setup, kept 0600 under the data dir."""
    from shared.files import write_file
    path = settings.data_dir / "api-keys"
    if not path.exists():
        lines = [f"{secrets.token_urlsafe(24)}={role}" for role in ("case-system", "archivist", "publisher", "admin")]
        write_file(path, "# token=role, made by `zhifa run`; ZHIFA_API_KEYS_FILE points here\n"
                   + "\n".join(lines) + "\n", mode=0o600)
    return str(path)


def cmd_run(args) -> int:
    settings = config.load()
    env = dict(os.environ)
    if not settings.api_keys and not settings.api_keys_file:
        env["ZHIFA_API_KEYS_FILE"] = _demo_api_keys(settings)
    procs = []
    for name in available_services():
        port = DEFAULT_PORTS[name]
        procs.append(subprocess.Popen([sys.executable, "-m", "services.cli", "serve", name, "--host", args.host,
                                       "--port", str(port)], env=env))
        print(f"{name}: http://{args.host}:{port}/  (health: /healthz, API: /openapi.json)")
    if settings.redis_url:
        procs.append(subprocess.Popen([sys.executable, "-m", "services.cli", "worker"], env=env))
        print(f"worker: RQ on {settings.redis_url}")
    else:
        print("jobs: inline in each service (set ZHIFA_REDIS_URL to use RQ workers)")
    if "ZHIFA_API_KEYS_FILE" in env and not settings.api_keys_file:
        keys_file = env["ZHIFA_API_KEYS_FILE"]
        print(f"API tokens: {keys_file}")
        print(f"  a token for the case system: TOKEN=$(sed -n 's/=case-system$//p' {keys_file})")
    print(f"data: {settings.data_dir}   (Ctrl-C stops everything)")

    def stop(*_):
        for p in procs:
            p.terminate()
    signal.signal(signal.SIGTERM, stop)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    stop()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    return max((p.returncode or 0) for p in procs) if procs else 0


def build_parser() -> argparse.ArgumentParser:
    """The command line (also what tests/deploy checks the compose file's commands against)."""
    parser = argparse.ArgumentParser(prog="zhifa", description="zhifa 执法 services")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="serve one service over HTTP")
    p.add_argument("service", choices=SERVICES)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int)
    p.add_argument("--threads", type=int, default=8)
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("worker", help="run an RQ worker (needs ZHIFA_REDIS_URL)")
    p.add_argument("queues", nargs="*", metavar="QUEUE", help="services whose queues to serve (default: all)")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("run", help="run every service (and a worker when Redis is set)")
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("check-templates", help="lint the generator's Word templates against their schemas")
    p.add_argument("directory", nargs="?", type=Path, help="templates directory (default: the one in use)")
    p.set_defaults(func=cmd_check_templates)
    p = sub.add_parser("fonts", help="install CJK font aliases for LibreOffice")
    p.set_defaults(func=cmd_fonts)
    p = sub.add_parser("migrate", help="bring the services' databases to the newest schema (Alembic)")
    p.add_argument("service", nargs="?", default="all", choices=[*SERVICES, "all"])
    p.add_argument("--check", action="store_true", help="only show each database's revision; exit 1 if one is behind")
    p.add_argument("--revision", metavar="MESSAGE",
                   help="developers: write the next revision of SERVICE from the change in its models")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("search", help="search service upkeep: rebuild the index, or take down expired decisions now")
    p.add_argument("action", choices=["reindex", "sweep"])
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("fsck", help="list blobs no row names and rows whose blob is missing; --delete removes orphans")
    p.add_argument("service", choices=SERVICES)
    p.add_argument("--delete", action="store_true", help="remove orphans older than the grace period")
    p.add_argument("--grace", type=float, default=FSCK_GRACE_SECONDS, metavar="SECONDS",
                   help=f"orphans younger than this may belong to a transaction in flight (default {FSCK_GRACE_SECONDS})")
    p.set_defaults(func=cmd_fsck)
    return parser


def main(argv: list[str] | None = None) -> int:
    level = os.environ.get("ZHIFA_LOG_LEVEL", "INFO").upper()
    logs.setup(level, os.environ.get("ZHIFA_LOG_FORMAT", "json").strip().lower())
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:   # one line for the user; the traceback only when asked for
        log.debug("traceback", exc_info=True)
        message = str(exc) if isinstance(exc, (UsageError, OSError, ValueError, SchemaError)) else f"{type(exc).__name__}: {exc}"
        print(f"zhifa {args.command}: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
