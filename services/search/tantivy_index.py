"""The embedded search backend: Tantivy (its official Python bindings) over
pre-split Chinese text.

Fields (text fields use Tantivy's `whitespace` tokenizer on tokens we split
and fold ourselves, analysis.py):
- `title`: jieba search-mode words of the title and party (ranked highest),
- `words`: jieba search-mode words of everything,
- `chars`: every Han character alone, Latin runs and digit runs, with
  positions: a 1-character query is a term, a longer one a phrase of its
  characters, so words match as substrings (罚, 许可 find 行政处罚/行政许可),
- `grams`: every pair of neighbouring Han characters, without positions: a
  2-character query (罚款, 许可, the most common kind) is one term, not a
  phrase whose positions must be compared in every match,
- `tails`: every suffix (≥ 4 digits) of each digit run, without positions: a
  digit query prefix-matches them, so any part of a number finds it (045678),
- `agency_chars`: the agency's characters (the agency filter matches a part),
- `number`, `kind`, `agency` (raw, fast: deletes, filters, facets), `year`,
  `decided`, `until` (day ordinals), `datekey` (date, then a hash of the
  number: one fast field orders sort=date and its cursor), `doc` (stored JSON
  of what a hit shows).

Totals (`count=True`) and facets (terms aggregations on fast fields) are
exact at every size; relevance (BM25) ranks every match.

Writing, near-real-time: `upsert`/`delete` queue the change and return; a
committer thread commits at most every `commit_interval` seconds (0.25 s) and
reloads the searcher, so a decision is searchable well within a second of
its 201, and a burst of publications makes a few commits, not one each.
Searches read the index only: a delete queued or being committed here is
excluded from every query (a MustNot on its number) until it is committed.

Several processes on one data dir (web processes, an RQ worker running the
sweep): Tantivy allows one IndexWriter per directory. THE RULE: a process
writes only inside a commit cycle, holding `writer.lock` (flock) for it:
open the writer, apply the queued changes, commit, let merges finish, drop
the writer. When a loader is attached (the service: reindex.loader), the
cycle re-reads the queued decisions from the database under that lock, so
whichever process commits last writes the database's latest state and two
processes cannot leave an older version in the index. Readers notice another
process's commit or a rebuild by a stat of `meta.json` and `CURRENT` per search.

Generations: `CURRENT` names the live directory (`g<N>`) and the schema
version. `rebuild` fills a new generation under the lock and switches
`CURRENT` atomically; searches never see a half-built index. On start
(`ensure`), a missing or unreadable index, or one of another schema version,
is rebuilt from the database (in the background when large, with progress in
the log); until then searches answer 503 `index-rebuilding` saying so.
"""
from __future__ import annotations

import fcntl
import json
import logging
import multiprocessing
import os
import shutil
import threading
import time
import zlib
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, Iterator

import tantivy
from tantivy import Document, FieldType, Occur, Order, Query

from services.search.analysis import MIN_TAIL, Analyzer, char_tokens, tails
from services.search.index import Hit, IndexDoc, SearchQuery, SearchResult, Term, check_window, snippet
from shared.problems import Problem

log = logging.getLogger("zhifa.search")

SCHEMA_VERSION = 2      # 2: grams
COMMIT_INTERVAL = 0.2          # seconds between commits: the near-real-time delay
WRITER_HEAP = 15_000_000        # bytes (the minimum), one indexing thread: a cycle holds a few hundred decisions
REBUILD_HEAP = 200_000_000
BATCH = 500
FACET_SIZE = 1000               # more buckets than a bureau has agencies: every count exact
TITLE_BOOST, WORDS_BOOST, CHARS_BOOST = 4.0, 1.0, 0.3
MAX_TOKEN = 64                  # longer Latin/digit runs are not indexed (a term has a size limit)
SYNC_REBUILD_BELOW = 5_000      # fewer decisions: rebuilt before the service answers


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    for name in ("number", "kind", "agency"):
        b.add_text_field(name, fast=True, tokenizer_name="raw")
    for name in ("title", "words", "chars", "agency_chars"):
        b.add_text_field(name, tokenizer_name="whitespace")
    b.add_text_field("grams", tokenizer_name="whitespace", index_option="freq")
    b.add_text_field("tails", tokenizer_name="whitespace", index_option="basic")
    for name in ("year", "decided", "until", "datekey"):
        b.add_integer_field(name, indexed=True, fast=True)
    b.add_bytes_field("doc", stored=True)
    return b.build()


