"""Alembic environment of the employee archive database (``hrbridge db upgrade --archive``)."""

from hrbridge.migrations.runner import run_environment

run_environment("archive")
