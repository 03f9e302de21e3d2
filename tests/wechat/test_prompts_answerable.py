"""Every prompt answerable where it lands (issue 17): a reply typed to a prompt that was sent proactively, through real
signed and encrypted callbacks. Staff are on WeCom, the resident (grandpa) on the Official Account.

SQLite only (the storage contract suite covers PostgreSQL; this is about what people on the channels see).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from sqlmodel import select

from bot.bootstrap import build_conversation
from bot.delivery.sender import Sender
from bot.testing.fake_wechat import FakeWeChat
from bot.transports.wechat.mp import WeChatMpChannel
from bot.transports.wechat.work import WeComChannel
from domain.circuits import Circuit, CircuitLevel, HalfDay
from domain.orders import Action
from domain.staff import Role
from handlers import FloodGuard
from storage.tables import RatingRow
from tests.conftest import FIXED_NOW, _engine_for
from tests.wechat.test_wechat_work_lifecycle import file_order
from tests.wechat.wechat_driver import STAFF, Driver, make_app, settings_for

GRANDPA = "oGRANDPA_fake_openid_0000001"


class Clock:
    """The conversation's clock, moved by hand."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture(params=["sqlite"])
def seeded_engine(request, templates, tmp_path):
    """The seeded demo database, SQLite only here."""
    yield from _engine_for(request, templates, tmp_path, seeded=True)


@pytest.fixture(scope="module")
def matcher():
    from nlp import load_matcher

    return load_matcher()


class World:
    """Staff on WeCom and residents on the Official Account: one conversation, one database, one clock."""

    def __init__(self, staff: Driver, oa: Driver, clock: Clock):
        self.staff, self.oa, self.clock = staff, oa, clock
        self.app = staff.app

    async def deliver(self) -> None:
        """The outbox sender's turn: what was queued goes out through both apps."""
        channels = [WeComChannel(self.staff.bridge.deliverers["wecom"]),
                    WeChatMpChannel(self.oa.bridge.deliverers["wechat"])]
        await Sender(self.app.uow, channels, clock=Clock(self.clock() + timedelta(seconds=1))).drain(timeout=10)
        await self.staff.settle()
        await self.oa.settle()

    def ratings(self, number: str) -> list[tuple[int, str]]:
        with self.app.uow() as uow:
            order_id = uow.orders.by_number(number).id
            rows = uow.session.exec(select(RatingRow).where(RatingRow.order_id == order_id))
            return [(r.score, r.source) for r in rows]

    def new_texts(self, d: Driver, user: str, before: int) -> list[str]:
        return d.texts(user)[before:]


@pytest.fixture
async def world(seeded_engine, tmp_path, matcher) -> AsyncIterator[World]:
    async with FakeWeChat() as fake:
        app = make_app(settings_for(fake, seeded_engine, tmp_path), seeded_engine)
        clock = Clock(FIXED_NOW)
        conv = build_conversation(app, clock=clock, matcher=matcher, flood=FloodGuard(limit=10_000))
        async with Driver("wecom", app, conv, fake) as staff, Driver("wechat", app, conv, fake) as oa:
            yield World(staff, oa, clock)


async def served_with_a_linked_resident(w: World) -> str:
    """The doctor files an order, grandpa links it on the Official Account, the cardiologist serves it; the rating
    prompt goes out to both (the doctor's directly, grandpa's through the outbox)."""
    staff, oa = w.staff, w.oa
    for user, (code, role) in STAFF.items():
        await staff.login(user, code, role)
    number = await file_order(staff)
    [link] = re.findall(r"/start r_([A-Z0-9]+)", "\n".join(staff.texts("doctor")))[-1:]
    await oa.say(GRANDPA, f"/start r_{link}")
    assert oa.saw(GRANDPA, "已关联到居民 邱瑞鹏"), oa.texts(GRANDPA)
    await staff.say("township", "/pending")
    await staff.press("township", "批准")
    await staff.say("hospital", "/pending")
    await staff.press("hospital", "安排巡诊")
    await staff.press("hospital", "罗志明")
    with w.app.uow() as uow:
        expert = uow.staff.by_code("S0003")
        circuit = Circuit("CH350421", "350421101", date(2026, 11, 23), HalfDay.AM, CircuitLevel.TOWNSHIP,
                          frozenset({expert.id}))
        uow.circuits.add(circuit)
        o = uow.orders.by_number(number)
        o.apply(Action.SCHEDULE, actor_staff_id=uow.staff.by_code("S0002").id, actor_role=Role.HOSPITAL_REVIEWER,
                now=FIXED_NOW, circuit_id=circuit.id)
        uow.orders.save(o)
        uow.commit()
    await staff.say("cardiologist", "/circuits")
    w.clock.now += timedelta(minutes=5)
    await staff.press("cardiologist", "已诊")
    await staff.press("cardiologist", "跳过")
    await w.deliver()
    assert oa.saw(GRANDPA, "请为这次巡诊服务打分"), oa.texts(GRANDPA)
    assert staff.saw("doctor", "请为这次巡诊服务打分"), staff.texts("doctor")
    w.clock.now += timedelta(minutes=5)
    return number


