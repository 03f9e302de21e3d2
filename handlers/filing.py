"""What both ways of filing an order share (the step-by-step flow in ``village`` and the one-message card in
``order_card``): the post, stale buttons, reading the need, emergencies, duplicates, and storing the order."""

from __future__ import annotations

from typing import Any

from domain.errors import DomainError
from domain.orders import OPEN_STATUSES, Order, SpecialPopulation
from domain.staff import Resident, Role
from handlers import texts_orders  # noqa: F401  (registers the texts)
from handlers.catalogue import card_line
from handlers.common import acting_staff, emergency_mark, specialty_name, status_name, township_centers_of
from handlers.core import Button, Ctx
from handlers.emergency import raise_alert
from handlers.links import issue_resident_link, link_qr
from handlers.services import orders as services_orders
from handlers.texts import t

ELDERLY_AGE = 65
CHILD_AGE = 14


def post_village(ctx: Ctx) -> tuple[str, str]:
    """The acting village doctor's post and its village."""
    st, _ = acting_staff(ctx)
    inst = ctx.jurisdiction.institutions.get(st.institution_code)
    if inst is None:
        raise DomainError("place.unknown", code=st.institution_code)
    return inst.code, inst.place_code


def refuse(ctx: Ctx, action: str, reason: str, text_key: str = "button.expired", **detail: object) -> None:
    """A press that cannot act (stale, forged, out of order): a polite answer and an audit entry."""
    ctx.audit("refused", "button", action, reason=reason, detail={"step": ctx.acc.step, **detail})
    ctx.reply(t(text_key))


def on_step(ctx: Ctx, action: str, *steps: str) -> bool:
    """Buttons of a flow only count while the user is still on that step (old buttons are harmless)."""
    if ctx.acc.step in steps:
        return True
    refuse(ctx, action, "stale_step")
    return False


def age_of(draft: dict[str, Any], today_year: int) -> int | None:
    """The resident's age from the draft's birth year (or the age the doctor gave), if known."""
    if draft.get("birth_year"):
        return max(0, today_year - int(str(draft["birth_year"])))
    age = draft.get("age")
    return int(age) if isinstance(age, int) else None


def populations_for_age(age: int | None) -> list[str]:
    """Special populations an age alone tells (老年人 from 65, 儿童 under 14)."""
    if age is None:
        return []
    if age >= ELDERLY_AGE:
        return [SpecialPopulation.ELDERLY.value]
    if age < CHILD_AGE:
        return [SpecialPopulation.CHILD.value]
    return []


def classify(ctx: Ctx, need: str, draft: dict[str, Any], whole: str | None = None) -> Any:
    """The matcher on the need, with the resident's age, sex and pregnancy; the whole line is read for red flags
    too when it says more than the need (an emergency must never hide behind the name and birth year)."""
    age = age_of(draft, ctx.today.year)
    sex = draft.get("sex") if draft.get("sex") in ("M", "F") else None
    pregnant = SpecialPopulation.PREGNANT.value in (draft.get("populations") or [])
    matcher = ctx.services.matcher
    result = matcher.classify(need, age=age, sex=sex, pregnant=pregnant) if pregnant else matcher.classify(
        need, age=age, sex=sex)
    if not result.emergency and whole and whole.strip() != need.strip():
        other = matcher.classify(whole, age=age, sex=sex)
        if other.emergency:
            return other
    return result


def suggestions_of(result: Any) -> list[list[Any]]:
    """The matcher's specialties as stored in a draft: [code, name, matched words]."""
    return [[s.code, s.name, list(s.matched)] for s in result.specialties]


def has_need_words(result: Any) -> bool:
    """True when the matcher found words that point to a specialty (or an emergency): the text is a need."""
    return bool(result.emergency or any(s.matched for s in result.specialties))


def specialty_text(draft: dict[str, Any]) -> str:
    """What the proposed specialty rests on, in the same words the buttons use: "神经内科（依据：安眠药）"."""
    code = draft.get("specialty")
    words: list[str] = []
    for c, _name, matched in draft.get("suggestions") or []:
        if c == code:
            words = list(matched)
    name = specialty_name(str(code)) if code else t("card.specialty_none")
    if not words:
        chosen_by_doctor = bool(draft.get("specialty_chosen"))
        return name if chosen_by_doctor else t("card.specialty_unsure_none", name=name)
    low = draft.get("low") and not draft.get("specialty_chosen")
    return t("card.specialty_words_low" if low else "card.specialty_words", name=name, words="、".join(words[:3]))


def specialty_prompt(draft: dict[str, Any]) -> str:
    """The line above the specialty buttons: it names the first button, never another specialty."""
    suggestions = draft.get("suggestions") or []
    if not suggestions:
        return t("new.choose_any_specialty")
    _code, name, matched = suggestions[0]
    if not matched:
        return t("new.no_specialty_words", name=name)
    if draft.get("low"):
        return t("new.low_confidence", name=name, words="、".join(matched[:3]))
    return t("new.choose_specialty")


