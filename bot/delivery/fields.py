"""An announcement's parts as short typed fields, each cut to its field's limit at a word boundary.

Platforms that show fields rather than text share this: the Official Account's template messages
(``bot.transports.wechat.template``) and the SMS templates (``bot.transports.sms.template``). The parts come from
``handlers.services.announcements.Notice``; a change or a cancellation says so in the place and time themselves, so no
choice of fields can make a cancelled visit look like one that takes place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.announcements import AnnouncementKind

if TYPE_CHECKING:
    from handlers.services.announcements import Notice

_BREAKS = "、，,；; "
_TITLES = {AnnouncementKind.CANCEL: "坐诊取消通知", AnnouncementKind.UPDATE: "坐诊变更通知"}
BRING_SHORT = "身份证、医保卡、病历、药盒"


def fit(value: str, limit: int | None) -> str:
    """``value`` within ``limit`` characters, cut after a whole item of a list ("邱建华、王丽等") or, failing that,
    with an ellipsis; unchanged when it fits."""
    value = " ".join(value.split())
    if limit is None or len(value) <= limit:
        return value
    cut = max((i for i, ch in enumerate(value[:limit]) if ch in _BREAKS), default=-1)
    if cut > 0 and cut + 1 <= limit:
        return value[:cut].rstrip(_BREAKS) + "等"
    return value[:limit - 1] + "…"


def notice_parts(n: Notice) -> dict[str, str]:
    """The announcement's parts as a field shows them (see the module's docstring)."""
    start = n.starts_at
    when = f"{n.date}{n.weekday}{n.half_day}"
    stamp = f"{n.day.year}年{n.day.month}月{n.day.day}日" + (f" {start:%H:%M}" if start is not None else "")
    place = n.place
    if n.kind is AnnouncementKind.CANCEL:
        place, when = "已取消：" + place, "已取消：" + when
    elif n.kind is AnnouncementKind.UPDATE:
        place, when = "有变更：" + place, "有变更：" + when
    return {
        "title": _TITLES.get(n.kind, "坐诊预告"),
        "time": when,
        "start": stamp,
        "place": place,
        "expert": "、".join(f"{e.name} {e.title}" for e in n.experts),
        "specialty": "、".join(n.conditions),
        "hospital": n.hospital,
        "bring": BRING_SHORT,
        "note": n.note,
    }
