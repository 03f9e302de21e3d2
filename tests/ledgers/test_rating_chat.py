"""/rate in chat: a village doctor rates a served visit for the resident; low scores and complaints become leads."""

from __future__ import annotations

from sqlmodel import col, select

from bot.bootstrap import App, build_conversation
from bot.config import Settings
from domain.staff import Role
from handlers import FloodGuard
from storage.db import make_engine
from storage.tables import LeadRow, RatingRow
from storage.uow import uow_factory
from tests.conftest import TEST_KEY
from tests.handlers.harness import ChatHarness
from tests.ledgers.conftest import Clock


def harness(sqlite_world, tmp_path, platform: str) -> tuple[ChatHarness, App, Clock]:
    """A chat on the seeded year; each test its own platform name (update ids are deduplicated per platform)."""
    _, _, path = sqlite_world
    engine = make_engine(f"sqlite:///{path}")
    settings = Settings(
        var_dir=tmp_path,
        database_url=str(engine.url),
        secret_key=TEST_KEY,
        log_level="INFO",
        transport="console",
        telegram_token=None,
    )
    app = App(settings, engine, uow_factory(engine, settings.cipher()))
    clock = Clock()
    chat = ChatHarness(build_conversation(app, clock=clock, flood=FloodGuard(limit=10_000)), platform=platform)
    return chat, app, clock


def test_a_low_rating_with_a_complaint_becomes_a_lead(sqlite_world, tmp_path):
    chat, app, clock = harness(sqlite_world, tmp_path, "rate1")
    chat.login("doctor", "S0006", Role.VILLAGE_DOCTOR, app.uow, clock())
    chat.say("doctor", "/rate")
    assert any("请为以下已完成的诊疗打分" in x for x in chat.texts("doctor"))
    with app.uow() as uow:
        before = uow.session.exec(select(LeadRow.id)).all()
    chat.press("doctor", "1")
    assert "可以再写一句意见" in chat.last("doctor")
    chat.say("doctor", "投诉：专家迟到两个小时")
    assert "已转为问题线索" in chat.last("doctor")
    with app.uow() as uow:
        leads = uow.session.exec(select(LeadRow.source, LeadRow.order_id).where(col(LeadRow.id).not_in(before))).all()
        rating = uow.session.exec(
            select(RatingRow.order_id, RatingRow.score, RatingRow.source).where(
                col(RatingRow.comment) == "投诉：专家迟到两个小时"
            )
        ).one()
    assert [tuple(x) for x in leads] == [("complaint", rating[0])]
    assert tuple(rating[1:]) == (1, "village_doctor")


def test_a_good_rating_is_stored_without_a_lead_and_only_once(sqlite_world, tmp_path):
    chat, app, clock = harness(sqlite_world, tmp_path, "rate2")
    chat.login("doctor2", "S0006", Role.VILLAGE_DOCTOR, app.uow, clock())
    chat.say("doctor2", "/rate")
    shown, _ = chat.find_button("doctor2", "5")
    number = shown.text.split(" · ")[0]
    chat.press("doctor2", "5")
    chat.press("doctor2", "跳过")
    assert "评价已记录（5 分）" in chat.last("doctor2") and "问题线索" not in chat.last("doctor2")
    chat.say("doctor2", "/rate")
    assert not any(number in x for x in chat.texts("doctor2")[-8:] if "请为" not in x and x.startswith(number))


def test_rate_is_not_offered_to_unbound_users(sqlite_world, tmp_path):
    chat, _, _ = harness(sqlite_world, tmp_path, "rate3")
    chat.say("stranger", "/rate")
    assert "评价功能适用于村医和已绑定的村民" in chat.last("stranger")
