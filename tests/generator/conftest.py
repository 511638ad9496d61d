"""The generator app under test, on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest


@pytest.fixture
def generator(zhifa_env, database_url):
    """A generator app on SQLite and on PostgreSQL; yields (app, client)."""
    from services.generator.app import create_app
    settings = zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=database_url)
    app = create_app(settings)
    yield app, app.test_client()
    app.extensions["zhifa.runtime"].close()


@pytest.fixture
def sqlite_generator(zhifa_env, tmp_path):
    """Same as `generator`, SQLite only: for tests about behaviour, not storage."""
    from services.generator.app import create_app
    app = create_app(zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}"))
    yield app, app.test_client()
    app.extensions["zhifa.runtime"].close()
