"""Onboarding and the commands everyone has: /start, /help, /cancel, /role, residents' subscriptions and data."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from domain.circuits import year_month_day
from domain.errors import DomainError, PermissionDenied
from domain.places import Place, PlaceLevel
from domain.staff import ROLE_ORDER, Role, Staff, TitleLevel
from handlers import prompts, texts_links  # noqa: F401  (texts_links registers the texts)
from handlers.common import village_label
from handlers.core import CHINA, ROLE_PREFERENCE, Button, Ctx, Router
from handlers.links import link_resident, request_forget
from handlers.prompts import Asked
from handlers.texts import t
from storage.ports import UnitOfWork

router = Router()
PAGE = 8
INVITE_TTL = timedelta(days=14)


def role_name(role: Role | None) -> str:
    """The Chinese name of a role."""
    return t(f"role.{role.value}") if role else ""


def help_text(ctx: Ctx) -> str:
    """The help for the user's current role."""
    role = ctx.role
    text = t(f"help.{role.value}") if role else t("help.anonymous")
    if ctx.staff and len(ctx.staff.roles) > 1:
        text += t("help.role_switch")
    return text


def new_invite_code() -> str:
    """A one-time invite code people can type: 10 characters, no look-alikes."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def invite_hash(uow: UnitOfWork, code: str) -> str:
    """Only a keyed hash of an invite code is stored."""
    digest = uow.cipher.lookup_hash(code.strip().upper(), context="invite")
    assert digest is not None
    return digest


def create_invite(uow: UnitOfWork, role: Role, institution_code: str, staff_code: str | None, now: datetime) -> str:
    """Create a one-time invite and return its code (shown once; only its hash is stored).

    With ``staff_code`` the invite binds that person, so it must be for their institution and one of their roles:
    anything else is refused (``DomainError``) rather than quietly binding them as someone else."""
    inst = uow.reference.institution(institution_code)
    if inst is None:
        raise DomainError("invite.unknown_institution", code=institution_code)
    staff_id = None
    if staff_code:
        st = uow.staff.by_code(staff_code)
        if st is None:
            raise DomainError("staff.unknown", code=staff_code)
        if st.institution_code != institution_code:
            home = uow.reference.institution(st.institution_code)
            raise DomainError("invite.staff_elsewhere", name=st.name, staff=st.code, code=institution_code,
                              home=home.name if home else st.institution_code, home_code=st.institution_code)
        if role not in st.roles:
            held = [r for r in ROLE_ORDER if r in st.roles]
            raise DomainError("invite.staff_lacks_role", name=st.name, staff=st.code, role=role.value,
                              roles="、".join(f"{role_name(r)}（{r.value}）" for r in held) or "无",
                              role_keys=", ".join(r.value for r in held) or "none")
        staff_id = st.id
    code = new_invite_code()
    uow.chat.add_invite(invite_hash(uow, code), role, institution_code, staff_id, now, now + INVITE_TTL)
    return code


@router.command("start")
def start(ctx: Ctx, arg: str) -> None:
    """Deep links: ``v_<village>`` subscribes, ``r_<link>`` links a resident, anything else is an invite code."""
    ctx.acc.clear()
    if ctx.acc.blocked:
        ctx.acc.blocked = False  # coming back after /forget or a block: they asked to talk again
    if arg.startswith("v_"):
        subscribe(ctx, {"village": arg[2:]})
        return
    if arg.startswith("r_"):
        link_resident(ctx, arg[2:])
        return
    if arg:
        redeem_invite(ctx, arg)
        return
    if ctx.staff is not None:
        ctx.reply(t("welcome.back", name=ctx.staff.name, role=role_name(ctx.role)))
        return
    ctx.reply(t("welcome.anonymous"))
    choose_county(ctx, {})


def redeem_invite(ctx: Ctx, code: str) -> None:
    """Bind this chat account to a member of staff with a one-time code."""
    if ctx.staff is not None:
        ctx.reply(t("invite.already_staff", name=ctx.staff.name))
        return
    invite = ctx.uow.chat.invite(invite_hash(ctx.uow, code)) if len(code) <= 40 else None
    if invite is None:
        ctx.audit("refused", "invite", "?", reason="invalid_code")
        ctx.reply(t("invite.invalid"))
        return
    if invite.used_at is not None:
        ctx.audit("refused", "invite", str(invite.id), reason="already_used")
        ctx.reply(t("invite.used"))
        return
    if invite.expires_at <= ctx.now:
        ctx.reply(t("invite.expired"))
        return
    role = Role(invite.role)
    if invite.staff_id is not None:
        staff = ctx.uow.staff.get(invite.staff_id)
        assert staff is not None
        _bind(ctx, invite, staff, role)
        return
    ctx.acc.start("invite.name", ctx.now, invite_id=invite.id)
    ctx.reply(t("invite.ask_name", institution=ctx.institution_name(invite.institution_code), role=role_name(role)))


@router.step("invite.name")
def invite_name(ctx: Ctx, text: str) -> None:
    """The invited person's name: a new record, or an existing unbound one of that name once an admin confirms."""
    name = text.strip()
    if not 2 <= len(name) <= 20 or not any(ch.isalpha() for ch in name):
        ctx.reply(t("invite.name_invalid"))
        return
    invite = ctx.uow.chat.invite_by_id(ctx.acc.draft.get("invite_id"))
    if invite is None or invite.used_at is not None or invite.expires_at <= ctx.now:
        ctx.acc.clear()
        ctx.reply(t("invite.used"))
        return
    role = Role(invite.role)
    # An existing record is only a candidate if it is exactly this role and nobody holds it yet (an invite for one
    # role must never hand over a person's other roles or someone else's account), and even then typing a
    # colleague's name must not make one them: an administrator confirms first.
    staff = next(
        (
            s
            for s in ctx.uow.staff.at_institution(invite.institution_code)
            if s.name == name and s.roles == {role} and s.id is not None and not ctx.uow.chat.accounts_of_staff([s.id])
        ),
        None,
    )
    if staff is not None:
        _ask_admins(ctx, invite, staff, role)
        return
    staff = Staff(
        code=f"INV{invite.id:05d}",
        name=name,
        institution_code=invite.institution_code,
        title=TitleLevel.JUNIOR,
        roles=frozenset({role}),
    )
    ctx.uow.staff.upsert(staff)
    ctx.uow.next_value("reference_version")  # other workers' staff caches must see the new person
    _bind(ctx, invite, staff, role)


