"""Printed pages for a notice board (issue 19): a circuit's poster (坐诊预告海报) and a township's week of circuits.

These are the pages' contents, already worded: the use case (``handlers.services.posters``) fills them from the
announcement's own facts and texts, and a renderer outside the core (``bot.delivery.poster``) lays them out on A4.
Pure data, so a chat reply can carry one to the transport that renders and sends it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.I)


@dataclass(frozen=True, slots=True)
class SubscribeCode:
    """The QR code on a page: residents who scan it follow a village's announcements (``/start <scene>``).

    The renderer asks the Official Account for its parametric code of ``scene`` where one is configured, else
    draws ``telegram`` (the bot's deep link); with neither the page shows only ``typed``.
    """

    scene: str  # v_<village>, or v_<township> (the township's villages to choose from)
    telegram: str | None  # https://t.me/<bot>?start=<scene>, when the bot's name is known
    label: str  # printed beside the code: 扫码订阅城东村坐诊预告
    typed: str  # printed under it, for a phone without a scanner: 或发送 /start v_350421101001


@dataclass(frozen=True, slots=True)
class PosterExpert:
    """One expert as the poster names them: the announcement's line, and their profile if they have one."""

    line: str  # 专家：罗志明，副主任医师，心血管内科
    profile: str = ""


@dataclass(frozen=True, slots=True)
class CircuitPoster:
    """An A4 poster for one circuit at one village's notice board."""

    title: str  # 坐诊预告
    headline: str  # 明溪县总医院专家到城东村坐诊
    when: str  # 时间：12月4日（周五）上午
    place: str  # 地点：城东村
    hospital: str  # 派出医院：明溪县总医院
    experts: tuple[PosterExpert, ...]
    conditions: str  # 主要诊治：… ("" when nothing is known)
    bring: str  # 就诊请带：身份证、医保卡、既往病历和检查报告、…
    contact: str  # 咨询电话：村医 廖德福 13900001006 ("" when no number is registered)
    code: SubscribeCode
    footer: str


@dataclass(frozen=True, slots=True)
class WeekRow:
    """One circuit of the week, as a line of the table."""

    when: str  # 12月4日（周五）上午
    place: str
    experts: str  # 罗志明（副主任医师，心血管内科）
    hospital: str


@dataclass(frozen=True, slots=True)
class WeekSchedule:
    """A township's circuits of one week on one A4 page."""

    title: str  # 雪峰镇巡诊安排
    period: str  # 2026年第49周（11月30日—12月6日）
    columns: tuple[str, str, str, str]  # 时间、地点、专家、派出医院
    rows: tuple[WeekRow, ...]
    empty: str  # said instead of the table when there is no circuit that week
    more: str  # said under a table cut to fit the page, with ``{count}`` for the rows left out
    bring: str
    contact: str
    code: SubscribeCode
    footer: str


Sheet = CircuitPoster | WeekSchedule


def parse_week(text: str) -> date:
    """The Monday of an ISO week written ``2027-W02`` (or ``2027W02``); ``ValueError`` otherwise."""
    m = _WEEK.match(text)
    if not m:
        raise ValueError(f"not an ISO week like 2027-W02: {text!r}")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} has no week {week}") from None
    return monday


def next_week(today: date) -> date:
    """The Monday of the week after ``today``'s (the coming week a schedule is printed for)."""
    return today - timedelta(days=today.weekday()) + timedelta(days=7)
