"""Follow-up tasks (随访任务) for the village doctor: checks due on a day, done with a short result or overdue.

Pure rules, no storage. A task comes from a plan: the hospital's down-referral at discharge (``domain.referrals``),
and later a remote consultation's advice; each plan item is "what, how many days after" (血压复查 at 7 and 30 days).
The hospital picks one of ``TEMPLATES`` or types its own (``parse_plan``).

State machine::

    due ──complete──► done          due ──lapse──► overdue ──complete──► done (late)
    due/overdue ──cancel──► cancelled

A task lapses ``GRACE_DAYS`` after its day; the reminder goes out on its day at ``REMINDER_AT``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.errors import DomainError, IllegalTransition

CHINA = ZoneInfo("Asia/Shanghai")
REMINDER_AT = time(8, 0)
GRACE_DAYS = 3
MAX_WHAT = 60
MAX_RESULT = 200
MAX_ITEMS = 12
MAX_DAYS = 366


class FollowupStatus(StrEnum):
    """Where a follow-up task stands."""

    DUE = "due"
    DONE = "done"
    OVERDUE = "overdue"
    CANCELLED = "cancelled"


class FollowupAction(StrEnum):
    """What can happen to a task."""

    COMPLETE = "complete"
    LAPSE = "lapse"
    CANCEL = "cancel"


F = FollowupStatus
TRANSITIONS: dict[FollowupAction, tuple[frozenset[FollowupStatus], FollowupStatus]] = {
    FollowupAction.COMPLETE: (frozenset({F.DUE, F.OVERDUE}), F.DONE),
    FollowupAction.LAPSE: (frozenset({F.DUE}), F.OVERDUE),
    FollowupAction.CANCEL: (frozenset({F.DUE, F.OVERDUE}), F.CANCELLED),
}
OPEN = frozenset({F.DUE, F.OVERDUE})


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One check of a plan: ``what``, ``days`` after the plan is made."""

    what: str
    days: int


# Plans a hospital picks with one press: key -> (label, items).
TEMPLATES: dict[str, tuple[str, tuple[PlanItem, ...]]] = {
    "bp": ("血压复查（7天、30天）", (PlanItem("测血压", 7), PlanItem("测血压", 30))),
    "glucose": ("血糖复查（7天、30天）", (PlanItem("测血糖", 7), PlanItem("测血糖", 30))),
    "wound": ("伤口检查（3天、7天、14天）",
              (PlanItem("查看伤口", 3), PlanItem("查看伤口", 7), PlanItem("查看伤口", 14))),
    "meds": ("用药随访（14天、90天）", (PlanItem("了解服药和不良反应", 14), PlanItem("了解服药和不良反应", 90))),
}

# "7天", "30日", and the way people say it: "两周", "一个月", "三个月", "半个月", "10 d".
_DAYS = re.compile(r"(\d{1,3}|[一二两三四五六七八九十半]{1,3})\s*(天|日|d|周|星期|个?月)", re.I)
_UNIT_DAYS = {"天": 1, "日": 1, "d": 1, "D": 1, "周": 7, "星期": 7, "月": 30, "个月": 30}
_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _count(word: str) -> float | None:
    """1–99 written in digits or Chinese (十五, 二十, 两); 半 is a half."""
    if word.isdigit():
        return int(word)
    if word == "半":
        return 0.5
    if "十" in word:
        tens, _, ones = word.partition("十")
        if (tens and tens not in _DIGITS) or (ones and ones not in _DIGITS):
            return None
        return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)
    return _DIGITS.get(word)


def _days_in(clause: str) -> list[int]:
    """Every duration in a clause, in days (a month is 30)."""
    found = []
    for n, unit in _DAYS.findall(clause):
        count = _count(n)
        if count is None or (count == 0.5 and "月" not in unit):
            continue
        found.append(round(count * _UNIT_DAYS[unit]))
    return found
_SPLIT = re.compile(r"[；;\n。]")


def parse_plan(text: str) -> tuple[PlanItem, ...]:
    """Items from a typed plan, one per clause: ``7天 测血压；30天 测血压、查血脂``, ``测血压 7天、30天`` or
    ``两周后复测血压`` (weeks and months as 7 and 30 days).

    Each clause names its days (``N天``) and what to do (the rest of the clause). Raises ``DomainError``
    (``followup.bad_plan``) when a clause has no day or no check, or the plan is empty or too long."""
    items: list[PlanItem] = []
    for clause in _SPLIT.split(text or ""):
        clause = clause.strip()
        if not clause:
            continue
        days = _days_in(clause)
        what = _DAYS.sub("", clause).strip(" ，,、：:后内")
        if not days or not what:
            raise DomainError("followup.bad_plan", clause=clause[:30])
        for d in days:
            if not 0 < d <= MAX_DAYS:
                raise DomainError("followup.bad_days", days=d, limit=MAX_DAYS)
            items.append(PlanItem(what[:MAX_WHAT], d))
    if not items:
        raise DomainError("followup.empty_plan")
    if len(items) > MAX_ITEMS:
        raise DomainError("followup.too_many", limit=MAX_ITEMS)
    return tuple(sorted(items, key=lambda i: (i.days, i.what)))


def describe(items: tuple[PlanItem, ...]) -> str:
    """A plan in one line: ``7天后测血压；30天后测血压``."""
    return "；".join(f"{i.days}天后{i.what}" for i in items)


def due_day(start: date, item: PlanItem) -> date:
    """The day an item is due when the plan starts on ``start``."""
    return start + timedelta(days=item.days)


def reminder_at(day: date) -> datetime:
    """When a task due on ``day`` is reminded (aware, Sanming time)."""
    return datetime.combine(day, REMINDER_AT, CHINA)


def lapses_at(day: date) -> datetime:
    """When a task due on ``day`` and not done becomes overdue: the start of the day after the grace days."""
    return datetime.combine(day + timedelta(days=GRACE_DAYS + 1), time(0, 0), CHINA)


@dataclass(slots=True)
class FollowupTask:
    """One check a village post does for a resident on a day."""

    resident_id: int
    post_code: str
    what: str
    due: date
    source: str  # "referral" (a down-referral), "remote" (a remote consultation) …
    created_at: datetime
    order_id: int | None = None
    source_id: int | None = None
    status: FollowupStatus = FollowupStatus.DUE
    result: str | None = None
    done_at: datetime | None = None
    done_by_staff_id: int | None = None
    id: int | None = None

    def apply(self, action: FollowupAction, *, now: datetime, staff_id: int | None = None,
              result: str | None = None) -> tuple[FollowupStatus, FollowupStatus]:
        """Move the task; returns (before, after). ``complete`` needs a short result."""
        sources, target = TRANSITIONS[action]
        if self.status not in sources:
            raise IllegalTransition("followup.illegal_transition", action=action.value, status=self.status.value)
        if action is FollowupAction.COMPLETE:
            text = (result or "").strip()
            if not text:
                raise DomainError("followup.result_empty")
            if len(text) > MAX_RESULT:
                raise DomainError("followup.result_too_long", limit=MAX_RESULT)
            self.result, self.done_at, self.done_by_staff_id = text, now, staff_id
        before, self.status = self.status, target
        return before, target
