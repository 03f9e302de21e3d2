"""The plan as people read it: a list for chat, in texts every platform takes, and a report with a calendar grid
for the command line (a terminal is monospace; a phone is not).

Every circuit is one line, "12月1日（周二）上午 雪峰镇（圩日）｜心血管内科｜罗志明｜订单 3 个", grouped by week;
every order is named by its XZ number; dates are written one way (``month_day``). The words are in the catalogue
(``handlers.texts_circuits``); the figures come from ``handlers.services.planning.PlanView``.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from domain.circuits import HalfDay, month_day
from domain.orders import Urgency
from domain.planning import Conflict, ProposedCircuit
from handlers.common import specialty_name
from handlers.services.planning import PlanView, ScheduledCircuit
from handlers.texts_circuits import t

MESSAGE_BYTES = 1_900  # one chat text: WeCom and the Official Account take 2,048 bytes, Telegram 4,096 characters
CHAT_CIRCUITS = 30  # circuit lines per section in chat; the rest are counted ("另有 N 场")
CHAT_ORDERS = 15  # order lines in chat
CHAT_NAMES = 8  # places or people named in one warning
CELL = 8  # width of a calendar cell on the command line
ONE_DAY = timedelta(days=1)


# --------------------------------------------------------------------------------------------------- pieces


def when(day: date, half_day: HalfDay) -> str:
    """A circuit's time, the one way it is written: "12月1日（周二）上午"."""
    return t("plan.when", date=month_day(day), weekday=t(f"weekday.{day.weekday()}"),
             half_day=t(f"half_day.{half_day.value}"))


def _place(view: PlanView, code: str | None) -> str:
    return view.request.place_names.get(code or "", code or "")


def _expert(view: PlanView, staff_id: int) -> str:
    return view.request.staff_names.get(staff_id) or t("plan.expert", id=staff_id)


def _experts(view: PlanView, ids: Iterable[int]) -> str:
    return "、".join(_expert(view, sid) for sid in sorted(ids))


def _orders(count: int) -> str:
    return t("plan.orders.some", count=count) if count else t("plan.orders.none")


def _listed(names: Sequence[str], limit: int = CHAT_NAMES) -> str:
    unique = list(dict.fromkeys(names))
    shown = "、".join(unique[:limit])
    return shown + (t("plan.and_more", count=len(unique)) if len(unique) > limit else "")


def proposed_line(view: PlanView, c: ProposedCircuit) -> str:
    """One proposed circuit: when, where, which specialties (or why it is proposed), who, how many orders."""
    what = "、".join(specialty_name(s) for s in c.specialties) or t(f"plan.purpose.{c.purpose.value}")
    return t("plan.circuit", when=when(c.day, c.half_day), place=_place(view, c.place_code),
             market=t("plan.market") if c.market_day else "", what=what, experts=_experts(view, c.expert_ids),
             orders=_orders(len(c.order_ids)))


def scheduled_line(view: PlanView, sc: ScheduledCircuit) -> str:
    """One circuit already scheduled, written like a proposed one."""
    c = sc.circuit
    specialties = sorted({o.confirmed_specialty for o in sc.orders if o.confirmed_specialty})
    common = dict(when=when(c.day, c.half_day), place=_place(view, c.place_code),
                  market=t("plan.market") if sc.market_day else "", experts=_experts(view, c.expert_ids),
                  orders=_orders(len(sc.orders)))
    if not specialties:
        return t("plan.circuit.bare", **common)
    return t("plan.circuit", what="、".join(specialty_name(s) for s in specialties), **common)


def order_lines(view: PlanView) -> list[str]:
    """Every order of the plan by its XZ number, 尽快 first, then by date: where and when it is (or would be) seen
    and how long it will have waited since it was filed; those that cannot be placed say why."""
    numbers = view.request.numbers
    urgent = t("plan.order.urgent")
    rows: list[tuple[tuple, str]] = []
    for o in view.proposal.orders.values():
        number = numbers.get(o.order_id, str(o.order_id))
        common = dict(number=number, village=_place(view, o.village_code), specialty=specialty_name(o.specialty),
                      urgent=urgent if o.urgency is Urgency.SOON else "")
        if o.day is not None and o.half_day is not None:
            text = t("plan.order", when=when(o.day, o.half_day), place=_place(view, o.place_code),
                     wait=o.wait_days, **common)
            key: tuple = (o.urgency is not Urgency.SOON, 0, o.day, o.half_day is HalfDay.PM, number)
        else:
            reason = t(f"plan.reason.{o.reason.value}") if o.reason else t("plan.reason.unknown")
            text = t("plan.order.uncovered", reason=reason, **common)
            key = (o.urgency is not Urgency.SOON, 1, date.max, False, number)
        rows.append((key, text))
    for sc in view.scheduled:
        c = sc.circuit
        for order in sc.orders:
            number = order.number or str(order.id)
            text = t("plan.order.scheduled", number=number, village=_place(view, order.village_code),
                     specialty=specialty_name(order.confirmed_specialty),
                     urgent=urgent if order.urgency is Urgency.SOON else "", when=when(c.day, c.half_day),
                     place=_place(view, c.place_code), wait=(c.day - order.created_at.date()).days)
            rows.append(((order.urgency is not Urgency.SOON, 0, c.day, c.half_day is HalfDay.PM, number), text))
    return [text for _key, text in sorted(rows, key=lambda row: row[0])]


