"""schemathesis against each service's own /openapi.json, the app called in
process (WSGI): whatever a client sends (schema-valid requests and requests
that break the schema), the service never answers 5xx, and every answer is
documented: its status code, its content type, its headers and its body
match the operation's responses in the spec.

Every request carries a bearer token of some role (admin more often, so most
requests get past authorisation; the other roles meet the 403s), and path
identifiers are, half the time, those of records seeded before the run (a
document and a batch, a case file with an upload, two published decisions),
so the fuzzer reaches the answers of real records, not only 404s.
Examples are bounded and derandomised: the same cases every run, the three
services in one to two minutes (ZHIFA_FUZZ_EXAMPLES widens it).

Not checked here (schemathesis' positive_data_acceptance and
negative_data_rejection): that every schema-valid request is accepted and
every schema-breaking one refused. The services refuse more than JSON Schema
can say (control characters, dates that do not exist, a CSV export without a
kind), and ignore unknown query arguments, as HTTP APIs do.
"""
from __future__ import annotations

import io
import json
import os
from collections import Counter, defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis import checks as st_checks
from schemathesis.core.failures import FailureGroup

from tests.conftest import TOKENS, auth, free_port

# Per operation and generation mode; ZHIFA_FUZZ_EXAMPLES=500 searches further (locally, minutes).
MAX_EXAMPLES = int(os.environ.get("ZHIFA_FUZZ_EXAMPLES", "30"))
CHECKS = [st_checks.not_a_server_error, st_checks.status_code_conformance, st_checks.content_type_conformance,
          st_checks.response_headers_conformance, st_checks.response_schema_conformance]
ROLES = list(TOKENS)


def _generator(zhifa_env, tmp_path):
    from services.generator.app import create_app
    from services.generator.catalogue import Catalogue
    app = create_app(zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}",
                               ZHIFA_VERIFY_RATE_LIMIT="100000 per minute"))
    client = app.test_client()
    example = Catalogue().get("penalty_decision").example
    doc = client.post("/v1/documents", json={"type": "penalty_decision", "data": example, "formats": ["docx"]},
                      headers=auth("case-system"))
    assert doc.status_code == 201, doc.get_json()
    batch = client.post("/v1/batches", json={"documents": [{"type": "penalty_decision", "data": example}],
                                             "formats": ["docx"]}, headers=auth("case-system"))
    assert batch.status_code == 202, batch.get_json()
    return app, {"id": [doc.get_json()["id"], batch.get_json()["id"]], "type": ["penalty_decision"]}


def _archive(zhifa_env, tmp_path):
    from services.archive.app import create_app
    from tests.archive.conftest import LICENSE_CASE
    # The generator is down (nobody listens on the port): adding a generated document is a documented 502/503.
    app = create_app(zhifa_env(ZHIFA_ARCHIVE_DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite3'}",
                               ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{free_port()}",
                               ZHIFA_GENERATOR_TOKEN=TOKENS["archivist"],
                               ZHIFA_VERIFY_RATE_LIMIT="100000 per minute"))
    client = app.test_client()
    case = client.post("/v1/case-files", json={**LICENSE_CASE, "decision_number": "鞍审批许准字〔2026〕第1号"},
                       headers=auth("archivist"))
    assert case.status_code == 201, case.get_json()
    case_id = case.get_json()["id"]
    item = client.post(f"/v1/case-files/{case_id}/items", headers=auth("archivist"), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(_small_png()), "photo.png", "image/png"),
                             "meta": json.dumps({"title": "营业执照复印件", "kind": "evidence", "date": "2026-03-02"})})
    assert item.status_code == 201, item.get_json()
    return app, {"id": [case_id], "item_id": [item.get_json()["id"]]}


