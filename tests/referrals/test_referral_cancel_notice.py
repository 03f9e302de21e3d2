"""A booking the hospital cancels is told to the resident (their linked chat account) and the village doctor, with the
date, the department and the reason in plain Chinese; the day-before reminder does not follow."""

from __future__ import annotations

from domain.referrals import ReferralStatus
from handlers.services.referrals import send_due_reminders
from tests.conftest import ON_SQLITE_FILES
from tests.referrals.helpers import HOSPITAL
from tests.referrals.test_referral_chat import referral_of, referred


def test_a_cancelled_booking_is_told_to_the_resident_and_the_doctor_and_no_reminder_follows(chat, cast, app, clock):
    number = referred(chat, app)
    chat.deliver_outbox(app.uow, clock())
    before_grandpa, before_doctor = len(chat.texts("grandpa")), len(chat.texts("doctor"))
    chat.say("hospital", "/referrals")
    chat.press("hospital", "取消")
    assert "取消原因" in chat.last("hospital")
    chat.say("hospital", "专家外出" * 130)  # too long a reason is refused politely; the question stays open
    assert "原因太长" in chat.last("hospital") and referral_of(app, number).status is ReferralStatus.BOOKED
    chat.say("hospital", "专家临时外出会诊，请改约")
    assert referral_of(app, number).status is ReferralStatus.CANCELLED, chat.texts("hospital")[-2:]
    chat.deliver_outbox(app.uow, clock())
    told_grandpa = [x for x in chat.texts("grandpa")[before_grandpa:] if "取消" in x]
    told_doctor = [x for x in chat.texts("doctor")[before_doctor:] if "取消" in x]
    assert told_grandpa, chat.texts("grandpa")[before_grandpa:]
    assert told_doctor, chat.texts("doctor")[before_doctor:]
    for words in ("11月25日", "心血管内科", "明溪县总医院"):
        assert words in told_grandpa[0], told_grandpa[0]
        assert words in told_doctor[0], told_doctor[0]
    assert "原因：专家临时外出会诊，请改约" in told_grandpa[0], told_grandpa[0]
    assert "原因：专家临时外出会诊，请改约" in told_doctor[0], told_doctor[0]
    with app.uow() as uow:
        r = referral_of(app, number)
        assert uow.referrals.slot(r.slot_id).booked == 0
        refusals = [e.reason for e in uow.audit.for_entity("referral", str(r.id)) if e.action == "refused"]
    assert "referral.reason.too_long" in refusals, refusals
    clock.now = clock.now.replace(day=24, hour=1, minute=0)
    assert send_due_reminders(app.uow, clock).reminded == 0
    assert not any("【明天就诊提醒】" in x for x in chat.deliver_outbox(app.uow, clock()))


@ON_SQLITE_FILES
def test_the_command_line_cancels_only_with_a_reason_and_the_resident_is_told(chat, cast, app, clock, chat_engine):
    from tests.cli_runner import run_bot
    from tests.referrals.test_booking import _env

    number = referred(chat, app)
    chat.deliver_outbox(app.uow, clock())
    rid = str(referral_of(app, number).id)
    env = _env(chat_engine)
    refused = run_bot(["referrals", "--hospital", HOSPITAL, "--mark", rid, "--as", "cancel", "--by", "S0002"], env)
    assert refused.returncode == 2 and "取消原因" in refused.stderr and "--reason" in refused.stderr, refused.stderr
    assert referral_of(app, number).status is ReferralStatus.BOOKED
    out = run_bot(["referrals", "--hospital", HOSPITAL, "--mark", rid, "--as", "cancel", "--by", "S0002",
                   "--reason", "设备检修，暂停检查 联系电话13812345678"], env)
    assert out.returncode == 0, out.stderr
    got = chat.deliver_outbox(app.uow, clock())
    to_grandpa = [x for x in chat.texts("grandpa") if "【转诊预约取消】" in x]
    assert len(to_grandpa) == 1 and "设备检修" in to_grandpa[0] and "11月25日" in to_grandpa[0], got
    assert "13812345678" not in "".join(got) and "138****5678" in to_grandpa[0]


def test_a_reminder_already_queued_does_not_go_out_after_the_cancellation(chat, cast, app, clock):
    number = referred(chat, app)
    chat.deliver_outbox(app.uow, clock())
    clock.now = clock.now.replace(day=24, hour=1, minute=0)  # 09:00 the day before: the reminder is queued
    assert send_due_reminders(app.uow, clock).reminded == 1
    clock.now = clock.now.replace(minute=1)  # a minute later, before the sender ran, the hospital cancels
    chat.say("hospital", "/referrals")
    chat.press("hospital", "取消")
    chat.say("hospital", "医院停电，检查改期")
    assert referral_of(app, number).status is ReferralStatus.CANCELLED
    got = chat.deliver_outbox(app.uow, clock())
    assert not any("【明天就诊提醒】" in x for x in got), got
    assert any("【转诊预约取消】" in x and "医院停电" in x for x in got), got
