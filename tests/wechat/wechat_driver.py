"""Drives the WeChat transports end to end: real encrypted callbacks over HTTP, replies read from the fake API."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession

from bot.bootstrap import App
from bot.config import Settings
from bot.testing.fake_wechat import CallbackBuilder, FakeWeChat, Sent
from bot.transports.wechat import callbacks, mp, work
from bot.transports.wechat.bridge import CallbackBridge, CallbackServer, ReplayGuard, TokenStore
from domain.staff import Role
from handlers.onboarding import create_invite
from storage.uow import uow_factory
from tests.conftest import FIXED_NOW, TEST_KEY

WECOM_TOKEN = "wecomCallbackToken"
WECHAT_TOKEN = "wechatCallbackToken"
WECOM_AES = base64.b64encode(hashlib.sha256(b"wecom-aes").digest()).decode().rstrip("=")
WECHAT_AES = base64.b64encode(hashlib.sha256(b"wechat-aes").digest()).decode().rstrip("=")
OA_ORIGINAL_ID = "gh_fakeoa000001"
STAFF = {
    "doctor": ("S0006", Role.VILLAGE_DOCTOR),
    "township": ("S0005", Role.TOWNSHIP_REVIEWER),
    "hospital": ("S0002", Role.HOSPITAL_REVIEWER),
    "cardiologist": ("S0003", Role.EXPERT),
}
_CHOICE = re.compile(r"^回复 (\d+) (.+)$", re.M)


def settings_for(fake: FakeWeChat, engine: Any, tmp_path: Any, **extra: Any) -> Settings:
    """Settings with both WeChat apps pointed at the fake server."""
    return Settings(var_dir=tmp_path, database_url=str(engine.url), secret_key=TEST_KEY, log_level="INFO",
                    transport="wecom,wechat", telegram_token=None,
                    wecom_corp_id=fake.corp_id, wecom_agent_id=fake.agent_id, wecom_secret=fake.corp_secret,
                    wecom_token=WECOM_TOKEN, wecom_aes_key=WECOM_AES, wecom_api_base_url=fake.root_url,
                    wechat_app_id=fake.app_id, wechat_secret=fake.app_secret, wechat_token=WECHAT_TOKEN,
                    wechat_aes_key=WECHAT_AES, wechat_api_base_url=fake.root_url, wechat_listen="127.0.0.1:0",
                    **extra)


def make_app(settings: Settings, engine: Any) -> App:
    """An App over an existing engine."""
    return App(settings, engine, uow_factory(engine, settings.cipher()))


@dataclass
class Response:
    """What the callback answered, and how long it took."""

    status: int
    body: str
    seconds: float
    query: dict[str, str]


class Driver:
    """One platform's users typing and pressing; ``screens`` holds what each user saw (passive and active)."""

    def __init__(self, platform: str, app: App, conversation: Any, fake: FakeWeChat, *,
                 guard: ReplayGuard | None = None, clock: Any = time.time) -> None:
        self.platform, self.app, self.conversation, self.fake = platform, app, conversation, fake
        self.guard = guard or ReplayGuard(app.uow)
        self.store = TokenStore(app.uow)
        self.enterprise = platform == "wecom"
        if self.enterprise:
            self.bridge: CallbackBridge = callbacks.wecom_bridge(app, conversation, guard=self.guard, store=self.store)
            self.path = work.PATH
            self.builder = CallbackBuilder(enterprise=True, token=WECOM_TOKEN, aes_key=WECOM_AES,
                                           receiver_id=fake.corp_id, account=fake.corp_id, agent_id=fake.agent_id)
        else:
            self.bridge = callbacks.mp_bridge(app, conversation, guard=self.guard, store=self.store, clock=clock)
            self.path = mp.PATH
            self.builder = CallbackBuilder(enterprise=False, token=WECHAT_TOKEN, aes_key=WECHAT_AES,
                                           receiver_id=fake.app_id, account=OA_ORIGINAL_ID)
        self.screens: dict[str, list[Sent]] = defaultdict(list)
        self._seen = 0
        self.server: CallbackServer | None = None
        self.session: ClientSession | None = None
        self.url = ""

    async def __aenter__(self) -> Driver:
        self.server = await CallbackServer.attach("127.0.0.1:0", self.path, self.bridge.handle)
        self.url = f"http://127.0.0.1:{self.server.port}{self.path}"
        self.session = ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.bridge.drain(10)
        assert self.server is not None and self.session is not None
        await self.session.close()
        await self.server.detach(self.path)
        self.guard.close()

    # --- raw HTTP -----------------------------------------------------------------------------------------
    async def post(self, q: dict[str, str], body: bytes) -> Response:
        """POST a callback as WeChat would."""
        assert self.session is not None
        t0 = time.monotonic()
        data = io.BytesIO(body) if len(body) > 512 * 1024 else body  # aiohttp warns about large raw bodies
        async with self.session.post(self.url, params=q, data=data) as r:
            text = await r.text()
            return Response(r.status, text, time.monotonic() - t0, q)

    async def get(self, q: dict[str, str]) -> Response:
        """GET (URL verification)."""
        assert self.session is not None
        t0 = time.monotonic()
        async with self.session.get(self.url, params=q) as r:
            return Response(r.status, await r.text(), time.monotonic() - t0, q)

    # --- users --------------------------------------------------------------------------------------------
    async def settle(self) -> None:
        """Wait until every queued update was handled and sent; collect what the fake received."""
        await self.bridge.drain(15)
        for s in self.fake.sent[self._seen:]:
            self.screens[s.to].append(s)
        self._seen = len(self.fake.sent)

    def _passive(self, user: str, r: Response) -> None:
        if r.status == 200 and r.body not in ("", "success"):
            fields = self.builder.open_reply(r.body, r.query)
            assert fields["ToUserName"] == user
            self.screens[user].append(Sent("passive", user, {"text": {"content": fields["Content"]}}))

    async def say(self, user: str, text: str, **kw: Any) -> Response:
        """``user`` types ``text``; returns the callback's answer once everything was delivered."""
        r = await self.post(*self.builder.text(user, text, **kw))
        self._passive(user, r)
        await self.settle()
        return r

    async def voice(self, user: str, recognition: str | None = None) -> Response:
        """``user`` sends a voice message (with WeChat's recognition of it, if given)."""
        r = await self.post(*self.builder.voice(user, recognition))
        self._passive(user, r)
        await self.settle()
        return r

    async def event(self, user: str, event: str, **extra: Any) -> Response:
        """``user``'s client sends an event."""
        r = await self.post(*self.builder.event(user, event, **extra))
        await self.settle()
        return r

    async def press(self, user: str, label: str) -> Response:
        """``user`` presses the newest button whose label contains ``label`` (card button or numbered choice)."""
        for s in reversed(self.screens[user]):
            if self.enterprise:
                for text, key in s.buttons:
                    if label in text:
                        card = s.body["template_card"]
                        return await self.event(user, "template_card_event", EventKey=key, TaskId=card["task_id"],
                                                CardType="button_interaction", ResponseCode=secrets.token_hex(8))
            else:
                for n, text in _CHOICE.findall(s.text):
                    if label in text:
                        return await self.say(user, n)
        raise AssertionError(f"no button {label!r} for {user}; last: {self.texts(user)[-3:]}")

    def texts(self, user: str) -> list[str]:
        """Everything ``user`` saw, oldest first."""
        return [s.text for s in self.screens[user]]

    def saw(self, user: str, fragment: str, last: int = 4) -> bool:
        """True if one of the newest ``last`` messages of ``user`` contains ``fragment``."""
        return any(fragment in t for t in self.texts(user)[-last:])

    async def login(self, user: str, staff_code: str, role: Role) -> None:
        """Bind ``user`` to a member of staff with a real invite code."""
        with self.app.uow() as uow:
            st = uow.staff.by_code(staff_code)
            code = create_invite(uow, role, st.institution_code, staff_code, FIXED_NOW)
            uow.commit()
        await self.say(user, f"/start {code}")
        assert self.saw(user, "绑定成功"), self.texts(user)
