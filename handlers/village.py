"""Village doctor flows: file an order (/new), look after the post's orders (/orders), show the village's
subscription (/qr)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from domain.errors import PermissionDenied
from domain.orders import MAX_NEED_TEXT, Action, Order, OrderStatus, SpecialPopulation
from domain.privacy import is_valid_mobile, normalise_phone
from domain.specialties import catalogue
from domain.staff import Role, is_person_name
from handlers import order_card
from handlers.common import (
    act,
    acting_staff,
    emergency_mark,
    specialty_name,
    status_name,
    township_centers_of,
    viewable_order,
    village_label,
)
from handlers.core import Button, Ctx, QrCode, Router, has_meaning
from handlers.emergency import raise_alert
from handlers.filing import (
    age_of,
    classify,
    file_order,
    has_current_consent,
    on_step,
    open_twins,
    populations_for_age,
    post_village,
    refuse,
    resident_line,
    same_resident,
    specialty_prompt,
    specialty_rows,
    stop_for_emergency,
    suggestions_of,
    twin_rows,
    twin_warning,
    twins_acknowledged,
)
from handlers.remote import remote_lines
from handlers.services import catalogue as first_diagnosis
from handlers.texts import t
from nlp.intake import need_rather_than_name

router = Router()
router.include(order_card.router)
VD = Role.VILLAGE_DOCTOR
CARD = order_card.STEP
MIN_BIRTH_YEAR = order_card.MIN_BIRTH_YEAR
SPEC_PAGE = 8


@router.free_text(VD)
def one_line(ctx: Ctx, text: str) -> None:
    """A village doctor's message outside any flow: an order in one line ("邱瑞鹏 男 1956 胸闷气短两周") gets its
    card, an emergency its 120 advice; anything else a pointer to the commands."""
    post_village(ctx)
    if not order_card.try_start(ctx, text):
        ctx.reply(t("free_text_unexpected") + "\n" + t("new.hint_one_line"))


@router.command("new", VD)
def new_order(ctx: Ctx, arg: str) -> None:
    """Start filing an order: the whole order in one line, or find the resident first."""
    post_village(ctx)
    if arg and order_card.try_start(ctx, arg):
        return
    ctx.acc.start("new.resident", ctx.now)
    ctx.reply(t("new.ask_resident"), [[ctx.btn(t("new.new_resident"), "new.create")]])
    if arg:
        find_resident(ctx, arg)


@router.step("new.resident")
def find_resident(ctx: Ctx, text: str) -> None:
    """Search the post's residents by part of their name (a whole order in one line goes to the card)."""
    if order_card.try_start(ctx, text):
        return
    _, village = post_village(ctx)
    query = text.strip()[:20]
    found = ctx.uow.residents.in_villages([village], query)[:8]
    for r in found:  # names and birth years shown: a read of personal data
        ctx.audit("read", "resident", str(r.id), detail={"purpose": "search"})
    if not found:
        ctx.reply(t("new.not_found", query=query), [[ctx.btn(t("new.new_resident"), "new.create")]])
        return
    rows = [[ctx.btn(resident_line(r), "new.pick", rid=r.id)] for r in found]
    rows.append([ctx.btn(t("new.new_resident"), "new.create")])
    ctx.reply(t("new.found"), rows)


@router.button("new.pick")
def pick_resident(ctx: Ctx, payload: dict) -> None:
    """An existing resident: ask for consent unless the current version is already recorded."""
    if not on_step(ctx, "new.pick", "new.resident"):
        return
    _take_existing(ctx, payload.get("rid"))


def _take_existing(ctx: Ctx, rid: object) -> None:
    _, village = post_village(ctx)
    resident = ctx.uow.residents.get(int(rid)) if isinstance(rid, int) else None
    if resident is None or resident.village_code != village or resident.consent_withdrawn_at is not None:
        ctx.audit("refused", "resident", str(rid), reason="not_your_post")
        ctx.reply(t("perm.not_your_post"))
        return
    ctx.acc.advance(
        "new.consent",
        ctx.now,
        rid=resident.id,
        name=resident.name,
        sex=resident.sex.value,
        birth_year=resident.birth_year,
    )
    if has_current_consent(ctx, resident):
        _ask_need(ctx)
    else:
        _ask_consent(ctx)


