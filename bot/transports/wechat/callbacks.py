"""The two WeChat callback endpoints, each delivering to both platforms.

A reviewer on WeCom may act on an order whose resident follows the Official Account, and the other way round,
so each endpoint's bridge holds a deliverer for every configured platform. This module sits above
:mod:`~bot.transports.wechat.work` and :mod:`~bot.transports.wechat.mp`, which then need not know each other.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bot.bootstrap import build_posters, build_qr_images
from bot.transports.wechat import mp, work
from bot.transports.wechat.bridge import (
    CallbackBridge,
    CallbackEndpoint,
    Deliverer,
    ReplayGuard,
    TokenStore,
    serve_bridge,
)


def wecom_bridge(app: Any, conversation: Any, *, guard: ReplayGuard | None = None,
                 store: TokenStore | None = None) -> CallbackBridge:
    """The WeCom callback bridge, delivering to WeCom and (when configured) the Official Account."""
    s = app.settings
    if not (s.wecom_corp_id and s.wecom_token and s.wecom_aes_key and s.wecom_secret and s.wecom_agent_id):
        raise SystemExit("WeCom 未配置：需要 WECOM_CORP_ID、WECOM_AGENT_ID、WECOM_SECRET、WECOM_TOKEN、WECOM_AES_KEY")
    store = store or TokenStore(app.uow)
    guard = guard or ReplayGuard(app.uow)
    deliverer = work.build(app, store=store, images=build_qr_images(app, store=store),
                           posters=build_posters(app, store=store))
    assert deliverer is not None
    deliverers: dict[str, Deliverer] = {work.PLATFORM: deliverer}
    oa = mp.build(app, store=store)
    if oa is not None:
        deliverers[mp.PLATFORM] = oa
    endpoint = CallbackEndpoint(work.PLATFORM, s.wecom_token, s.wecom_aes_key, s.wecom_corp_id, guard,
                                enterprise=True)
    return CallbackBridge(app, conversation, endpoint, work.make_translate(deliverer), deliverers)


def mp_bridge(app: Any, conversation: Any, *, guard: ReplayGuard | None = None, store: TokenStore | None = None,
              clock: Callable[[], float] = time.time) -> CallbackBridge:
    """The OA callback bridge, delivering to the OA and (when configured) WeCom."""
    s = app.settings
    if not (s.wechat_app_id and s.wechat_token and s.wechat_secret):
        raise SystemExit("公众号未配置：需要 WECHAT_APP_ID、WECHAT_SECRET、WECHAT_TOKEN（安全模式另需 WECHAT_AES_KEY）")
    store = store or TokenStore(app.uow)
    guard = guard or ReplayGuard(app.uow)
    oa = mp.build(app, store=store, clock=clock)
    assert oa is not None
    deliverers: dict[str, Deliverer] = {mp.PLATFORM: oa}
    wecom = work.build(app, store=store, images=build_qr_images(app, store=store),
                       posters=build_posters(app, store=store))
    if wecom is not None:
        deliverers[work.PLATFORM] = wecom
    endpoint = CallbackEndpoint(mp.PLATFORM, s.wechat_token, s.wechat_aes_key, s.wechat_app_id, guard,
                                enterprise=False)
    ref: list[CallbackBridge] = []
    bridge = CallbackBridge(app, conversation, endpoint, mp.make_translate(ref), deliverers, prepare=oa.prepare)
    ref.append(bridge)
    return bridge


async def serve_wecom(app: Any, conversation: Any, stop: asyncio.Event) -> None:
    """Serve WeCom callbacks on ``WECHAT_LISTEN`` at ``/wecom/callback`` until ``stop`` is set."""
    bridge = wecom_bridge(app, conversation)
    await serve_bridge(bridge, app.settings.wechat_listen, work.PATH, stop, [bridge.endpoint.guard.close])


async def serve_mp(app: Any, conversation: Any, stop: asyncio.Event) -> None:
    """Serve Official Account callbacks on ``WECHAT_LISTEN`` at ``/wechat/callback`` until ``stop`` is set."""
    bridge = mp_bridge(app, conversation)
    await serve_bridge(bridge, app.settings.wechat_listen, mp.PATH, stop, [bridge.endpoint.guard.close])
