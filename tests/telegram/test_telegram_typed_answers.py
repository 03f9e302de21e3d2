"""A village doctor on Telegram who types the rating instead of pressing its button (issue 17, part 2): real PTB code,
real HTTP to the fake Bot API, real handlers. SQLite only, as the other adapter tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlmodel import select

from bot.testing.fake_telegram import FakeTelegram
from domain.circuits import Circuit, CircuitLevel, HalfDay
from domain.orders import Action
from domain.staff import Role
from storage.tables import RatingRow
from tests.conftest import FIXED_NOW, _engine_for
from tests.telegram.test_telegram_adapters import Driver, file_order


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture(params=["sqlite"])
def seeded_engine(request, templates, tmp_path):
    yield from _engine_for(request, templates, tmp_path, seeded=True)


@pytest.fixture(scope="module")
def matcher():
    from nlp import load_matcher

    return load_matcher()


@pytest.fixture
async def driver(seeded_engine, tmp_path, matcher) -> AsyncIterator[Driver]:
    async with FakeTelegram() as fake:
        d = Driver(fake, seeded_engine, tmp_path, matcher)
        await d.start("ptb", "polling")
        yield d
        await d.stop()


async def test_a_doctor_who_types_5分_under_the_rating_card_rates_the_visit(driver: Driver):
    d = driver
    await d.bind("doctor", "township", "hospital", "cardiologist")
    number = await file_order(d)
    await d.say("township", "/pending")
    await d.press("township", "批准")
    await d.say("hospital", "/pending")
    await d.press("hospital", "安排巡诊")
    await d.press("hospital", "罗志明")
    with d.app.uow() as uow:
        circuit = Circuit("CH350421", "350421101", date(2026, 11, 23), HalfDay.AM, CircuitLevel.TOWNSHIP,
                          frozenset({uow.staff.by_code("S0003").id}))
        uow.circuits.add(circuit)
        o = uow.orders.by_number(number)
        o.apply(Action.SCHEDULE, actor_staff_id=uow.staff.by_code("S0002").id, actor_role=Role.HOSPITAL_REVIEWER,
                now=FIXED_NOW, circuit_id=circuit.id)
        uow.orders.save(o)
        uow.commit()
    await d.say("cardiologist", "/circuits")
    await d.press("cardiologist", "已诊")
    card, _ = d.find("doctor", "5")
    assert "请为这次巡诊服务打分" in card.text
    before = len(d.texts("doctor"))
    await d.say("doctor", "5分")
    after = d.texts("doctor")[before:]
    assert len(after) == 1 and after[0].count("已选择 5 分") == 1, after  # said once, with the comment question
    assert d.find("doctor", "跳过")
    await d.say("doctor", "跳过")
    assert "评价已记录（5 分）" in d.last("doctor")
    with d.app.uow() as uow:
        rows = uow.session.exec(select(RatingRow.score, RatingRow.source)).all()
    assert [tuple(r) for r in rows] == [(5, "village_doctor")]