@router.button("new.create")
def create_resident(ctx: Ctx, payload: dict) -> None:
    """A new resident: their name first."""
    if not on_step(ctx, "new.create", "new.resident"):
        return
    ctx.acc.advance("new.name", ctx.now)
    ctx.reply(t("new.ask_name"))


@router.step("new.name")
def resident_name(ctx: Ctx, text: str) -> None:
    """The new resident's name, then sex. A story or emoji is no name ("😷🤒 发烧咳嗽三天了 🙏")."""
    name = text.strip()
    if not is_person_name(name) or need_rather_than_name(name, _matched(ctx, name)):
        ctx.reply(t("new.name_invalid"))
        return
    ctx.acc.advance("new.sex", ctx.now, name=name)
    ctx.reply(
        t("new.ask_sex"), [[ctx.btn(t("new.sex.M"), "new.sex", sex="M"), ctx.btn(t("new.sex.F"), "new.sex", sex="F")]]
    )


def _matched(ctx: Ctx, text: str) -> list[str]:
    """The words of ``text`` the matcher reads as symptoms or conditions."""
    result = ctx.services.matcher.classify(text)
    return [w for s in getattr(result, "specialties", ()) for w in s.matched]


@router.button("new.sex")
def resident_sex(ctx: Ctx, payload: dict) -> None:
    """Sex, then birth year."""
    if not on_step(ctx, "new.sex", "new.sex"):
        return
    if payload.get("sex") not in ("M", "F"):
        refuse(ctx, "new.sex", "bad_payload")
        return
    ctx.acc.advance("new.birth_year", ctx.now, sex=payload["sex"])
    ctx.reply(t("new.ask_birth_year"))


@router.step("new.sex")
def resident_sex_typed(ctx: Ctx, text: str) -> None:
    """Typed 男/女 instead of pressing a button."""
    sex = {"男": "M", "女": "F", "m": "M", "f": "F"}.get(text.strip().lower())
    if sex:
        resident_sex(ctx, {"sex": sex})
    else:
        ctx.reply(
            t("new.ask_sex"),
            [[ctx.btn(t("new.sex.M"), "new.sex", sex="M"), ctx.btn(t("new.sex.F"), "new.sex", sex="F")]],
        )


@router.step("new.birth_year")
def resident_birth_year(ctx: Ctx, text: str) -> None:
    """Birth year, then an optional phone number; a resident already on record is offered instead of a twin."""
    digits = text.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789")).removesuffix("年")
    if not (digits.isascii() and digits.isdigit() and MIN_BIRTH_YEAR <= int(digits) <= ctx.today.year):
        ctx.reply(t("new.birth_year_invalid", min=MIN_BIRTH_YEAR, max=ctx.today.year))
        return
    d = ctx.acc.draft
    _, village = post_village(ctx)
    twin = same_resident(ctx, village, d.get("name"), d.get("sex"), int(digits))
    if twin is not None:
        ctx.audit("read", "resident", str(twin.id), detail={"purpose": "duplicate"})
        ctx.acc.advance("new.twin", ctx.now, birth_year=int(digits), twin=twin.id)
        ctx.reply(t("dupe.resident", resident=resident_line(twin)),
                  [[ctx.btn(t("dupe.same"), "new.twin_same", rid=twin.id),
                    ctx.btn(t("dupe.another"), "new.twin_new")]])
        return
    ctx.acc.advance("new.phone", ctx.now, birth_year=int(digits))
    ctx.reply(t("new.ask_phone"), [[ctx.btn(t("skip"), "new.phone_skip")]])