def _bind(ctx: Ctx, invite, staff: Staff, role: Role) -> None:
    assert ctx.acc.id is not None and staff.id is not None
    ctx.uow.chat.use_invite(invite, ctx.acc.id, ctx.now)
    ctx.acc.staff_id = staff.id
    ctx.acc.acting_role = role
    ctx.acc.clear()
    ctx._staff, ctx._staff_loaded = staff, True
    ctx.audit("bind_account", "staff", staff.code, detail={"role": role.value, "invite": invite.id})
    ctx.reply(
        t(
            "invite.bound",
            name=staff.name,
            institution=ctx.institution_name(staff.institution_code),
            role=role_name(role),
        )
        + "\n"
        + help_text(ctx)
    )


def _ask_admins(ctx: Ctx, invite, staff: Staff, role: Role) -> None:
    """The invite is spent; the existing person is bound to this account only once an administrator confirms."""
    assert ctx.acc.id is not None and staff.id is not None
    ctx.uow.chat.use_invite(invite, ctx.acc.id, ctx.now)
    ctx.acc.clear()
    cid = ctx.uow.links.ask("staff_claim", ctx.acc.id, ctx.now, staff_id=staff.id, invite_id=invite.id)
    ctx.audit("claim_requested", "staff", staff.code, detail={"role": role.value, "invite": invite.id,
                                                               "confirmation": cid})
    institution = ctx.institution_name(invite.institution_code)
    text = t("claim.ask_admin", institution=institution, role=role_name(role), platform=ctx.acc.platform,
             name=staff.name, code=staff.code)
    ctx.offer(ctx.uow.chat.accounts_of_staff(ctx.uow.links.admin_ids()), text, [[
        (t("claim.confirm"), "claim.decide", {"id": cid, "yes": True}, prompts.yes()),
        (t("link.refuse"), "claim.decide", {"id": cid, "yes": False}, prompts.no()),
    ]], Asked("claim"))
    ctx.reply(t("claim.waiting", institution=institution, name=staff.name, role=role_name(role)))


