"""Review finding: a reviewer moving a remote consultation is asked for the reason; if the session was cancelled
meanwhile (the resident was erased, a colleague cancelled it), the typed reason is refused once and the question is
over: the next message is not read as a reason again."""

from __future__ import annotations

from tests.referrals.test_referral_erasure_cancels import forget_grandpa
from tests.remote.test_remote_chat import approved_order, schedule_remote, to_move_reason


def test_a_move_reason_typed_after_the_session_was_cancelled_meanwhile_ends_the_question(chat, cast, app):
    approved_order(chat, app)
    schedule_remote(chat)
    to_move_reason(chat)
    forget_grandpa(chat)  # the erasure cancels the session while the reviewer types
    chat.say("hospital", "专家出差")
    first = chat.last("hospital")
    chat.say("hospital", "好的谢谢")
    assert chat.last("hospital") != first, "the reviewer is still held in the move question: " + first
