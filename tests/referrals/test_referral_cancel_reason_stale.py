"""Review finding: the hospital is asked why it cancels a booking; if the referral is no longer cancellable when the
reason is typed (the resident was erased meanwhile, a colleague cancelled it), the hospital is told once and the
question is over: what they type next is not read as a cancellation reason again."""

from __future__ import annotations

from domain.referrals import ReferralStatus
from tests.referrals.test_referral_cancel_notice import referral_of, referred
from tests.referrals.test_referral_erasure_cancels import forget_grandpa


def test_a_reason_typed_after_the_referral_was_cancelled_meanwhile_ends_the_question(chat, cast, app, clock):
    number = referred(chat, app)
    chat.say("hospital", "/referrals")
    chat.press("hospital", "取消")
    assert "取消原因" in chat.last("hospital")
    forget_grandpa(chat)  # the erasure cancels the booking while the hospital is typing
    assert referral_of(app, number).status is ReferralStatus.CANCELLED
    chat.say("hospital", "专家外出")
    first = chat.last("hospital")
    assert "取消" in first, first
    chat.say("hospital", "明天上午有空吗")  # a new message, nothing to do with the cancelled referral
    assert chat.last("hospital") != first, "the hospital is still held in the cancellation question"
