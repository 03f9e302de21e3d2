"""Alembic environment: the engine is handed in by ``storage.db.migrate``."""

from alembic import context
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """APScheduler keeps its job store in the same database; it is not ours to migrate."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # storage never reads the service's settings: the caller hands the engine in
        raise RuntimeError("run migrations with `python -m bot migrate` (storage.db.migrate hands in the engine)")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