def conflict_text(view: PlanView, c: Conflict) -> str:
    """A conflict the planner could not resolve, in words."""
    places = [_place(view, code) for code in c.place_codes] + ["", ""]
    return t(f"plan.conflict.{c.kind}", expert=_expert(view, c.staff_id),
             when=when(c.day, c.half_day) if c.day and c.half_day else "", date=month_day(c.day) if c.day else "",
             month=f"{c.day.month}月" if c.day else "", place=places[0], other=places[1], need=c.need)


def _head(view: PlanView) -> str:
    r = view.request
    who = t("plan.head.who", hospital=r.hospital_name) if r.hospital_name else ""
    if r.month is not None:
        return t("plan.head.month", year=r.month.year, month=r.month.month, first=month_day(r.first),
                 last=month_day(r.last), who=who)
    return t("plan.head", first=month_day(r.first), last=month_day(r.last), who=who)


def _by_week(view: PlanView, lines: Sequence[tuple[date, str]]) -> list[list[str]]:
    """Lines grouped under a heading per calendar week (clipped to the plan's days)."""
    blocks: list[list[str]] = []
    monday: date | None = None
    for day, text in lines:
        this = day - timedelta(days=day.weekday())
        if this != monday:
            monday = this
            first, last = max(this, view.request.first), min(this + timedelta(days=6), view.request.last)
            blocks.append([t("plan.week", first=month_day(first), last=month_day(last))])
        blocks[-1].append(text)
    return blocks


def _section(view: PlanView, title: str, lines: Sequence[tuple[date, str]], limit: int | None) -> list[list[str]]:
    shown = lines if limit is None else lines[:limit]
    blocks = _by_week(view, shown)
    if blocks:
        blocks[0].insert(0, title)
    if len(lines) > len(shown):
        blocks[-1].append(t("plan.more_circuits", count=len(lines) - len(shown), first=month_day(lines[len(shown)][0])))
    return blocks


def _circuit_sections(view: PlanView, limit: int | None) -> list[list[str]]:
    p = view.proposal
    blocks: list[list[str]] = []
    if view.scheduled:
        blocks += _section(view, t("plan.section.scheduled", count=len(view.scheduled)),
                           [(sc.circuit.day, scheduled_line(view, sc)) for sc in view.scheduled], limit)
    if p.circuits:
        blocks += _section(view, t("plan.section.proposed", count=len(p.circuits)),
                           [(c.day, proposed_line(view, c)) for c in p.circuits], limit)
    return blocks


def pack(blocks: Iterable[Sequence[str]], limit: int = MESSAGE_BYTES) -> list[str]:
    """Texts of at most ``limit`` UTF-8 bytes: blocks kept whole where they fit, a line never cut in two."""
    messages: list[str] = []
    current: list[str] = []

    def size(lines: Sequence[str]) -> int:
        return len("\n".join(lines).encode())

    for block in blocks:
        joined = [*current, "", *block] if current else list(block)
        if size(joined) <= limit:
            current = joined
            continue
        if size(block) <= limit:  # whole in a text of its own
            if current:
                messages.append("\n".join(current))
            current = list(block)
            continue
        if current:  # too long for any one text: it goes on where the last one stops
            current.append("")
        for line in block:
            if current and size([*current, line]) > limit:
                messages.append("\n".join(current).strip("\n"))
                current = []
            current.append(line)
    if current:
        messages.append("\n".join(current))
    return messages


# ----------------------------------------------------------------------------------------------------- chat