@router.button("new.twin_same")
def twin_same(ctx: Ctx, payload: dict) -> None:
    """The resident on record is the one: no second record."""
    if not on_step(ctx, "new.twin_same", "new.twin"):
        return
    if payload.get("rid") != ctx.acc.draft.get("twin"):
        refuse(ctx, "new.twin_same", "bad_payload")
        return
    _take_existing(ctx, payload.get("rid"))


@router.button("new.twin_new")
def twin_new(ctx: Ctx, payload: dict) -> None:
    """Another resident of the same name, sex and birth year, knowingly."""
    if not on_step(ctx, "new.twin_new", "new.twin"):
        return
    ctx.acc.advance("new.phone", ctx.now, twin=None)
    ctx.reply(t("new.ask_phone"), [[ctx.btn(t("skip"), "new.phone_skip")]])


@router.step("new.phone")
def resident_phone(ctx: Ctx, text: str) -> None:
    """A mobile number, validated; then consent."""
    if not is_valid_mobile(text):
        ctx.reply(t("new.phone_invalid"), [[ctx.btn(t("skip"), "new.phone_skip")]])
        return
    ctx.acc.advance("new.consent", ctx.now, phone=normalise_phone(text))
    _ask_consent(ctx)


@router.button("new.phone_skip")
def resident_phone_skip(ctx: Ctx, payload: dict) -> None:
    """No phone number."""
    if not on_step(ctx, "new.phone_skip", "new.phone"):
        return
    ctx.acc.advance("new.consent", ctx.now, phone=None)
    _ask_consent(ctx)


def _ask_consent(ctx: Ctx) -> None:
    d = ctx.acc.draft
    # The consent is this resident's, not whoever is asked about later; the button names the asking, not the person
    # (a name in a button would outlive the resident's erasure).
    ask = uuid.uuid4().hex[:12]
    ctx.acc.advance(ctx.acc.step or "new.consent", ctx.now, consent_ask=ask)
    ctx.reply(
        t("new.consent", version=ctx.services.consent_version, name=d.get("name")),
        [
            [
                ctx.btn(t("new.consent_yes"), "new.consent", yes=True, ask=ask),
                ctx.btn(t("new.consent_no"), "new.consent", yes=False, ask=ask),
            ]
        ],
    )


@router.button("new.consent")
def consent(ctx: Ctx, payload: dict) -> None:
    """Separate consent to processing health information: without it nothing is stored."""
    if not on_step(ctx, "new.consent", "new.consent"):
        return
    if payload.get("ask") != ctx.acc.draft.get("consent_ask"):
        refuse(ctx, "new.consent", "another_resident")
        return
    if not payload.get("yes"):
        ctx.acc.clear()
        ctx.edit(t("new.consent_refused"))
        return
    ctx.acc.advance("new.need", ctx.now, consent=True)
    _ask_need(ctx)


def _ask_need(ctx: Ctx) -> None:
    ctx.acc.advance("new.need", ctx.now)
    ctx.reply(t("new.ask_need", name=ctx.acc.draft.get("name")))


@router.step("new.need")
def need(ctx: Ctx, text: str) -> None:
    """The need in the villager's words: emergencies stop here; otherwise the matcher proposes specialties."""
    if not has_meaning(text):
        ctx.reply(t("no_meaning"))
        return
    if len(text) > MAX_NEED_TEXT:
        ctx.reply(t("order.need.too_long", limit=MAX_NEED_TEXT))
        return
    result = classify(ctx, text, ctx.acc.draft)
    ctx.acc.advance("new.specialty", ctx.now, need=text, suggestions=suggestions_of(result),
                    low=result.low_confidence)
    if result.emergency:
        stop_for_emergency(ctx, result, back="new.specialty")
        return
    _show_specialties(ctx)


