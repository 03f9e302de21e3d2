"""The Alembic migrations and the SQLModel tables describe the same schema, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers every table)


def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
    # Differences that only concern server defaults or comments are not schema drift.
    drift = [d for d in diff if not (isinstance(d, tuple) and d[0] in ("modify_default", "modify_comment"))]
    assert drift == [], f"models and migrations differ; write a migration: {drift}"


def test_migrating_twice_is_harmless(engine):
    from storage.db import current_revision, migrate

    before = current_revision(engine)
    migrate(engine)
    assert current_revision(engine) == before