def _search(zhifa_env, tmp_path):
    from services.search.app import create_app
    from tests.search.conftest import LICENSE, PENALTY
    # Nobody listens on the generator's port: publishing by document_id is a documented 503.
    app = create_app(zhifa_env(ZHIFA_SEARCH_DATABASE_URL=f"sqlite:///{tmp_path / 's.sqlite3'}",
                               ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{free_port()}",
                               ZHIFA_GENERATOR_TOKEN=TOKENS["publisher"],
                               ZHIFA_SEARCH_RATE_LIMIT="100000 per minute"))
    client = app.test_client()
    for body in (PENALTY, LICENSE):
        resp = client.post("/v1/decisions", json=body, headers=auth("publisher"))
        assert resp.status_code == 201, resp.get_json()
    app.extensions["zhifa.runtime"].index.refresh()
    return app, {"number": [PENALTY["number"], LICENSE["number"]]}


def _small_png() -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(out, "PNG")
    return out.getvalue()


SERVICES = {"generator": _generator, "archive": _archive, "search": _search}


def _upstream_problem(response) -> bool:
    """The generator (the archive's and search service's upstream) unreachable or refusing: nobody
    listens on its port here, so a request naming a document gets this, documented, answer."""
    try:
        return response.json()["type"].rsplit("/", 1)[-1] in (
            "upstream-unavailable", "upstream-refused", "upstream-bad-answer")
    except (ValueError, KeyError, AttributeError, TypeError):
        return False


def _force_docx(case) -> None:
    """PDFs (LibreOffice, seconds each) are tested elsewhere; a fuzzed valid document asks for DOCX only."""
    body = case.body
    if isinstance(body, dict):
        if isinstance(body.get("formats"), list):
            body["formats"] = ["docx"]
        for doc in body.get("documents") or [] if isinstance(body.get("documents"), list) else []:
            if isinstance(doc, dict) and isinstance(doc.get("formats"), list):
                doc["formats"] = ["docx"]


@pytest.mark.parametrize("service", sorted(SERVICES))
@pytest.mark.timeout(max(600, MAX_EXAMPLES * 20))
def test_every_answer_is_documented_and_none_is_a_server_error(service, zhifa_env, tmp_path):
    app, known = SERVICES[service](zhifa_env, tmp_path)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    failures: dict[tuple[str, str], str] = {}
    seen: dict[str, Counter] = defaultdict(Counter)
    try:
        # What ends a seeded record (withdrawing a decision, sealing a case file) runs last.
        operations = sorted((result.ok() for result in schema.get_all_operations()),
                            key=lambda op: op.method.upper() == "DELETE" or op.path.endswith("/seal"))
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                @given(case=operation.as_strategy(generation_mode=mode),
                       role=st.one_of(st.just("admin"), st.sampled_from(ROLES)),
                       seeded=st.booleans(), pick=st.integers(0, 1))
                @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
                def run(case, role, seeded, pick):
                    if seeded:
                        for name in list(case.path_parameters or {}):
                            if name in known:
                                case.path_parameters[name] = known[name][pick % len(known[name])]
                    _force_docx(case)
                    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKENS[role]}"}
                    response = case.call()
                    seen[operation.label][response.status_code] += 1
                    checks = CHECKS
                    if response.status_code in (502, 503) and _upstream_problem(response):
                        checks = CHECKS[1:]    # a dependency down is a documented answer, not our error
                    try:
                        case.validate_response(response, checks=checks)
                    except FailureGroup as exc:   # collect every distinct failure, not only the first
                        titles = " ".join(line.strip() for line in str(exc).splitlines() if line.startswith("- "))
                        failures.setdefault((operation.label, f"{titles} [{response.status_code}]"), str(exc)[:2000])
                try:
                    run()
                except Unsatisfiable:
                    # e.g. no way to break a schema of plain strings in a path: nothing negative to send
                    assert mode is GenerationMode.NEGATIVE, operation.label
    finally:
        app.extensions["zhifa.runtime"].close()
    report = "\n\n".join(f"== {label}: {key}\n{text}" for (label, key), text in sorted(failures.items()))
    assert not failures, f"{len(failures)} distinct failures\n{report}"
    # The fuzzer reached real answers, not only refusals: every operation answered 2xx at least once
    # when it has a seeded record or needs none (operations that create records are the exception:
    # a schema-valid document or decision is rare in random data, and their successes are other tests').
    without_success = sorted(label for label, statuses in seen.items() if not any(200 <= s < 300 for s in statuses))
    assert set(without_success) <= CREATING[service], (without_success, dict(seen))