@router.button("new.override")
def emergency_override(ctx: Ctx, payload: dict) -> None:
    """The doctor judges it is not an emergency: go on, and remember that they said so."""
    if not on_step(ctx, "new.override", "new.emergency"):
        return
    post, _ = post_village(ctx)
    ctx.audit("emergency_override", "post", post, detail={"reasons": ctx.acc.draft.get("reasons")})
    if ctx.acc.draft.get("back") == CARD:
        ctx.acc.advance(CARD, ctx.now, emergency_override=True)
        order_card.back_to_card(ctx)
        return
    ctx.acc.advance("new.specialty", ctx.now, emergency_override=True)
    _show_specialties(ctx)


@router.button("new.stop")
def emergency_stop(ctx: Ctx, payload: dict) -> None:
    """Stop after an emergency: nothing is stored."""
    if not on_step(ctx, "new.stop", "new.emergency"):
        return
    ctx.acc.clear()
    ctx.edit(t("new.emergency_stopped"))


def _show_specialties(ctx: Ctx) -> None:
    """The suggestions, each with the words behind it; the line above them names the first."""
    ctx.reply(specialty_prompt(ctx.acc.draft), specialty_rows(ctx, ctx.acc.draft))


@router.button("new.spec_other")
def other_specialty(ctx: Ctx, payload: dict) -> None:
    """Browse the catalogue: top-level departments, then their sub-specialties; every level has a way back."""
    if not on_step(ctx, "new.spec_other", "new.specialty", CARD):
        return
    parent = payload.get("parent")
    page = int(payload.get("page") or 0)
    cat = catalogue()
    if parent is not None and cat.get(str(parent)) is None:
        refuse(ctx, "new.spec_other", "bad_payload")
        return
    items = cat.children(str(parent)) if parent else cat.top_level()
    rows: list[list[Button]] = []
    if parent:
        rows.append([ctx.btn(f"{cat.by_code(str(parent)).name}（不细分）", "new.spec", code=parent)])
    for s in items[page * SPEC_PAGE : (page + 1) * SPEC_PAGE]:
        if cat.children(s.code):
            rows.append([ctx.btn(s.name + " »", "new.spec_other", parent=s.code, page=0)])
        else:
            rows.append([ctx.btn(s.name, "new.spec", code=s.code)])
    nav = []
    if page > 0:
        nav.append(ctx.btn(t("prev_page"), "new.spec_other", parent=parent, page=page - 1))
    if (page + 1) * SPEC_PAGE < len(items):
        nav.append(ctx.btn(t("next_page"), "new.spec_other", parent=parent, page=page + 1))
    if nav:
        rows.append(nav)
    if parent:  # a wrong group is one press away from the right one, not a /cancel
        rows.append([ctx.btn(t("back"), "new.spec_other", parent=None, page=0)])
    else:
        rows.append([ctx.btn(t("new.back_to_suggestions"), "new.spec_back")])
    ctx.reply(t("new.choose_any_specialty"), rows)


@router.button("new.spec_back")
def back_to_suggestions(ctx: Ctx, payload: dict) -> None:
    """From the catalogue back to the suggested specialties."""
    if not on_step(ctx, "new.spec_back", "new.specialty", CARD):
        return
    if ctx.acc.step == CARD:
        order_card.show_specialties(ctx)
    else:
        _show_specialties(ctx)


@router.button("new.spec")
def specialty_chosen(ctx: Ctx, payload: dict) -> None:
    """The doctor confirmed a specialty: ask the urgency (or back to the card)."""
    if not on_step(ctx, "new.spec", "new.specialty", CARD):
        return
    code = str(payload.get("code"))
    if catalogue().get(code) is None:
        refuse(ctx, "new.spec", "bad_payload")
        return
    if ctx.acc.step == CARD:
        order_card.specialty_set(ctx, code)
        return
    ctx.acc.advance("new.urgency", ctx.now, specialty=code)
    ctx.reply(
        t("new.ask_urgency"),
        [
            [
                ctx.btn(t("urgency.routine"), "new.urgency", u="routine"),
                ctx.btn(t("urgency.soon"), "new.urgency", u="soon"),
            ]
        ],
    )


