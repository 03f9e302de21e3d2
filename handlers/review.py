"""Reviewers: the township's first review and the supporting hospital's disposition (/pending)."""

from __future__ import annotations

from collections import defaultdict

from domain.catalogue import CatalogueMatch
from domain.errors import DomainError, PermissionDenied
from domain.orders import OPEN_STATUSES, Action, Order, OrderStatus, Urgency
from domain.staff import Role
from handlers import referrals, texts_catalogue, texts_circuits  # noqa: F401  (registers their texts)
from handlers.catalogue import card_line
from handlers.common import (
    act,
    acting_staff,
    actor_of,
    answer_refusal,
    deliver,
    emergency_mark,
    load_order,
    notify_decision,
    specialty_name,
    status_name,
    viewable_order,
)
from handlers.core import Ctx, Router
from handlers.services import catalogue as first_diagnosis
from handlers.services import experts as tell_experts
from handlers.texts import t

router = Router()
TW, HS = Role.TOWNSHIP_REVIEWER, Role.HOSPITAL_REVIEWER
MAX_CARDS = 10


def _card(ctx: Ctx, o: Order, residents: dict) -> str:
    """An order as a reviewer sees it; ``residents`` holds the shown orders' residents (read at once)."""
    r = residents.get(o.resident_id)
    pops = (
        "｜" + "、".join(t(f"population.{p.value}") for p in sorted(o.special_populations))
        if o.special_populations
        else ""
    )
    text = t(
        "pending.card",
        number=o.number,
        resident=r.name if r else "",
        sex=t(f"new.sex.{r.sex.value}") if r else "",
        age=r.age_on(ctx.today) if r else "",
        need=o.need_text,
        specialty=specialty_name(o.confirmed_specialty),
        urgency=t(f"urgency.{o.urgency.value}"),
        populations=pops,
    )
    text += emergency_mark(o)
    if o.answer:
        text += "\n" + t("orders.question", question=o.question or "") + "\n↳ " + o.answer
    return text


def _first_cards(groups: dict[str, list[Order]]) -> list[int]:
    """Residents of the orders a /pending answer shows as cards: the first MAX_CARDS, group by group."""
    return [o.resident_id for items in groups.values() for o in items][:MAX_CARDS]


def _require(ctx: Ctx, role: Role):
    """The acting staff member, if they act in ``role`` now (buttons are re-checked, not just commands)."""
    st, acting = acting_staff(ctx)
    if acting is not role:
        raise PermissionDenied("perm.action_not_for_role", role=acting.value)
    return st, acting


def _posts_in_scope(ctx: Ctx, role: Role) -> list[str]:
    st, _ = acting_staff(ctx)
    net = ctx.jurisdiction.network
    if role is TW:
        return sorted(net.directly_supported(st.institution_code, ctx.today))
    return sorted(net.reachable(st.institution_code, ctx.today))


# --- township ---------------------------------------------------------------------------------------------------
@router.command("pending", TW)
def township_pending(ctx: Ctx, arg: str) -> None:
    """Submitted orders from the township's villages, oldest first, grouped by village."""
    found = ctx.uow.orders.list(post_codes=_posts_in_scope(ctx, TW), statuses=[OrderStatus.SUBMITTED], limit=500)
    if not found:
        ctx.reply(t("pending.none"))
        return
    by_village: dict[str, list[Order]] = defaultdict(list)
    for o in found:
        by_village[o.village_code].append(o)
    shown = 0
    residents = ctx.read_residents(_first_cards(by_village), "review")
    in_catalogue = first_diagnosis.order_matches(ctx.uow, (o.id for o in found))
    for village, items in by_village.items():
        if shown >= MAX_CARDS:
            break
        # An order in the center's first-diagnosis catalogue is decided on its own card (本院处理 first), never
        # sent up to the hospital in a batch.
        routine = [o for o in items if o.urgency is Urgency.ROUTINE and o.id not in in_catalogue]
        # The button approves exactly the orders counted on it, not whatever arrives before it is pressed.
        batch = [[ctx.btn(t("review.approve_all", count=len(routine)), "tw.approve_all", post=items[0].post_code,
                          ids=[o.id for o in routine], v={str(o.id): o.version for o in routine})]]
        ctx.reply(
            t("pending.village", village=ctx.place_name(village), count=len(items)), batch if len(routine) >= 2 else []
        )
        for o in items[: MAX_CARDS - shown]:
            _township_card(ctx, o, residents, in_catalogue.get(o.id or 0))
            shown += 1
    if len(found) > shown:
        ctx.reply(t("pending.more", count=len(found) - shown))


