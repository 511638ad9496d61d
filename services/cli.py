"""`zhifa` command line: serve one service, run a worker, or run everything."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from shared import config
from shared.config import DEFAULT_PORTS, SERVICES

log = logging.getLogger("zhifa.cli")


def available_services() -> list[str]:
    """Services whose app module exists in this build."""
    found = []
    for name in SERVICES:
        try:
            importlib.import_module(f"services.{name}.app")
            found.append(name)
        except ModuleNotFoundError as exc:
            if exc.name not in (f"services.{name}", f"services.{name}.app"):
                raise   # a missing dependency is an error, not an absent service
    return found


def cmd_serve(args) -> int:
    from waitress import serve
    module = importlib.import_module(f"services.{args.service}.app")
    app = module.create_app()
    # SIGTERM must unwind like Ctrl-C so atexit handlers stop the LibreOffice pool.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app.extensions["zhifa.runtime"].warm()
    port = args.port or DEFAULT_PORTS[args.service]
    log.info("serving %s on http://%s:%d", args.service, args.host, port)
    serve(app, host=args.host, port=port, threads=args.threads, ident=f"zhifa-{args.service}")
    return 0


def cmd_worker(args) -> int:
    from redis import Redis
    from rq import Queue, SimpleWorker

    from shared.jobs import queue_name
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
    queues = [Queue(queue_name(s), connection=conn) for s in services]
    for s in services:   # warm each service's runtime (database, LibreOffice pool) before the first job
        importlib.import_module(f"services.{s}.runtime").current().warm(background=False)
    # SimpleWorker runs jobs in this process, so the warm LibreOffice pool and
    # database pool survive from one job to the next (a forking worker would
    # start LibreOffice again for every document). No RQ scheduler: retries
    # have no interval and are queued again at once, and the scheduler is a
    # forked process that would inherit the pipes of a LibreOffice start
    # under way in another thread (Popen then waits for that process to end).
    worker = SimpleWorker(queues, connection=conn)
    worker.work()
    return 0


def cmd_fonts(_args) -> int:
    from shared.fonts import install_fonts
    print(install_fonts(config.load().fonts_dir))
    return 0


def cmd_check_templates(args) -> int:
    """For clerks who edited the Word templates: check them before the service does."""
    from services.generator.catalogue import TEMPLATES_DIR, Catalogue
    from services.generator.template_lint import lint_catalogue
    directory = args.directory or config.load().templates_dir or TEMPLATES_DIR
    catalogue = Catalogue(directory)
    problems = lint_catalogue(catalogue)
    for doc_type, lines in problems.items():
        for line in lines:
            print(f"{doc_type}: {line}")
    print(f"{directory}: {len(list(catalogue))} templates, {len(problems)} with problems")
    return 1 if problems else 0


def _demo_api_keys(settings) -> str:
    """A token per role for the embedded setup, kept 0600 under the data dir."""
    path = settings.data_dir / "api-keys"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"{secrets.token_urlsafe(24)}={role}" for role in ("case-system", "archivist", "publisher", "admin")]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("# token=role, made by `zhifa run`; ZHIFA_API_KEYS_FILE points here\n" + "\n".join(lines) + "\n")
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
        print(f"API tokens: {env['ZHIFA_API_KEYS_FILE']}")
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


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("ZHIFA_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
