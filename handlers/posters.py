"""Posters for the notice board in chat (issue 19): a village doctor's upcoming visits (/visits) and the 海报 button.

The button sits under each circuit a village doctor sees in /visits and a hospital reviewer in /plan list; /poster
ID does the same typed. The poster itself is ``handlers.services.posters.circuit_poster`` (the command line's too),
re-authorised on every press; the reply carries it as a :class:`Printable` the transport renders and sends as a file.
"""

from __future__ import annotations

from domain.circuits import Circuit, month_day
from domain.staff import Role
from handlers.common import actor_of, village_label
from handlers.core import Ctx, Printable, Router
from handlers.services.circuits import expert_names
from handlers.services.posters import VISITS_DAYS, circuit_poster, own_village, upcoming_for_village
from handlers.texts_posters import t

router = Router()
VD, HS = Role.VILLAGE_DOCTOR, Role.HOSPITAL_REVIEWER
MAX_LISTED = 10


def poster_button(ctx: Ctx, c: Circuit):
    """The 海报 button of a circuit (its press is checked again: see :func:`send_poster`)."""
    return ctx.btn(t("poster.button"), "poster", id=c.id)


@router.command("visits", VD)
def visits(ctx: Ctx, arg: str) -> None:
    """The circuits of the coming weeks that serve the doctor's village, each with its 海报 button."""
    village = own_village(ctx.uow, actor_of(ctx))
    name = village_label(ctx, village)
    found = upcoming_for_village(ctx.uow, village, ctx.today)
    if not found:
        ctx.reply(t("visits.none", days=VISITS_DAYS, village=name))
        return
    ctx.reply(t("visits.head", village=name, count=len(found)))
    for c in found[:MAX_LISTED]:
        ctx.reply(t("visits.line", id=c.id, date=month_day(c.day), weekday=t(f"weekday.{c.day.weekday()}"),
                    half_day=t(f"half_day.{c.half_day.value}"), place=ctx.place_name(c.place_code),
                    hospital=ctx.institution_name(c.hospital_code), experts=expert_names(ctx.uow, c)),
                  [[poster_button(ctx, c)]])


@router.command("poster", VD, HS)
def poster_command(ctx: Ctx, arg: str) -> None:
    """/poster ID: the circuit's poster, as the button gives it."""
    if not arg.strip():
        ctx.reply(t("poster.usage"))
        return
    send_poster(ctx, arg.strip())


@router.button("poster")
def poster_pressed(ctx: Ctx, payload: dict) -> None:
    """海报 pressed under a circuit."""
    send_poster(ctx, payload.get("id"))


def send_poster(ctx: Ctx, circuit_id: object) -> None:
    """The poster of a circuit this user may see (a refusal is raised, and audited by the conversation)."""
    sheet = circuit_poster(ctx.uow, ctx.now, circuit_id, actor=actor_of(ctx), bot_username=ctx.services.bot_username)
    ctx.reply(_sent(ctx, circuit_id), document=Printable(
        sheet, f"poster-{circuit_id}-{sheet.code.scene.removeprefix('v_')}", t("poster.caption"),
        t("poster.unavailable", id=circuit_id)))


def _sent(ctx: Ctx, circuit_id: object) -> str:
    c = ctx.uow.circuits.get(int(str(circuit_id)))
    assert c is not None  # circuit_poster found it
    return t("poster.sent", date=month_day(c.day), weekday=t(f"weekday.{c.day.weekday()}"),
             half_day=t(f"half_day.{c.half_day.value}"), place=ctx.place_name(c.place_code))