def _township_card(ctx: Ctx, o: Order, residents: dict, match: CatalogueMatch | None) -> None:
    """A submitted order's card with the township's decisions; each button names the version it was shown at.

    An order whose need is in the center's first-diagnosis catalogue (``match``, None if not) says so, with 本院处理
    first (issue 20)."""
    local = [[ctx.btn(t("catalogue.handle_local"), "tw.local", id=o.id, v=o.version)]] if match else []
    ctx.reply(
        _card(ctx, o, residents) + card_line(match),
        [
            *local,
            [
                ctx.btn(t("review.approve"), "tw.approve", id=o.id, v=o.version),
                ctx.btn(t("review.return"), "tw.return", id=o.id, v=o.version),
            ],
            [
                ctx.btn(t("review.reject"), "tw.reject", id=o.id, v=o.version),
                ctx.btn(t("review.merge"), "tw.merge", id=o.id, v=o.version),
            ],
        ],
    )


def _hospital_card(ctx: Ctx, o: Order, residents: dict) -> None:
    """A township-approved order's card with the hospital's dispositions, each naming the version shown."""
    ctx.reply(
        f"【{ctx.place_name(o.village_code)}】" + _card(ctx, o, residents),
        [
            [
                ctx.btn(t("dispose.circuit"), "hs.circuit", id=o.id, v=o.version),
                ctx.btn(t("dispose.remote"), "hs.remote", id=o.id, v=o.version),
                ctx.btn(t("dispose.refer_up"), "hs.refer", id=o.id, v=o.version),
            ],
            [
                ctx.btn(t("dispose.local"), "hs.local", id=o.id, v=o.version),
                ctx.btn(t("dispose.reject"), "hs.reject", id=o.id, v=o.version),
            ],
        ],
    )


def _show_changed(ctx: Ctx, o: Order) -> None:
    """The order changed after its card was shown: say so on the old card and show the card as it is now."""
    ctx.edit(t("review.changed", number=o.number))
    residents = ctx.read_residents([o.resident_id], "review")
    if o.status is OrderStatus.SUBMITTED:
        _township_card(ctx, o, residents, first_diagnosis.order_match(ctx.uow, o.id))
    elif o.status is OrderStatus.TOWNSHIP_APPROVED:
        _hospital_card(ctx, o, residents)


def _decide(ctx: Ctx, order_id: object, action: Action, shown: object, **kw) -> Order | None:
    """Apply a reviewer's decision taken on the card of version ``shown``."""
    return act(ctx, order_id, action, shown=shown, changed=lambda o: _show_changed(ctx, o), **kw)


def _decided(ctx: Ctx, o: Order, action: Action, detail: str | None = None, card: str | None = None) -> None:
    """Turn the order's card into the decision (no second press) and tell the people concerned."""
    decision = t(f"decision.{action.value}")
    text = t("review.done", number=o.number, decision=decision)
    ctx.edit(
        t("review.done", number=o.number, decision=decision + (t("notify.detail", text=detail) if detail else "")), card
    )
    if card:  # the decision came as typed text: confirm it in the conversation too
        ctx.reply(text)
    notify_decision(ctx, o, action, detail)


@router.button("tw.approve")
def approve(ctx: Ctx, payload: dict) -> None:
    """Approve: the order goes on to the supporting hospital."""
    o = _decide(ctx, payload.get("id"), Action.TOWNSHIP_APPROVE, payload.get("v"))
    if o:
        _decided(ctx, o, Action.TOWNSHIP_APPROVE)


@router.button("tw.local")
def handle_locally(ctx: Ctx, payload: dict) -> None:
    """本院处理: the need is in the center's first-diagnosis catalogue, so the center treats it and the hospital is
    not asked (首诊负责制 [000 三(四)]); refused for an order that matched nothing (a forged or stale button)."""
    order = load_order(ctx, payload.get("id"))
    # Only the center whose catalogue it matched keeps it (a post supported by two centers: not the other one).
    if ctx.uow.catalogue.matched_by(order.id) != actor_of(ctx).staff.institution_code:
        ctx.audit("refused", "order", str(payload.get("id"))[:32], reason="catalogue.not_in_catalogue")
        ctx.reply(t("catalogue.not_in_catalogue"))
        return
    o = _decide(ctx, payload.get("id"), Action.TOWNSHIP_HANDLE_LOCAL, payload.get("v"))
    if o:
        _decided(ctx, o, Action.TOWNSHIP_HANDLE_LOCAL)


def _ask(ctx: Ctx, step: str, key: str, payload: dict) -> None:
    o = load_order(ctx, payload.get("id"))
    ctx.acc.start(step, ctx.now, id=o.id, card=ctx.inbound.message_id, v=payload.get("v"))
    ctx.reply(t(key))