@router.button("claim.decide")
def claim_decide(ctx: Ctx, payload: dict) -> None:
    """An administrator confirms (or refuses) that an open invite's user is the existing person they named."""
    st = ctx.staff
    if st is None or st.id is None or ctx.role is not Role.ADMIN:
        raise PermissionDenied("perm.role_missing", role=role_name(Role.ADMIN))
    row = ctx.uow.links.confirmation(int(payload.get("id") or 0))
    if row is None or row.kind != "staff_claim" or row.staff_id is None:
        raise DomainError("button.expired")
    yes = bool(payload.get("yes"))
    if not ctx.uow.links.decide(row.id or 0, "confirmed" if yes else "refused", st.id, ctx.now):
        ctx.edit(t("confirm.decided"))
        return
    staff = ctx.uow.staff.get(row.staff_id)
    invite = ctx.uow.chat.invite_by_id(row.invite_id)
    requester = ctx.uow.chat.account_by_id(row.account_id)
    assert staff is not None and invite is not None
    role = Role(invite.role)
    detail: dict[str, object] = {"confirmation": row.id, "invite": invite.id, "requested_by_account": row.account_id,
                                 "role": role.value}
    if not yes:
        ctx.audit("refused_claim", "staff", staff.code, detail=detail)
        ctx.send_to([requester] if requester else [], t("claim.refused"))
        ctx.edit(t("claim.refused_admin", name=staff.name, code=staff.code))
        return
    if (requester is None or requester.staff_id is not None or not staff.active or staff.roles != {role}
            or ctx.uow.chat.accounts_of_staff([row.staff_id])):
        ctx.audit("refused_claim", "staff", staff.code, reason="stale", detail=detail)
        ctx.send_to([requester] if requester else [], t("claim.refused"))
        ctx.edit(t("claim.stale"))
        return
    requester.staff_id, requester.acting_role = staff.id, role
    ctx.uow.chat.save(requester)
    ctx.audit("bind_account", "staff", staff.code, detail=detail)
    institution = ctx.institution_name(staff.institution_code)
    ctx.send_to([requester], t("claim.confirmed", name=staff.name, institution=institution, role=role_name(role)))
    ctx.edit(t("claim.confirmed_admin", name=staff.name, code=staff.code))


def _paged(ctx: Ctx, places: list[Place], action: str, page: int, parent: str, level: str) -> list[list[Button]]:
    start = page * PAGE
    rows = [[ctx.btn(p.name, action, code=p.code)] for p in places[start : start + PAGE]]
    nav = []
    if page > 0:
        nav.append(ctx.btn(t("prev_page"), "sub.page", parent=parent, level=level, page=page - 1))
    if start + PAGE < len(places):
        nav.append(ctx.btn(t("next_page"), "sub.page", parent=parent, level=level, page=page + 1))
    if nav:
        rows.append(nav)
    return rows


def _counties(ctx: Ctx) -> list[Place]:
    g = ctx.gazetteer
    return [
        c for city in ctx.uow.reference.places_at(PlaceLevel.CITY) for c in g.children(city.code) if g.children(c.code)
    ]


@router.button("sub.start")
def choose_county(ctx: Ctx, payload: dict) -> None:
    """First step of subscribing: the county."""
    ctx.reply(t("resident.choose_county"), _paged(ctx, _counties(ctx), "sub.county", 0, "", "county"))


@router.button("sub.page")
def page(ctx: Ctx, payload: dict) -> None:
    """Another page of counties, townships or villages."""
    level, parent, n = str(payload.get("level")), str(payload.get("parent", "")), int(payload.get("page", 0))
    if level == "county":
        places, action, key = _counties(ctx), "sub.county", "resident.choose_county"
    else:
        places = ctx.gazetteer.children(parent)
        action, key = (
            ("sub.township", "resident.choose_township")
            if level == "township"
            else ("sub.village", "resident.choose_village")
        )
    ctx.reply(t(key), _paged(ctx, places, action, max(0, n), parent, level))


