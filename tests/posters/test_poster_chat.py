"""The 海报 button (issue 19): a village doctor (/visits) and a hospital reviewer (/plan list) get a circuit's poster
as a PDF file in chat, through the real adapters and the fake platforms; what they may not see is refused politely
and audited. Read back as in the command line's tests: the QR code from the rasterised page, the page's text.

SQLite only (the storage contract suite covers PostgreSQL; this is about the transports).
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.delivery.poster import Posters
from bot.testing.fake_wechat import FakeWeChat
from bot.transports.console import ConsoleSession
from domain.circuits import Circuit, CircuitLevel, HalfDay
from handlers import FloodGuard
from tests.circuits.circuit_helpers import staff_id
from tests.conftest import FIXED_NOW
from tests.posters.poster_helpers import BOT, TOWNSHIP, VILLAGE, needs_font, qr_texts, read_pdf, seed_week
from tests.telegram import test_telegram_adapters as adapters
from tests.telegram.test_telegram_adapters import USERS, Driver
from tests.wechat.wechat_driver import STAFF
from tests.wechat.wechat_driver import Driver as WeChatDriver

# The adapter tests' fixtures: the fake Bot API, the seeded SQLite database, the matcher, PTB's timedelta switch.
fake, seeded_engine = adapters.fake, adapters.seeded_engine
matcher, ptb_timedelta = adapters.matcher, adapters.ptb_timedelta
pytestmark = needs_font


@pytest.fixture
def circuits(seeded_engine, cipher) -> dict[str, int]:
    """雪峰镇's circuits around 2026-W49, and one of another hospital (明溪's neighbour 清流); their ids by name."""
    from storage.uow import SqlUnitOfWork

    with SqlUnitOfWork(seeded_engine, cipher) as uow:
        found = seed_week(uow)
        other = Circuit("CH350423", "350423101", date(2026, 12, 4), HalfDay.AM, CircuitLevel.TOWNSHIP,
                        frozenset({staff_id(uow, "S0024")}))
        uow.circuits.add(other)
        uow.commit()
        ids = {name: c.id for name, c in found.items()} | {"other_hospital": other.id}
    return ids


async def press_under(d: Driver, user: str, line: str, label: str = "海报") -> None:
    """``user`` presses ``label`` under the newest message that contains ``line``."""
    for msg in reversed(d.fake.sent(USERS[user])):
        if line in html.unescape(msg.text):
            data = next(b["callback_data"] for b in msg.buttons if label in b["text"])
            d.fake.press_button(USERS[user], msg.message_id, data)
            await d.settle()
            return
    raise AssertionError(f"no message with {line!r}: {d.texts(user)[-4:]}")


def refusals(app, account_id: int) -> list[str | None]:
    with app.uow() as uow:
        return [e.reason for e in uow.audit.for_entity("chat", str(account_id)) if e.action == "refused"]


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_a_village_doctor_gets_the_poster_of_a_visit_as_a_pdf_whose_code_is_the_villages_link(
        fake, seeded_engine, tmp_path, matcher, circuits, kind):
    d = Driver(fake, seeded_engine, tmp_path, matcher)
    await d.start(kind, "polling")
    try:
        await d.bind("doctor")
        await d.say("doctor", "/visits")
        listed = "\n".join(d.texts("doctor")[-5:])
        assert "12月2日（周三）下午" in listed and "12月4日（周五）上午" in listed and "12月8日" in listed
        assert "渔塘村" not in listed and "西坑村" not in listed and "12月3日" not in listed  # not theirs; cancelled
        await press_under(d, "doctor", f"#{circuits['village']} ")
        await press_under(d, "doctor", f"#{circuits['township']} ")  # the township's circuit serves their village
    finally:
        await d.stop()
    documents = [m for m in fake.sent(USERS["doctor"]) if m.document is not None]
    assert len(documents) == 2
    for doc in documents:
        assert doc.document_name.endswith(".pdf") and html.unescape(doc.text).startswith("坐诊预告海报")
        [page] = read_pdf(doc.document)
        assert qr_texts(page.image) == [f"https://t.me/{BOT}?start=v_{VILLAGE}"]  # their village, either way
        assert "咨询电话：村医 廖德福 13900001006" in page.text
    first, second = (read_pdf(doc.document)[0].text for doc in documents)
    assert "时间：12月4日（周五）上午" in first and "地点：城东村（示例）" in first
    assert "时间：12月2日（周三）下午" in second and "地点：雪峰镇" in second
    assert "坐诊预告海报：12月4日（周五）上午" in d.texts("doctor")[-4]  # the text, then its file


async def test_what_a_village_doctor_may_not_see_is_refused_politely_and_audited(
        fake, seeded_engine, tmp_path, matcher, circuits):
    d = Driver(fake, seeded_engine, tmp_path, matcher)
    await d.start("ptb", "polling")
    try:
        await d.bind("doctor")
        for forged in (circuits["other"], circuits["elsewhere"], circuits["other_hospital"], 99999, "abc"):
            await d.say("doctor", f"/poster {forged}")
            assert "不在您的范围内" in d.last("doctor")
        await d.say("doctor", f"/poster {circuits['cancelled']}")  # at another village of the township, cancelled
        await d.say("doctor", "/poster")
        assert "/poster 巡诊编号" in d.last("doctor")
    finally:
        await d.stop()
    assert not [m for m in fake.sent(USERS["doctor"]) if m.document is not None]
    assert refusals(d.app, d.account("doctor").id) == ["poster.not_yours"] * 6


@pytest.fixture
async def wechat() -> AsyncIterator[FakeWeChat]:
    async with FakeWeChat() as server:
        yield server


async def test_a_hospital_reviewer_on_wecom_gets_posters_from_the_plan_list_with_the_accounts_codes(
        wechat, seeded_engine, tmp_path, matcher, circuits):
    from bot.bootstrap import build_conversation
    from tests.wechat.wechat_driver import make_app, settings_for

    app = make_app(settings_for(wechat, seeded_engine, tmp_path), seeded_engine)
    conv = build_conversation(app, clock=lambda: FIXED_NOW, matcher=matcher, flood=FloodGuard(limit=10_000))
    async with WeChatDriver("wecom", app, conv, wechat) as staff:
        await staff.login("hospital", *STAFF["hospital"])
        await staff.say("hospital", "/plan list")
        await press_card(staff, "hospital", f"#{circuits['village']} ")
        await press_card(staff, "hospital", f"#{circuits['township']} ")
        await staff.say("hospital", f"/poster {circuits['other_hospital']}")  # another hospital's: refused
        assert staff.saw("hospital", "不在您的范围内")
    files = wechat.to("hospital", "wecom_file")
    assert len(files) == 2 and all(f.filename.endswith(".pdf") for f in files)
    scenes = []
    for f in files:
        [page] = read_pdf(f.file)
        [url] = qr_texts(page.image)
        issued = wechat.qr_codes[url]  # the Official Account's own code
        assert issued.permanent
        scenes.append(issued.scene)
        assert "派出医院：明溪县总医院" in page.text
    assert scenes == [f"v_{VILLAGE}", f"v_{TOWNSHIP}"]  # a village's circuit: its village; a township's: choose one
    captions = [s.text for s in wechat.to("hospital") if s.kind == "wecom_text"]
    assert any("坐诊预告海报（A4" in c for c in captions)


async def press_card(staff: WeChatDriver, user: str, line: str) -> None:
    """Press 海报 on the card of the /plan list line ``line`` (the card itself, or the first after the line's text
    when the line is too long for a card's title)."""
    screens = staff.screens[user]
    start = max(i for i, s in enumerate(screens) if line in s.text)
    card = next(s for s in screens[start:] if any("海报" in label for label, _ in s.buttons))
    key = next(k for label, k in card.buttons if "海报" in label)
    await staff.event(user, "template_card_event", EventKey=key, TaskId=card.body["template_card"]["task_id"],
                      CardType="button_interaction", ResponseCode="rc" + key[-8:])


def test_without_a_chinese_font_the_chat_says_so_instead_of_sending_a_broken_page(
        seeded_engine, tmp_path, matcher, circuits):
    from bot.bootstrap import App, build_conversation
    from bot.config import Settings
    from storage.uow import uow_factory
    from tests.conftest import TEST_KEY

    settings = Settings(var_dir=tmp_path, database_url=str(seeded_engine.url), secret_key=TEST_KEY,
                        log_level="INFO", transport="console", telegram_token=None)
    app = App(settings, seeded_engine, uow_factory(seeded_engine, settings.cipher()))
    conv = build_conversation(app, clock=lambda: FIXED_NOW, matcher=matcher, flood=FloodGuard(limit=10_000))
    for font, written in (("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", False), (None, True)):
        session = ConsoleSession(app, conv, image_dir=tmp_path / "qr", posters=Posters(font))
        session.switch("廖德福")
        shown = session.handle_line(f"/poster {circuits['village']}")
        assert ("海报暂时无法在这里生成" in shown) is not written, shown
        assert (f"python -m bot poster --circuit {circuits['village']}" in shown) is not written
        assert bool(list((tmp_path / "posters").glob("*.pdf"))) is written, shown
