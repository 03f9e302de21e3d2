"""The composition root: one place builds engine, unit of work, clock, conversation and delivery channels."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from bot.config import Settings
from storage.db import make_engine, migrate
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory, uow_factory

if TYPE_CHECKING:
    from bot.delivery.channels import BaseChannel
    from bot.delivery.poster import Posters
    from bot.delivery.qr import QrImages
    from bot.transports.wechat.bridge import TokenStore


@dataclass(slots=True)
class App:
    """Everything the service needs, built once."""

    settings: Settings
    engine: Engine
    uow: SqlUnitOfWorkFactory

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def build_app(settings: Settings | None = None, *, migrate_schema: bool = True) -> App:
    """Build the app from ``settings`` (default: the environment), migrating the schema first."""
    settings = settings or Settings.from_env()
    engine = make_engine(settings.database_url, sqlite=settings.sqlite)
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


def make_clock(fake_now: datetime | None = None) -> Callable[[], datetime]:
    """The real clock (aware, UTC), or with ``fake_now`` (``Settings.fake_now``, tests and demos) one that
    starts there and runs at real speed. Tests of handlers pass a fixed clock instead."""
    if fake_now is None:
        return lambda: datetime.now(UTC)
    start = fake_now
    t0 = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - t0)


def build_channels(app: App) -> list[BaseChannel]:
    """The console, and Telegram, WeCom, the Official Account and SMS where configured."""
    from bot.delivery.channels import ChannelLimits, ConsoleChannel, PtbChannel
    from bot.transports.console_screens import ConsoleScreens
    from bot.transports.wechat import mp, work

    rate = app.settings.send_rate
    # The console's messages name their recipient and number their buttons on the recipient's screen.
    channels: list[BaseChannel] = [ConsoleChannel(screens=ConsoleScreens(app.uow, make_clock(app.settings.fake_now)))]
    if app.settings.telegram_token:
        channels.append(PtbChannel(app.settings.telegram_token, app.settings.telegram_api_base_url,
                                   limits=ChannelLimits(global_count=rate)))
    # WeChat: staff on WeCom, residents on the Official Account, when configured.
    wecom = work.build(app)
    if wecom is not None:
        channels.append(work.WeComChannel(wecom))
    oa = mp.build(app)
    if oa is not None:
        channels.append(mp.WeChatMpChannel(oa))
    # Residents without a smartphone: announcements by SMS, when a provider is configured.
    from bot.transports.sms import channel as sms

    text = sms.build(app, make_clock(app.settings.fake_now))
    if text is not None:
        channels.append(text)
    return channels


def build_qr_images(app: App, *, store: TokenStore | None = None) -> QrImages | None:
    """The Official Account's QR codes drawn as images for the transports that send them; None without an account
    (or with ``WECHAT_QR_CODES=off``): then links and villages are text alone."""
    if not app.settings.qr_codes:
        return None
    from bot.delivery.qr import QrImages
    from bot.transports.wechat import mp

    oa = mp.build(app, store=store)
    return QrImages(oa.qr_url) if oa is not None else None


def build_posters(app: App, *, store: TokenStore | None = None) -> Posters:
    """Printed pages (issue 19) in the configured Chinese font, their QR code the Official Account's where one makes
    QR codes (else the Telegram link the page carries)."""
    from bot.delivery.poster import Posters

    oa = None
    if app.settings.qr_codes:
        from bot.transports.wechat import mp

        oa = mp.build(app, store=store)
    return Posters(app.settings.cjk_font, oa.qr_url if oa is not None else None)


def build_conversation(app: App, *, clock=None, matcher=None, flood=None, middlewares=None):
    """The conversation core wired to this app's database, the specialty matcher and a clock.

    Every update goes through ``handlers.default_middlewares`` (with ``flood``, else a flood guard at the
    configured limit); ``middlewares`` replaces that chain whole (tests: a chain without a flood guard, or with
    a middleware of their own).
    """
    from bot.calendar_cn import ChineseCalendar
    from bot.config import CONSENT_VERSION
    from handlers import Conversation, FloodGuard, Services, build_router, default_middlewares

    if middlewares is not None and flood is not None:
        raise ValueError("pass a flood guard or a whole chain of middlewares, not both")
    if matcher is None:
        from nlp import load_matcher

        matcher = load_matcher()
    services = Services(uow=app.uow, matcher=matcher, clock=clock or make_clock(app.settings.fake_now),
                        consent_version=CONSENT_VERSION, calendar=ChineseCalendar(app.settings.extra_holidays),
                        qr_codes=app.settings.qr_codes, sms=app.settings.sms.provider is not None)
    if middlewares is None:
        middlewares = default_middlewares(flood or FloodGuard(limit=app.settings.flood_limit))
    return Conversation(services, build_router(), middlewares)
