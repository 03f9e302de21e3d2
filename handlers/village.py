"""Village doctor flows: file an order (/new), look after the post's orders (/orders), show the village's
subscription (/qr)."""

from __future__ import annotations

from domain.errors import DomainError, PermissionDenied
from domain.orders import MAX_NEED_TEXT, Action, Order, OrderStatus, SpecialPopulation, Urgency
from domain.privacy import is_valid_mobile, normalise_phone
from domain.specialties import catalogue
from domain.staff import Consent, Resident, Role, Sex
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
from handlers.links import issue_resident_link, link_qr
from handlers.texts import t

router = Router()
VD = Role.VILLAGE_DOCTOR
MIN_BIRTH_YEAR = 1900
SPEC_PAGE = 8


def _post_village(ctx: Ctx) -> tuple[str, str]:
    st, _ = acting_staff(ctx)
    inst = ctx.jurisdiction.institutions.get(st.institution_code)
    if inst is None:
        raise DomainError("place.unknown", code=st.institution_code)
    return inst.code, inst.place_code


def _on_step(ctx: Ctx, *steps: str) -> bool:
    """Buttons of a flow only count while the user is still on that step (old buttons are harmless)."""
    if ctx.acc.step in steps:
        return True
    ctx.reply(t("button.expired"))
    return False


@router.command("new", VD)
def new_order(ctx: Ctx, arg: str) -> None:
    """Start filing an order: find the resident first."""
    _post_village(ctx)
    ctx.acc.start("new.resident", ctx.now)
    ctx.reply(t("new.ask_resident"), [[ctx.btn(t("new.new_resident"), "new.create")]])
    if arg:
        find_resident(ctx, arg)


@router.step("new.resident")
def find_resident(ctx: Ctx, text: str) -> None:
    """Search the post's residents by part of their name."""
    _, village = _post_village(ctx)
    query = text.strip()[:20]
    found = ctx.uow.residents.in_villages([village], query)[:8]
    for r in found:  # names and birth years shown: a read of personal data
        ctx.audit("read", "resident", str(r.id), detail={"purpose": "search"})
    if not found:
        ctx.reply(t("new.not_found", query=query), [[ctx.btn(t("new.new_resident"), "new.create")]])
        return
    rows = [
        [ctx.btn(f"{r.name}（{t('new.sex.' + r.sex.value)}，{r.birth_year}年生）", "new.pick", rid=r.id)] for r in found
    ]
    rows.append([ctx.btn(t("new.new_resident"), "new.create")])
    ctx.reply(t("new.found"), rows)


@router.button("new.pick")
def pick_resident(ctx: Ctx, payload: dict) -> None:
    """An existing resident: ask for consent unless the current version is already recorded."""
    if not _on_step(ctx, "new.resident"):
        return
    _, village = _post_village(ctx)
    rid = payload.get("rid")
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
    consent = resident.consent
    if resident.has_consent and consent is not None and consent.version == ctx.services.consent_version:
        _ask_need(ctx)
    else:
        _ask_consent(ctx)


@router.button("new.create")
def create_resident(ctx: Ctx, payload: dict) -> None:
    """A new resident: their name first."""
    if not _on_step(ctx, "new.resident"):
        return
    ctx.acc.advance("new.name", ctx.now)
    ctx.reply(t("new.ask_name"))


@router.step("new.name")
def resident_name(ctx: Ctx, text: str) -> None:
    """The new resident's name, then sex."""
    name = text.strip()
    if not 2 <= len(name) <= 20 or not has_meaning(name):
        ctx.reply(t("new.name_invalid"))
        return
    ctx.acc.advance("new.sex", ctx.now, name=name)
    ctx.reply(
        t("new.ask_sex"), [[ctx.btn(t("new.sex.M"), "new.sex", sex="M"), ctx.btn(t("new.sex.F"), "new.sex", sex="F")]]
    )


@router.button("new.sex")
def resident_sex(ctx: Ctx, payload: dict) -> None:
    """Sex, then birth year."""
    if not _on_step(ctx, "new.sex") or payload.get("sex") not in ("M", "F"):
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
    """Birth year, then an optional phone number."""
    digits = text.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789")).removesuffix("年")
    if not (digits.isascii() and digits.isdigit() and MIN_BIRTH_YEAR <= int(digits) <= ctx.today.year):
        ctx.reply(t("new.birth_year_invalid", min=MIN_BIRTH_YEAR, max=ctx.today.year))
        return
    ctx.acc.advance("new.phone", ctx.now, birth_year=int(digits))
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
    if not _on_step(ctx, "new.phone"):
        return
    ctx.acc.advance("new.consent", ctx.now, phone=None)
    _ask_consent(ctx)


def _ask_consent(ctx: Ctx) -> None:
    ctx.reply(
        t("new.consent", version=ctx.services.consent_version, name=ctx.acc.draft.get("name")),
        [
            [
                ctx.btn(t("new.consent_yes"), "new.consent", yes=True),
                ctx.btn(t("new.consent_no"), "new.consent", yes=False),
            ]
        ],
    )