SCHEMA = _schema()


def datekey(decided_on: date, number: str) -> int:
    """Orders sort=date: the day, then a 40-bit hash of the number (ties in a day)."""
    return (decided_on.toordinal() << 40) | (zlib.crc32(number.encode()) << 8) | (len(number) & 0xFF)


def _han(token: str) -> bool:
    return len(token) == 1 and not token.isascii()


def grams(chars: list[str]) -> list[str]:
    return [a + b for a, b in zip(chars, chars[1:]) if _han(a) and _han(b)]


def fields(analyzer: Analyzer, doc: IndexDoc) -> dict:
    """What a decision adds to the index, as plain values (picklable: segmentation
    may run in another process); jieba is the costly part."""
    title_words = analyzer.words(f"{doc.title} {doc.party}")
    body_words = analyzer.words(f"{doc.number} {doc.agency} {doc.body}")
    chars = [t for t in char_tokens(" ".join((doc.title, doc.party, doc.number, doc.agency, doc.body)))
             if len(t) <= MAX_TOKEN]
    shown = {"number": doc.number, "title": doc.title, "kind": doc.kind, "agency": doc.agency,
             "party": doc.party, "decided_on": doc.decided_on.isoformat(), "body": doc.body}
    return {"number": doc.number, "kind": doc.kind, "agency": doc.agency,
            "agency_chars": " ".join(char_tokens(doc.agency)),
            "title": " ".join(title_words), "words": " ".join(title_words + body_words),
            "chars": " ".join(chars), "grams": " ".join(grams(chars)), "tails": " ".join(tails(chars)),
            "year": doc.year, "decided": doc.decided_on.toordinal(), "until": doc.publish_until.toordinal(),
            "datekey": datekey(doc.decided_on, doc.number),
            "doc": json.dumps(shown, ensure_ascii=False).encode()}


def document(values: dict) -> Document:
    d = Document()
    for name in ("number", "kind", "agency", "agency_chars", "title", "words", "chars", "grams", "tails"):
        d.add_text(name, values[name])
    for name in ("year", "decided", "until", "datekey"):
        d.add_integer(name, values[name])
    d.add_bytes("doc", values["doc"])
    return d


_WORKER: Analyzer | None = None


def _init_worker(user_dict) -> None:
    global _WORKER
    _WORKER = Analyzer(user_dict)


def _fields_batch(docs: list[IndexDoc]) -> list[dict]:
    return [fields(_WORKER, d) for d in docs]


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class NoIndex(Exception):
    """No usable generation (missing, unreadable, another schema, being rebuilt)."""


def rebuilding(detail: str) -> Problem:
    return Problem(503, "index-rebuilding", "检索索引正在重建", detail)