async def test_a_resident_who_replies_5_reads_the_chosen_score_once_and_has_rated(world: World):
    w, oa = world, world.oa
    number = await served_with_a_linked_resident(w)
    before = len(oa.texts(GRANDPA))
    r = await oa.say(GRANDPA, "5")
    after = oa.texts(GRANDPA)[before:]
    # One message, answered at once (passively): the choice and the optional comment, never "已选择 5 分" twice.
    assert len(after) == 1 and after[0].count("已选择 5 分") == 1, after
    assert "<Encrypt>" in r.body and oa.screens[GRANDPA][-1].kind == "passive"
    assert "回复 1 跳过" in after[0]
    await oa.say(GRANDPA, "跳过")  # the label typed instead of its number
    assert "评价已记录（5 分）" in oa.texts(GRANDPA)[-1]
    assert w.ratings(number) == [(5, "resident")]
    with w.app.uow() as uow:
        [rated] = uow.audit.recent(5, action="rate")
    assert rated.detail["score"] == 5 and rated.detail["typed"] is True


@pytest.mark.parametrize(("reply", "score"),
                         [("5分", 5), ("五", 5), ("很好", 5), ("３", 3), ("回复 2", 2), ("很差", 1)])
async def test_a_resident_may_answer_the_rating_in_words_as_well(world: World, reply, score):
    w, oa = world, world.oa
    number = await served_with_a_linked_resident(w)
    await oa.say(GRANDPA, reply)
    assert f"已选择 {score} 分" in oa.texts(GRANDPA)[-1], oa.texts(GRANDPA)[-2:]
    await oa.say(GRANDPA, "1")
    assert w.ratings(number) == [(score, "resident")]


async def test_the_rating_prompt_outlives_other_answers_and_expires_with_the_rating_window(world: World):
    w, oa = world, world.oa
    number = await served_with_a_linked_resident(w)
    await oa.say(GRANDPA, "/help")  # an answer without choices does not end the prompt
    w.clock.now += timedelta(days=31)  # /rate offers a visit for 30 days
    await oa.say(GRANDPA, "4")
    text = oa.texts(GRANDPA)[-1]
    assert "已过期" in text and "「4」" in text and "12345" in text, text
    assert "收到。如需办理业务" not in text
    assert w.ratings(number) == []
    with w.app.uow() as uow:
        [refused] = uow.audit.recent(1, action="refused")
    assert refused.entity == "prompt" and refused.reason == "expired"


async def test_a_newer_question_wins_and_a_reply_to_the_older_prompt_is_explained(world: World):
    w, oa = world, world.oa
    number = await served_with_a_linked_resident(w)
    await oa.say(GRANDPA, "/unsubscribe")  # asks again: 回复 1 城东村, 回复 2 全部取消
    await oa.say(GRANDPA, "5")  # only the rating had a 5
    text = oa.texts(GRANDPA)[-1]
    assert "「5」" in text and "/rate" in text and "收到。如需办理业务" not in text, text
    assert w.ratings(number) == []
    await oa.say(GRANDPA, "/rate")  # the rating asked again is the newest prompt: 5 is its answer
    await oa.say(GRANDPA, "5")
    assert "已选择 5 分" in oa.texts(GRANDPA)[-1]


async def test_a_village_doctor_on_wecom_who_types_instead_of_pressing_rates_the_visit(world: World):
    w, staff = world, world.staff
    number = await served_with_a_linked_resident(w)
    before = len(staff.texts("doctor"))
    await staff.say("doctor", "4分")
    after = staff.texts("doctor")[before:]
    assert sum(t.count("已选择 4 分") for t in after) == 1, after
    await staff.say("doctor", "跳过")
    assert w.ratings(number) == [(4, "village_doctor")]


async def test_a_pressed_card_on_wecom_is_greyed_and_its_new_text_is_sent_once(world: World):
    w, staff = world, world.staff
    await served_with_a_linked_resident(w)
    before, greyed = len(staff.texts("doctor")), len(staff.fake.to("doctor", "wecom_card_update"))
    await staff.press("doctor", "5")
    after = [s for s in staff.screens["doctor"][before:] if s.kind != "wecom_card_update"]
    assert sum(s.text.count("已选择 5 分") for s in after) == 1, [s.text for s in after]
    assert len(staff.fake.to("doctor", "wecom_card_update")) == greyed + 1
