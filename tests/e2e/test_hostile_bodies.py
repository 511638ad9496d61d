"""Hostile JSON bodies against the served generator and search service (the
services that take no files): a declared length past ZHIFA_MAX_BODY_BYTES,
a length within it that is never sent, a chunked body without end, a body
longer than declared, JSON nested a hundred thousand deep, a number of a
million digits. Each is a problem (never a 5xx), the service keeps answering
others, and its peak resident memory (VmHWM) grows less than PEAK_GROWTH;
the figures are printed.
"""
from __future__ import annotations

import os
import socket
import time

import pytest

from tests.conftest import TOKENS, free_port
from tests.e2e.test_hostile_uploads import Served, assert_problem, parse, read_response

PEAK_GROWTH = 100 * 1024 * 1024
LIMIT = 256 * 1024
WRITES = {"generator": ("/v1/documents", "case-system"), "search": ("/v1/decisions", "publisher")}


@pytest.fixture(scope="module", params=sorted(WRITES))
def served(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"bodies-{request.param}")
    server = Served(request.param, tmp, ZHIFA_MAX_BODY_BYTES=LIMIT, ZHIFA_HTTP_CHANNEL_TIMEOUT=3,
                    ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{free_port()}")
    server.path, role = WRITES[request.param]
    server.auth = f"Authorization: Bearer {TOKENS[role]}\r\n"
    # Warm with one honest write (the search service loads its redactor's dictionaries on the first):
    # the baseline is a process that has done real work.
    status, _, answer = server.json("POST", server.path, _honest(request.param), {"Authorization": f"Bearer {TOKENS[role]}"})
    assert status == 201, answer
    server.baseline = server.memory()
    yield server
    rss, peak = server.memory()
    print(f"\n{request.param} under attack: VmRSS {server.baseline[0] / 2**20:.0f} → {rss / 2**20:.0f} MB, "
          f"VmHWM {server.baseline[1] / 2**20:.0f} → {peak / 2**20:.0f} MB (bound: +{PEAK_GROWTH / 2**20:.0f} MB), "
          f"load {os.getloadavg()}")
    server.stop()


def _honest(service: str) -> dict:
    if service == "search":
        from tests.search.conftest import PENALTY
        return PENALTY
    from services.generator.catalogue import Catalogue
    return {"type": "penalty_decision", "data": Catalogue().get("penalty_decision").example, "formats": ["docx"]}


def head(served: Served, extra: str) -> bytes:
    return (f"POST {served.path} HTTP/1.1\r\nHost: x\r\n{served.auth}Content-Type: application/json\r\n{extra}\r\n").encode()


def bounded(served: Served) -> None:
    rss, peak = served.memory()
    assert peak - served.baseline[1] < PEAK_GROWTH, (served.baseline, rss, peak)
    assert served.request("GET", "/healthz", timeout=5)[0] == 200


def test_a_length_past_the_limit_is_refused_from_the_header(served):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(head(served, "Content-Length: 1073741824\r\n") + b'{"a":"')
        status, headers, body = parse(read_response(sock))
    assert_problem(status, headers, body, 413)
    assert time.monotonic() - started < 5
    bounded(served)


def test_a_length_within_the_limit_never_sent_is_dropped_and_others_are_served(served):
    sockets = [socket.create_connection(("127.0.0.1", served.port), timeout=30) for _ in range(20)]
    for sock in sockets:
        sock.sendall(head(served, f"Content-Length: {LIMIT - 1}\r\n") + b'{"number": "')
    started = time.monotonic()
    assert served.request("GET", "/healthz", timeout=5)[0] == 200
    for sock in sockets:
        with sock:
            leftover = read_response(sock)
            if leftover:
                assert parse(leftover)[0] < 500, leftover[:300]
    assert time.monotonic() - started < 25
    bounded(served)


def test_a_chunked_body_without_end_is_cut_at_the_limit(served):
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        sock.sendall(head(served, "Transfer-Encoding: chunked\r\n"))
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * (64 * 1024))
        try:
            for _ in range(2 * LIMIT // (64 * 1024) + 8):
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        status, headers, body = parse(read_response(sock))
    assert_problem(status, headers, body, (400, 413))
    bounded(served)


def test_a_body_longer_than_declared_answers_the_declared_part_then_refuses_the_rest(served):
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        sock.sendall(head(served, "Content-Length: 2\r\n") + b"{}")
        status, headers, body = parse(read_response(sock))
        assert_problem(status, headers, body, 422)          # {} lacks every required field
        try:
            for _ in range(20):
                sock.sendall(b"x" * 1_000_000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        rest = read_response(sock)
        if rest:
            assert parse(rest)[0] in (400, 413, 431), rest[:300]
    bounded(served)


@pytest.mark.parametrize("body,status,field", [
    (b"[" * 100_000 + b"]" * 100_000, 400, "body"),
    (b'{"a":' * 30_000 + b"1" + b"}" * 30_000, 400, "body"),
    (b'{"number": ' + b"9" * 200_000 + b"}", 422, "number"),
    (b'{"number": 1e999999}', 422, "number"),
    (b'{"number": "\\ud800"}', 422, None),
    (b"\xff\xfe{}", 400, "body"),
])
def test_json_built_to_exhaust_the_parser_is_a_problem(served, body, status, field):
    answer = served.request("POST", served.path, body, {"Content-Type": "application/json",
                                                         **dict([served.auth.strip().split(": ", 1)])})
    assert_problem(*answer, status, field)
    bounded(served)
