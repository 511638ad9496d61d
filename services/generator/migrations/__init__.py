"""Alembic migrations of the generator database (shared/migrate.py runs them: `zhifa migrate generator`)."""