@router.button("sub.county")
def choose_township(ctx: Ctx, payload: dict) -> None:
    """Second step: the township."""
    code = str(payload.get("code"))
    ctx.reply(
        t("resident.choose_township"), _paged(ctx, ctx.gazetteer.children(code), "sub.township", 0, code, "township")
    )


@router.button("sub.township")
def choose_village(ctx: Ctx, payload: dict) -> None:
    """Third step: the village."""
    code = str(payload.get("code"))
    ctx.reply(
        t("resident.choose_village"), _paged(ctx, ctx.gazetteer.children(code), "sub.village", 0, code, "village")
    )


@router.button("sub.village")
def subscribe(ctx: Ctx, payload: dict) -> None:
    """Follow a village's circuit announcements (a township's or county's code, as a township's poster carries:
    choose the village in it)."""
    code = str(payload.get("code") or payload.get("village") or "")
    place = ctx.gazetteer.get(code)
    if place is not None and place.level is PlaceLevel.TOWNSHIP:
        choose_village(ctx, {"code": code})
        return
    if place is not None and place.level is PlaceLevel.COUNTY:
        choose_township(ctx, {"code": code})
        return
    if place is None or place.level is not PlaceLevel.VILLAGE:
        ctx.reply(t("resident.unknown_village"))
        return
    assert ctx.acc.id is not None
    name = village_label(ctx, code)
    if ctx.uow.chat.subscribe(ctx.acc.id, code, ctx.now):
        ctx.audit("subscribe", "village", code)
        ctx.reply(t("resident.subscribed", village=name))
    else:
        ctx.reply(t("resident.already_subscribed", village=name))


@router.command("subscribe")
def subscribe_command(ctx: Ctx, arg: str) -> None:
    """/subscribe: choose another village to follow."""
    choose_county(ctx, {})


@router.command("unsubscribe")
def unsubscribe(ctx: Ctx, arg: str) -> None:
    """List followed villages with a button each to stop."""
    subs = ctx.uow.chat.subscriptions(ctx.acc.id or 0)
    if not subs:
        ctx.reply(t("resident.no_subscriptions"))
        return
    rows = [[ctx.btn(village_label(ctx, v), "unsub", village=v)] for v in subs]
    rows.append([ctx.btn(t("resident.unsubscribe_all"), "unsub", village=None)])
    ctx.reply(t("resident.unsubscribe_choose"), rows)


@router.button("unsub")
def unsub(ctx: Ctx, payload: dict) -> None:
    """Stop following one village, or all."""
    village = payload.get("village")
    ctx.uow.chat.unsubscribe(ctx.acc.id or 0, str(village) if village else None)
    ctx.audit("unsubscribe", "village", str(village or "*"))
    ctx.edit(
        t("resident.unsubscribed", village=village_label(ctx, str(village)))
        if village
        else t("resident.unsubscribed_all")
    )


@router.command("help")
def help_command(ctx: Ctx, arg: str) -> None:
    """Help for the current role."""
    ctx.reply(help_text(ctx))


@router.command("cancel")
def cancel(ctx: Ctx, arg: str) -> None:
    """Leave whatever flow the user is in."""
    if ctx.acc.step is None:
        ctx.reply(t("nothing_to_cancel"))
        return
    ctx.acc.clear()
    ctx.reply(t("cancelled"))


@router.command("role")
def role_command(ctx: Ctx, arg: str) -> None:
    """Choose which of one's roles to act in."""
    st = ctx.staff
    if st is None:
        ctx.reply(t("need_binding"))
        return
    roles = [r for r in ROLE_PREFERENCE if r in st.roles]
    ctx.reply(t("role.choose"), [[ctx.btn(role_name(r), "role.set", role=r.value)] for r in roles])


@router.button("role.set")
def role_set(ctx: Ctx, payload: dict) -> None:
    """Switch the acting role (only to one the person holds)."""
    st = ctx.staff
    value = str(payload.get("role"))
    if st is None or value not in {r.value for r in st.roles}:
        ctx.reply(t("perm.role_missing"))
        return
    ctx.acc.acting_role = Role(value)
    ctx.acc.clear()
    ctx.edit(t("role.switched", role=role_name(Role(value))) + "\n" + help_text(ctx))


