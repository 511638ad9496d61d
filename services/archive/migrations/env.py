"""Alembic environment of the archive database: one for every service, in shared/migrate.py."""
from shared.migrate import run_env

run_env()
