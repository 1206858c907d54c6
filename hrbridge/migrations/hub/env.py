"""Alembic environment of the hub database (run by ``hrbridge db upgrade`` and ``hrbridge db revision``)."""

from hrbridge.migrations.runner import run_environment

run_environment("hub")