@router.button("new.urgency")
def urgency_chosen(ctx: Ctx, payload: dict) -> None:
    """Urgency, then special-population flags (pre-ticked from the age)."""
    if not on_step(ctx, "new.urgency", "new.urgency"):
        return
    if payload.get("u") not in ("routine", "soon"):
        refuse(ctx, "new.urgency", "bad_payload")
        return
    ctx.acc.advance("new.populations", ctx.now, urgency=payload["u"],
                    populations=populations_for_age(age_of(ctx.acc.draft, ctx.today.year)))
    _show_populations(ctx)


def _show_populations(ctx: Ctx) -> None:
    chosen = set(ctx.acc.draft.get("populations", []))
    rows = [
        [ctx.btn(("✅ " if p.value in chosen else "") + t(f"population.{p.value}"), "new.pop", p=p.value)]
        for p in SpecialPopulation
    ]
    rows.append([ctx.btn(t("done"), "new.pop_done")])
    ctx.reply(t("new.ask_populations"), rows)


@router.button("card.pops")
def card_populations(ctx: Ctx, payload: dict) -> None:
    """The card's special-population flags, ticked from the age and the need's words."""
    if not on_step(ctx, "card.pops", CARD):
        return
    _show_populations(ctx)


@router.button("new.pop")
def toggle_population(ctx: Ctx, payload: dict) -> None:
    """Tick or untick one flag."""
    if not on_step(ctx, "new.pop", "new.populations", CARD):
        return
    if payload.get("p") not in {p.value for p in SpecialPopulation}:
        refuse(ctx, "new.pop", "bad_payload")
        return
    chosen = set(ctx.acc.draft.get("populations", []))
    chosen ^= {str(payload["p"])}
    ctx.acc.advance(ctx.acc.step or "new.populations", ctx.now, populations=sorted(chosen),
                    populations_chosen=True)
    _show_populations(ctx)


@router.button("new.pop_done")
def populations_done(ctx: Ctx, payload: dict) -> None:
    """Show the summary to confirm (or the card again)."""
    if not on_step(ctx, "new.pop_done", "new.populations", CARD):
        return
    if ctx.acc.step == CARD:
        order_card.back_to_card(ctx)
        return
    ctx.acc.advance("new.summary", ctx.now)
    _show_summary(ctx)


def _show_summary(ctx: Ctx) -> None:
    """What will be filed; an open order of the same specialty for the resident is offered instead."""
    d = ctx.acc.draft
    pops = "、".join(t(f"population.{p}") for p in d.get("populations", [])) or "无"
    resident = f"{d.get('name')}（{t('new.sex.' + str(d.get('sex')))}，{d.get('birth_year')}年生）"
    text = t(
        "new.summary",
        resident=resident,
        need=d.get("need"),
        specialty=specialty_name(str(d.get("specialty"))),
        urgency=t(f"urgency.{d.get('urgency')}"),
        populations=pops,
    )
    twins = open_twins(ctx, d.get("rid"), d.get("specialty"))
    if twins:
        text += "\n" + twin_warning(ctx, twins, d.get("name"))
        rows = [twin_rows(ctx, twins, "new.confirm"), [ctx.btn(t("abort"), "new.abort")]]
    else:
        rows = [[ctx.btn(t("confirm"), "new.confirm"), ctx.btn(t("abort"), "new.abort")]]
    ctx.reply(text, rows)


@router.button("new.abort")
def abort(ctx: Ctx, payload: dict) -> None:
    """Abandon the draft: nothing stored."""
    if not on_step(ctx, "new.abort", "new.summary"):
        return
    ctx.acc.clear()
    ctx.edit(t("new.abandoned"))


@router.button("new.confirm")
def confirm(ctx: Ctx, payload: dict) -> None:
    """Store the resident (with consent) and the order in one transaction, then tell the township."""
    if not on_step(ctx, "new.confirm", "new.summary"):
        return
    d = ctx.acc.draft
    if not twins_acknowledged(open_twins(ctx, d.get("rid"), d.get("specialty")), payload):
        _show_summary(ctx)  # an open order of the same specialty appeared since the summary was shown
        return
    file_order(ctx)