def plan_messages(view: PlanView) -> list[str]:
    """The plan as chat texts: the days and totals, circuits scheduled and proposed by week, orders, warnings."""
    p, f = view.proposal, view.proposal.figures
    head = [_head(view), t("plan.summary", scheduled=len(view.scheduled), proposed=len(p.circuits))]
    if f.orders_total:
        head.append(t("plan.summary.orders", total=f.orders_total, covered=f.orders_covered,
                      mean=f"{f.mean_wait:.1f}") if f.mean_wait is not None
                    else t("plan.summary.orders_none", total=f.orders_total))
    blocks: list[list[str]] = [head, *_circuit_sections(view, CHAT_CIRCUITS)]
    orders = order_lines(view)
    if orders:
        block = [t("plan.section.orders", count=len(orders)), *orders[:CHAT_ORDERS]]
        if len(orders) > CHAT_ORDERS:
            block.append(t("plan.more_orders", count=len(orders) - CHAT_ORDERS))
        blocks.append(block)
    warnings = []
    if p.overdue:
        warnings.append(t("plan.warn.overdue", count=len({c.place_code for c in p.overdue}),
                          places=_listed([_place(view, c.place_code) for c in p.overdue])))
    if p.experts_below_minimum:
        short = p.experts_below_minimum
        warnings.append(t("plan.warn.short", count=len({e.staff_id for e in short}),
                          names=_listed([e.name for e in short])))
    if p.conflicts:
        warnings.append(t("plan.warn.conflicts", count=len(p.conflicts)))
        warnings += [conflict_text(view, c) for c in p.conflicts[:CHAT_NAMES]]
    if warnings:
        blocks.append(warnings)
    return pack(blocks)


# ----------------------------------------------------------------------------------------------- command line


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def calendar_grid(view: PlanView) -> list[str]:
    """The plan's weeks, Monday first: a day of the plan shows its circuits (scheduled and proposed), 休 a day off;
    days already past or outside the plan stay blank (they are neither free nor off: they are not planned)."""
    r, p = view.request, view.proposal
    per_day = Counter(c.day for c in p.circuits) + Counter(sc.circuit.day for sc in view.scheduled)
    market = {c.day for c in p.circuits if c.market_day} | {sc.circuit.day for sc in view.scheduled if sc.market_day}
    lines = ["".join(_pad(t(f"weekday.{w}"), CELL) for w in range(7)).rstrip()]
    row: list[str] = []
    d = r.first - timedelta(days=r.first.weekday())
    while d <= r.last or row:
        if not r.first <= d <= r.last:
            text = ""
        elif d in view.days_off:
            text = f"{d.day:>2}:{per_day[d]}!" if per_day[d] else f"{d.day:>2}:{t('plan.report.off')}"
        else:
            text = f"{d.day:>2}:{per_day[d]}{'*' if d in market else ''}"
        row.append(_pad(text, CELL))
        if len(row) == 7:
            lines.append("".join(row).rstrip())
            row = []
        d += ONE_DAY
    lines.append(t("plan.report.legend"))
    return lines


def _titled(title: str, lines: Sequence[str]) -> list[str]:
    if not lines:
        return [t("plan.report.none", title=title)]
    return [t("plan.report.section", title=title, count=len(lines)), *lines]


def plan_report(view: PlanView, max_orders: int | None = None) -> str:
    """The whole plan for the command line: figures, a calendar grid, every circuit and order, what is wrong."""
    p, f, r = view.proposal, view.proposal.figures, view.request
    out = [_head(view), "", t("plan.report.overall"),
           t("plan.report.scheduled", scheduled=len(view.scheduled), proposed=len(p.circuits)),
           t("plan.report.coverage", covered=f.orders_covered, total=f.orders_total, share=f"{f.coverage:.1%}")]
    if f.mean_wait is not None:
        out.append(t("plan.report.wait", mean=f"{f.mean_wait:.1f}", p90=f.p90_wait))
    out.append(t("plan.report.experts", days=f.expert_days, half_days=f.expert_half_days))
    out.append(t("plan.report.overdue_count", count=f.overdue_places))
    out += ["", t("plan.report.calendar"), *("  " + line for line in calendar_grid(view))]
    for block in _circuit_sections(view, None):
        lines = [line if line.startswith(("【", "〔")) else "  " + line for line in block]
        out += ["", *lines] if block[0].startswith("【") else lines
    orders = order_lines(view)
    if orders:
        shown = orders if max_orders is None else orders[:max_orders]
        out += ["", t("plan.section.orders", count=len(orders)), *("  " + line for line in shown)]
        if len(orders) > len(shown):
            out.append("  " + t("plan.more_orders", count=len(orders) - len(shown)))
    overdue = [
        t("plan.report.overdue", place=_place(view, c.place_code), level=t(f"plan.level.{c.level.value}"),
          rule=t(f"plan.rule.{c.level.value}"), due=month_day(c.due),
          reason=t(f"plan.freq_reason.{c.reason}") if c.reason else "")
        for c in p.overdue
    ]
    short = [
        t("plan.report.short", name=e.name, code=r.staff_codes.get(e.staff_id, e.staff_id),
          month=f"{e.month.month}月" if e.month else "", days=e.days_at_supported_units, minimum=e.minimum)
        for e in p.experts_below_minimum
    ]
    conflicts = ["  " + conflict_text(view, c) for c in p.conflicts]
    for title, lines in ((t("plan.report.overdue_title"), overdue), (t("plan.report.short_title"), short),
                         (t("plan.report.conflicts_title"), conflicts)):
        out += ["", *_titled(title, lines)]
    return "\n".join(out)
