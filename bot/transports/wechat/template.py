"""Official Account template messages that survive WeChat's rules.

Since 2023-05-04 WeChat no longer shows a template's ``first`` and ``remark``, shows an old-style ``keywordN`` only up
to 20 characters, and the newer category templates have typed fields with their own limits (``thing`` 20
characters, ``phrase`` 5 Chinese characters, ``name`` 10, ``character_string`` and ``number`` 32, ``time`` a date
and time such as "2027年1月5日 08:00"). The operator picks a template in the Official Account's back office and
says which of its fields shows which part of the announcement (``WECHAT_TEMPLATE_FIELDS``); each value is cut to
its field's limit at a word boundary, and the template's link opens the whole 坐诊预告 on a public page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# The parts and the cut at a word boundary are shared with the SMS templates; imported here under their old names.
from bot.delivery.fields import BRING_SHORT, fit, notice_parts  # noqa: F401

# What an announcement can put in a field (handlers.services.announcements.Notice, read by ``values``).
PARTS = ("title", "time", "start", "place", "expert", "specialty", "hospital", "bring", "note")
DEFAULT_FIELDS = "thing1=expert,thing2=specialty,time3=start,thing4=place,thing5=hospital"
_KEY = re.compile(r"^(first|remark|keyword\d+|thing\d+|time\d+|date\d+|phrase\d+|name\d+|character_string\d+"
                  r"|number\d+)$")
_LIMITS = {"keyword": 20, "thing": 20, "phrase": 5, "name": 10, "character_string": 32, "number": 32}


def parse_fields(raw: str) -> tuple[tuple[str, str], ...]:
    """``thing1=expert,time3=start,…`` as (template key, announcement part) pairs; ValueError with the reason."""
    out = []
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, part = (x.strip() for x in item.partition("="))
        if not sep or not _KEY.match(key):
            raise ValueError(f"{item.strip()!r}: 应为 模板字段=内容，如 thing1=expert / expected key=part")
        if key in ("first", "remark"):
            raise ValueError(f"{key}: 微信已不再显示 first 和 remark / WeChat no longer shows first and remark")
        if part not in PARTS:
            raise ValueError(f"{part!r}: 内容只能是 {'、'.join(PARTS)} / part must be one of these")
        kind = re.sub(r"\d+$", "", key)
        if kind in ("character_string", "number", "phrase") or (kind in ("time", "date")) != (part == "start"):
            raise ValueError(f"{key}={part}: 这种字段放不下这项内容（start 只放 time/date，中文放 thing/keyword） / "
                             "this field type cannot hold this part")
        out.append((key, part))
    if not out:
        raise ValueError("没有任何字段 / no fields")
    if len({k for k, _ in out}) != len(out):
        raise ValueError("同一模板字段写了两次 / a template key appears twice")
    return tuple(out)


def limit_of(key: str) -> int | None:
    """How many characters WeChat shows in this field (None: a formatted value such as a time)."""
    return _LIMITS.get(re.sub(r"\d+$", "", key))


def template_data(fields: tuple[tuple[str, str], ...], parts: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The ``data`` of a template message: every configured field with its part, cut to the field's limit."""
    return {key: {"value": fit(parts.get(part, "") or "—", limit_of(key))} for key, part in fields}
