"""Alembic migrations of the archive database (shared/migrate.py runs them: `zhifa migrate archive`)."""