def _typed(ctx: Ctx, action: Action, **kw) -> tuple[Order | None, str | None]:
    """Apply ``action`` to the order the user was asked about; returns it and the card to update."""
    card = ctx.acc.draft.get("card")
    o = _decide(ctx, ctx.acc.draft.get("id"), action, ctx.acc.draft.get("v"), **kw)
    ctx.acc.clear()
    return o, str(card) if card else None


@router.button("tw.return")
def ask_question(ctx: Ctx, payload: dict) -> None:
    """Return for more information: ask for the question."""
    _ask(ctx, "tw.question", "review.ask_question", payload)


@router.step("tw.question")
def question(ctx: Ctx, text: str) -> None:
    """Send the order back with the question."""
    o, card = _typed(ctx, Action.TOWNSHIP_RETURN, reason=text)
    if o:
        _decided(ctx, o, Action.TOWNSHIP_RETURN, o.question, card)


@router.button("tw.reject")
def ask_reject(ctx: Ctx, payload: dict) -> None:
    """Reject: ask for the reason."""
    _ask(ctx, "tw.reject", "review.ask_reject_reason", payload)


@router.step("tw.reject")
def reject(ctx: Ctx, text: str) -> None:
    """Reject with the reason the village doctor will read."""
    o, card = _typed(ctx, Action.TOWNSHIP_REJECT, reason=text)
    if o:
        _decided(ctx, o, Action.TOWNSHIP_REJECT, o.reason, card)


@router.button("tw.merge")
def choose_merge(ctx: Ctx, payload: dict) -> None:
    """Merge a duplicate: choose the order it duplicates (same post, still open)."""
    _require(ctx, TW)
    o = viewable_order(ctx, payload.get("id"))
    # The newest open orders of the post (a busy post has many closed ones), the same resident's first.
    open_orders = [
        x
        for x in ctx.uow.orders.list(post_codes=[o.post_code], statuses=OPEN_STATUSES, limit=50, newest_first=True)
        if x.id != o.id
    ]
    others = [x for x in open_orders if x.resident_id == o.resident_id] or open_orders
    if not others:
        ctx.reply(t("review.no_merge_target"))
        return
    rows = [
        [
            ctx.btn(
                f"{x.number}｜{specialty_name(x.confirmed_specialty)}｜{status_name(x)}",
                "tw.merge_into",
                id=o.id,
                into=x.id,
                v=payload.get("v"),
            )
        ]
        for x in others[:8]
    ]
    ctx.reply(t("review.choose_merge_target"), rows)


@router.button("tw.merge_into")
def merge_into(ctx: Ctx, payload: dict) -> None:
    """Merge into the chosen order (which must belong to the same post and still be open)."""
    o = load_order(ctx, payload.get("id"))
    target = load_order(ctx, payload.get("into"))
    if target.post_code != o.post_code or not target.status.is_open:
        raise DomainError("order.merge_target_missing")
    done = _decide(ctx, o.id, Action.TOWNSHIP_MERGE, payload.get("v"), merged_into_id=target.id)
    if done:
        _decided(ctx, done, Action.TOWNSHIP_MERGE, target.number)


@router.button("tw.approve_all")
def approve_all(ctx: Ctx, payload: dict) -> None:
    """Approve every routine submitted order of one village post at once."""
    post = str(payload.get("post"))
    if post not in _posts_in_scope(ctx, TW):
        raise PermissionDenied("perm.outside_township", post=post)
    numbers: list[str | None] = []
    changed: list[str | None] = []
    shown = {int(i) for i in payload.get("ids") or [] if isinstance(i, int)}
    raw_versions = payload.get("v")
    versions: dict = raw_versions if isinstance(raw_versions, dict) else {}
    for o in ctx.uow.orders.list(post_codes=[post], statuses=[OrderStatus.SUBMITTED], limit=500):
        if o.urgency is Urgency.ROUTINE and o.id in shown:
            # Only what the list showed: an order edited or answered since is left for a look at its new card.
            done = act(ctx, o.id, Action.TOWNSHIP_APPROVE, shown=versions.get(str(o.id)),
                       changed=lambda x: changed.append(x.number))
            if done:
                numbers.append(done.number)
                notify_decision(ctx, done, Action.TOWNSHIP_APPROVE)
    text = t("review.batch_done", count=len(numbers), numbers="、".join(n or "" for n in numbers))
    if changed:
        text += "\n" + t("review.batch_changed", count=len(changed), numbers="、".join(n or "" for n in changed))
    ctx.edit(text)