@router.button("new.consent")
def consent(ctx: Ctx, payload: dict) -> None:
    """Separate consent to processing health information: without it nothing is stored."""
    if not _on_step(ctx, "new.consent"):
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
    d = ctx.acc.draft
    age = ctx.today.year - int(str(d.get("birth_year"))) if d.get("birth_year") else None
    result = ctx.services.matcher.classify(text, age=age, sex=d.get("sex"))
    suggestions = [[s.code, s.name, list(s.matched)] for s in result.specialties]
    ctx.acc.advance("new.specialty", ctx.now, need=text, suggestions=suggestions, low=result.low_confidence)
    if result.emergency:
        reasons = "、".join(result.emergency_reasons) or "危险信号"
        st, _ = acting_staff(ctx)
        post, village = _post_village(ctx)
        ctx.acc.advance("new.emergency", ctx.now, reasons=reasons)
        # The alert and the audit name the reasons only, never the villager's words.
        ctx.audit("emergency_detected", "post", post, detail={"reasons": list(result.emergency_reasons)})
        # A stored alert, queued in the outbox to whoever can be reached; the doctor is told exactly who that is.
        alerted = raise_alert(ctx, st, post, village, reasons)
        ctx.reply(
            t("new.emergency", reasons=reasons, alerted=alerted),
            [[ctx.btn(t("new.emergency_override"), "new.override"), ctx.btn(t("new.emergency_stop"), "new.stop")]],
        )
        return
    _show_specialties(ctx)


@router.button("new.override")
def emergency_override(ctx: Ctx, payload: dict) -> None:
    """The doctor judges it is not an emergency: go on, and remember that they said so."""
    if not _on_step(ctx, "new.emergency"):
        return
    post, _ = _post_village(ctx)
    ctx.audit("emergency_override", "post", post, detail={"reasons": ctx.acc.draft.get("reasons")})
    ctx.acc.advance("new.specialty", ctx.now, emergency_override=True)
    _show_specialties(ctx)


@router.button("new.stop")
def emergency_stop(ctx: Ctx, payload: dict) -> None:
    """Stop after an emergency: nothing is stored."""
    if not _on_step(ctx, "new.emergency"):
        return
    ctx.acc.clear()
    ctx.edit(t("new.emergency_stopped"))


def _show_specialties(ctx: Ctx) -> None:
    rows: list[list[Button]] = []
    for code, name, matched in ctx.acc.draft.get("suggestions", []):
        label = f"{name}（{'、'.join(matched[:3])}）" if matched else name
        rows.append([ctx.btn(label, "new.spec", code=code)])
    rows.append([ctx.btn(t("new.other_specialty"), "new.spec_other", parent=None, page=0)])
    text = t("new.low_confidence") if ctx.acc.draft.get("low") else t("new.choose_specialty")
    ctx.reply(text, rows)


@router.button("new.spec_other")
def other_specialty(ctx: Ctx, payload: dict) -> None:
    """Browse the catalogue: top-level departments, then their sub-specialties."""
    if not _on_step(ctx, "new.specialty"):
        return
    parent = payload.get("parent")
    page = int(payload.get("page") or 0)
    cat = catalogue()
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
    ctx.reply(t("new.choose_any_specialty"), rows)


@router.button("new.spec")
def specialty_chosen(ctx: Ctx, payload: dict) -> None:
    """The doctor confirmed a specialty: ask the urgency."""
    if not _on_step(ctx, "new.specialty"):
        return
    code = str(payload.get("code"))
    catalogue().by_code(code)
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


def _suggested_populations(ctx: Ctx) -> list[str]:
    d = ctx.acc.draft
    age = ctx.today.year - int(str(d["birth_year"])) if d.get("birth_year") else None
    out = []
    if age is not None and age >= 65:
        out.append(SpecialPopulation.ELDERLY.value)
    if age is not None and age < 14:
        out.append(SpecialPopulation.CHILD.value)
    return out


@router.button("new.urgency")
def urgency_chosen(ctx: Ctx, payload: dict) -> None:
    """Urgency, then special-population flags (pre-ticked from the age)."""
    if not _on_step(ctx, "new.urgency") or payload.get("u") not in ("routine", "soon"):
        return
    ctx.acc.advance("new.populations", ctx.now, urgency=payload["u"], populations=_suggested_populations(ctx))
    _show_populations(ctx, edit=False)


def _show_populations(ctx: Ctx, *, edit: bool) -> None:
    chosen = set(ctx.acc.draft.get("populations", []))
    rows = [
        [ctx.btn(("✅ " if p.value in chosen else "") + t(f"population.{p.value}"), "new.pop", p=p.value)]
        for p in SpecialPopulation
    ]
    rows.append([ctx.btn(t("done"), "new.pop_done")])
    ctx.reply(t("new.ask_populations"), rows)


@router.button("new.pop")
def toggle_population(ctx: Ctx, payload: dict) -> None:
    """Tick or untick one flag."""
    if not _on_step(ctx, "new.populations") or payload.get("p") not in {p.value for p in SpecialPopulation}:
        return
    chosen = set(ctx.acc.draft.get("populations", []))
    chosen ^= {str(payload["p"])}
    ctx.acc.advance("new.populations", ctx.now, populations=sorted(chosen))
    _show_populations(ctx, edit=True)


