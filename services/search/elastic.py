"""The Elasticsearch backend (ZHIFA_ELASTICSEARCH_URL), same interface and
same query semantics as the embedded Tantivy one (tantivy_index.py).

- An index template gives every `<alias>-<time>` index its mapping: text
  fields (folded: analysis.fold) analysed by the stock `cjk` analyzer for
  ranking (bigrams; `smartcn` by setting, with the plugin), and the same
  tokens as the embedded index, split by us and indexed with the
  `whitespace` analyzer: `chars` (a word matches as a phrase of its
  characters: 罚, 许可; codes by their letter and digit runs), `tails`
  (suffixes of digit runs: a prefix query finds any part of a number) and
  `agency_chars` (the agency filter matches a part of the name), on any
  cluster without a plugin (NOTES.md).
- Searches and writes go through the alias `<prefix>-v<SCHEMA_VERSION>`: a
  new schema version is a new alias, filled from the database by `ensure`
  on start. `rebuild` fills a new index with the bulk helper and swaps the
  alias in one `update_aliases` call: no downtime.
- Paging by `from`/`size` up to MAX_WINDOW, and `search_after` (sort by date)
  for deep pages.
"""
from __future__ import annotations

import time
from datetime import date, datetime, timezone
from typing import Callable, Iterable

from elastic_transport import HttpHeaders, Urllib3HttpNode
from elasticsearch import Elasticsearch, NotFoundError, helpers

from services.search.analysis import MIN_TAIL, char_tokens, fold, tails
from services.search.index import Hit, IndexDoc, SearchQuery, SearchResult, Term, check_window, snippet

FACET_SIZE = 1000
SCHEMA_VERSION = 2      # 2: folded text, chars/tails/agency_chars fields
MAX_TOKEN = 64


class JsonNode(Urllib3HttpNode):
    """Plain JSON media types instead of the client's compatibility ones
    (`application/vnd.elasticsearch+json; compatible-with=9`), which
    OpenSearch-compatible servers answer with 406; Elasticsearch accepts both."""

    def perform_request(self, method, target, body=None, headers=None, **kwargs):
        headers = HttpHeaders(headers or {})
        for name in ("content-type", "accept"):
            value = headers.get(name)
            if value and "vnd.elasticsearch" in value:
                headers[name] = "application/x-ndjson" if "x-ndjson" in value else "application/json"
        return super().perform_request(method, target, body=body, headers=headers, **kwargs)


def _millis(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp() * 1000)