@router.command("qr", VD)
def village_qr(ctx: Ctx, arg: str) -> None:
    """How residents subscribe to the post's village: the typed command, the Telegram deep link where there is a
    bot, and the Official Account's permanent QR code for the notice board where there is an account."""
    _, village = post_village(ctx)
    name = village_label(ctx, village)
    lines = [t("village.qr_header", village=name)]
    if ctx.services.qr_codes:
        lines.append(t("village.qr_scan"))
    if ctx.services.bot_username:
        lines.append(t("village.qr_telegram", link=f"https://t.me/{ctx.services.bot_username}?start=v_{village}"))
    lines.append(t("village.qr_typed", code=village))
    qr = QrCode("v_" + village, None, t("village.qr_caption", village=name)) if ctx.services.qr_codes else None
    ctx.reply("\n".join(lines), qr=qr)


@router.command("orders", VD)
def orders(ctx: Ctx, arg: str) -> None:
    """The post's latest orders, each with a button to open it."""
    post, _ = post_village(ctx)
    found = ctx.uow.orders.list(post_codes=[post], limit=15, newest_first=True)
    if not found:
        ctx.reply(t("orders.none"))
        return
    rows = []
    residents = ctx.read_residents((o.resident_id for o in found), "orders")
    for o in found:
        r = residents.get(o.resident_id)
        label = t(
            "orders.line",
            number=o.number,
            resident=r.name if r else "",
            specialty=specialty_name(o.confirmed_specialty),
            status=status_name(o),
        )
        if o.emergency_override:
            label += "｜" + t("order.emergency_mark_short")
        rows.append([ctx.btn(label, "order.view", id=o.id)])
    ctx.reply(t("orders.header"), rows)


@router.button("order.view")
def view(ctx: Ctx, payload: dict) -> None:
    """One order's card with what can still be done to it."""
    o = viewable_order(ctx, payload.get("id"))
    r = ctx.read_resident(o.resident_id, "orders")
    text = t(
        "orders.card",
        number=o.number,
        resident=r.name if r else "",
        need=o.need_text,
        specialty=specialty_name(o.confirmed_specialty),
        status=status_name(o),
    ) + emergency_mark(o)
    text += "".join("\n" + line for line in _details(ctx, o))
    row = []
    if o.status in (OrderStatus.SUBMITTED, OrderStatus.RETURNED):
        row.append(ctx.btn(t("orders.edit"), "order.edit", id=o.id))
    if o.status is OrderStatus.RETURNED:
        row.append(ctx.btn(t("orders.answer"), "order.answer", id=o.id))
    if o.status.is_open and ctx.role is VD:
        row.append(ctx.btn(t("orders.cancel"), "order.cancel", id=o.id))
    rows = [row]
    if ctx.role is VD and ctx.staff and o.post_code == ctx.staff.institution_code and o.resident_id:
        rows.append([ctx.btn(t("link.button"), "order.link", id=o.id)])  # re-issue the resident's link
    ctx.reply(text, rows)


def _details(ctx: Ctx, o: Order) -> list[str]:
    """What was said about the order since it was filed: the township's question and the doctor's reply, the
    hospital's arrangement (remote-consultation time, referral), the reason of a rejection or cancellation."""
    lines = [t("orders.urgency", urgency=t(f"urgency.{o.urgency.value}"))]
    if o.question:
        lines.append(t("orders.question", question=o.question))
    if o.answer:
        lines.append(t("orders.answer_line", answer=o.answer))
    if o.disposition_note:
        kind = o.status.value if o.status in (OrderStatus.REMOTE_CONSULT, OrderStatus.REFERRED_UP) else "other"
        lines.append(t(f"orders.note.{kind}", note=o.disposition_note))
    if o.status is OrderStatus.REMOTE_CONSULT and o.id is not None:
        lines += remote_lines(ctx, o.id)  # the consultation as it stands now (moved, cancelled, its advice)
    if o.reason and o.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
        lines.append(t(f"orders.reason.{o.status.value}", reason=o.reason))
    if o.status is OrderStatus.MERGED and o.merged_into_id:
        target = ctx.uow.orders.get(o.merged_into_id)
        if target is not None:
            lines.append(t("orders.merged_into", number=target.number))
    return lines


