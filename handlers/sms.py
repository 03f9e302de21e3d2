"""The village doctor's /sms: register a resident's mobile number for SMS announcements, see its state, stop it.

For residents without a smartphone (issue 19). The number is asked for (or taken from the resident's record), held
encrypted in the draft, and registered only after the doctor confirms the resident agreed to the SMS consent read
out to them (its version is recorded). Every button is re-authorised: only a doctor of the resident's own village
post may register or stop, and never for a resident who withdrew their consent (erased).
"""

from __future__ import annotations

from domain.errors import DomainError, PermissionDenied
from domain.privacy import is_valid_mobile, mask_phone, normalise_phone
from domain.sms import SMS_CONSENT_VERSION
from domain.staff import Resident, Role
from handlers import texts_sms  # noqa: F401  (registers the texts)
from handlers.common import acting_staff
from handlers.core import CHINA, Ctx, Router
from handlers.services.sms import register_sms, stop_sms
from handlers.texts import t

router = Router()
VD = Role.VILLAGE_DOCTOR
DRAFT_CONTEXT = "sms.draft"  # the number in the draft is encrypted, bound to this context


def _village(ctx: Ctx) -> str:
    st, _ = acting_staff(ctx)
    inst = ctx.jurisdiction.institutions.get(st.institution_code)
    if inst is None:
        raise DomainError("place.unknown", code=st.institution_code)
    return inst.place_code


def _resident(ctx: Ctx, rid: object) -> Resident:
    """A resident of the doctor's own village, not erased; else a refusal (audited)."""
    village = _village(ctx)
    resident = ctx.uow.residents.get(rid) if isinstance(rid, int) else None
    if resident is None or resident.village_code != village or resident.consent_withdrawn_at is not None:
        raise PermissionDenied("perm.not_your_resident")
    return resident


@router.command("sms", VD)
def sms_command(ctx: Ctx, arg: str) -> None:
    """``/sms 姓名``: find a resident of the post's village and show their SMS card."""
    if not ctx.services.sms:
        ctx.reply(t("sms.off"))
        return
    village = _village(ctx)
    query = arg.strip()[:20]
    if not query:
        active = sum(1 for r in ctx.uow.sms.in_villages([village]) if r.active)
        ctx.reply(t("sms.usage", active=active))
        return
    found = ctx.uow.residents.in_villages([village], query)[:8]
    for r in found:
        ctx.audit("read", "resident", str(r.id), detail={"purpose": "sms"})
    if not found:
        ctx.reply(t("sms.not_found", query=query))
    elif len(found) == 1:
        _card(ctx, found[0])
    else:
        ctx.reply(t("sms.pick"), [[ctx.btn(f"{r.name}（{r.birth_year}年生）", "sms.card", rid=r.id)] for r in found])


@router.button("sms.card")
def card(ctx: Ctx, payload: dict) -> None:
    """The SMS card of one resident."""
    _card(ctx, _resident(ctx, payload.get("rid")))


def _card(ctx: Ctx, resident: Resident) -> None:
    assert resident.id is not None
    reg = ctx.uow.sms.of_resident(resident.id)
    if reg is None:
        status = t("sms.status.none")
    elif reg.active:
        phone = ctx.uow.sms.phone_of(reg.id) or ""
        status = t("sms.status.active", phone=mask_phone(phone), version=reg.consent_version,
                   date=f"{reg.consent_at.astimezone(CHINA):%Y-%m-%d}")
    else:
        assert reg.opted_out_at is not None
        status = t("sms.status.stopped", date=f"{reg.opted_out_at.astimezone(CHINA):%Y-%m-%d}",
                   how=t(f"sms.how.{reg.opt_out_source or 'doctor'}"))
    action = (t("sms.stop"), "sms.stop") if reg is not None and reg.active else (t("sms.register"), "sms.register")
    ctx.reply(t("sms.card", name=resident.name, village=ctx.place_name(resident.village_code), status=status),
              [[ctx.btn(action[0], action[1], rid=resident.id)]])


@router.button("sms.register")
def start_register(ctx: Ctx, payload: dict) -> None:
    """Ask for the number (or offer the one on record)."""
    resident = _resident(ctx, payload.get("rid"))
    ctx.acc.start("sms.phone", ctx.now, rid=resident.id)
    rows = []
    if resident.phone and is_valid_mobile(resident.phone):
        rows.append([ctx.btn(t("sms.use_phone", phone=mask_phone(resident.phone)), "sms.use_phone")])
    rows.append([ctx.btn(t("sms.abort"), "sms.abort")])
    ctx.reply(t("sms.ask_phone"), rows)


@router.step("sms.phone")
def phone_typed(ctx: Ctx, text: str) -> None:
    """The number, typed by the doctor."""
    if not is_valid_mobile(text):
        ctx.reply(t("sms.invalid_number"))
        return
    _ask_consent(ctx, normalise_phone(text))


@router.button("sms.use_phone")
def use_phone(ctx: Ctx, payload: dict) -> None:
    """The number already on the resident's record."""
    if ctx.acc.step != "sms.phone":
        ctx.reply(t("button.expired"))
        return
    resident = _resident(ctx, ctx.acc.draft.get("rid"))
    if not resident.phone or not is_valid_mobile(resident.phone):
        ctx.reply(t("sms.invalid_number"))
        return
    _ask_consent(ctx, normalise_phone(resident.phone))


def _ask_consent(ctx: Ctx, phone: str) -> None:
    # Drafts are stored in the clear: the number goes in encrypted.
    ctx.acc.advance("sms.consent", ctx.now, phone=ctx.uow.cipher.encrypt(phone, context=DRAFT_CONTEXT))
    ctx.reply(t("sms.consent", phone=mask_phone(phone), sign=t("sms.sender")),
              [[ctx.btn(t("sms.consent_yes"), "sms.consent"), ctx.btn(t("sms.abort"), "sms.abort")]])


@router.button("sms.consent")
def consent_given(ctx: Ctx, payload: dict) -> None:
    """The resident agreed: register the number with this consent's version."""
    if ctx.acc.step != "sms.consent":
        ctx.reply(t("button.expired"))
        return
    resident = _resident(ctx, ctx.acc.draft.get("rid"))
    phone = ctx.uow.cipher.decrypt(str(ctx.acc.draft.get("phone")), context=DRAFT_CONTEXT) or ""
    st, role = acting_staff(ctx)
    assert resident.id is not None
    register_sms(ctx.uow, resident.id, phone, consent_version=SMS_CONSENT_VERSION, now=ctx.now, staff_id=st.id,
                 role=role.value)
    ctx.acc.clear()
    ctx.edit(t("sms.registered", name=resident.name, phone=mask_phone(phone)))


@router.button("sms.abort")
def abort(ctx: Ctx, payload: dict) -> None:
    """Leave the registration without registering."""
    if ctx.acc.step in ("sms.phone", "sms.consent"):
        ctx.acc.clear()
    ctx.edit(t("sms.aborted"))


@router.button("sms.stop")
def stop(ctx: Ctx, payload: dict) -> None:
    """The doctor stops SMS to the resident's number at once (queued ones are withdrawn)."""
    resident = _resident(ctx, payload.get("rid"))
    st, role = acting_staff(ctx)
    assert resident.id is not None
    if stop_sms(ctx.uow, resident.id, now=ctx.now, staff_id=st.id, role=role.value):
        ctx.edit(t("sms.stopped", name=resident.name))
    else:
        ctx.edit(t("sms.already_stopped", name=resident.name))