class ElasticIndex:
    name = "elasticsearch"

    def __init__(self, url: str, prefix: str = "zhifa-decisions", analyzer: str = "cjk",
                 client: Elasticsearch | None = None):
        self.alias = f"{prefix}-v{SCHEMA_VERSION}"
        self.analyzer = analyzer
        self.client = client or Elasticsearch(url, node_class=JsonNode, request_timeout=30, retry_on_timeout=True)
        self._template()
        # a new alias (first start, or a new schema version) is filled from the database by `ensure`
        self.needs_rebuild = not self.client.indices.exists_alias(name=self.alias)
        if self.needs_rebuild:
            self._create_version(aliased=True)

    def ensure(self, docs: Callable[[], Iterable[IndexDoc]], count: Callable[[], int]) -> None:
        """On start: a new alias is filled from the database before the service answers."""
        if self.needs_rebuild and count():
            self.rebuild(docs())
        self.needs_rebuild = False

    # -- setup -----------------------------------------------------------------------

    def _text(self) -> dict:
        return {"type": "text", "analyzer": self.analyzer}

    def _template(self) -> None:
        self.client.indices.put_index_template(
            name=f"{self.alias}-template", index_patterns=[f"{self.alias}-*"],
            template={"settings": {"number_of_shards": 1},
                      "mappings": {"dynamic": "strict", "properties": {
                          "number": {"type": "keyword"}, "kind": {"type": "keyword"},
                          "agency": {"type": "keyword"}, "party": {"type": "keyword"},
                          "title": self._text(), "text": self._text(),
                          "chars": {"type": "text", "analyzer": "whitespace"},
                          "tails": {"type": "text", "analyzer": "whitespace", "index_options": "docs"},
                          "agency_chars": {"type": "text", "analyzer": "whitespace"},
                          "heading": {"type": "keyword", "index": False},
                          "body": {"type": "text", "index": False},
                          "decided_on": {"type": "date", "format": "strict_date"},
                          "until": {"type": "date", "format": "strict_date"},
                          "year": {"type": "integer"}}}})

    def _create_version(self, aliased: bool) -> str:
        name = f"{self.alias}-{time.strftime('%Y%m%d%H%M%S')}-{time.monotonic_ns() % 10**6:06d}"
        self.client.indices.create(index=name, aliases={self.alias: {}} if aliased else None)
        return name

    def _live_indices(self) -> list[str]:
        try:
            return list(self.client.indices.get_alias(name=self.alias))
        except NotFoundError:
            return []

    # -- writing -----------------------------------------------------------------------

    @staticmethod
    def _source(doc: IndexDoc) -> dict:
        everything = " ".join((doc.title, doc.party, doc.number, doc.agency, doc.body))
        chars = [t for t in char_tokens(everything) if len(t) <= MAX_TOKEN]
        return {"number": doc.number, "kind": doc.kind, "agency": doc.agency, "party": doc.party,
                "heading": doc.title, "title": fold(f"{doc.title} {doc.party}"), "text": fold(everything),
                "chars": " ".join(chars), "tails": " ".join(tails(chars)),
                "agency_chars": " ".join(char_tokens(doc.agency)),
                "body": doc.body, "decided_on": doc.decided_on.isoformat(),
                "until": doc.publish_until.isoformat(), "year": doc.year}

    def _actions(self, index: str, docs: Iterable[IndexDoc], progress: Callable[[int], None] | None = None):
        for doc in docs:
            if progress:
                progress(1)
            yield {"_index": index, "_id": doc.number, "_source": self._source(doc)}

    def upsert(self, docs: Iterable[IndexDoc], segmented: dict | None = None) -> int:
        """`segmented` is for the embedded backend; the cluster analyses the text itself."""
        count, _errors = helpers.bulk(self.client, self._actions(self.alias, docs), refresh="wait_for")
        return count

    def refresh(self, timeout: float | None = None) -> None:
        """Writes wait for the refresh already (refresh="wait_for")."""

    def delete(self, number: str) -> None:
        try:
            self.client.delete(index=self.alias, id=number, refresh="wait_for")
        except NotFoundError:
            pass

    def rebuild(self, docs: Iterable[IndexDoc], progress: Callable[[int], None] | None = None,
                workers: int = 1) -> int:
        """`workers` is for the embedded backend; the cluster analyses the text itself."""
        old = self._live_indices()
        new = self._create_version(aliased=False)
        count, _errors = helpers.bulk(self.client, self._actions(new, docs, progress), chunk_size=1000)
        self.client.indices.refresh(index=new)
        self.client.indices.update_aliases(actions=[
            *({"remove": {"index": name, "alias": self.alias}} for name in old),
            {"add": {"index": new, "alias": self.alias}}])
        for name in old:
            self.client.indices.delete(index=name)
        return count

    # -- reading -------------------------------------------------------------------------

    @staticmethod
    def _as_written(term: Term) -> dict:
        """The term's characters in order, or any part of a number (as tantivy_index._term_query)."""
        chars = char_tokens(term.text)
        if not chars:
            return {"match_none": {}}
        if len(chars) == 1 and chars[0].isdigit() and len(chars[0]) >= MIN_TAIL:
            return {"prefix": {"tails": chars[0]}}
        if len(chars) > 1 and chars[-1].isdigit() and len(chars[-1]) >= MIN_TAIL:
            return {"match_phrase_prefix": {"chars": {"query": " ".join(chars), "max_expansions": 50}}}
        return {"match_phrase": {"chars": " ".join(chars)}}

    def search(self, query: SearchQuery) -> SearchResult:
        check_window(query)
        filters: list[dict] = []
        if query.kind:
            filters.append({"term": {"kind": query.kind}})
        if query.agency:        # part of the name (消防) finds the agency
            chars = char_tokens(query.agency)
            filters.append({"match_phrase": {"agency_chars": " ".join(chars)}} if chars else {"match_none": {}})
        if query.date_from or query.date_to:
            span = {k: v.isoformat() for k, v in (("gte", query.date_from), ("lte", query.date_to)) if v}
            filters.append({"range": {"decided_on": span}})
        if query.today:
            filters.append({"range": {"until": {"gte": query.today.isoformat()}}})
        ranking = [clause for t in query.positive if not t.phrase
                   for clause in ({"match": {"title": {"query": fold(t.text), "boost": 4}}},
                                  {"match": {"text": fold(t.text)}})]
        bool_query = {"filter": filters, "must": [self._as_written(t) for t in query.positive],
                      "must_not": [self._as_written(t) for t in query.negative], "should": ranking}
        if query.effective_sort == "date":
            sort = [{"decided_on": "desc"}, {"number": "desc"}]
        else:
            sort = ["_score", {"decided_on": "desc"}, {"number": "desc"}]
        extra: dict = {}
        if query.after:
            extra["search_after"] = [_millis(query.after[0]), query.after[1]]
        else:
            extra["from_"] = query.offset
        resp = self.client.search(
            index=self.alias, query={"bool": bool_query}, sort=sort, size=query.size, track_total_hits=True,
            source=["number", "heading", "kind", "agency", "party", "decided_on", "body"],
            aggs={"kind": {"terms": {"field": "kind", "size": FACET_SIZE}},
                  "agency": {"terms": {"field": "agency", "size": FACET_SIZE}},
                  "year": {"terms": {"field": "year", "size": FACET_SIZE}}}, **extra)
        hits = []
        for h in resp["hits"]["hits"]:
            s = h["_source"]
            hits.append(Hit(s["number"], s["heading"], s["kind"], s["agency"], s["party"],
                            date.fromisoformat(s["decided_on"]), snippet(s["body"], query.positive)))
        facets = {name: dict(sorted(((str(b["key"]), b["doc_count"]) for b in resp["aggregations"][name]["buckets"]),
                                    key=lambda kv: (-kv[1], kv[0])))
                  for name in ("kind", "agency", "year")}
        return SearchResult(resp["hits"]["total"]["value"], hits, facets)

    def count(self) -> int:
        return self.client.count(index=self.alias)["count"]

    def ping(self) -> None:
        self.client.info()

    def close(self) -> None:
        self.client.close()
