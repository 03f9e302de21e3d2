"""QR codes instead of typing (issue 17): the Official Account's parametric QR codes, shown to the village doctor as
an image, scanned by the resident. Played through the real callbacks and the fake WeChat servers.

SQLite only (the storage contract suite covers PostgreSQL; this is about the transports).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
import zxingcpp
from aiohttp import ClientSession, FormData
from PIL import Image

from bot.bootstrap import build_conversation
from bot.delivery.qr import draw_png
from bot.testing.fake_wechat import FakeWeChat
from handlers import FloodGuard
from tests.conftest import FIXED_NOW, _engine_for
from tests.wechat.test_wechat_work_lifecycle import file_order
from tests.wechat.wechat_driver import STAFF, Driver, make_app, settings_for

GRANDPA = "oGRANDPA_fake_openid_0000001"
NAME = "邱瑞鹏"


def decoded(png: bytes) -> str:
    """What a phone reads from the image: the one QR code's text."""
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert code.format == zxingcpp.BarcodeFormat.QRCode
    return code.text


@pytest.fixture(params=["sqlite"])
def seeded_engine(request, templates, tmp_path):
    """The seeded demo database, SQLite only here."""
    yield from _engine_for(request, templates, tmp_path, seeded=True)


@pytest.fixture(scope="module")
def matcher():
    from nlp import load_matcher

    return load_matcher()


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    async with FakeWeChat() as server:
        yield server


@pytest.fixture
async def both(fake, seeded_engine, tmp_path, matcher) -> AsyncIterator[tuple[Driver, Driver]]:
    """Staff on WeCom and residents on the Official Account, one service behind both callbacks."""
    app = make_app(settings_for(fake, seeded_engine, tmp_path), seeded_engine)
    conv = build_conversation(app, clock=lambda: FIXED_NOW, matcher=matcher, flood=FloodGuard(limit=10_000))
    async with Driver("wecom", app, conv, fake) as staff, Driver("wechat", app, conv, fake) as oa:
        yield staff, oa


async def test_a_village_doctor_on_wecom_gets_a_qr_code_that_links_the_resident_who_scans_it(both):
    staff, oa = both
    fake = staff.fake
    await staff.login("doctor", *STAFF["doctor"])
    number = await file_order(staff)
    await staff.say("doctor", f"/link {number}")

    image = fake.to("doctor", "wecom_image")[-1]
    url = decoded(image.image)
    issued = fake.qr_codes[url]  # the fake Official Account issued this URL for a scene
    assert issued.scene.startswith("r_") and not issued.permanent and not issued.expired()
    assert issued.expire_seconds == 7 * 24 * 3600  # as long as the link code lives
    assert NAME not in url and issued.scene not in url  # the picture holds only WeChat's address
    assert staff.saw("doctor", "/start r_")  # the typed fallback came too

    # Grandpa scans it with WeChat: not yet following, so WeChat sends the account a subscribe event with the scene.
    await oa.event(GRANDPA, "subscribe", EventKey=f"qrscene_{issued.scene}", Ticket=issued.ticket)
    assert oa.saw(GRANDPA, f"已关联到居民 {NAME}"), oa.texts(GRANDPA)
    with staff.app.uow() as uow:
        order = uow.orders.by_number(number)
        assert uow.chat.account("wechat", GRANDPA).resident_id == order.resident_id


