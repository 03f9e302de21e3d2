"""The composition root: one place builds engine, unit of work and services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.config import Settings
from storage.db import make_engine, migrate
from storage.uow import SqlUnitOfWork, UnitOfWorkFactory, uow_factory


@dataclass(slots=True)
class App:
    """Everything the service needs, built once."""

    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def build_app(settings: Settings | None = None, *, migrate_schema: bool = True) -> App:
    """Build the app from ``settings`` (default: the environment), migrating the schema first."""
    settings = settings or Settings.from_env()
    engine = make_engine(settings.database_url)
    if migrate_schema:
        migrate(engine)
    return App(settings, engine, uow_factory(engine, settings.cipher()))


def confirmed_order_examples(settings: Settings | None = None) -> Iterator[dict]:
    """Training rows ``{"text", "code", "age"}`` from orders whose specialty a person confirmed."""
    app = build_app(settings)
    try:
        uow: SqlUnitOfWork
        with app.uow() as uow:
            for text, code, age in uow.orders.confirmed_examples():
                yield {"text": text, "code": code, "age": age}
    finally:
        app.close()
