"""Alembic migrations of the search database (shared/migrate.py runs them: `zhifa migrate search`)."""
