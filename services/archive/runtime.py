"""The archive's parts, built from configuration once per app or worker process.

As in the generator: `create_app` builds one Runtime and hangs it on the
app (nothing process-wide); job functions find it with `current()`: an
inline job runs inside `active(rt)` of the app that enqueued it, an RQ
worker builds its own from the environment on first use.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from services.archive import gm_seal, seal_keys
from services.archive.assembly import COVER_LABELS, Assembler
from services.archive.binding import BindingRules
from services.archive.case_files import CaseFileService
from services.archive.checks import FourProperties
from services.archive.faces import Faces
from services.archive.layout import PageMaker
from services.archive.ledger import LedgerBook
from services.archive.malware import ClamdScanner
from services.archive.models import Outbox
from services.archive.packages import PackageBuilder
from services.archive.sealing import Sealer
from services.archive.seals import SealService
from services.archive.verification import Verifier
from shared.blobstore import BlobStore, open_store
from shared.config import Settings
from shared.db import make_engine, session_factory
from shared.fonts import FACES
from shared.http import ServiceClient
from shared.jobs import Jobs
from shared.migrate import Migrations
from shared.outbox import Outbox as OutboxRunner
from shared.runtimes import RuntimeContext

SERVICE = "archive"


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    blobs: BlobStore
    case_files: CaseFileService
    seals: SealService
    ledger: LedgerBook
    verifier: Verifier
    packages: PackageBuilder
    key: seal_keys.SealKey
    jobs: Jobs
    outbox: OutboxRunner

    def warm(self, background: bool = True) -> None:
        """Cut the small faces (bold headings, the seal's text, the regular face's
        common characters) and seal a scratch file once, before the first seal."""
        def cut() -> None:
            self.seals.sealer.warm(self.seals.work_dir)    # seconds
            self.seals.assembler.pages.warm()               # the common regular face: 12-25 s, once per installation
        if background:
            threading.Thread(target=cut, name="archive-warm", daemon=True).start()
        else:
            cut()
        self.outbox.start()      # a worker drains too: jobs are handed out while any archive process runs

    def resume(self) -> None:
        """At start, in either mode: a job for each file left "sealing" without one, and the drain loop
        (hands out recorded jobs, again those whose worker died; sweeps stale temp files)."""
        self.seals.resume_pending()
        self.outbox.start()

    def close(self) -> None:
        self.outbox.stop()
        self.jobs.shutdown(wait=False)
        self.engine.dispose()


def purge_page_sessions(sessions) -> int:
    """Drop page sessions ended or expired a day ago (housekeeping: the table does not grow for ever)."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import delete, or_

    from services.archive.models import PageSession
    from shared.db import transaction
    cutoff = datetime.now(timezone.utc) - timedelta(days=1)
    with transaction(sessions) as db:
        return db.execute(delete(PageSession).where(or_(PageSession.ended_at < cutoff,
                                                        PageSession.expires_at < cutoff))).rowcount


def build(settings: Settings) -> Runtime:
    # Case files hold unredacted personal data: whatever this process creates is its user's only.
    os.umask(0o077)
    service_dir = settings.service_dir(SERVICE)
    os.chmod(service_dir, 0o700)
    engine = make_engine(settings.database_url(SERVICE))
    Migrations(SERVICE).ensure(engine)      # migrated, adopted or refused: shared/migrate.py
    sessions = session_factory(engine)
    blobs = open_store(settings, SERVICE)
    work_dir = service_dir / "work"
    rules = BindingRules.load(settings.binding_file)
    holder: list[Runtime] = []
    jobs = Jobs(SERVICE, settings.redis_url, settings.deployment, bind=lambda: active(holder[0]))

    def generator() -> ServiceClient:
        return ServiceClient.for_service(settings, "generator")

    key = seal_keys.load(settings.seal_pkcs12, settings.seal_password, service_dir / "seal", settings.archive_name)
    # Cut faces are named by their source and characters and written atomically:
    # kept beside the extracted fonts, they are cut once per installation.
    faces = Faces(settings.fonts_dir / "cut")
    pages = PageMaker(settings.fonts_dir, faces, "".join(rules.get(t).title for t in rules.case_types())
                      + "".join(COVER_LABELS))
    case_files = CaseFileService(sessions, blobs, rules, generator, work_dir, settings.max_upload_bytes)
    checks = FourProperties(blobs, sessions, generator, ClamdScanner(settings.clamd) if settings.clamd else None)
    if settings.seal_algorithm not in gm_seal.PROFILES:
        raise ValueError(f"ZHIFA_SEAL_ALGORITHM must be one of {', '.join(gm_seal.PROFILES)}")
    # The seal profile: RSA (PAdES) or 国密 SM2/SM3 (gm_seal.py). Verify knows the SM2 CA whenever one
    # exists, so files sealed under either profile stay verifiable after the profile changes.
    gm_dir = service_dir / gm_seal.GM_DIR
    gm_key = gm_seal.load_or_make(gm_dir, settings.archive_name) if settings.seal_algorithm == "sm2" else None
    gm_ca = gm_seal.trusted_cas(gm_dir) or None
    sealer = Sealer(gm_key or key, settings.fonts_dir / FACES[1].filename, settings.archive_name, settings.tsa_url,
                    faces=faces)
    outbox = OutboxRunner(sessions, Outbox, jobs, "services.archive.runtime.current_outbox",
                          housekeeping=[blobs.sweep, lambda: purge_page_sessions(sessions)],
                          bind=lambda: active(holder[0]))
    seals = SealService(sessions, blobs, case_files, checks, Assembler(blobs, pages, work_dir), sealer, jobs,
                        work_dir, settings.archive_name, outbox)
    ledger = LedgerBook(sessions)
    runtime = Runtime(settings, engine, blobs, case_files, seals, ledger, Verifier(key.trust_roots_asn1(), ledger, gm_ca),
                      PackageBuilder(blobs, case_files, key, service_dir / "packages", settings.archive_name),
                      key, jobs, outbox)
    holder.append(runtime)
    return runtime


# Job functions find their runtime here (shared.runtimes): the enqueuing
# app's for inline jobs, the worker process's own otherwise.
_context: RuntimeContext[Runtime] = RuntimeContext(SERVICE, build)
active = _context.active
current = _context.current


def current_outbox() -> OutboxRunner:
    """The outbox of this process's runtime (shared.outbox.execute finds it by this path)."""
    return current().outbox
