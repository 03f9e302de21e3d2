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


def test_a_prompt_open_before_the_upgrade_is_still_answered_by_its_button(tmp_path):
    """Migration 0013 tags the buttons of prompts still open, so a press after the upgrade marks its prompt."""
    import json
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from storage.crypto import FieldCipher
    from storage.db import make_engine, migrate
    from storage.uow import SqlUnitOfWork

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        migrate(engine, "0012")
        at = "2026-11-23 02:30:00.000000"
        cipher = FieldCipher(b"k" * 32)
        with engine.begin() as c:
            c.execute(sa.text("INSERT INTO chat_account (id, platform, platform_user_id, chat_id, draft, blocked, "
                              "created_at) VALUES (1, 'telegram', '7', '7', '{}', 0, :at)"), {"at": at})
            for token in ("tok-yes-0001", "tok-no-00002"):
                c.execute(sa.text("INSERT INTO button (token, chat_account_id, action, payload, created_at) "
                                  "VALUES (:t, 1, 'rate', '{}', :at)"), {"t": token, "at": at})
            c.execute(sa.text("INSERT INTO chat_prompt (chat_account_id, created_at, expires_at, topic, proactive, "
                              "choices) VALUES (1, :at, '2026-12-23 02:30:00.000000', 'rate', 1, :choices)"),
                      {"at": at, "choices": json.dumps([["tok-yes-0001", []], ["tok-no-00002", []]])})
        migrate(engine)
        now = datetime(2026, 11, 24, tzinfo=UTC)
        with SqlUnitOfWork(engine, cipher) as uow:
            assert uow.prompts.answered(1, "tok-no-00002", now) == 1
            uow.commit()
        with SqlUnitOfWork(engine, cipher) as uow:
            assert uow.prompts.recent(1)[0].answered_at == now
    finally:
        engine.dispose()
