"""Callbacks that must be refused — each without a crash, logged, and with no effect on the conversation."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import struct
import time
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.bootstrap import build_conversation
from bot.testing.fake_wechat import CallbackBuilder, FakeWeChat
from bot.transports.wechat.bridge import CallbackRejected, parse_xml, signature
from handlers import FloodGuard
from tests.conftest import FIXED_NOW
from tests.wechat.wechat_driver import (
    OA_ORIGINAL_ID,
    WECHAT_AES,
    WECHAT_TOKEN,
    WECOM_AES,
    WECOM_TOKEN,
    Driver,
    make_app,
    settings_for,
)

BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><Encrypt>&lol3;</Encrypt></xml>')


class _NoMatcher:
    def classify(self, *args, **kwargs):
        return []


@pytest.fixture(params=["wecom", "wechat"])
async def driver(request, seeded_engine, tmp_path) -> AsyncIterator[Driver]:
    async with FakeWeChat() as fake:
        app = make_app(settings_for(fake, seeded_engine, tmp_path), seeded_engine)
        conv = build_conversation(app, clock=lambda: FIXED_NOW, matcher=_NoMatcher(), flood=FloodGuard(limit=10_000))
        async with Driver(request.param, app, conv, fake) as d:
            yield d


def _resign(d: Driver, q: dict[str, str], encrypted: str) -> tuple[dict[str, str], bytes]:
    """A callback whose Encrypt is ``encrypted`` and whose signatures are all valid."""
    token = d.builder.token
    q = dict(q, msg_signature=signature(token, q["timestamp"], q["nonce"], encrypted))
    return q, f"<xml><ToUserName>x</ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()


def _encrypt_raw(aes_key: str, plain: bytes) -> str:
    key = base64.b64decode(aes_key + "=")
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def _foreign_builder(d: Driver) -> CallbackBuilder:
    """Same token and key, but another CorpID/AppID inside the ciphertext."""
    if d.enterprise:
        return CallbackBuilder(enterprise=True, token=WECOM_TOKEN, aes_key=WECOM_AES, receiver_id="wwSOMEONEELSE",
                               account="wwSOMEONEELSE", agent_id=d.fake.agent_id)
    return CallbackBuilder(enterprise=False, token=WECHAT_TOKEN, aes_key=WECHAT_AES, receiver_id="wxSOMEONEELSE",
                           account=OA_ORIGINAL_ID)


async def test_url_verification_answers_the_echo(driver: Driver):
    ts, nonce = str(int(time.time())), "12345"
    if driver.enterprise:
        echo = driver.builder.crypto._encrypt_message("echo-4711", nonce, ts, _prp()).split("<Encrypt><![CDATA[")[1]
        echo = echo.split("]]>")[0]
        q = {"msg_signature": signature(WECOM_TOKEN, ts, nonce, echo), "timestamp": ts, "nonce": nonce, "echostr": echo}
    else:
        q = {"signature": signature(WECHAT_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "echo-4711"}
    r = await driver.get(q)
    assert (r.status, r.body) == (200, "echo-4711")
    bad = await driver.get(dict(q, timestamp=str(int(ts) - 1)))
    assert bad.status == 403
    if driver.enterprise:  # the same signed query again is a replay: refused, nothing decrypted
        again = await driver.get(q)
        assert again.status != 200 and "echo-4711" not in again.body


async def test_a_captured_wecom_callback_cannot_be_decrypted_through_the_url_check(driver: Driver):
    """msg_signature over (token, ts, nonce, Encrypt) is what the URL check verifies: it must not echo XML."""
    if not driver.enterprise:
        pytest.skip("WeCom only")
    ts, nonce = str(int(time.time())), "67890"
    secret = "<xml><Content>身份证350421199001011234</Content></xml>"
    enc = driver.builder.crypto._encrypt_message(secret, nonce, ts, _prp()).split("<Encrypt><![CDATA[")[1]
    enc = enc.split("]]>")[0]
    q = {"msg_signature": signature(WECOM_TOKEN, ts, nonce, enc), "timestamp": ts, "nonce": nonce, "echostr": enc}
    r = await driver.get(q)
    assert r.status == 403 and "350421" not in r.body


def _prp():
    from wechatpy.enterprise.crypto import PrpCrypto

    return PrpCrypto


async def test_every_forged_or_malformed_callback_is_refused_logged_and_harmless(driver: Driver, caplog):
    d = driver
    b = d.builder
    cases: dict[str, tuple[dict[str, str], bytes]] = {}
    q, body = b.text("mallory", "/help")
    if not d.enterprise:
        cases["bad_signature"] = (dict(q, signature="0" * 40), body)
    cases["bad_msg_signature"] = (dict(q, msg_signature="f" * 40), body)
    cases["wrong_receiver"] = _foreign_builder(d).text("mallory", "/help")
    q2, _ = b.text("mallory", "/help")
    cases["bad_base64"] = _resign(d, q2, "!!!not*base64@@@")
    q3, _ = b.text("mallory", "/help")
    inner = b"<xml><FromUserName>mallory</FromUserName></xml>"
    receiver = (d.fake.corp_id if d.enterprise else d.fake.app_id).encode()
    plain = os.urandom(16) + struct.pack(">I", len(inner)) + inner + receiver
    plain += b"\x00" * (32 - len(plain) % 32)  # padding bytes of value 0: invalid PKCS#7
    cases["bad_padding"] = _resign(d, q3, _encrypt_raw(WECOM_AES if d.enterprise else WECHAT_AES, plain))
    cases["stale_timestamp"] = b.text("mallory", "/help", timestamp=int(time.time()) - 600)
    q4, _ = b.text("mallory", "/help")
    cases["body_too_large"] = (q4, b"<xml>" + b"x" * (1024 * 1024 + 10) + b"</xml>")
    q5, _ = b.text("mallory", "/help")
    cases["xml_declaration_refused"] = (q5, BOMB)
    # The bomb inside a correctly encrypted and signed envelope is refused too.
    cases["inner_xml_declaration_refused"] = b.seal(BOMB.decode())

    caplog.set_level(logging.WARNING, logger="bot.transports.wechat.bridge")
    for reason, (q, body) in cases.items():
        r = await d.post(q, body)
        assert r.status in (400, 403, 413), (reason, r)
        expected = reason.replace("inner_", "")
        assert d.bridge.stats.rejected[expected] >= 1, (reason, d.bridge.stats.rejected)
        assert any(expected in rec.getMessage() for rec in caplog.records), reason

    # A replayed nonce: the first copy is accepted, the second refused.
    q, body = b.text("alice", "/help")
    assert (await d.post(q, body)).status == 200
    replay = await d.post(q, body)
    assert replay.status == 403 and d.bridge.stats.rejected["replayed_nonce"] == 1
    q6, body6 = b.text("alice", "/help", nonce=q["nonce"])  # another message, same nonce
    assert (await d.post(q6, body6)).status == 403

    await d.settle()
    assert d.bridge.stats.accepted == 1
    with d.app.uow() as uow:  # no forged callback reached the conversation
        assert uow.chat.account(d.platform, "mallory") is None
        assert uow.chat.account(d.platform, "alice") is not None
    # And the server still works.
    assert (await d.say("alice", "/help")).status == 200


def test_the_xml_parser_refuses_declarations_and_oversize_input():
    with pytest.raises(CallbackRejected, match="xml_declaration_refused"):
        parse_xml(BOMB)
    with pytest.raises(CallbackRejected, match="xml_declaration_refused"):
        parse_xml(b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><xml><a>&x;</a></xml>')
    with pytest.raises(CallbackRejected, match="body_too_large"):
        parse_xml(b"<xml>" + b"a" * 100 + b"</xml>", limit=50)
    with pytest.raises(CallbackRejected, match="bad_xml"):
        parse_xml(b"<xml><a>unclosed</xml>")
    assert parse_xml(b"<xml><A><![CDATA[x<y]]></A><B>2</B></xml>") == {"A": "x<y", "B": "2"}
    # UTF-16 without a byte-order mark is valid UTF-8 but hides "<!" behind NULs: refused before parsing.
    bomb16 = BOMB.decode().replace('encoding="utf-8"', "").encode("utf-16-le") if isinstance(BOMB, bytes) else b""
    with pytest.raises(CallbackRejected, match="bad_encoding"):
        parse_xml(bomb16 or "<!DOCTYPE x><xml/>".encode("utf-16-le"))
    assert hashlib.sha1(b"").hexdigest() == signature()


async def test_wecom_and_wechat_transports_share_one_listener_in_one_process(seeded_engine, tmp_path):
    import asyncio
    import socket
    from dataclasses import replace

    from aiohttp import ClientSession

    from bot import transports

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with FakeWeChat() as fake:
        settings = replace(settings_for(fake, seeded_engine, tmp_path), wechat_listen=f"127.0.0.1:{port}")
        app = make_app(settings, seeded_engine)
        conv = build_conversation(app, clock=lambda: FIXED_NOW, matcher=_NoMatcher())
        stop = asyncio.Event()
        tasks = [asyncio.create_task(transports.load(n)(app, conv, stop)) for n in settings.transports]
        ts, nonce = str(int(time.time())), "4242"
        q = {"signature": signature(WECHAT_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "hi"}
        async with ClientSession() as http:
            for _ in range(50):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/wechat/callback", params=q) as r:
                        assert (r.status, await r.text()) == (200, "hi")
                        break
                except OSError:
                    await asyncio.sleep(0.05)
            async with http.get(f"http://127.0.0.1:{port}/wecom/callback", params=q) as r:
                assert r.status == 403  # served (and refusing a signature meant for the other app)
        stop.set()
        await asyncio.gather(*tasks)