CREATING = {
    # The seeded document has no PDF (DOCX only, see _force_docx): its PDF is a documented 422.
    "generator": {"POST /v1/documents", "POST /v1/batches", "GET /v1/documents/{id}/pdf"},
    "archive": {"POST /v1/case-files", "POST /v1/case-files/{id}/items", "POST /v1/case-files/{id}/seal",
                "GET /v1/case-files/{id}/pdf", "GET /v1/case-files/{id}/package",
                "POST /v1/verify", "POST /v1/verify/signed-revision"},
    "search": {"POST /v1/decisions", "POST /v1/decisions/preview"},
}
# Operations that succeed only through the generator, which is unreachable in this run (their 502/503
# are documented answers): their successes are tests/e2e/test_system_flow.py's.
CREATING["archive"] |= {"POST /v1/case-files/{id}/collect"}
CREATING["search"] |= {"POST /v1/pending/{document_id}/publish"}


def _specs() -> dict[str, dict]:
    from services.archive.openapi import build_spec as archive_spec
    from services.generator.catalogue import Catalogue
    from services.generator.openapi import build_spec as generator_spec
    from services.search.openapi import build_spec as search_spec
    return {"generator": generator_spec(Catalogue()), "archive": archive_spec(), "search": search_spec()}


def test_every_success_says_its_media_type_and_a_json_one_its_schema():
    """Otherwise schemathesis (and a client) has nothing to check a 2xx body against."""
    bare = [f"{service} {method.upper()} {path} {status}"
            for service, spec in _specs().items() for path, ops in spec["paths"].items()
            for method, op in ops.items() for status, answer in op["responses"].items()
            if status.startswith("2") and (not answer.get("content") or any(
                media.endswith("json") and "schema" not in body for media, body in answer["content"].items()))]
    assert not bare, bare


# -- what schemathesis found, one test each ---------------------------------------------

def test_search_stats_refuse_an_unknown_format(zhifa_env, tmp_path):
    """?format=xml was answered with JSON (schemathesis: a schema-breaking request accepted)."""
    from services.search.app import create_app
    app = create_app(zhifa_env(ZHIFA_SEARCH_DATABASE_URL=f"sqlite:///{tmp_path / 's.sqlite3'}"))
    try:
        client = app.test_client()
        resp = client.get("/v1/stats?format=xml")
        assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
        assert resp.get_json()["errors"][0]["path"] == "format"
        assert client.get("/v1/stats?format=csv").mimetype == "text/csv"
        assert client.get("/v1/stats").get_json()["total"] == 0
    finally:
        app.extensions["zhifa.runtime"].close()


def test_publishing_by_document_id_with_the_generator_down_is_a_documented_503(zhifa_env, tmp_path):
    """Found with 300 examples: a decision naming a document_id, the generator unreachable, got an
    undocumented 503 (publish and preview); the spec now lists the upstream's 502/503."""
    from services.search.app import create_app
    from services.search.openapi import build_spec
    app = create_app(zhifa_env(ZHIFA_SEARCH_DATABASE_URL=f"sqlite:///{tmp_path / 's.sqlite3'}",
                               ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{free_port()}",
                               ZHIFA_GENERATOR_TOKEN=TOKENS["publisher"]))
    try:
        from tests.search.conftest import PENALTY
        body = {**PENALTY, "document_id": "0b6f1a9e-3c1d-4f55-9a8e-2f1d3c4b5a69"}
        for path, operation in (("/v1/decisions", "post"), ("/v1/decisions/preview", "post")):
            resp = app.test_client().post(path, json=body, headers=auth("publisher"))
            assert resp.status_code == 503 and resp.mimetype == "application/problem+json", resp.get_json()
            assert "503" in build_spec()["paths"][path][operation]["responses"]
    finally:
        app.extensions["zhifa.runtime"].close()