@router.command("status", Role.ADMIN)
def status(ctx: Ctx, arg: str) -> None:
    """Counts for administrators."""
    c = ctx.uow.reference.counts()
    by_status = ctx.uow.orders.count_by_status()
    lines = [
        f"乡镇 {c.get('places.township', 0)}，行政村 {c.get('places.village', 0)}，"
        f"支援关系 {c.get('support_relations', 0)}",
        "人员：" + "，".join(f"{role_name(r)} {ctx.uow.staff.count(r)}" for r in ROLE_PREFERENCE),
        "订单：" + ("，".join(f"{t('status.' + k)} {v}" for k, v in sorted(by_status.items())) or "无"),
    ]
    ctx.reply("\n".join(lines))


@router.command("mydata")
def mydata(ctx: Ctx, arg: str) -> None:
    """Send the user everything we hold about them (their right of access)."""
    from domain.privacy import mask_phone

    lines = [
        t("mydata.header"),
        t("mydata.account", platform=ctx.acc.platform,
          created=year_month_day(ctx.acc.created_at.astimezone(CHINA).date())),
    ]
    subs = ctx.uow.chat.subscriptions(ctx.acc.id or 0)
    if subs:
        lines.append(t("mydata.subscriptions", villages="、".join(village_label(ctx, v) for v in subs)))
    resident = ctx.uow.residents.get(ctx.acc.resident_id) if ctx.acc.resident_id else None
    if resident is None:
        lines.append(t("mydata.none"))
    else:
        lines.append(
            t(
                "mydata.resident",
                name=resident.name,
                sex=t(f"new.sex.{resident.sex.value}"),
                birth_year=resident.birth_year,
                village=village_label(ctx, resident.village_code),
                phone=mask_phone(resident.phone) if resident.phone else "无",
                consent=resident.consent.version if resident.consent else "无",
            )
        )
        own = ctx.uow.orders.list(resident_id=resident.id, limit=50)
        matched = ctx.uow.catalogue.matches_of(o.id for o in own if o.id)  # what a need matched is theirs too
        for o in own:
            m = matched.get(o.id or 0)
            lines.append(
                t(
                    "mydata.order",
                    number=o.number,
                    status=t(f"status.{o.status.value}"),
                    specialty=_spec_name(o.confirmed_specialty),
                    need=o.need_text[:100],
                )
                + (t("mydata.catalogue", disease=m.label) if m else "")
            )
        ctx.audit("read_own_data", "resident", str(resident.id))
    ctx.reply("\n".join(lines))


def _spec_name(code: str | None) -> str:
    from domain.specialties import catalogue

    s = catalogue().get(code) if code else None
    return s.name if s else "未定"


@router.command("forget")
def forget(ctx: Ctx, arg: str) -> None:
    """Ask to confirm withdrawing consent and erasing personal data."""
    if ctx.staff is not None:
        ctx.reply(t("forget.staff"))
        return
    ctx.reply(
        t("forget.confirm"), [[ctx.btn(t("forget.yes"), "forget", yes=True), ctx.btn(t("no"), "forget", yes=False)]]
    )


@router.button("forget")
def forget_confirmed(ctx: Ctx, payload: dict) -> None:
    """Withdraw consent: erase or anonymise the resident everywhere, keep only counts, stop all messages."""
    if ctx.staff is not None:
        ctx.reply(t("forget.staff"))
        return
    if not payload.get("yes"):
        ctx.edit(t("forget.kept"))
        return
    if ctx.acc.resident_id:
        # Whoever holds a resident's link could erase them: their village doctor confirms first.
        request_forget(ctx)
        return
    ctx.audit("forget", "chat", str(ctx.acc.id))
    ctx.uow.chat.unsubscribe(ctx.acc.id or 0)
    ctx.acc.resident_id = None
    ctx.acc.display_name = None
    ctx.acc.clear()
    ctx.acc.blocked = True
    ctx.edit(t("forget.done"))
