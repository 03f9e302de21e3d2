"""Which chat transports exist and where their entry points live.

Each entry point is ``async def serve(app, conversation, stop: asyncio.Event) -> None``: it receives
updates, hands each ``Inbound`` to ``conversation.handle`` (off the event loop, since the handlers are
synchronous database work) and sends the returned ``Outbound`` replies. Adding a platform means one module
in this package and one line in this table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Coroutine
from typing import Any

# name -> "module:function"; imported only when chosen, so an unused platform's library is never loaded.
TRANSPORTS: dict[str, str] = {
    "console": "bot.transports.console:serve",
    "ptb": "bot.transports.telegram.ptb:serve",
    "aiogram": "bot.transports.telegram.aiogram:serve",
    "wecom": "bot.transports.wechat.callbacks:serve_wecom",
    "wechat": "bot.transports.wechat.callbacks:serve_mp",
}


def load(name: str) -> Callable[..., Coroutine[Any, Any, None]]:
    """The ``serve`` entry point of transport ``name``; raises ``SystemExit`` with a clear message if unknown."""
    target = TRANSPORTS.get(name)
    if target is None:
        raise SystemExit(f"未知的 XUNZHEN_TRANSPORT：{name}（可选：{', '.join(TRANSPORTS)}）")
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)
