"""A resident's erasure cancels their referrals not yet held: the reserved place goes back to the hospital, no
reminder follows, and nothing more is said to the erased resident."""

from __future__ import annotations

from domain.referrals import ReferralStatus
from handlers.services.referrals import send_due_reminders
from tests.referrals.test_referral_chat import referral_of, referred


def forget_grandpa(chat) -> None:
    chat.say("grandpa", "/forget")
    chat.press("grandpa", "确定撤回并删除")
    chat.press("doctor", "确认删除")
    assert "已撤回同意" in chat.last("grandpa"), chat.texts("grandpa")[-2:]


def booked_places(app, referral) -> int:
    with app.uow() as uow:
        return uow.referrals.slot(referral.slot_id).booked


def test_erasure_cancels_a_booked_referral_gives_its_place_back_and_sends_no_reminder(chat, cast, app, clock):
    number = referred(chat, app)
    before = referral_of(app, number)
    assert before.status is ReferralStatus.BOOKED and booked_places(app, before) == 1
    chat.deliver_outbox(app.uow, clock())
    seen_by_grandpa = len(chat.texts("grandpa"))

    forget_grandpa(chat)

    after = referral_of(app, number)
    assert after.status is ReferralStatus.CANCELLED
    assert booked_places(app, before) == 0  # the place is free for someone else
    with app.uow() as uow:
        trail = [e.action for e in uow.audit.for_entity("referral", str(after.id))]
    assert trail[-1] == "referral_cancel", trail
    # Nothing more reaches the erased resident: no cancellation notice, and no reminder the day before.
    grandpa_after = chat.texts("grandpa")[seen_by_grandpa:]
    clock.now = clock.now.replace(day=24, hour=1, minute=0)  # 09:00 Sanming the day before the visit
    assert send_due_reminders(app.uow, clock).reminded == 0
    got = chat.deliver_outbox(app.uow, clock())
    assert not any("【明天就诊提醒】" in x for x in got), got
    assert chat.texts("grandpa")[seen_by_grandpa:] == grandpa_after
    assert not any("邱瑞鹏" in x for x in grandpa_after[1:]), grandpa_after  # only the erasure's own answer


def test_erasure_cancels_a_waiting_referral_so_the_hospital_cannot_book_it_later(chat, cast, app, clock):
    number = referred(chat, app, slots=None)
    assert referral_of(app, number).status is ReferralStatus.WAITING
    forget_grandpa(chat)
    assert referral_of(app, number).status is ReferralStatus.CANCELLED
    chat.press("hospital", "11月24日")  # the date offered before the erasure books nothing now
    assert referral_of(app, number).status is ReferralStatus.CANCELLED
    assert "已取消" in chat.last("hospital"), chat.last("hospital")
    chat.say("hospital", "/referrals")
    assert "没有进行中的上转病人" in chat.last("hospital")