@router.button("new.pop_done")
def populations_done(ctx: Ctx, payload: dict) -> None:
    """Show the summary to confirm."""
    if not _on_step(ctx, "new.populations"):
        return
    d = ctx.acc.draft
    ctx.acc.advance("new.summary", ctx.now)
    pops = "、".join(t(f"population.{p}") for p in d.get("populations", [])) or "无"
    resident = f"{d.get('name')}（{t('new.sex.' + str(d.get('sex')))}，{d.get('birth_year')}年生）"
    ctx.reply(
        t(
            "new.summary",
            resident=resident,
            need=d.get("need"),
            specialty=specialty_name(str(d.get("specialty"))),
            urgency=t(f"urgency.{d.get('urgency')}"),
            populations=pops,
        ),
        [[ctx.btn(t("confirm"), "new.confirm"), ctx.btn(t("abort"), "new.abort")]],
    )


@router.button("new.abort")
def abort(ctx: Ctx, payload: dict) -> None:
    """Abandon the draft: nothing stored."""
    if not _on_step(ctx, "new.summary"):
        return
    ctx.acc.clear()
    ctx.edit(t("new.abandoned"))


@router.button("new.confirm")
def confirm(ctx: Ctx, payload: dict) -> None:
    """Store the resident (with consent) and the order in one transaction, then tell the township."""
    if not _on_step(ctx, "new.summary"):
        return
    st, _ = acting_staff(ctx)
    post, village = _post_village(ctx)
    d = ctx.acc.draft
    assert st.id is not None
    consent = Consent(ctx.services.consent_version, ctx.now, st.id)
    if d.get("rid"):
        resident = ctx.uow.residents.get(int(str(d["rid"])))
        # Re-checked now: the resident may have withdrawn (/forget) since they were picked.
        if resident is None or resident.village_code != village or resident.consent_withdrawn_at is not None:
            raise DomainError("resident.unknown")
        if not d.get("consent") and not resident.has_consent:
            raise DomainError("resident.unknown")
        if d.get("consent"):
            resident.consent, resident.consent_withdrawn_at = consent, None
            ctx.uow.residents.save(resident)
            ctx.audit("consent", "resident", str(resident.id), detail={"version": consent.version})
    else:
        resident = Resident(
            str(d["name"]),
            Sex(str(d["sex"])),
            int(str(d["birth_year"])),
            village,
            phone=d.get("phone") or None,
            consent=consent,
        )
        ctx.uow.residents.add(resident)
        ctx.audit("consent", "resident", str(resident.id), detail={"version": consent.version})
    assert resident.id is not None
    suggestions = d.get("suggestions") or []
    order = Order.file(
        resident_id=resident.id,
        post_code=post,
        village_code=village,
        filed_by_staff_id=st.id,
        need_text=str(d["need"]),
        now=ctx.now,
        suggested_specialty=suggestions[0][0] if suggestions else None,
        confirmed_specialty=str(d["specialty"]),
        urgency=Urgency(str(d["urgency"])),
        special_populations=frozenset(SpecialPopulation(p) for p in d.get("populations", [])),
        emergency_override=bool(d.get("emergency_override")),
        emergency_reasons=str(d.get("reasons") or "") or None,
    )
    ctx.uow.orders.add(order)
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
        + emergency_mark(order),
    )


@router.command("qr", VD)
def village_qr(ctx: Ctx, arg: str) -> None:
    """How residents subscribe to the post's village: the typed command, the Telegram deep link where there is a
    bot, and the Official Account's permanent QR code for the notice board where there is an account."""
    _, village = _post_village(ctx)
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
    post, _ = _post_village(ctx)
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
    if o.status is OrderStatus.RETURNED and o.question:
        text += "\n" + t("orders.question", question=o.question)
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
    """Change the need text while the township has not yet decided."""
    if not has_meaning(text):
        ctx.reply(t("no_meaning"))
        return
    o = _own_open_order(ctx, ctx.acc.draft.get("id"))
    st, _ = acting_staff(ctx)
    assert st.id is not None
    o.edit_need(text, actor_staff_id=st.id, now=ctx.now)
    ctx.uow.orders.save(o)  # bumps the version: review buttons shown before the edit no longer decide anything
    ctx.acc.clear()
    ctx.reply(t("orders.edited", number=o.number))
    if o.status is OrderStatus.SUBMITTED:  # a returned order reaches the township again when it is answered
        ctx.notify_role_at(township_centers_of(ctx, o.post_code), Role.TOWNSHIP_REVIEWER,
                           t("notify.order_edited", number=o.number, village=ctx.place_name(o.village_code)))


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
    """Resubmit with the answer."""
    o = act(ctx, ctx.acc.draft.get("id"), Action.RESUBMIT, reason=text)
    ctx.acc.clear()
    if o is not None:
        ctx.reply(t("orders.resubmitted", number=o.number))
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
