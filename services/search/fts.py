"""The embedded search backend: SQLite FTS5 over jieba-segmented text.

One SQLite file (under the data dir) holds generations of two tables: `meta_gN`
(the stored fields, filters and the body for snippets) and `docs_gN`, an FTS5
table with three columns:

- `title`: jieba words of the title and party (weighted highest),
- `words`: jieba search-mode words of everything,
- `chars`: every Han character alone (and Latin/digit runs).

A query word matches when its characters occur in a row as written (a
phrase of `chars`: so 罚 and 许可 match, NOTES.md), or when the row has all
its jieba words; BM25 over the three columns ranks the rows that use the
words as words first. `rebuild` fills generation N+1 beside the live one and
then switches the `current` pointer in one transaction: searches never see
a half-built index.
"""
from __future__ import annotations

import sqlite3
import threading
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, Iterator

from services.search.analysis import Analyzer, char_tokens
from services.search.index import Hit, IndexDoc, SearchQuery, SearchResult, Term, check_window, snippet

BM25_WEIGHTS = (4.0, 1.0, 0.3)     # title, words, chars
BATCH = 500


def _fts_string(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


class FtsIndex:
    name = "sqlite-fts5"

    def __init__(self, path: Path, analyzer: Analyzer):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.analyzer = analyzer
        self._local = threading.local()
        self._write_lock = threading.Lock()
        with self._write_lock:
            conn = self._conn()
            with conn:
                conn.execute("CREATE TABLE IF NOT EXISTS current (id INTEGER PRIMARY KEY CHECK (id = 1), gen INTEGER)")
                conn.execute("INSERT OR IGNORE INTO current (id, gen) VALUES (1, 1)")
                self._create_generation(conn, self._generation(conn))

    # -- connections and generations --------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @staticmethod
    def _generation(conn: sqlite3.Connection) -> int:
        return conn.execute("SELECT gen FROM current WHERE id = 1").fetchone()[0]

    @staticmethod
    def _create_generation(conn: sqlite3.Connection, gen: int) -> None:
        conn.execute(f"""CREATE TABLE IF NOT EXISTS meta_g{gen} (
            id INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, title TEXT NOT NULL,
            agency TEXT NOT NULL, party TEXT NOT NULL, decided_on TEXT NOT NULL, until TEXT NOT NULL,
            year INTEGER NOT NULL, body TEXT NOT NULL)""")
        conn.execute(f"CREATE INDEX IF NOT EXISTS meta_g{gen}_date ON meta_g{gen} (decided_on, number)")
        conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS docs_g{gen} USING fts5("
                     "title, words, chars, tokenize='unicode61 remove_diacritics 0')")

    # -- writing -----------------------------------------------------------------

    def _rows(self, doc: IndexDoc) -> tuple[tuple, tuple]:
        everything = " ".join((doc.title, doc.party, doc.number, doc.agency, doc.body))
        meta = (doc.number, doc.kind, doc.title, doc.agency, doc.party, doc.decided_on.isoformat(),
                doc.publish_until.isoformat(), doc.year, doc.body)
        fts = (" ".join(self.analyzer.words(f"{doc.title} {doc.party}")),
               " ".join(self.analyzer.words(everything)), " ".join(char_tokens(everything)))
        return meta, fts

    def _write(self, conn: sqlite3.Connection, gen: int, docs: Iterable[IndexDoc]) -> int:
        count = 0
        for doc in docs:
            meta, fts = self._rows(doc)
            old = conn.execute(f"SELECT id FROM meta_g{gen} WHERE number = ?", (doc.number,)).fetchone()
            if old:
                conn.execute(f"DELETE FROM docs_g{gen} WHERE rowid = ?", old)
                conn.execute(f"DELETE FROM meta_g{gen} WHERE id = ?", old)
            cur = conn.execute(f"INSERT INTO meta_g{gen} (number, kind, title, agency, party, decided_on, until, "
                               "year, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", meta)
            conn.execute(f"INSERT INTO docs_g{gen} (rowid, title, words, chars) VALUES (?, ?, ?, ?)",
                         (cur.lastrowid, *fts))
            count += 1
        return count

    def upsert(self, docs: Iterable[IndexDoc]) -> int:
        total = 0
        with self._write_lock:
            conn = self._conn()
            for batch in _batches(docs, BATCH):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    total += self._write(conn, self._generation(conn), batch)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        return total

    def delete(self, number: str) -> None:
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                gen = self._generation(conn)
                old = conn.execute(f"SELECT id FROM meta_g{gen} WHERE number = ?", (number,)).fetchone()
                if old:
                    conn.execute(f"DELETE FROM docs_g{gen} WHERE rowid = ?", old)
                    conn.execute(f"DELETE FROM meta_g{gen} WHERE id = ?", old)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def rebuild(self, docs: Iterable[IndexDoc], progress: Callable[[int], None] | None = None) -> int:
        """Fill a new generation, then switch to it at once; the old one is dropped."""
        with self._write_lock:
            conn = self._conn()
            old = self._generation(conn)
            new = old + 1
            with conn:
                conn.execute(f"DROP TABLE IF EXISTS docs_g{new}")
                conn.execute(f"DROP TABLE IF EXISTS meta_g{new}")
                self._create_generation(conn, new)
            total = 0
            for batch in _batches(docs, BATCH):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    total += self._write(conn, new, batch)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                if progress:
                    progress(len(batch))
            conn.execute(f"INSERT INTO docs_g{new}(docs_g{new}) VALUES ('optimize')")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE current SET gen = ? WHERE id = 1", (new,))
            conn.execute(f"DROP TABLE docs_g{old}")
            conn.execute(f"DROP TABLE meta_g{old}")
            conn.execute("COMMIT")
            return total

    # -- reading -----------------------------------------------------------------

    def _term_expr(self, term: Term) -> str | None:
        chars = char_tokens(term.text)
        if not chars:
            return None
        expr = "chars : " + _fts_string(" ".join(chars))
        words = [] if term.phrase else self.analyzer.query_words(term.text)
        if words:
            expr = f"({expr}) OR ({{title words}} : ({' AND '.join(_fts_string(w) for w in words)}))"
        return f"({expr})"

    def match_expression(self, terms: Iterable[Term]) -> str | None:
        parts = [e for e in (self._term_expr(t) for t in terms) if e]
        return " AND ".join(parts) if parts else None

    def search(self, query: SearchQuery) -> SearchResult:
        check_window(query)
        conn = self._conn()
        conn.execute("BEGIN")          # one snapshot for hits and counts
        try:
            return self._search(conn, self._generation(conn), query)
        finally:
            conn.execute("COMMIT")

    def _search(self, conn: sqlite3.Connection, gen: int, query: SearchQuery) -> SearchResult:
        where, params = [], []
        if query.kind:
            where.append("m.kind = ?"), params.append(query.kind)
        if query.agency:
            where.append("m.agency = ?"), params.append(query.agency)
        if query.date_from:
            where.append("m.decided_on >= ?"), params.append(query.date_from.isoformat())
        if query.date_to:
            where.append("m.decided_on <= ?"), params.append(query.date_to.isoformat())
        if query.today:
            where.append("m.until >= ?"), params.append(query.today.isoformat())
        exclude = self.match_expression(Term(t.text, True) for t in query.negative)
        if exclude:
            where.append(f"m.id NOT IN (SELECT rowid FROM docs_g{gen} WHERE docs_g{gen} MATCH ?)")
            params.append(exclude)
        match = self.match_expression(query.positive)
        if query.positive and not match:      # only punctuation: nothing can match
            return SearchResult(0, [], {"kind": {}, "agency": {}, "year": {}})
        if match:
            # Counting needs no score: BM25 is computed only for the page's ordering.
            count_source = (f"(SELECT rowid AS id FROM docs_g{gen} WHERE docs_g{gen} MATCH ?) AS h "
                            f"JOIN meta_g{gen} AS m ON m.id = h.id")
            source = (f"(SELECT rowid AS id, bm25(docs_g{gen}, {', '.join(map(str, BM25_WEIGHTS))}) AS score "
                      f"FROM docs_g{gen} WHERE docs_g{gen} MATCH ?) AS h JOIN meta_g{gen} AS m ON m.id = h.id")
            params = [match, *params]
        else:
            source = count_source = f"meta_g{gen} AS m"
        filters = (" WHERE " + " AND ".join(where)) if where else ""

        facets: dict[str, dict] = {"kind": defaultdict(int), "agency": defaultdict(int), "year": defaultdict(int)}
        total = 0
        for kind, agency, year, n in conn.execute(
                f"SELECT m.kind, m.agency, m.year, count(*) FROM {count_source}{filters} GROUP BY 1, 2, 3", params):
            total += n
            facets["kind"][kind] += n
            facets["agency"][agency] += n
            facets["year"][str(year)] += n

        page_where, page_params = list(where), list(params)
        if query.effective_sort == "date":
            order = "m.decided_on DESC, m.number DESC"
            if query.after:
                page_where.append("(m.decided_on, m.number) < (?, ?)")
                page_params.extend(query.after)
        else:
            order = "h.score, m.decided_on DESC, m.number DESC"
        page_filters = (" WHERE " + " AND ".join(page_where)) if page_where else ""
        rows = conn.execute(
            f"SELECT m.number, m.title, m.kind, m.agency, m.party, m.decided_on, m.body FROM {source}{page_filters} "
            f"ORDER BY {order} LIMIT ? OFFSET ?", [*page_params, query.size, query.offset]).fetchall()
        hits = [Hit(number, title, kind, agency, party, date.fromisoformat(decided), snippet(body, query.positive))
                for number, title, kind, agency, party, decided, body in rows]
        return SearchResult(total, hits, {k: _sorted_counts(v) for k, v in facets.items()})

    def count(self) -> int:
        conn = self._conn()
        return conn.execute(f"SELECT count(*) FROM meta_g{self._generation(conn)}").fetchone()[0]

    def ping(self) -> None:
        self._conn().execute("SELECT 1").fetchone()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _sorted_counts(counts: dict) -> dict:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
