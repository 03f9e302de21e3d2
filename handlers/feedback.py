"""Ratings after a served visit (/rate): the resident, or the village doctor for them, gives 1–5 and a comment.

Ratings of 1–2 and comments starting with 投诉 become problem leads (问题线索) in the same transaction.
"""

from __future__ import annotations

from datetime import timedelta

from domain.circuits import month_day
from domain.errors import DomainError
from domain.staff import Role
from handlers import (
    prompts,
    texts_ledgers,  # noqa: F401  (registers the texts)
)
from handlers.core import Ctx, Router
from handlers.texts import t
from storage.repositories.ledgers import CHINA

router = Router()
RATE_WINDOW = timedelta(days=30)
COMPLAINT_PREFIX = "投诉"


def _rater(ctx: Ctx) -> tuple[str, str | None, int | None]:
    """(source, post code, resident id) of who may rate here, or ``DomainError``."""
    st, role = ctx.staff, ctx.role
    if st is not None and role is Role.VILLAGE_DOCTOR:
        return "village_doctor", st.institution_code, None
    if st is None and ctx.acc.resident_id is not None:
        return "resident", None, ctx.acc.resident_id
    raise DomainError("rate.unavailable")


@router.command("rate")
def rate(ctx: Ctx, arg: str) -> None:
    """Served orders of this post (or this resident) not yet rated, each with 1–5 buttons."""
    try:
        _, post, resident = _rater(ctx)
    except DomainError:
        ctx.reply(t("rate.unavailable"))
        return
    rows = ctx.uow.ledgers.unrated_served(post_code=post, resident_id=resident, since=ctx.now - RATE_WINDOW)
    if not rows:
        ctx.reply(t("rate.none"))
        return
    ctx.reply(t("rate.header"))
    for o in rows:
        r = ctx.uow.residents.get(o.resident_id) if o.resident_id else None
        ctx.reply(
            t(
                "rate.line",
                number=o.number,
                date=month_day(o.updated_at.astimezone(CHINA).date()),
                resident=r.name if r else "",
            ),
            [[ctx.btn(str(n), "fb.score", score_words(n), id=o.id, score=n) for n in range(1, 6)]],
        )


def score_words(score: int) -> tuple[str, ...]:
    """Words that give this score when typed (很好 is 5), besides the number."""
    return prompts.words(f"answer.rate.{score}")


def _check_order(ctx: Ctx, order_id: object) -> int:
    """The order id if this user may rate it (re-checked on every press)."""
    _, post, resident = _rater(ctx)
    o = ctx.uow.orders.get(int(str(order_id))) if str(order_id).isascii() and str(order_id).isdigit() else None
    if o is None or (post is not None and o.post_code != post) or (resident is not None and o.resident_id != resident):
        raise DomainError("rate.not_yours")
    assert o.id is not None
    return o.id


@router.button("fb.score")
def score(ctx: Ctx, payload: dict) -> None:
    """Remember the score and ask for an optional comment."""
    try:
        oid = _check_order(ctx, payload.get("id"))
        value = int(str(payload.get("score")))
    except (DomainError, ValueError) as e:
        ctx.reply(t(getattr(e, "key", "rate.not_yours")))
        return
    if ctx.acc.step and not ctx.acc.step.startswith("fb."):
        # A rating answered in the middle of another form (the prompt came while the doctor was filing an order):
        # stored at once, without the comment step that would throw the form away.
        lead = _store(ctx, oid, value, "")
        if lead is not None:
            ctx.edit(t("rate.saved_lead" if lead else "rate.saved", score=value))
            ctx.reply(t("rate.form_kept", step=t(f"step.{ctx.acc.step}")))
        return
    ctx.acc.start("fb.comment", ctx.now, id=oid, score=value)
    ctx.edit(t("rate.chosen", score=value))
    ctx.reply(t("rate.ask_comment", score=value), [[ctx.btn(t("skip"), "fb.skip")]])


@router.step("fb.comment")
def comment(ctx: Ctx, text: str) -> None:
    """Store the rating with the comment."""
    _save(ctx, text.strip())


@router.button("fb.skip")
def skip(ctx: Ctx, payload: dict) -> None:
    """Store the rating without a comment."""
    _save(ctx, "")


def _save(ctx: Ctx, text: str) -> None:
    draft = dict(ctx.acc.draft)
    ctx.acc.clear()
    try:
        value = int(str(draft.get("score")))
    except ValueError:
        ctx.reply(t("rating.bad_score"))
        return
    lead = _store(ctx, draft.get("id"), value, text)
    if lead is not None:
        ctx.reply(t("rate.saved_lead" if lead else "rate.saved", score=value))


def _store(ctx: Ctx, order_id: object, value: int, text: str) -> bool | None:
    """Store the rating (re-checked: this user, this order, served and not yet rated); whether it became a problem
    lead, or None (and why, to the user) if it was refused."""
    try:
        oid = _check_order(ctx, order_id)
        source, _, _ = _rater(ctx)
        complaint = text.startswith(COMPLAINT_PREFIX)
        _, lead = ctx.uow.ledgers.add_rating(
            oid,
            value,
            text or None,
            source=source,
            now=ctx.now,
            account_id=ctx.acc.id,
            staff_id=ctx.acc.staff_id,
            complaint=complaint,
        )
    except (DomainError, ValueError) as e:
        ctx.reply(t(getattr(e, "key", "rating.bad_score"), **getattr(e, "params", {})))
        return None
    ctx.audit("rate", "order", str(oid), detail={"score": value, "lead": lead})
    return bool(lead)
