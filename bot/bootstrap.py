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


def real_clock():
    """The real clock (aware, UTC); tests pass a fixed one instead."""
    from datetime import UTC, datetime

    return lambda: datetime.now(UTC)


def build_conversation(app: App, *, clock=None, matcher=None, flood=None):
    """The conversation core wired to this app's database, the specialty matcher and a clock."""
    from bot.calendar_cn import ChineseCalendar
    from bot.config import CONSENT_VERSION
    from handlers import Conversation, FloodGuard, Services, build_router

    if matcher is None:
        from nlp import load_matcher

        matcher = load_matcher()
    services = Services(uow=app.uow, matcher=matcher, clock=clock or real_clock(),
                        consent_version=CONSENT_VERSION, calendar=ChineseCalendar.from_env())
    return Conversation(services, build_router(), flood or FloodGuard(limit=app.settings.flood_limit))