def _own_open_order(ctx: Ctx, order_id: object) -> Order:
    """An order of this village doctor's own post (editing is the filer's, whatever else they may view)."""
    st, role = acting_staff(ctx)
    o = viewable_order(ctx, order_id)
    if role is not VD or o.post_code != st.institution_code:
        raise PermissionDenied("perm.not_your_post", order=o.number or "")
    return o


@router.button("order.edit")
def edit(ctx: Ctx, payload: dict) -> None:
    """Ask for the new need text."""
    o = _own_open_order(ctx, payload.get("id"))
    ctx.acc.start("order.edit", ctx.now, id=o.id)
    ctx.reply(t("orders.ask_edit"))


@router.step("order.edit")
def edit_text(ctx: Ctx, text: str) -> None:
    """Change the need text while the township has not yet decided; the matcher runs again on it."""
    if not has_meaning(text):
        ctx.reply(t("no_meaning"))
        return
    o = _own_open_order(ctx, ctx.acc.draft.get("id"))
    st, _ = acting_staff(ctx)
    assert st.id is not None
    o.edit_need(text, actor_staff_id=st.id, now=ctx.now)
    ctx.uow.orders.save(o)  # bumps the version: review buttons shown before the edit no longer decide anything
    first_diagnosis.match_order(ctx.uow, o, ctx.now, ctx.jurisdiction)  # the catalogue line follows the new words
    ctx.acc.clear()
    offer, rows, emergency = _rematch(ctx, o, o.need_text)
    ctx.reply(t("orders.edited", number=o.number) + offer, rows)
    emergency()
    if o.status is OrderStatus.SUBMITTED:  # a returned order reaches the township again when it is answered
        ctx.notify_role_at(township_centers_of(ctx, o.post_code), Role.TOWNSHIP_REVIEWER,
                           t("notify.order_edited", number=o.number, village=ctx.place_name(o.village_code)))


def _rematch(ctx: Ctx, o: Order, story: str) -> tuple[str, list[list[Button]], Callable[[], None]]:
    """New words about an order, read again: the specialty they point to, offered when it is not the order's (a
    line and buttons for the answer), and for red flags what raises the emergency now (the order stays saved;
    called after the answer so that the 120 advice comes last)."""
    resident = ctx.uow.residents.get(o.resident_id) if o.resident_id else None
    draft: dict[str, object] = {"sex": resident.sex.value, "birth_year": resident.birth_year} if resident else {}
    draft["populations"] = [p.value for p in o.special_populations]
    result = classify(ctx, story, draft)
    if result.emergency:

        def emergency() -> None:
            st, _ = acting_staff(ctx)
            reasons = "、".join(result.emergency_reasons) or "危险信号"
            ctx.audit("emergency_detected", "post", o.post_code,
                      detail={"reasons": list(result.emergency_reasons), "order": o.number})
            alerted = raise_alert(ctx, st, o.post_code, o.village_code, reasons,
                                  resident_name=resident.name if resident else "", resident_id=o.resident_id)
            ctx.reply(t("orders.emergency", reasons=reasons, alerted=alerted, number=o.number))

        return "", [], emergency
    nothing: tuple[str, list[list[Button]], Callable[[], None]] = ("", [], lambda: None)
    if not result.specialties or o.status not in (OrderStatus.SUBMITTED, OrderStatus.RETURNED):
        return nothing
    top = result.specialties[0]
    if not top.matched or top.code == o.confirmed_specialty:
        return nothing
    label = t("orders.rematch_to", name=top.name)
    rows = [[ctx.btn(label if len(label) <= 10 else t("orders.rematch_other"), "order.respec", id=o.id,
                     code=top.code, v=o.version),
             ctx.btn(t("orders.rematch_keep"), "order.keep", id=o.id)]]
    text = t("orders.rematch", name=top.name, words="、".join(top.matched[:3]),
             current=specialty_name(o.confirmed_specialty))
    return "\n" + text, rows, lambda: None


