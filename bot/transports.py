"""Which chat transports exist and where their entry points live.

Each transport module exposes ``async def serve(app, conversation, stop: asyncio.Event) -> None``:
it receives updates, hands each ``Inbound`` to ``conversation.handle`` (off the event loop, since the
handlers are synchronous database work) and sends the returned ``Outbound`` replies. Adding a platform
means one module here and one line in this table.
"""

from __future__ import annotations

import importlib

TRANSPORTS: dict[str, str] = {
    "console": "bot.console",
    "ptb": "bot.telegram_ptb",
    "aiogram": "bot.telegram_aiogram",
    "wecom": "bot.wechat_work",
    "wechat": "bot.wechat_mp",
}


def load(name: str):
    """The module implementing transport ``name``; raises ``SystemExit`` with a clear message if unknown."""
    target = TRANSPORTS.get(name)
    if target is None:
        raise SystemExit(f"未知的 XUNZHEN_TRANSPORT：{name}（可选：{', '.join(TRANSPORTS)}）")
    return importlib.import_module(target)
