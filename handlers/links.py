"""A resident's link to their chat account: one-time codes the village doctor issues, and what they must confirm.

A link code is a bearer secret, so it is single-use, lives 7 days, is stored only as a keyed hash, and a new code
revokes the old ones. Where an Official Account makes QR codes the doctor also gets its code for ``r_<code>``,
living as long as the link: scanning it is ``/start r_<code>`` on the account, with no typing. Whoever holds a
resident's link can read their health data and ask to erase it, so a second account for an already-linked
resident, and an erasure asked for from a linked account, wait for the village doctor's yes in chat. Every use,
attempt and decision is audited with the chat account that made it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from domain.errors import DomainError, PermissionDenied
from domain.staff import Role
from handlers import prompts, texts_links  # noqa: F401  (texts_links registers the texts)
from handlers.common import acting_staff, viewable_order
from handlers.core import Ctx, QrCode, Router
from handlers.prompts import Asked
from handlers.services import referrals
from handlers.texts import t
from storage.ports import UnitOfWork

router = Router()
LINK_TTL = timedelta(days=7)
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes: a resident may have to type it
LINK_LENGTH = 16  # 80 bits
VD = Role.VILLAGE_DOCTOR


def link_hash(uow: UnitOfWork, code: str) -> str:
    """Only a keyed hash of a link code is stored."""
    digest = uow.cipher.lookup_hash(code.strip().upper(), context="resident-link-code")
    assert digest is not None
    return digest


def issue_resident_link(uow: UnitOfWork, resident_id: int, staff_id: int | None, now: datetime) -> str:
    """A new one-time link code for a resident (shown once); every earlier unused code of theirs stops working."""
    code = "".join(secrets.choice(_ALPHABET) for _ in range(LINK_LENGTH))
    uow.links.issue(resident_id, link_hash(uow, code), staff_id, now, now + LINK_TTL)
    return code


def link_qr(ctx: Ctx, code: str) -> QrCode | None:
    """The Official Account's QR code for a link code (None without an account): it lives as long as the code."""
    if not ctx.services.qr_codes:
        return None
    return QrCode("r_" + code, LINK_TTL, t("link.qr_caption"))


def _looks_like_code(code: str) -> bool:
    return code.isascii() and code.isalnum() and len(code) == LINK_LENGTH


def link_resident(ctx: Ctx, payload: str) -> None:
    """``/start r_<code>``: link this account to a resident, or ask their village doctor if someone already is."""
    assert ctx.acc.id is not None
    code = payload.strip()
    link = ctx.uow.links.by_hash(link_hash(ctx.uow, code)) if _looks_like_code(code) else None
    if link is None:
        # Codes derived from the resident id (before schema 0008) land here too: never stored, never valid again.
        ctx.audit("refused", "resident_link", "?", reason="invalid_link")
        ctx.reply(t("resident.link_invalid"))
        return
    rid = link.resident_id
    if ctx.acc.resident_id == rid:
        ctx.reply(t("link.already"))
        return
    refusal = (
        "already_used" if link.used_at is not None
        else "revoked" if link.revoked_at is not None
        else "expired" if link.expires_at <= ctx.now
        else None
    )
    resident = ctx.uow.residents.get(rid)
    if refusal is None and (resident is None or not resident.has_consent):
        refusal = "no_consent"
    if refusal is not None or not ctx.uow.links.use(link.id or 0, ctx.acc.id, ctx.now):
        ctx.audit("refused", "resident", str(rid), reason=refusal or "already_used", detail={"link": link.id})
        ctx.reply(t("link.used" if refusal in (None, "already_used") else "link.expired"))
        return
    assert resident is not None
    others = [a for a in ctx.uow.chat.accounts_of_resident(rid) if a.id != ctx.acc.id]
    if not others:
        ctx.acc.resident_id = rid
        ctx.uow.chat.subscribe(ctx.acc.id, resident.village_code, ctx.now)
        ctx.audit("link_resident", "resident", str(rid), detail={"link": link.id})
        ctx.reply(t("resident.linked", name=resident.name))
        return
    cid = ctx.uow.links.ask("resident_link", ctx.acc.id, ctx.now, resident_id=rid)
    ctx.audit("link_requested", "resident", str(rid), detail={"link": link.id, "confirmation": cid})
    _ask_doctors(ctx, rid, "link.ask_doctor", cid, "link.confirm", count=len(others))
    ctx.reply(t("link.waiting"))


def request_forget(ctx: Ctx) -> None:
    """A linked account asks to erase its resident: nothing is erased until the village doctor confirms."""
    assert ctx.acc.id is not None and ctx.acc.resident_id is not None
    rid = ctx.acc.resident_id
    if not ctx.uow.links.waiting("resident_forget", account_id=ctx.acc.id, resident_id=rid):
        cid = ctx.uow.links.ask("resident_forget", ctx.acc.id, ctx.now, resident_id=rid)
        ctx.audit("forget_requested", "resident", str(rid), detail={"confirmation": cid})
        _ask_doctors(ctx, rid, "forget.ask_doctor", cid, "forget.doctor_yes")
    ctx.edit(t("forget.waiting"))


def erase_resident(ctx: Ctx, resident_id: int, confirmation_id: int | None = None) -> None:
    """Erase a resident everywhere, unlink and silence every account linked to them (counts stay)."""
    # Their referrals not yet held give their reserved places back before the traces go (no message to them).
    referrals.cancel_for_erasure(ctx.uow, resident_id, ctx.now)
    ctx.uow.residents.forget(resident_id, ctx.now)
    ctx.uow.links.void_for_resident(resident_id, ctx.now)
    for acc in ctx.uow.chat.accounts_of_resident(resident_id):
        acc.resident_id = None
        ctx.uow.chat.unsubscribe(acc.id or 0)
        if acc.id == ctx.acc.id:
            continue  # the conversation saves this update's own account
        ctx.uow.chat.save(acc)
    ctx.audit("forget", "resident", str(resident_id), detail={"confirmation": confirmation_id})