def specialty_rows(ctx: Ctx, draft: dict[str, Any]) -> list[list[Button]]:
    """A button per suggested specialty with the words behind it, then the whole catalogue."""
    rows: list[list[Button]] = []
    for code, name, matched in draft.get("suggestions", []):
        label = f"{name}（{'、'.join(matched[:3])}）" if matched else name
        rows.append([ctx.btn(label, "new.spec", code=code)])
    rows.append([ctx.btn(t("new.other_specialty"), "new.spec_other", parent=None, page=0)])
    return rows


def stop_for_emergency(ctx: Ctx, result: Any, back: str) -> None:
    """An emergency stops filing: 120 advice, a stored alert to whoever can be reached, and the two buttons.
    ``back`` is where "不是急症，继续登记" returns to ("new.specialty" or "new.card")."""
    reasons = "、".join(result.emergency_reasons) or "危险信号"
    st, _ = acting_staff(ctx)
    post, village = post_village(ctx)
    ctx.acc.advance("new.emergency", ctx.now, reasons=reasons, back=back)
    # The alert and the audit name the reasons only, never the villager's words.
    ctx.audit("emergency_detected", "post", post, detail={"reasons": list(result.emergency_reasons)})
    alerted = raise_alert(ctx, st, post, village, reasons)
    ctx.reply(
        t("new.emergency", reasons=reasons, alerted=alerted),
        [[ctx.btn(t("new.emergency_override"), "new.override"), ctx.btn(t("new.emergency_stop"), "new.stop")]],
    )


def open_twins(ctx: Ctx, resident_id: object, specialty: object) -> list[Order]:
    """The resident's open orders of the same specialty (a second one is offered the first instead)."""
    if not isinstance(resident_id, int) or not specialty:
        return []
    return ctx.uow.orders.list(resident_id=resident_id, specialty=str(specialty), statuses=OPEN_STATUSES, limit=5,
                               newest_first=True)


def twin_warning(ctx: Ctx, twins: list[Order], name: object) -> str:
    """"⚠️ 邱瑞鹏已有未办结的心血管内科订单 XZ-…（待初审）…"."""
    o = twins[0]
    return t("dupe.order", name=name, specialty=specialty_name(o.confirmed_specialty), number=o.number,
             status=status_name(o), need=_short(o.need_text))


def twin_rows(ctx: Ctx, twins: list[Order], confirm_action: str, **payload: object) -> list[Button]:
    """"看原订单" (the first open order's card) and "仍然提交" (this one as well, knowingly)."""
    return [ctx.btn(t("dupe.view"), "order.view", id=twins[0].id),
            ctx.btn(t("dupe.file_anyway"), confirm_action, (), dupe=twins[0].id, **payload)]


def twins_acknowledged(twins: list[Order], payload: dict) -> bool:
    """True when there is no open twin, or the press came from the "仍然提交" shown for the newest one."""
    return not twins or payload.get("dupe") == twins[0].id


def same_resident(ctx: Ctx, village: str, name: object, sex: object, birth_year: object) -> Resident | None:
    """A resident of the village with exactly this name, sex and birth year (adding them again makes a twin)."""
    if not (isinstance(name, str) and isinstance(birth_year, int)):
        return None
    found = ctx.uow.residents.find(name, village, birth_year)
    if found is None or found.consent_withdrawn_at is not None or (sex and found.sex.value != sex):
        return None
    return found


def resident_line(r: Resident) -> str:
    """"邱瑞鹏（男，1942年生）"."""
    return f"{r.name}（{t('new.sex.' + r.sex.value)}，{r.birth_year}年生）"


def has_current_consent(ctx: Ctx, r: Resident) -> bool:
    """True when the resident's separate consent is recorded in the current version."""
    return r.has_consent and r.consent is not None and r.consent.version == ctx.services.consent_version


def _short(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def file_order(ctx: Ctx) -> Order:
    """Store the resident (with consent) and the order in one transaction (``services.orders.file_order``), then
    tell the township."""
    st, _ = acting_staff(ctx)
    post, village = post_village(ctx)
    assert st.id is not None
    resident, order, in_catalogue = services_orders.file_order(
        ctx.uow, staff_id=st.id, post=post, village=village, draft=ctx.acc.draft, now=ctx.now,
        consent_version=ctx.services.consent_version, audit=ctx.audit, jurisdiction=ctx.jurisdiction)
    assert resident.id is not None
    ctx.acc.clear()
    link = issue_resident_link(ctx.uow, resident.id, st.id, ctx.now)
    ctx.edit(t("new.submitted", number=order.number, link=link), qr=link_qr(ctx, link))
    ctx.notify_role_at(
        township_centers_of(ctx, post),
        Role.TOWNSHIP_REVIEWER,
        t(
            "notify.new_order",
            number=order.number,
            village=ctx.place_name(village),
            specialty=specialty_name(order.confirmed_specialty),
        )
        + emergency_mark(order)
        + card_line(in_catalogue),
    )
    return order
