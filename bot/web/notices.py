"""Public announcement pages: the whole 坐诊预告 behind an Official Account template message's link.

A page shows the announcement as published to everyone: time, place, hospital, experts, what they treat, what to
bring. It never shows a resident's line, an order number or anything personal, and needs no login. Its address
carries a keyed hash of the announcement's number, so pages cannot be counted through by guessing numbers.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from aiohttp import web

from handlers.services.announcements import Announcer
from storage.ports import UnitOfWorkFactory

PREFIX = "/a/"
_REF = re.compile(r"^(\d{1,12})-([0-9a-f]{20})$")


class Keyed(Protocol):
    def lookup_hash(self, value: str | None, *, context: str) -> str | None: ...


def page_ref(cipher: Keyed, announcement_id: int) -> str:
    """The last part of the page's address: ``<number>-<keyed hash>``."""
    digest = cipher.lookup_hash(str(announcement_id), context="announcement.page") or ""
    return f"{announcement_id}-{digest[:20]}"


def page_url(base: str, cipher: Keyed, announcement_id: int) -> str:
    return f"{base.rstrip('/')}{PREFIX}{page_ref(cipher, announcement_id)}"


def page_text(uow_factory: UnitOfWorkFactory, cipher: Keyed, ref: str, now: datetime) -> str | None:
    """The announcement's published text for a page reference; None for a reference that is not genuine."""
    m = _REF.match(ref)
    if m is None or page_ref(cipher, int(m.group(1))) != ref:
        return None
    with uow_factory() as uow:
        published = Announcer(uow_factory, lambda: now).published(uow, int(m.group(1)), now)
    return published[1] if published else None


def notice_page(uow_factory: UnitOfWorkFactory, cipher: Keyed, clock: Callable[[], datetime]):
    """The aiohttp handler of ``GET /a/{ref}``."""

    async def handler(request: web.Request) -> web.Response:
        text = await asyncio.to_thread(page_text, uow_factory, cipher, request.match_info["ref"], clock())
        if text is None:
            raise web.HTTPNotFound(text="没有这条通知。")
        head, _, rest = text.partition("\n")
        body = "".join(f"<p>{html.escape(line)}</p>" for line in rest.splitlines() if line.strip())
        page = (f"<!doctype html><html lang='zh-CN'><meta charset='utf-8'>"
                f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
                f"<title>{html.escape(head)}</title>"
                f"<body style='font-family:sans-serif;max-width:36em;margin:1em auto;padding:0 1em;line-height:1.6'>"
                f"<h1 style='font-size:1.3em'>{html.escape(head)}</h1>{body}</body></html>")
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    return handler