def _doctor_posts(ctx: Ctx, resident_id: int) -> set[str]:
    """The village posts that look after a resident: those that filed their orders, else the one that took consent."""
    posts = {o.post_code for o in ctx.uow.orders.list(resident_id=resident_id, limit=50)}
    resident = ctx.uow.residents.get(resident_id)
    consent_by = resident.consent.recorded_by_staff_id if resident and resident.consent else None
    st = ctx.uow.staff.get(consent_by) if consent_by else None
    if st is not None:
        posts.add(st.institution_code)
    return posts


def _ask_doctors(ctx: Ctx, resident_id: int, key: str, cid: int, yes_key: str, **params: object) -> None:
    """Send the resident's village doctors a confirm/refuse question of their own."""
    resident = ctx.uow.residents.get(resident_id)
    orders = [str(o.number) for o in ctx.uow.orders.list(resident_id=resident_id, limit=5)]
    ids = ctx.uow.staff.ids_at(sorted(_doctor_posts(ctx, resident_id)), VD)
    text = t(key, name=resident.name if resident else "", orders="、".join(orders) or "无",
             platform=ctx.acc.platform, **params)
    ctx.offer(ctx.uow.chat.accounts_of_staff(ids), text, [[
        (t(yes_key), "link.decide", {"id": cid, "yes": True}, prompts.yes()),
        (t("link.refuse"), "link.decide", {"id": cid, "yes": False}, prompts.no()),
    ]], Asked("link"))


@router.button("link.decide")
def decide(ctx: Ctx, payload: dict) -> None:
    """The village doctor confirms or refuses a second link or an erasure (re-authorised on every press)."""
    st, role = acting_staff(ctx)
    row = ctx.uow.links.confirmation(int(payload.get("id") or 0))
    if row is None or row.kind not in ("resident_link", "resident_forget") or row.resident_id is None:
        raise DomainError("button.expired")
    rid = row.resident_id
    if role is not VD or st.institution_code not in _doctor_posts(ctx, rid):
        raise PermissionDenied("perm.not_your_resident")
    yes = bool(payload.get("yes"))
    if not ctx.uow.links.decide(row.id or 0, "confirmed" if yes else "refused", st.id, ctx.now):
        ctx.edit(t("confirm.decided"))
        return
    resident = ctx.uow.residents.get(rid)
    name = resident.name if resident else ""
    requester = ctx.uow.chat.account_by_id(row.account_id)
    detail: dict[str, object] = {"confirmation": row.id, "requested_by_account": row.account_id,
              "requested_on": requester.platform if requester else None}
    if row.kind == "resident_link":
        if yes and requester is not None and resident is not None and resident.has_consent:
            requester.resident_id = rid
            ctx.uow.chat.save(requester)
            ctx.uow.chat.subscribe(row.account_id, resident.village_code, ctx.now)
            ctx.audit("link_resident", "resident", str(rid), detail=detail)
            ctx.send_to([requester], t("link.confirmed_resident", name=name))
            ctx.edit(t("link.confirmed_doctor", name=name))
        else:
            ctx.audit("refused_link", "resident", str(rid), detail=detail)
            ctx.send_to([requester] if requester else [], t("link.refused_resident"))
            ctx.edit(t("link.refused_doctor", name=name))
        return
    if not yes or requester is None or requester.resident_id != rid:
        ctx.audit("refused_forget", "resident", str(rid), detail=detail)
        ctx.send_to([requester] if requester else [], t("forget.refused_resident"))
        ctx.edit(t("forget.refused_doctor", name=name))
        return
    ctx.send_to([requester], t("forget.done"))  # before the account falls silent
    erase_resident(ctx, rid, row.id)
    requester = ctx.uow.chat.account_by_id(row.account_id)
    assert requester is not None
    requester.display_name, requester.blocked = None, True
    requester.clear()
    ctx.uow.chat.save(requester)
    ctx.edit(t("forget.confirmed_doctor"))


@router.command("link", VD)
def link_command(ctx: Ctx, arg: str) -> None:
    """``/link <order number>``: a new link code for that order's resident (the old ones stop working)."""
    number = arg.strip().upper()
    order = ctx.uow.orders.by_number(number) if number and len(number) <= 32 else None
    if order is None:
        ctx.reply(t("link.usage"))
        return
    reissue(ctx, {"id": order.id})


@router.button("order.link")
def reissue(ctx: Ctx, payload: dict) -> None:
    """Issue a new link code for the resident of an order of the doctor's own post."""
    st, role = acting_staff(ctx)
    o = viewable_order(ctx, payload.get("id"))
    if role is not VD or o.post_code != st.institution_code:
        raise PermissionDenied("perm.not_your_post", order=o.number or "")
    resident = ctx.uow.residents.get(o.resident_id) if o.resident_id else None
    if resident is None or resident.id is None or not resident.has_consent:
        ctx.reply(t("link.no_consent"))
        return
    code = issue_resident_link(ctx.uow, resident.id, st.id, ctx.now)
    ctx.audit("issue_link", "resident", str(resident.id), detail={"order": o.number})
    ctx.reply(t("link.issued", name=resident.name, link=code), qr=link_qr(ctx, code))
