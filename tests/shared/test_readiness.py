"""/readyz over the parts every service shares: the database, Redis when jobs go
through it, and the blob store when it can tell (its check(), e.g. S3 down)."""
from __future__ import annotations

from sqlalchemy import create_engine

from shared.jobs import Jobs
from shared.web import create_base_app, readiness_of


class Store:
    """A blob store whose backend can be taken away (stands in for S3; the S3 backend's
    own check() is tested with it)."""

    def __init__(self):
        self.up = True

    def check(self) -> None:
        if not self.up:
            raise ConnectionError("bucket unreachable")


def test_readiness_names_each_part_that_is_down(zhifa_env, tmp_path, own_redis):
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store = Store()
    app = create_base_app("archive", zhifa_env(), {}, readiness_of(engine, Jobs("archive", own_redis.url), store))
    client = app.test_client()
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json()["checks"] == {"database": "ok", "redis": "ok", "blobs": "ok"}
    store.up = False
    own_redis.stop()
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "not-ready",
                               "checks": {"database": "ok", "redis": "failed", "blobs": "failed"}}


def test_without_redis_or_a_store_that_can_tell_only_the_database_is_checked(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert list(readiness_of(engine, Jobs("search", None), object())) == ["database"]