@router.button("order.respec")
def respecify(ctx: Ctx, payload: dict) -> None:
    """Take the specialty the new words point to (only on the order as it was when offered)."""
    o = _own_open_order(ctx, payload.get("id"))
    code = payload.get("code")
    if not isinstance(code, str) or catalogue().get(code) is None:
        refuse(ctx, "order.respec", "bad_payload")
        return
    if payload.get("v") != o.version or o.status not in (OrderStatus.SUBMITTED, OrderStatus.RETURNED):
        refuse(ctx, "order.respec", "order_changed", "orders.changed_meanwhile")
        return
    st, role = acting_staff(ctx)
    assert st.id is not None
    o.confirm_specialty(code, actor_staff_id=st.id, actor_role=role, now=ctx.now)
    ctx.uow.orders.save(o)
    ctx.edit(t("orders.respecced", number=o.number, name=specialty_name(code)))
    if o.status is OrderStatus.SUBMITTED:
        ctx.notify_role_at(township_centers_of(ctx, o.post_code), Role.TOWNSHIP_REVIEWER,
                           t("notify.order_respecced", number=o.number, village=ctx.place_name(o.village_code),
                             name=specialty_name(code)))


@router.button("order.keep")
def keep_specialty(ctx: Ctx, payload: dict) -> None:
    """Keep the order's specialty."""
    o = _own_open_order(ctx, payload.get("id"))
    ctx.edit(t("orders.kept", number=o.number))


@router.button("order.cancel")
def cancel_order(ctx: Ctx, payload: dict) -> None:
    """Ask why the order is cancelled."""
    o = viewable_order(ctx, payload.get("id"))
    ctx.acc.start("order.cancel", ctx.now, id=o.id)
    ctx.reply(t("orders.ask_cancel_reason"))


@router.step("order.cancel")
def cancel_reason(ctx: Ctx, text: str) -> None:
    """Cancel with the reason; the township is told."""
    o = act(ctx, ctx.acc.draft.get("id"), Action.CANCEL, reason=text)
    ctx.acc.clear()
    if o is not None:
        ctx.reply(t("orders.cancelled", number=o.number))
        resident = ctx.uow.residents.get(o.resident_id)
        ctx.notify_role_at(
            township_centers_of(ctx, o.post_code),
            Role.TOWNSHIP_REVIEWER,
            t(
                "notify.decision",
                number=o.number,
                resident=resident.name if resident else "",
                decision=t("decision.cancel"),
                detail=t("notify.detail", text=text),
            ),
        )


@router.button("order.answer")
def answer(ctx: Ctx, payload: dict) -> None:
    """Show the township's question and wait for the answer."""
    o = viewable_order(ctx, payload.get("id"))
    ctx.acc.start("order.answer", ctx.now, id=o.id)
    ctx.reply(t("orders.ask_answer", question=o.question or ""))


@router.step("order.answer")
def answer_text(ctx: Ctx, text: str) -> None:
    """Resubmit with the answer; the matcher reads the need with it."""
    o = act(ctx, ctx.acc.draft.get("id"), Action.RESUBMIT, reason=text)
    ctx.acc.clear()
    if o is not None:
        offer, rows, emergency = _rematch(ctx, o, f"{o.need_text}\n{o.answer or ''}")
        ctx.reply(t("orders.resubmitted", number=o.number) + offer, rows)
        emergency()
        ctx.notify_role_at(
            township_centers_of(ctx, o.post_code),
            Role.TOWNSHIP_REVIEWER,
            t(
                "notify.new_order",
                number=o.number,
                village=ctx.place_name(o.village_code),
                specialty=specialty_name(o.confirmed_specialty),
            )
            + emergency_mark(o),
        )