# --- hospital ---------------------------------------------------------------------------------------------------
@router.command("pending", HS)
def hospital_pending(ctx: Ctx, arg: str) -> None:
    """Township-approved orders from supported institutions, grouped by specialty."""
    found = ctx.uow.orders.list(
        post_codes=_posts_in_scope(ctx, HS), statuses=[OrderStatus.TOWNSHIP_APPROVED], limit=500
    )
    if not found:
        ctx.reply(t("pending.none"))
        return
    by_spec: dict[str, list[Order]] = defaultdict(list)
    for o in found:
        by_spec[o.confirmed_specialty or ""].append(o)
    shown = 0
    residents = ctx.read_residents(_first_cards(dict(sorted(by_spec.items()))), "review")
    for spec, items in sorted(by_spec.items()):
        if shown >= MAX_CARDS:
            break
        ctx.reply(t("pending.specialty", specialty=specialty_name(spec), count=len(items)))
        for o in items[: MAX_CARDS - shown]:
            _hospital_card(ctx, o, residents)
            shown += 1
    if len(found) > shown:
        ctx.reply(t("pending.more", count=len(found) - shown))


@router.button("hs.circuit")
def choose_expert(ctx: Ctx, payload: dict) -> None:
    """Circuit: pick one of the hospital's experts in that specialty, least loaded first, or decide at planning."""
    st, _ = acting_staff(ctx)
    _require(ctx, HS)
    o = viewable_order(ctx, payload.get("id"))
    specialty = o.confirmed_specialty or "02"
    experts = list(ctx.services.reference.memo(
        ctx.uow, ("experts", st.institution_code, specialty),
        lambda: tuple(ctx.uow.staff.experts_with_specialty([st.institution_code], specialty)),
    ))
    load = ctx.uow.orders.expert_load([e.id for e in experts if e.id is not None]) if experts else {}
    experts.sort(key=lambda e: (load.get(e.id or 0, 0), -e.title.rank, e.code))
    rows = [
        [
            ctx.btn(
                t("dispose.expert_line", name=e.name, title=e.title.value, load=load.get(e.id or 0, 0)),
                "hs.expert",
                id=o.id,
                expert=e.id,
                v=payload.get("v"),
            )
        ]
        for e in experts[:8]
    ]
    rows.append([ctx.btn(t("dispose.assign_later"), "hs.expert", id=o.id, expert=None, v=payload.get("v"))])
    ctx.reply(t("dispose.choose_expert") if experts else t("dispose.no_expert"), rows)


@router.button("hs.expert")
def assign_expert(ctx: Ctx, payload: dict) -> None:
    """Dispose as circuit with the chosen expert (who must be an expert of this hospital); the expert is told on
    every platform they are bound to, or the reviewer is told to phone them."""
    done = tell_experts.assign_expert(ctx.uow, actor_of(ctx), ctx.now, payload.get("id"), payload.get("expert"),
                                 shown=payload.get("v"))
    o = answer_refusal(ctx, done.decided, lambda x: _show_changed(ctx, x))
    if o is None:
        return
    _decided(ctx, o, Action.DISPOSE_CIRCUIT, done.expert.name if done.expert else t("dispose.assign_later"))
    deliver(ctx, done.told.notices)
    for line in tell_experts.told_lines(done.told):
        ctx.reply(line)


@router.button("hs.refer")
def ask_referral(ctx: Ctx, payload: dict) -> None:
    """Refer up: ask for the arrangement."""
    _ask(ctx, "hs.referral", "dispose.ask_referral", payload)


@router.step("hs.referral")
def referral(ctx: Ctx, text: str) -> None:
    """Dispose as referral up with the appointment arranged."""
    o, card = _typed(ctx, Action.DISPOSE_REFER_UP, note=text[:500])
    if o:
        _decided(ctx, o, Action.DISPOSE_REFER_UP, o.disposition_note, card)
        referrals.after_refer_up(ctx, o)  # book a reserved slot, or ask for one (issue 20)


@router.button("hs.local")
def local(ctx: Ctx, payload: dict) -> None:
    """The township center can treat it."""
    o = _decide(ctx, payload.get("id"), Action.DISPOSE_LOCAL, payload.get("v"))
    if o:
        _decided(ctx, o, Action.DISPOSE_LOCAL)


@router.button("hs.reject")
def ask_hospital_reject(ctx: Ctx, payload: dict) -> None:
    """Reject: ask for the reason."""
    _ask(ctx, "hs.reject", "dispose.ask_reject_reason", payload)


@router.step("hs.reject")
def hospital_reject(ctx: Ctx, text: str) -> None:
    """Reject with a reason the township and village doctor can read."""
    o, card = _typed(ctx, Action.HOSPITAL_REJECT, reason=text)
    if o:
        _decided(ctx, o, Action.HOSPITAL_REJECT, o.reason, card)
