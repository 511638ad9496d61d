"""Document numbers: format, gapless, never duplicated across processes."""
from __future__ import annotations

import multiprocessing as mp

import pytest

from services.generator import numbering
from services.generator.models import Base
from shared.db import make_engine, session_factory, transaction


def test_number_format_uses_hexagonal_brackets_and_no_leading_zeros():
    assert numbering.format_number("鞍审批", "许准字", 2026, 12) == "鞍审批许准字〔2026〕12号"
    assert numbering.format_number("鞍审批", "罚决字", 2027, 1) == "鞍审批罚决字〔2027〕1号"
    # a profile may keep the 第 of its older forms
    assert numbering.format_number("鞍审批", "罚决字", 2027, 1, di=True) == "鞍审批罚决字〔2027〕第1号"


def _allocate_many(url: str, count: int, queue) -> None:
    engine = make_engine(url)
    sessions = session_factory(engine)
    taken = []
    for _ in range(count):
        with transaction(sessions) as s:
            taken.append(numbering.allocate(s, "鞍审批", "罚决字", 2026))
    engine.dispose()
    queue.put(taken)


def test_concurrent_processes_get_gapless_distinct_numbers(database_url):
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    engine.dispose()
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_allocate_many, args=(database_url, 25, queue)) for _ in range(4)]
    for w in workers:
        w.start()
    results = [queue.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    taken = sorted(n for r in results for n in r)
    assert taken == list(range(1, 101))


def test_counters_are_per_agency_kind_and_year(database_url):
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as s:
        got = [numbering.allocate(s, "鞍审批", "罚决字", 2026), numbering.allocate(s, "鞍审批", "罚决字", 2026),
               numbering.allocate(s, "鞍审批", "许准字", 2026), numbering.allocate(s, "鞍审批", "罚决字", 2027),
               numbering.allocate(s, "海审批", "罚决字", 2026)]
    assert got == [1, 2, 1, 1, 1]
    engine.dispose()


def test_a_rolled_back_allocation_leaves_no_gap(database_url):
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    sessions = session_factory(engine)
    with pytest.raises(RuntimeError):
        with transaction(sessions) as s:
            assert numbering.allocate(s, "鞍审批", "罚决字", 2026) == 1
            raise RuntimeError("rendering failed")
    with transaction(sessions) as s:
        assert numbering.allocate(s, "鞍审批", "罚决字", 2026) == 1
    engine.dispose()
