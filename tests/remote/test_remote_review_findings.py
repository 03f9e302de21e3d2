"""Found by a review after the merge (issue 20): reminders crowded out by stale sessions, a reminder right after the
notice, a remote consultation's reasons and numbers surviving where they must not."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import sqlalchemy as sa

from tests.handlers.test_order_lifecycle import stored
from tests.remote.test_remote_chat import STARTS, approved_order, schedule_remote, sweep, told


def test_sessions_whose_time_passed_unclosed_never_crowd_out_the_reminders_of_coming_ones(chat, cast, app, clock):
    number = approved_order(chat, app)
    schedule_remote(chat)
    with app.uow() as uow:
        (s,) = uow.remote.for_order(stored(app, number).id)
        for i in range(500):  # held two days ago, and nobody recorded the outcome or a no-show
            uow.remote.add(dataclasses.replace(s, id=None, events=[], starts_at=clock() - timedelta(days=2, minutes=i)))
        uow.commit()
    clock.now = STARTS - timedelta(hours=23)
    assert sweep(app, clock()) > 0


def test_a_session_set_for_later_today_gets_no_day_before_reminder_after_its_notice(chat, cast, app, clock):
    approved_order(chat, app)
    schedule_remote(chat, when="11月23日 15:00")  # the clock stands at 23 November, 10:30 in Sanming
    told(chat, app, clock())
    assert sweep(app, clock()) == 0  # the notice just said it all
    clock.now = clock.now.replace(hour=6, minute=5)  # 14:05: the hour-before reminder
    assert sweep(app, clock()) > 0


def test_phone_and_id_numbers_in_the_advice_are_masked_in_the_referral_it_books_too(chat, cast, app, clock):
    number = approved_order(chat, app)
    schedule_remote(chat)
    clock.now = STARTS + timedelta(hours=1)
    chat.say("cardiologist", "/remote")
    chat.press("cardiologist", "记录结果")
    chat.say("cardiologist", "建议加药，身份证350421195001011234，电话13912345678")
    chat.press("cardiologist", "需要上转")
    chat.say("cardiologist", "无")
    oid = stored(app, number).id
    with app.uow() as uow:
        (s,) = uow.remote.for_order(oid)
        r = uow.referrals.of_order(oid)
    assert r is not None
    for stored_text in (s.advice or "", r.note or ""):
        assert "13912345678" not in stored_text and "350421195001011234" not in stored_text, stored_text


def test_a_residents_erasure_takes_the_reason_a_consultation_was_cancelled_from_the_audit_trail(chat, cast, app):
    from storage.tables import AuditRow
    from tests.remote.test_remote_refusals_and_privacy import forget

    approved_order(chat, app)
    schedule_remote(chat)
    chat.say("hospital", "/remote")
    chat.press("hospital", "取消")
    chat.say("hospital", "邱瑞鹏已住院做心脏支架，无需会诊")
    assert "取消" in chat.last("hospital"), chat.replies()
    forget(chat)
    with app.uow() as uow:
        rows = uow.session.execute(sa.select(AuditRow.entity, AuditRow.action)
                                   .where(AuditRow.reason.like("%支架%"))).all()
    assert not rows, rows
