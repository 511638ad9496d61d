"""The embedded search backend: SQLite FTS5 over jieba-segmented text.

One SQLite file (under the data dir) holds generations of three tables:

- `meta_gN`: the stored fields and filters, small rows (what facet counts,
  filters and ordering read for every match);
- `texts_gN`: the body for snippets and the jieba words the row was indexed
  with (so that it can be taken out of the index again, below);
- `docs_gN`: a contentless FTS5 table (`content=''`: the text is not stored
  a second time) with four columns:
  - `title`: jieba words of the title and party (weighted highest),
  - `words`: jieba search-mode words of everything,
  - `grams`: every pair of neighbouring characters (Han characters alone,
    Latin/digit runs whole), in text order,
  - `chars`: every Han character alone (and Latin/digit runs).

A query word matches when its characters occur in a row as written: one
character is a `chars` token (罚), two are one `grams` token (许可, no
position lists to merge), more are a phrase of `grams` tokens (住所变更 =
"住所 所变 变更"); or when the row has all its jieba words. BM25 over the
columns ranks the rows that use the words as words first. A contentless
table forgets its text, so a row leaves the index through FTS5's 'delete'
command given the very values it was indexed with: `texts_gN` keeps the
jieba words, the character columns are recomputed from the stored fields.

`rebuild` fills generation N+1 beside the live one (segmentation in worker
processes when asked, SQLite writes in this one, `synchronous=OFF` only for
the invisible new tables) and then switches the `current` pointer in one
transaction: searches never see a half-built index.
"""
from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections import defaultdict, deque
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, Iterator

from services.search.analysis import Analyzer, char_tokens
from services.search.index import Hit, IndexDoc, SearchQuery, SearchResult, Term, check_window, snippet

BM25_WEIGHTS = (4.0, 1.0, 0.3, 0.3)     # title, words, grams, chars
BATCH = 1000
# Above these many matches (a word like 罚款 is in most decisions), facet counts
# are estimated from a sample and relevance ranks the newest matches only:
EXACT_FACETS = 20_000
EXACT_TERMS = 3             # queries with this many words count exactly (see _search)
EXACT_BELOW = 1_000         # an estimate this small is recounted: every hit is on a reachable page
FACET_SAMPLE = 4_000
RANK_WITHIN = 1_000      # = index.MAX_WINDOW: every reachable page is ranked
# Total of a bare word from the FTS index, corrected for at most this many
# decisions past their period that the sweep has not removed yet.
STALE_DIRECT = 200
READ_PRAGMAS = ("PRAGMA cache_size=-65536",        # 64 MB of pages per connection
                "PRAGMA mmap_size=1073741824",     # reads map the file instead of copying pages
                "PRAGMA temp_store=MEMORY")        # GROUP BY / ORDER BY sorters stay in memory


