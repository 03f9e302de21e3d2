"""The Alembic migrations and the SQLModel tables describe the same schema, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers every table)


def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
    # Differences that only concern server defaults or comments are not schema drift.
    drift = [
        d for d in diff
        if not (isinstance(d, tuple) and d[0] in ("modify_default", "modify_comment"))
        and not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "apscheduler_jobs")
    ]
    assert drift == [], f"models and migrations differ; write a migration: {drift}"


def test_the_migration_history_has_a_single_head():
    from alembic.config import Config

    from storage.db import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert len(ScriptDirectory.from_config(cfg).get_heads()) == 1


def test_migrating_twice_is_harmless(engine):
    from storage.db import current_revision, migrate

    before = current_revision(engine)
    migrate(engine)
    assert current_revision(engine) == before