class Clock:
    """The service's clock, moved by hand."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def images_to(fake: FakeWeChat, user: str) -> list[str]:
    """What each image ``user`` received decodes to."""
    return [decoded(s.image) for s in fake.to(user, "wecom_image")]


def refusals(app, entity: str, entity_id: str) -> list[str | None]:
    with app.uow() as uow:
        return [e.reason for e in uow.audit.for_entity(entity, entity_id) if e.action == "refused"]


async def test_a_forged_a_revoked_and_an_expired_scene_are_refused_politely_and_audited(
        fake, seeded_engine, tmp_path, matcher):
    clock = Clock(FIXED_NOW)
    app = make_app(settings_for(fake, seeded_engine, tmp_path), seeded_engine)
    conv = build_conversation(app, clock=clock, matcher=matcher, flood=FloodGuard(limit=10_000))
    async with Driver("wecom", app, conv, fake) as staff, Driver("wechat", app, conv, fake) as oa:
        await staff.login("doctor", *STAFF["doctor"])
        number = await file_order(staff)
        [first] = [fake.qr_codes[url] for url in images_to(fake, "doctor")]  # shown with the filed order
        await staff.say("doctor", f"/link {number}")  # a new link: the first one stops working
        second = fake.qr_codes[images_to(fake, "doctor")[-1]]
        with app.uow() as uow:
            rid = str(uow.orders.by_number(number).resident_id)

        # A scene nobody issued, typed into a forged QR code or a hand-made event.
        await oa.event("oFORGER", "subscribe", EventKey="qrscene_r_ABCDEFGHJKLMNPQR")
        assert oa.saw("oFORGER", "这个居民链接无效")
        assert refusals(app, "resident_link", "?") == ["invalid_link"]

        # The first code, scanned after the doctor made a new one (by someone already following: SCAN).
        await oa.event("oOLDPHONE", "SCAN", EventKey=first.scene, Ticket=first.ticket)
        assert oa.saw("oOLDPHONE", "已过期或已作废")

        # The second code, eight days on: WeChat would no longer answer it, and the link is past its week too.
        clock.now = FIXED_NOW + timedelta(days=7, minutes=1)
        await oa.event(GRANDPA, "subscribe", EventKey=f"qrscene_{second.scene}", Ticket=second.ticket)
        assert oa.saw(GRANDPA, "已过期或已作废")
        assert refusals(app, "resident", rid) == ["revoked", "expired"]
        with app.uow() as uow:
            for user in ("oFORGER", "oOLDPHONE", GRANDPA):
                assert uow.chat.account("wechat", user).resident_id is None
    assert NAME not in "".join(oa.texts("oFORGER") + oa.texts("oOLDPHONE") + oa.texts(GRANDPA))


@pytest.mark.parametrize("why", ["no Official Account", "QR codes switched off"])
async def test_without_qr_codes_the_doctor_gets_the_link_as_text_alone(fake, seeded_engine, tmp_path, matcher, why):
    settings = settings_for(fake, seeded_engine, tmp_path)
    if why == "no Official Account":
        settings = replace(settings, transport="wecom", wechat_app_id=None, wechat_secret=None, wechat_token=None,
                           wechat_aes_key=None)
    else:
        settings = replace(settings, wechat_qr_codes=False)
    app = make_app(settings, seeded_engine)
    conv = build_conversation(app, clock=lambda: FIXED_NOW, matcher=matcher, flood=FloodGuard(limit=10_000))
    async with Driver("wecom", app, conv, fake) as staff:
        await staff.login("doctor", *STAFF["doctor"])
        number = await file_order(staff)
        await staff.say("doctor", f"/link {number}")
        await staff.say("doctor", "/qr")
    assert not fake.to("doctor", "wecom_image") and not fake.qr_codes and not fake.media
    assert staff.saw("doctor", "/start r_", last=5)
    assert not any("二维码：" in text for text in staff.texts("doctor"))  # no caption without its image
    assert "/start v_350421101001" in staff.texts("doctor")[-1] and "二维码" not in staff.texts("doctor")[-1]


async def test_a_village_doctor_gets_the_villages_permanent_code_and_a_scan_subscribes(both):
    staff, oa = both
    fake = staff.fake
    await staff.login("doctor", *STAFF["doctor"])
    await staff.say("doctor", "/qr")
    await staff.say("doctor", "/qr")  # asked again: the code kept, not a second one of the 100,000
    first, again = images_to(fake, "doctor")
    code = fake.qr_codes[first]
    assert first == again and code.permanent and code.scene == "v_350421101001"
    assert len(fake.qr_codes) == 1
    texts = staff.texts("doctor")
    assert "/start v_350421101001" in texts[-3]  # the typed way, for anyone without WeChat at hand
    assert texts[-2] == "[图片]"  # then its caption
    assert texts[-1].startswith("明溪县雪峰镇城东村") and "坐诊预告订阅二维码" in texts[-1]

    await oa.event("oVILLAGER", "subscribe", EventKey=f"qrscene_{code.scene}", Ticket=code.ticket)
    assert oa.saw("oVILLAGER", "订阅成功：明溪县雪峰镇城东村")


async def test_a_code_the_official_account_refuses_leaves_the_text_and_no_caption(both):
    staff, _ = both
    fake = staff.fake
    fake.qr_limit = 0  # the account has used up its permanent codes
    await staff.login("doctor", *STAFF["doctor"])
    await staff.say("doctor", "/qr")
    assert fake.errors[45029] == 1 and not fake.to("doctor", "wecom_image")
    assert "/start v_350421101001" in staff.texts("doctor")[-1]
    assert not any("二维码：" in text for text in staff.texts("doctor"))


async def test_the_fake_refuses_what_wechat_refuses(fake):
    """Scenes of 1-64 characters, temporary codes up to 30 days, images PNG or JPG of 2 MB at most."""
    async with ClientSession() as http:
        async def token(path: str, **q: str) -> str:
            async with http.get(f"{fake.root_url}/cgi-bin/{path}", params=q) as r:
                return (await r.json())["access_token"]

        async def qrcode(body: dict) -> dict:
            async with http.post(f"{fake.root_url}/cgi-bin/qrcode/create", params={"access_token": oa},
                                 json=body) as r:
                return await r.json()

        async def upload(content: bytes, kind: str = "image") -> dict:
            form = FormData()
            form.add_field("media", io.BytesIO(content), filename="x.png", content_type="image/png")
            async with http.post(f"{fake.root_url}/cgi-bin/media/upload",
                                 params={"access_token": wecom, "type": kind}, data=form) as r:
                return await r.json()

        oa = await token("token", grant_type="client_credential", appid=fake.app_id, secret=fake.app_secret)
        wecom = await token("gettoken", corpid=fake.corp_id, corpsecret=fake.corp_secret)

        def scene(s: str) -> dict:
            return {"scene": {"scene_str": s}}

        assert "url" in await qrcode({"expire_seconds": 2_592_000, "action_name": "QR_STR_SCENE",
                                      "action_info": scene("r_" + "A" * 62)})
        for bad in ({"expire_seconds": 2_592_001, "action_name": "QR_STR_SCENE", "action_info": scene("r_X")},
                    {"expire_seconds": 60, "action_name": "QR_STR_SCENE", "action_info": scene("r_" + "A" * 63)},
                    {"action_name": "QR_LIMIT_STR_SCENE", "action_info": scene("")},
                    {"action_name": "QR_SHOW_ME_EVERYTHING", "action_info": scene("v_1")}):
            assert (await qrcode(bad))["errcode"] == 40035, bad

        png = draw_png("http://weixin.qq.com/q/02abc")
        assert (await upload(png))["media_id"]
        assert (await upload(png + b"\0" * (2 * 1024 * 1024)))["errcode"] == 40006  # over 2 MB
        assert (await upload(b"GIF89a" + png))["errcode"] == 40005  # neither PNG nor JPG
        assert (await upload(b"\x89PNG"))["errcode"] == 40006  # 5 bytes or fewer


def test_a_qr_code_keeps_to_the_official_accounts_limits():
    from handlers import QrCode

    assert QrCode("r_" + "A" * 62, timedelta(days=30), "").scene.endswith("A")
    with pytest.raises(ValueError, match="1-64"):
        QrCode("", None, "")
    with pytest.raises(ValueError, match="1-64"):
        QrCode("v_" + "1" * 63, None, "")
    with pytest.raises(ValueError, match="30 days"):
        QrCode("r_A", timedelta(days=30, seconds=1), "")