def _fts_string(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _grams(tokens: list[str]) -> list[str]:
    return list(map(str.__add__, tokens, tokens[1:]))


def _fts_values(doc: IndexDoc, title_words: str, body_words: str) -> tuple[str, str, str, str]:
    """The four FTS columns of a row: a pure function of the stored fields and words."""
    chars = char_tokens(" ".join((doc.title, doc.party, doc.number, doc.agency, doc.body)))
    return title_words, f"{title_words} {body_words}", " ".join(_grams(chars)), " ".join(chars)


def segment(analyzer: Analyzer, doc: IndexDoc) -> tuple[tuple, tuple, tuple]:
    """(meta, texts, fts) rows of a decision; jieba is the costly part.
    jieba cuts at spaces, so the title's words plus the rest's are the words of everything."""
    title_words = " ".join(analyzer.words(f"{doc.title} {doc.party}"))
    body_words = " ".join(analyzer.words(f"{doc.number} {doc.agency} {doc.body}"))
    meta = (doc.number, doc.kind, doc.title, doc.agency, doc.party, doc.decided_on.isoformat(),
            doc.publish_until.isoformat(), doc.year)
    return meta, (doc.body, title_words, body_words), _fts_values(doc, title_words, body_words)


_WORKER: Analyzer | None = None


def _init_worker(user_dict) -> None:
    global _WORKER
    _WORKER = Analyzer(user_dict)


def _segment_batch(docs: list[IndexDoc]) -> list[tuple]:
    return [segment(_WORKER, d) for d in docs]


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
            earlier = self._earlier_layout(conn, self._generation(conn))
            if earlier is None:
                with conn:
                    self._create_generation(conn, self._generation(conn))
        if earlier is not None:           # an index file of an earlier version: its rows, indexed anew
            self.rebuild(earlier)

    # -- connections and generations --------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            for pragma in READ_PRAGMAS:
                conn.execute(pragma)
            self._local.conn = conn
        return conn

    @staticmethod
    def _generation(conn: sqlite3.Connection) -> int:
        return conn.execute("SELECT gen FROM current WHERE id = 1").fetchone()[0]

    @staticmethod
    def _earlier_layout(conn: sqlite3.Connection, gen: int) -> list[IndexDoc] | None:
        """The decisions of a generation written by an earlier version of this
        module (text in `meta` or no facet codes), or None."""
        columns = {r[1] for r in conn.execute(f"PRAGMA table_info(meta_g{gen})")}
        if not columns or "facet" in columns:
            return None
        source = (f"meta_g{gen} AS m" if "body" in columns
                  else f"meta_g{gen} AS m JOIN texts_g{gen} AS t ON t.id = m.id")
        return [IndexDoc(number, kind, title, agency, party, date.fromisoformat(decided), date.fromisoformat(until),
                         body)
                for number, kind, title, agency, party, decided, until, body in conn.execute(
                    f"SELECT m.number, m.kind, m.title, m.agency, m.party, m.decided_on, m.until, body FROM {source}")]

    @staticmethod
    def _create_generation(conn: sqlite3.Connection, gen: int) -> None:
        conn.execute(f"""CREATE TABLE IF NOT EXISTS meta_g{gen} (
            id INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, title TEXT NOT NULL,
            agency TEXT NOT NULL, party TEXT NOT NULL, decided_on TEXT NOT NULL, until TEXT NOT NULL,
            year INTEGER NOT NULL, facet INTEGER NOT NULL)""")
        # One small integer per (kind, agency, year): facet counts group on it.
        conn.execute(f"""CREATE TABLE IF NOT EXISTS facets_g{gen} (
            code INTEGER PRIMARY KEY, kind TEXT NOT NULL, agency TEXT NOT NULL, year INTEGER NOT NULL,
            UNIQUE (kind, agency, year))""")
        conn.execute(f"CREATE INDEX IF NOT EXISTS meta_g{gen}_date ON meta_g{gen} (decided_on, number)")
        conn.execute(f"CREATE INDEX IF NOT EXISTS meta_g{gen}_until ON meta_g{gen} (until)")
        conn.execute(f"""CREATE TABLE IF NOT EXISTS texts_g{gen} (
            id INTEGER PRIMARY KEY, body TEXT NOT NULL, title_words TEXT NOT NULL, body_words TEXT NOT NULL)""")
        conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS docs_g{gen} USING fts5("
                     "title, words, grams, chars, content='', tokenize='unicode61 remove_diacritics 0')")

    @staticmethod
    def _drop_generation(conn: sqlite3.Connection, gen: int) -> None:
        for table in ("docs", "texts", "meta", "facets"):
            conn.execute(f"DROP TABLE IF EXISTS {table}_g{gen}")

    # -- writing -----------------------------------------------------------------

    def _rows(self, doc: IndexDoc) -> tuple[tuple, tuple, tuple]:
        return segment(self.analyzer, doc)

    @staticmethod
    def _remove(conn: sqlite3.Connection, gen: int, number: str) -> None:
        old = conn.execute(f"SELECT m.id, m.number, m.kind, m.title, m.agency, m.party, m.decided_on, m.until, "
                           f"t.body, t.title_words, t.body_words FROM meta_g{gen} AS m "
                           f"JOIN texts_g{gen} AS t ON t.id = m.id WHERE m.number = ?", (number,)).fetchone()
        if not old:
            return
        rowid, number, kind, title, agency, party, decided, until, body, title_words, body_words = old
        doc = IndexDoc(number, kind, title, agency, party, date.fromisoformat(decided), date.fromisoformat(until),
                       body)
        conn.execute(f"INSERT INTO docs_g{gen} (docs_g{gen}, rowid, title, words, grams, chars) "
                     "VALUES ('delete', ?, ?, ?, ?, ?)", (rowid, *_fts_values(doc, title_words, body_words)))
        conn.execute(f"DELETE FROM texts_g{gen} WHERE id = ?", (rowid,))
        conn.execute(f"DELETE FROM meta_g{gen} WHERE id = ?", (rowid,))

    @staticmethod
    def _insert(conn: sqlite3.Connection, gen: int, rows: list[tuple], replace: bool = True) -> int:
        """Write segmented rows in the open transaction; a number already indexed
        (or repeated in `rows`: the last one stays) replaces the earlier row."""
        latest = {meta[0]: (meta, texts, fts) for meta, texts, fts in rows}
        if not latest:
            return 0
        if replace:
            numbers = list(latest)
            for at in range(0, len(numbers), 500):
                chunk = numbers[at:at + 500]
                for (number,) in conn.execute(f"SELECT number FROM meta_g{gen} WHERE number IN "
                                              f"({', '.join('?' * len(chunk))})", chunk).fetchall():
                    FtsIndex._remove(conn, gen, number)
        codes = {(kind, agency, year): code for code, kind, agency, year in
                 conn.execute(f"SELECT code, kind, agency, year FROM facets_g{gen}")}
        for meta, _, _ in latest.values():
            key = (meta[1], meta[3], meta[7])
            if key not in codes:
                codes[key] = conn.execute(f"INSERT INTO facets_g{gen} (kind, agency, year) VALUES (?, ?, ?)",
                                          key).lastrowid
        # Rowids grow with indexing order (relevance for very common words ranks the newest).
        first = conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM meta_g{gen}").fetchone()[0]
        ids = range(first, first + len(latest))
        values = list(latest.values())
        conn.executemany(f"INSERT INTO meta_g{gen} (id, number, kind, title, agency, party, decided_on, until, "
                         "year, facet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         ((i, *meta, codes[(meta[1], meta[3], meta[7])]) for i, (meta, _, _) in zip(ids, values)))
        conn.executemany(f"INSERT INTO texts_g{gen} (id, body, title_words, body_words) VALUES (?, ?, ?, ?)",
                         ((i, *texts) for i, (_, texts, _) in zip(ids, values)))
        conn.executemany(f"INSERT INTO docs_g{gen} (rowid, title, words, grams, chars) VALUES (?, ?, ?, ?, ?)",
                         ((i, *fts) for i, (_, _, fts) in zip(ids, values)))
        return len(rows)

    def upsert(self, docs: Iterable[IndexDoc]) -> int:
        total = 0
        with self._write_lock:
            conn = self._conn()
            for batch in _batches(docs, BATCH):
                rows = [self._rows(d) for d in batch]        # segment before taking the write lock of the file
                conn.execute("BEGIN IMMEDIATE")
                try:
                    total += self._insert(conn, self._generation(conn), rows)
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
                self._remove(conn, self._generation(conn), number)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _segmented(self, docs: Iterable[IndexDoc], workers: int) -> Iterator[list[tuple]]:
        """Batches of rows, segmented here or in `workers` processes (in order, a few batches ahead)."""
        if workers <= 1:
            for batch in _batches(docs, BATCH):
                yield [self._rows(d) for d in batch]
            return
        # Spawned, not forked: the caller may have threads (a web process, a
        # timer) holding locks that a forked child would inherit held.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_init_worker, initargs=(self.analyzer.user_dict,)) as pool:
            pending: deque = deque()
            for batch in _batches(docs, BATCH):
                pending.append(pool.submit(_segment_batch, batch))
                if len(pending) > 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def rebuild(self, docs: Iterable[IndexDoc], progress: Callable[[int], None] | None = None,
                workers: int = 1) -> int:
        """Fill a new generation, then switch to it at once; the old one is dropped.
        Numbers repeated in `docs` keep their last version."""
        with self._write_lock:
            conn = self._conn()
            old = self._generation(conn)
            new = old + 1
            with conn:
                self._drop_generation(conn, new)
                self._create_generation(conn, new)
            # Nothing reads generation `new` before the switch below, and a crash
            # leaves the old one live and this one to be dropped by the next rebuild.
            conn.execute("PRAGMA synchronous=OFF")
            total = 0
            try:
                for rows in self._segmented(docs, workers):
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        total += self._insert(conn, new, rows)
                        conn.execute("COMMIT")
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                    if progress:
                        progress(len(rows))
                conn.execute(f"INSERT INTO docs_g{new}(docs_g{new}) VALUES ('optimize')")
            finally:
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE current SET gen = ? WHERE id = 1", (new,))
            self._drop_generation(conn, old)
            conn.execute("COMMIT")
            return total

    # -- reading -----------------------------------------------------------------

    def _term_expr(self, term: Term, ranking: bool) -> str | None:
        chars = char_tokens(term.text)
        if not chars:
            return None
        words = [] if term.phrase else self.analyzer.query_words(term.text)
        whole = len(words) == 1 and char_tokens(words[0]) == chars       # the term is one word
        if len(chars) <= 2:
            # One token (罚 or 许可): a character column holds it wherever the text
            # does, title and words only where it is a word; so in any column it
            # matches the same rows, and BM25 weighs where it was found.
            expr = _fts_string("".join(chars))
            branch = bool(words) and not whole
        else:
            expr = "grams : " + _fts_string(" ".join(_grams(chars)))
            branch = bool(words) and (ranking or not whole)
        # A row with all the query's words matches even when they are apart; a
        # single word that is the whole term adds no row (a row's words are its
        # text), so then only ranking needs that branch.
        if branch:
            expr = f"({expr}) OR ({{title words}} : ({' AND '.join(_fts_string(w) for w in words)}))"
        return f"({expr})"

    def match_expression(self, terms: Iterable[Term], ranking: bool = False) -> str | None:
        """The FTS5 query: `ranking` gives the form BM25 scores (same rows, more phrases)."""
        parts = [e for e in (self._term_expr(t, ranking) for t in terms) if e]
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
        narrowed = bool(where)
        exclude = self.match_expression(Term(t.text, True) for t in query.negative)
        if exclude:
            where.append(f"m.id NOT IN (SELECT rowid FROM docs_g{gen} WHERE docs_g{gen} MATCH ?)")
            params.append(exclude)
        if query.today:
            where.append("m.until >= ?"), params.append(query.today.isoformat())
        match = self.match_expression(query.positive)
        if query.positive and not match:      # only punctuation: nothing can match
            return SearchResult(0, [], {"kind": {}, "agency": {}, "year": {}})
        if match:
            # The FTS table drives the join (CROSS JOIN keeps that order): each match
            # looks up its small meta row; conditions on the rowid alone (the facet
            # sample, the ranking window) are checked before that lookup.
            source = f"docs_g{gen} CROSS JOIN meta_g{gen} AS m ON m.id = docs_g{gen}.rowid"
            rowid = f"docs_g{gen}.rowid"
            where.insert(0, f"docs_g{gen} MATCH ?")
            params.insert(0, match)
        else:
            source, rowid = f"meta_g{gen} AS m", "m.id"

        def sql(extra: list[str] = ()) -> str:
            conds = [*where, *extra]
            return f"{source}{' WHERE ' + ' AND '.join(conds) if conds else ''}"

        approximate = estimated = False
        if match and len(query.positive) >= EXACT_TERMS:
            # Several words: counting the candidates first would cost another
            # evaluation of every phrase, and what they have in common is rarely
            # very many rows: count the facets of every match at once.
            upper = 0
        elif match:
            upper = conn.execute(f"SELECT count(*) FROM docs_g{gen} WHERE docs_g{gen} MATCH ?", (match,)).fetchone()[0]
        else:
            upper = conn.execute(f"SELECT count(*) FROM meta_g{gen}").fetchone()[0]
        if upper <= EXACT_FACETS:
            facets, total = self._facets(conn, gen, rowid, sql, params, 1)
        else:
            # Very many candidates: every match costs a row lookup (about half a
            # microsecond), so facets come from every step-th candidate, and so
            # does the total unless the FTS count alone is exact.
            step = -(-upper // FACET_SAMPLE)
            total = (self._exact_total(conn, gen, query, match, upper, narrowed or bool(exclude)) if match
                     else conn.execute(f"SELECT count(*) FROM {sql()}", params).fetchone()[0])   # no lookups
            facets, seen, sampled = self._sampled_facets(conn, gen, source, where, params, rowid, step)
            if total is None:
                total = round(upper * seen / sampled) if sampled else 0
                approximate = True
            if total <= EXACT_BELOW:           # the filters left few: count those exactly
                facets, total = self._facets(conn, gen, rowid, sql, params, 1)
                approximate = False
            else:
                facets, estimated = self._scaled(facets, total, seen), True
        ranked_within = None
        hits: list[Hit] = []
        if total > query.offset:
            extra, extra_params = [], []
            if query.effective_sort == "date":
                order = "m.decided_on DESC, m.number DESC"
                if query.after:
                    extra.append("(m.decided_on, m.number) < (?, ?)")
                    extra_params.extend(query.after)
            else:
                order = f"bm25(docs_g{gen}, {', '.join(map(str, BM25_WEIGHTS))}), m.decided_on DESC, m.number DESC"
                if total > RANK_WITHIN:
                    # A very common word: BM25 for every match costs more than the
                    # page is worth; rank the newest RANK_WITHIN matches (rowids grow
                    # as decisions are indexed), which hold every reachable page.
                    bound = conn.execute(f"SELECT {rowid} FROM {sql()} ORDER BY {rowid} DESC LIMIT 1 OFFSET ?",
                                         [*params, RANK_WITHIN - 1]).fetchone()
                    if bound:
                        extra.append(f"{rowid} >= ?"), extra_params.append(bound[0])
                        ranked_within = RANK_WITHIN
            page_params = list(params)
            if match and query.effective_sort != "date":
                page_params[0] = self.match_expression(query.positive, ranking=True)
            ids = [r[0] for r in conn.execute(f"SELECT m.id FROM {sql(extra)} ORDER BY {order} LIMIT ? OFFSET ?",
                                              [*page_params, *extra_params, query.size, query.offset])]
            rows = {r[0]: r[1:] for r in conn.execute(
                f"SELECT m.id, m.number, m.title, m.kind, m.agency, m.party, m.decided_on, t.body "
                f"FROM meta_g{gen} AS m JOIN texts_g{gen} AS t ON t.id = m.id "
                f"WHERE m.id IN ({', '.join('?' * len(ids))})", ids)}
            for number, title, kind, agency, party, decided, body in (rows[i] for i in ids):
                hits.append(Hit(number, title, kind, agency, party, date.fromisoformat(decided),
                                snippet(body, query.positive)))
        return SearchResult(total, hits, facets, total_approximate=approximate,
                            facets_approximate=estimated,
                            ranked_within=ranked_within)

    @staticmethod
    def _exact_total(conn, gen: int, query: SearchQuery, match: str | None, upper: int, narrowed: bool) -> int | None:
        """The number of matches when the FTS count `upper` gives it without a
        row lookup: a bare query, less the matches past their publication period
        that the daily sweep has not taken out yet, when those are few."""
        if narrowed:
            return None
        if not query.today:
            return upper
        today = query.today.isoformat()
        stale = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM meta_g{gen} WHERE until < ? LIMIT ?)",
                             (today, STALE_DIRECT + 1)).fetchone()[0]
        if not stale:
            return upper
        if stale > STALE_DIRECT:
            return None
        return upper - conn.execute(
            f"SELECT count(*) FROM meta_g{gen} AS m CROSS JOIN docs_g{gen} ON docs_g{gen}.rowid = m.id "
            f"WHERE m.until < ? AND docs_g{gen} MATCH ?", (today, match)).fetchone()[0]

    @staticmethod
    def _facets(conn, gen: int, rowid: str, sql, params, step: int, total: int | None = None) -> tuple[dict, int]:
        """Counts by kind, agency and year of every `step`-th row, and their sum."""
        extra = [_sample(rowid, step)] if step > 1 else []
        groups = conn.execute(f"SELECT m.facet, count(*) FROM {sql(extra)} GROUP BY 1", params).fetchall()
        names = {code: (kind, agency, year) for code, kind, agency, year in
                 conn.execute(f"SELECT code, kind, agency, year FROM facets_g{gen}")}
        facets: dict[str, dict] = {"kind": defaultdict(int), "agency": defaultdict(int), "year": defaultdict(int)}
        for code, n in groups:
            kind, agency, year = names[code]
            facets["kind"][kind] += n
            facets["agency"][agency] += n
            facets["year"][str(year)] += n
        return {k: _sorted_counts(v) for k, v in facets.items()}, sum(n for _, n in groups)

    @staticmethod
    def _sampled_facets(conn, gen: int, source: str, where: list[str], params: list, rowid: str,
                        step: int) -> tuple[dict, int, int]:
        """Counts by kind, agency and year among about one candidate in `step`,
        how many of those sampled pass the filters, and how many were sampled:
        one pass, the filters in a LEFT JOIN's ON so that failing rows count too."""
        if " CROSS JOIN " in source:
            fts_table, on = source.split(" CROSS JOIN ")
            joined, on = on.split(" ON ")
            first, rest = where[0], where[1:]
            sql = (f"SELECT m.facet, count(*) FROM {fts_table} LEFT JOIN {joined} ON {' AND '.join([on, *rest])} "
                   f"WHERE {first} AND {_sample(rowid, step)} GROUP BY 1")
            params = [*params[1:], params[0]]          # the ON clause's come first in the text
        else:      # no words: the meta table alone, the filters in a CASE
            cond = " AND ".join(where) or "1"
            sql = (f"SELECT CASE WHEN {cond} THEN m.facet END, count(*) FROM {source} "
                   f"WHERE {_sample(rowid, step)} GROUP BY 1")
        groups = conn.execute(sql, params).fetchall()
        names = {code: (kind, agency, year) for code, kind, agency, year in
                 conn.execute(f"SELECT code, kind, agency, year FROM facets_g{gen}")}
        facets: dict[str, dict] = {"kind": defaultdict(int), "agency": defaultdict(int), "year": defaultdict(int)}
        for code, n in groups:
            if code is None:
                continue
            kind, agency, year = names[code]
            facets["kind"][kind] += n
            facets["agency"][agency] += n
            facets["year"][str(year)] += n
        return ({k: _sorted_counts(v) for k, v in facets.items()}, sum(n for c, n in groups if c is not None),
                sum(n for _, n in groups))

    @staticmethod
    def _scaled(facets: dict, total: int, seen: int) -> dict:
        scale = total / seen if seen else 0
        return {k: _sorted_counts({value: round(n * scale) for value, n in v.items()}) for k, v in facets.items()}

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


def _sample(rowid: str, step: int) -> str:
    """About one row in `step`, chosen by a multiplicative hash of the rowid so
    that no period in the data (alternate years, batches) lines up with it."""
    return f"({rowid} * 2654435761) % 4294967291 % {step} = 0"


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