class TantivyIndex:
    name = "tantivy"

    def __init__(self, directory: Path, analyzer: Analyzer, commit_interval: float = COMMIT_INTERVAL,
                 loader: Callable[[list[str]], dict[str, IndexDoc]] | None = None):
        self.root = Path(directory)
        self.root.mkdir(parents=True, exist_ok=True)
        self.analyzer = analyzer
        self.commit_interval = commit_interval
        # numbers → the public decisions among them, read from the database at commit time
        self.loader = loader
        self.commits = 0
        self._cond = threading.Condition()
        self._pending: dict[str, IndexDoc | None] = {}       # number → new version, None: delete
        self._committing: dict[str, IndexDoc | None] = {}    # the batch being committed
        self._segmented: dict[str, tuple[IndexDoc, dict]] = {}   # number → fields computed elsewhere
        self._queued = self._committed = 0
        self._stop = False
        self._thread: threading.Thread | None = None
        self._last_commit = 0.0
        self._failed: BaseException | None = None
        self._read_lock = threading.Lock()
        self._live: tuple | None = None        # (generation, Index, CURRENT stamp, meta.json stamp)
        self._rebuild_progress: str | None = None     # set while `ensure` rebuilds in the background
        fresh = not self._pointer.exists()
        if fresh:
            self._create_empty()
        try:
            self._reader()
            # A new directory is filled from the database by `ensure` (the service);
            # used alone (tests, tools) it starts empty.
            self.needs_rebuild = fresh
        except NoIndex:
            self.needs_rebuild = True

    # -- files ------------------------------------------------------------------------

    @property
    def _pointer(self) -> Path:
        return self.root / "CURRENT"

    @contextmanager
    def _writer_lock(self):
        """The one-writer-per-directory rule across processes (see the module doc)."""
        with open(self.root / "writer.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _create_empty(self) -> None:
        with self._writer_lock():
            if self._pointer.exists():          # another process was first
                return
            path = self.root / "g1"
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir()
            tantivy.Index(SCHEMA, path=str(path), reuse=False)
            self._switch(path)

    def _switch(self, path: Path) -> None:
        temp = self.root / "CURRENT.tmp"
        temp.write_text(json.dumps({"generation": path.name, "schema": SCHEMA_VERSION}))
        os.replace(temp, self._pointer)
        with self._read_lock:
            self._live = None

    def _current(self) -> str | None:
        """The live generation's directory name, or None when there is none of this schema."""
        try:
            pointer = json.loads(self._pointer.read_text())
        except (OSError, ValueError):
            return None
        if pointer.get("schema") != SCHEMA_VERSION:
            return None
        return pointer.get("generation")

    @staticmethod
    def _stamp(path: Path) -> int:
        try:
            return path.stat().st_mtime_ns
        except OSError:
            return 0

    def _reader(self) -> tantivy.Index:
        """The live index, reopened after a rebuild and reloaded after another
        process's commit (a stat of two files per search)."""
        with self._read_lock:
            stamp = self._stamp(self._pointer)
            live = self._live
            if live is None or live[2] != stamp:
                generation = self._current()
                if generation is None:
                    raise NoIndex("检索索引不存在或版本不符，需从数据库重建（zhifa search reindex）。")
                try:
                    index = tantivy.Index.open(str(self.root / generation))
                except Exception as exc:        # unreadable: derived data, rebuilt from the database
                    raise NoIndex(f"检索索引不可读（{type(exc).__name__}），需从数据库重建。") from exc
                live = (generation, index, stamp, 0)
            meta = self._stamp(self.root / live[0] / "meta.json")
            if meta != live[3]:
                live[1].reload()
                live = (*live[:3], meta)
            self._live = live
            return live[1]

    # -- writing ------------------------------------------------------------------------

    def upsert(self, docs: Iterable[IndexDoc], segmented: dict | None = None) -> int:
        """Queue; searchable after the next commit (within commit_interval plus the commit).
        `segmented`: number → (IndexDoc, fields(…)) computed elsewhere (a preparing process),
        used if the committed version is that doc."""
        n = 0
        with self._cond:
            for doc in docs:
                self._pending[doc.number] = doc
                if segmented and doc.number in segmented:
                    self._segmented[doc.number] = segmented[doc.number]
                else:
                    self._segmented.pop(doc.number, None)
                n += 1
            self._queued += 1
            self._start()
            self._cond.notify_all()
        return n

    def delete(self, number: str) -> None:
        with self._cond:
            self._pending[number] = None
            self._queued += 1
            self._start()
            self._cond.notify_all()

    def _deleting(self) -> list[str]:
        with self._cond:
            pending = [n for n, d in self._pending.items() if d is None]
            return pending + [n for n, d in self._committing.items() if d is None]

    def refresh(self, timeout: float = 30.0) -> None:
        """Wait until every change queued so far is searchable (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._queued
            while self._committed < target:
                if self._failed is not None:
                    raise RuntimeError("the search index could not commit") from self._failed
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the search index did not commit in time")
                self._cond.wait(left)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._commit_loop, name="tantivy-committer", daemon=True)
            self._thread.start()

    def _commit_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._cond.wait()
                if not self._pending and self._stop:
                    return
                # batch: what arrives during the interval since the last commit joins this one
                # (new arrivals notify: wait out the rest of the interval)
                while not self._stop:
                    wait = self._last_commit + self.commit_interval - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                batch, self._pending = self._pending, {}
                self._committing = batch
                segmented = {n: self._segmented.pop(n) for n in batch if n in self._segmented}
                upto = self._queued
            try:
                self._commit(batch, segmented)
                self._failed = None
            except Exception as exc:        # the database is right; `zhifa search reindex` repairs
                if isinstance(exc, NoIndex):    # a rebuild will make one (and read the database itself)
                    log.info("search index not ready; %d change(s) wait for it", len(batch))
                else:
                    log.exception("could not commit %d change(s) to the search index; retrying", len(batch))
                self._failed = exc
                with self._cond:
                    for number, doc in batch.items():
                        self._pending.setdefault(number, doc)
                    self._committing = {}
                    if self._stop:
                        self._committed = upto
                        self._cond.notify_all()
                        return
                time.sleep(1.0)
                continue
            with self._cond:
                self._committing = {}
                self._committed = max(self._committed, upto)
                self._last_commit = time.monotonic()
                self._cond.notify_all()

    def _commit(self, batch: dict[str, IndexDoc | None],
                segmented: dict[str, tuple[IndexDoc, dict]] | None = None) -> None:
        # segmented before taking the lock: other processes' cycles wait for less
        segmented = segmented or {}
        prepared = {n: segmented[n] if n in segmented and segmented[n][0] == d else (d, fields(self.analyzer, d))
                    for n, d in batch.items() if d is not None}
        with self._writer_lock():
            if self.loader is not None:       # the database's version now, under the lock
                fresh = self.loader(list(batch))
                batch = {n: fresh.get(n) for n in batch}
            index = self._reader()         # NoIndex: retried until a rebuild has made one
            writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)
            try:
                for number, doc in batch.items():
                    writer.delete_documents_by_term("number", number)
                    if doc is not None:
                        done = prepared.get(number)
                        values = done[1] if done and done[0] == doc else fields(self.analyzer, doc)
                        writer.add_document(document(values))
                writer.commit()
                self.commits += 1
                self._reader()                   # reload now: searchable at once in this process
                writer.wait_merging_threads()    # merges finish before another process may write
            except BaseException:
                writer.rollback()
                raise

    # -- rebuilding -----------------------------------------------------------------------

    def _fields(self, docs: Iterable[IndexDoc], workers: int) -> Iterator[list[dict]]:
        if workers <= 1:
            for batch in _batches(docs, BATCH):
                yield [fields(self.analyzer, d) for d in batch]
            return
        # Spawned, not forked: the caller may have threads holding locks.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_init_worker, initargs=(self.analyzer.user_dict,)) as pool:
            pending: deque = deque()
            for batch in _batches(docs, BATCH):
                pending.append(pool.submit(_fields_batch, batch))
                if len(pending) > 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def rebuild(self, docs: Iterable[IndexDoc], progress: Callable[[int], None] | None = None,
                workers: int = 1) -> int:
        """Fill a new generation and switch to it at once; older ones are removed.
        Numbers repeated in `docs` keep their last version."""
        with self._writer_lock():
            old = [p for p in self.root.glob("g*") if p.is_dir()]
            number = max((int(p.name[1:]) for p in old if p.name[1:].isdigit()), default=0) + 1
            path = self.root / f"g{number}"
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir()
            index = tantivy.Index(SCHEMA, path=str(path), reuse=False)
            writer = index.writer(heap_size=REBUILD_HEAP, num_threads=1)
            seen: set[str] = set()
            for batch in self._fields(docs, workers):
                for values in batch:
                    if values["number"] in seen:
                        writer.delete_documents_by_term("number", values["number"])
                    seen.add(values["number"])
                    writer.add_document(document(values))
                if progress:
                    progress(len(batch))
            writer.commit()
            writer.wait_merging_threads()
            self._switch(path)
            self.needs_rebuild = False
            for p in old:
                if p != path:
                    shutil.rmtree(p, ignore_errors=True)
        return len(seen)

    def ensure(self, docs: Callable[[], Iterable[IndexDoc]], count: Callable[[], int]) -> None:
        """On start: rebuild a missing, unreadable or outdated index from the database,
        before answering when small, else in the background (searches say so meanwhile)."""
        if not self.needs_rebuild:
            return
        total = count()
        if total < SYNC_REBUILD_BELOW:
            self.rebuild(docs())
            return
        self._rebuild_progress = f"正在从数据库重建检索索引（共 {total} 件），请稍后再试。"

        def run():
            done = [0]
            started = time.monotonic()

            def progress(n):
                done[0] += n
                self._rebuild_progress = f"正在从数据库重建检索索引：已完成 {done[0]} / {total} 件，请稍后再试。"
                if done[0] % 10_000 < n:
                    log.info("search index rebuild: %d / %d decisions", done[0], total)
            try:
                self.rebuild(docs(), progress, workers=max(1, (os.cpu_count() or 1) - 1))
                log.info("search index rebuilt: %d decisions in %.1f s", done[0], time.monotonic() - started)
            except Exception:
                log.exception("search index rebuild failed; run `zhifa search reindex`")
            finally:
                self._rebuild_progress = None
        log.warning("search index missing, unreadable or of another version: rebuilding %d decisions", total)
        threading.Thread(target=run, name="tantivy-rebuild", daemon=True).start()

    # -- reading ----------------------------------------------------------------------------

    def _term_query(self, term: Term) -> Query | None:
        """Documents whose text has the term's characters as written."""
        chars = char_tokens(term.text)
        if not chars:
            return None
        if len(chars) == 2 and _han(chars[0]) and _han(chars[1]):
            return Query.term_query(SCHEMA, "grams", chars[0] + chars[1])
        if len(chars) > 1:
            if chars[-1].isdigit() and len(chars[-1]) >= MIN_TAIL:
                # a number at the end may go on in the text ("GB 13271" in "GB 13271-2014"); the
                # bindings expand the prefix to its first 50 terms, the exact one first
                return Query.phrase_prefix_query(SCHEMA, "chars", chars)
            return Query.phrase_query(SCHEMA, "chars", chars)
        token = chars[0]
        if token.isdigit() and len(token) >= MIN_TAIL:
            # any part of a number: a prefix of one of its indexed tails
            return Query.regex_query(SCHEMA, "tails", f"{token}.*")
        return Query.term_query(SCHEMA, "chars", token)

    def _ranking(self, term: Term) -> list[tuple[Occur, Query]]:
        """Documents that use the term's words as words (in the title above all) rank first."""
        out = []
        for word in self.analyzer.query_words(term.text):
            out.append((Occur.Should, Query.boost_query(Query.term_query(SCHEMA, "title", word), TITLE_BOOST)))
            out.append((Occur.Should, Query.boost_query(Query.term_query(SCHEMA, "words", word), WORDS_BOOST)))
        return out

    def _filters(self, query: SearchQuery) -> list[Query]:
        out = []
        if query.kind:
            out.append(Query.term_query(SCHEMA, "kind", query.kind))
        if query.agency:
            chars = char_tokens(query.agency)
            if chars:       # part of the name (消防) finds the agency
                out.append(Query.phrase_query(SCHEMA, "agency_chars", chars) if len(chars) > 1
                           else Query.term_query(SCHEMA, "agency_chars", chars[0]))
            else:
                out.append(Query.empty_query())
        if query.date_from or query.date_to:
            out.append(Query.range_query(SCHEMA, "decided", FieldType.Integer,
                                         query.date_from.toordinal() if query.date_from else -(2**62),
                                         query.date_to.toordinal() if query.date_to else 2**62))
        if query.today:
            out.append(Query.range_query(SCHEMA, "until", FieldType.Integer, query.today.toordinal(), 2**62))
        return out

    def _query(self, query: SearchQuery) -> Query:
        clauses: list[tuple[Occur, Query]] = []
        for term in query.positive:
            q = self._term_query(term)
            if q is None:
                return Query.empty_query()        # only punctuation: nothing can match
            clauses.append((Occur.Must, Query.boost_query(q, CHARS_BOOST)))
            clauses.extend(self._ranking(term))
        for term in query.negative:
            q = self._term_query(term)
            if q is not None:
                clauses.append((Occur.MustNot, q))
        clauses.extend((Occur.Must, Query.const_score_query(f, 0.0)) for f in self._filters(query))
        # deleted here but not committed yet (or the commit is failing): gone already
        clauses.extend((Occur.MustNot, Query.term_query(SCHEMA, "number", n)) for n in self._deleting())
        if not any(occur == Occur.Must for occur, _ in clauses):
            clauses.append((Occur.Must, Query.all_query()))
        return Query.boolean_query(clauses)

    def search(self, query: SearchQuery) -> SearchResult:
        check_window(query)
        if self._rebuild_progress is not None:
            raise rebuilding(self._rebuild_progress)
        try:
            index = self._reader()
        except NoIndex as exc:
            raise rebuilding(str(exc)) from exc
        searcher = index.searcher()
        q = self._query(query)
        aggs = {name: {"terms": {"field": name, "size": FACET_SIZE, "segment_size": FACET_SIZE}}
                for name in ("kind", "agency", "year")}
        facets = {name: dict(sorted(((str(int(b["key"])) if name == "year" else str(b["key"]), b["doc_count"])
                                     for b in buckets["buckets"]), key=lambda kv: (-kv[1], kv[0])))
                  for name, buckets in searcher.aggregate(q, aggs).items()}
        if query.effective_sort == "date":
            page_query = q
            if query.after:
                key = datekey(date.fromisoformat(query.after[0]), query.after[1])
                page_query = Query.boolean_query([
                    (Occur.Must, q),
                    (Occur.Must, Query.range_query(SCHEMA, "datekey", FieldType.Integer, -(2**62), key,
                                                   include_upper=False))])
            found = searcher.search(page_query, query.size, count=True, order_by_field="datekey",
                                    offset=query.offset, order=Order.Desc)
            total = found.count if not query.after else searcher.search(q, 1, count=True).count
        else:
            found = searcher.search(q, query.size, count=True, offset=query.offset)
            total = found.count
        hits = []
        for _, address in found.hits:
            shown = json.loads(searcher.doc(address)["doc"][0])
            hits.append(Hit(shown["number"], shown["title"], shown["kind"], shown["agency"], shown["party"],
                            date.fromisoformat(shown["decided_on"]),
                            snippet(shown["body"], query.positive, boundaries=self._word_starts)))
        return SearchResult(total, hits, facets)

    def _word_starts(self, text: str) -> list[int]:
        return [start for _, start, _ in self.analyzer.tokenizer.tokenize(text)]

    def count(self) -> int:
        """Decisions in the index once what is queued is committed (maintenance, tests)."""
        self.refresh()
        return self._reader().searcher().num_docs

    def ping(self) -> None:
        try:
            self._reader()
        except NoIndex as exc:
            raise rebuilding(str(exc)) from exc

    def close(self) -> None:
        """Commit what is queued, then stop the committer."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
