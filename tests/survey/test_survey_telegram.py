"""The survey sheet sent as a Telegram document (issue 19): real python-telegram-bot code fetching the file from the
fake Bot API (getFile, then the file's URL), real handlers; and the template sent back with sendDocument.
SQLite only, as the other adapter tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.testing.fake_telegram import FakeTelegram
from tests.conftest import _engine_for
from tests.survey.survey_helpers import EMERGENCY_ROW, GOOD_ROWS, csv_bytes
from tests.telegram.test_telegram_adapters import USERS, Driver


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


@pytest.fixture(params=["ptb", "aiogram"])
async def driver(request, seeded_engine, tmp_path, matcher) -> AsyncIterator[Driver]:
    async with FakeTelegram() as fake:
        d = Driver(fake, seeded_engine, tmp_path, matcher)
        await d.start(request.param, "polling")
        yield d
        await d.stop()


async def test_a_survey_sent_as_a_telegram_document_is_summarised_and_filed_on_confirm(driver: Driver):
    d = driver
    await d.bind("doctor", "township")
    d.fake.user_document(USERS["doctor"], "摸底.csv", csv_bytes([*GOOD_ROWS, EMERGENCY_ROW], "gbk"),
                         first_name="doctor")
    await d.settle()
    card = d.last("doctor")
    assert "黄金花" in card and "骨科" in card and card.index("黄金花") < card.index("骨科")
    assert d.fake.calls("getFile")
    with d.app.uow() as uow:
        assert uow.orders.list(post_codes=["VP350421101001"]) == []
    await d.press("doctor", "全部提交")
    assert any("已提交 3 个订单" in text for text in d.texts("doctor"))
    with d.app.uow() as uow:
        assert len(uow.orders.list(post_codes=["VP350421101001"])) == 3


async def test_the_template_comes_as_a_telegram_document(driver: Driver):
    d = driver
    await d.bind("doctor")
    await d.say("doctor", "/survey")
    await d.press("doctor", "下载模板")
    [doc] = [m for m in d.fake.sent(USERS["doctor"]) if m.document is not None]
    assert doc.document_name.endswith(".xlsx") and doc.document.startswith(b"PK")


# --- a file from someone who may not import one is refused without being downloaded -------------------------------
# A stranger or a resident who sends a file gets the polite refusal and the bot never calls getFile nor downloads it
# (up to 20 MB of someone's data it has no use for), with python-telegram-bot and aiogram alike.
STRANGER = 4242


async def test_a_stranger_sending_a_file_is_refused_without_the_file_being_downloaded(driver: Driver):
    d = driver
    d.fake.user_document(STRANGER, "摸底.csv", csv_bytes(GOOD_ROWS), first_name="路人")
    await d.settle()
    answer = [m.text for m in d.fake.sent(STRANGER) if m.text]
    assert answer and "Traceback" not in answer[-1], answer
    assert d.fake.calls("getFile") == [] and d.fake.downloads == []


async def test_a_resident_sending_a_file_is_told_it_is_for_village_doctors_and_nothing_is_downloaded(
        driver: Driver):
    d = driver
    await d.say("resident", "/start")
    await d.press("resident", "明溪县")
    await d.press("resident", "雪峰镇")
    await d.press("resident", "城东村")
    assert "订阅成功" in d.last("resident")
    d.fake.user_document(USERS["resident"], "摸底.csv", csv_bytes(GOOD_ROWS), first_name="resident")
    await d.settle()
    assert "村医" in d.last("resident"), d.last("resident")
    assert d.fake.calls("getFile") == [] and d.fake.downloads == []
    with d.app.uow() as uow:
        refused = [e for e in uow.audit.recent(20, action="refused")]
    assert refused, "the refusal left no audit entry"


async def test_a_reviewer_sending_a_file_is_refused_without_a_download_but_a_doctors_is_fetched(driver: Driver):
    d = driver
    await d.bind("doctor", "township")
    d.fake.user_document(USERS["township"], "摸底.csv", csv_bytes(GOOD_ROWS), first_name="township")
    await d.settle()
    assert "村医" in d.last("township"), d.last("township")
    assert d.fake.downloads == []
    d.fake.user_document(USERS["doctor"], "摸底.csv", csv_bytes(GOOD_ROWS), first_name="doctor")
    await d.settle()
    assert len(d.fake.downloads) == 1 and "骨科" in d.last("doctor")
