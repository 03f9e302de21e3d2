"""SMS announcements as a village doctor and a resident without a smartphone live them, against a fake of each
provider that checks the request signature the way the provider does."""

from __future__ import annotations

import logging
from datetime import timedelta

from tests.circuits.circuit_helpers import REMINDER_AT, Clock, RunningClock
from tests.sms.conftest import PHONE, announce, drain, register_by_chat, sms_rows


async def test_a_registered_resident_gets_exactly_one_sms_of_the_announcement_naming_expert_and_specialty(
        chat, cast, app, provider):
    register_by_chat(chat)
    aid = announce(app)
    stats = await drain(app, provider.channel(app, Clock(REMINDER_AT)))
    [sms] = provider.fake.to(PHONE)  # signature, template, variables and limits all accepted by the fake
    assert provider.fake.rejected == []
    values = "".join(sms.params.values())
    for shown in ("罗志明", "心血管内科", "12月4日", "上午", "雪峰镇"):
        assert shown in values, (shown, sms.params)
    assert all(len(v) <= provider.template.limit for v in sms.params.values())
    assert len(sms.text) <= 70, sms.text  # one SMS, not two halves
    assert stats.sent == 1
    [row] = sms_rows(app)
    assert (row.status, row.announcement_id, row.account_id) == ("sent", aid, None)
    assert PHONE not in row.chat_id and PHONE not in row.dedupe_key  # the outbox names the registration only
    with app.uow() as uow:
        [msg] = uow.sms.messages()
    assert (msg.outbox_id, msg.provider_id, msg.status) == (row.id, sms.message_id, "submitted")


async def test_a_td_reply_pushed_by_the_provider_stops_queued_and_later_announcements(
        chat, cast, app, provider, pushes, clock):
    register_by_chat(chat)
    announce(app)  # queued, not sent yet
    status, body = await provider.push_reply(pushes, PHONE, " td ", at=clock().timestamp())
    assert status == 200 and (body.get("code") == 0 or body.get("result") == 0), body
    await drain(app, provider.channel(app, Clock(REMINDER_AT)))
    announce(app, day_offset=7)
    await drain(app, provider.channel(app, Clock(REMINDER_AT)), day_offset=7)
    assert provider.fake.to(PHONE) == []
    assert [r.status for r in sms_rows(app)] == ["void"]  # withdrawn at once; the next circuit queues none
    chat.say("doctor", "/sms 邱瑞鹏")
    assert "已停止" in chat.last("doctor") and "居民回复退订" in chat.last("doctor")


async def test_another_reply_or_another_applications_signature_stops_nothing(chat, cast, app, provider, pushes, clock):
    register_by_chat(chat)
    await provider.push_reply(pushes, PHONE, "好的，谢谢", at=clock().timestamp())
    with app.uow() as uow:
        reg = uow.sms.with_number(PHONE)[0]
    assert reg.active


async def test_the_doctors_button_stops_all_sms_to_that_number(chat, cast, app, provider):
    register_by_chat(chat)
    announce(app)
    chat.say("doctor", "/sms 邱瑞鹏")
    chat.press("doctor", "停止短信通知")
    assert "已停止" in chat.last("doctor")
    await drain(app, provider.channel(app, Clock(REMINDER_AT)))
    assert provider.fake.to(PHONE) == []
    assert [r.status for r in sms_rows(app)] == ["void"]


async def test_a_delivery_receipt_is_recorded_against_the_message(chat, cast, app, provider, pushes):
    register_by_chat(chat)
    announce(app)
    await drain(app, provider.channel(app, Clock(REMINDER_AT)))
    [sms] = provider.fake.to(PHONE)
    status, _ = await provider.push_receipt(pushes, sms.message_id, True)
    assert status == 200
    with app.uow() as uow:
        [msg] = uow.sms.messages()
    assert (msg.status, msg.report_code) == ("delivered", "DELIVERED" if provider.name == "aliyun" else "DELIVRD")


async def test_a_push_with_the_wrong_token_is_not_found_and_changes_nothing(chat, cast, app, provider, pushes, clock):
    register_by_chat(chat)
    status, _ = await provider.push_reply(pushes.replace("cb-token-for-tests-0001", "x" * 23), PHONE, "TD",
                                          at=clock().timestamp())
    assert status == 404
    with app.uow() as uow:
        assert uow.sms.with_number(PHONE)[0].active


async def test_a_per_number_rate_limit_waits_for_that_number_and_is_then_sent(chat, cast, app, provider):
    register_by_chat(chat)
    announce(app)
    code = "isv.BUSINESS_LIMIT_CONTROL" if provider.name == "aliyun" else "LimitExceeded.PhoneNumberThirtySecondLimit"
    provider.fake.fail_next(code, "触发分钟级流控Permits:1", phone=PHONE)
    stats = await drain(app, provider.channel(app, Clock(REMINDER_AT)), timeout=2)
    assert (stats.rate_limited, stats.sent) == (1, 0)
    [row] = sms_rows(app)
    wait = 60 if provider.name == "aliyun" else 30
    assert (row.status, row.last_error) == ("pending", f"retry_after {wait}.0") and row.next_attempt_at is not None
    later = Clock(REMINDER_AT + timedelta(minutes=5))  # the number's minute is over
    stats = await drain(app, provider.channel(app, later), clock=later)
    assert stats.sent == 1 and len(provider.fake.to(PHONE)) == 1


async def test_channel_wide_throttling_is_retried_after_the_pause(chat, cast, app, provider):
    register_by_chat(chat)
    announce(app)
    provider.fake.fail_next("Throttling.User" if provider.name == "aliyun" else "RequestLimitExceeded")
    running = RunningClock(REMINDER_AT + timedelta(minutes=2))
    stats = await drain(app, provider.channel(app, running), clock=running)
    assert stats.rate_limited == 1 and stats.sent == 1
    assert len(provider.fake.to(PHONE)) == 1


async def test_a_daily_limit_gives_up_for_the_day_with_its_reason(chat, cast, app, provider):
    register_by_chat(chat)
    announce(app)
    code = "isv.BUSINESS_LIMIT_CONTROL" if provider.name == "aliyun" else "LimitExceeded.PhoneNumberDailyLimit"
    provider.fake.fail_next(code, "触发天级流控Permits:10", phone=PHONE)
    await drain(app, provider.channel(app, Clock(REMINDER_AT)))
    [row] = sms_rows(app)
    assert (row.status, row.last_error) == ("permanent", f"sms_daily_limit: {code}")


async def test_a_wrong_secret_is_refused_by_the_signature_check_and_is_a_permanent_failure_with_a_reason(
        chat, cast, app, provider):
    register_by_chat(chat)
    announce(app)
    stats = await drain(app, provider.channel(app, Clock(REMINDER_AT), secret="not-the-secret"))
    expected = "SignatureDoesNotMatch" if provider.name == "aliyun" else "AuthFailure.SignatureFailure"
    assert provider.fake.rejected == [expected] and provider.fake.to(PHONE) == []
    [row] = sms_rows(app)
    assert (row.status, row.last_error) == ("permanent", f"sms_credentials: {expected}")
    assert stats.permanent == 1


async def test_a_number_the_provider_reports_unsubscribed_is_opted_out_here_too(chat, cast, app, provider):
    register_by_chat(chat)
    announce(app)
    code = "isv.MOBILE_IN_BLACKLIST" if provider.name == "aliyun" else "FailedOperation.PhoneNumberInBlacklist"
    provider.fake.fail_next(code, phone=PHONE)
    await drain(app, provider.channel(app, Clock(REMINDER_AT)))
    with app.uow() as uow:
        [reg] = uow.sms.with_number(PHONE)
    assert not reg.active and reg.opt_out_source == "provider"


async def test_erasing_the_resident_removes_their_sms_registration_and_number(chat, cast, app, provider, clock):
    register_by_chat(chat)
    announce(app)
    await drain(app, provider.channel(app, Clock(REMINDER_AT)))
    with app.uow() as uow:
        [reg] = uow.sms.with_number(PHONE)
        uow.residents.forget(reg.resident_id, clock())
        uow.commit()
    with app.uow() as uow:
        assert uow.sms.with_number(PHONE) == [] and uow.sms.of_resident(reg.resident_id) is None
        assert uow.sms.messages() == []
    announce(app, day_offset=7)
    assert [r.status for r in sms_rows(app)] == ["sent"]  # the old row only; none queued for them again


async def test_phone_numbers_never_appear_unmasked_in_our_logs(chat, cast, app, provider, pushes, clock, caplog):
    caplog.set_level(logging.DEBUG)
    register_by_chat(chat)
    announce(app)
    provider.fake.fail_next("isv.BUSINESS_LIMIT_CONTROL" if provider.name == "aliyun" else
                            "LimitExceeded.PhoneNumberThirtySecondLimit", phone=PHONE)
    await drain(app, provider.channel(app, Clock(REMINDER_AT)), timeout=1)
    later = Clock(REMINDER_AT + timedelta(minutes=5))
    await drain(app, provider.channel(app, later), clock=later, timeout=1)
    await provider.push_reply(pushes, PHONE, "TD", at=clock().timestamp())
    ours = [r for r in caplog.records if r.name.split(".")[0] in ("bot", "handlers", "storage", "domain")]
    assert any("139****3001" in r.getMessage() for r in ours)  # the number is logged, masked
    assert not any(PHONE in r.getMessage() for r in ours)


async def test_no_sms_rows_without_registrations(chat, cast, app):
    announce(app)
    assert sms_rows(app) == []


def test_two_residents_sharing_a_phone_get_one_sms(chat, cast, app, clock):
    from domain.sms import SMS_CONSENT_VERSION
    from handlers.services.sms import register_sms

    with app.uow() as uow:
        for r in uow.residents.in_villages(["350421101001"])[:2]:  # a family phone
            register_sms(uow, r.id, PHONE, consent_version=SMS_CONSENT_VERSION, now=clock(), staff_id=None,
                         role="test")
        uow.commit()
    announce(app)
    assert len(sms_rows(app)) == 1


def test_the_survey_import_registers_residents_who_consented_and_never_undoes_a_td(app, clock):
    from storage.reference import import_files

    survey = ("name,sex,birth_year,village_code,phone,sms_consent\n"
              "邱瑞鹏,M,1942,350421101001,13900003001,2026-11-20\n"
              "新村民,F,1950,350421101001,13900007777,\n").encode()
    with app.uow() as uow:
        report = import_files(uow, {"residents.csv": survey}, clock().date())
    assert report.changed.get("sms") == 1
    with app.uow() as uow:
        [reg] = uow.sms.with_number(PHONE)
        assert (reg.source, reg.consent_at.date().isoformat()) == ("import", "2026-11-19")  # 00:00 in Sanming
        assert uow.sms.with_number("13900007777") == []  # no consent column filled: not registered
        uow.sms.opt_out_number(PHONE, clock(), "reply")
        uow.commit()
    with app.uow() as uow:
        import_files(uow, {"residents.csv": survey}, clock().date())
    with app.uow() as uow:
        assert not uow.sms.with_number(PHONE)[0].active


def test_without_a_provider_the_doctor_is_told_sms_is_not_set_up_and_nothing_is_queued(app, clock):
    """No SMS_PROVIDER: /sms says so instead of registering numbers nothing would ever send to, and a number
    registered while a provider was set (now removed) gets no outbox rows that would wait for ever."""
    from bot.bootstrap import build_conversation
    from domain.sms import SMS_CONSENT_VERSION
    from domain.staff import Role
    from handlers import FloodGuard
    from handlers.services.announcements import Announcer
    from handlers.services.sms import register_sms
    from tests.circuits.circuit_helpers import CIRCUIT_DAY, CREATED, make_circuit
    from tests.handlers.harness import ChatHarness

    plain = ChatHarness(build_conversation(app, clock=clock, flood=FloodGuard(limit=10_000)))
    plain.login("village_doctor", "S0006", Role.VILLAGE_DOCTOR, app.uow, clock())
    plain.say("village_doctor", "/sms 邱瑞鹏")
    assert "还没有开通短信通知" in plain.last("village_doctor")
    with app.uow() as uow:
        [r] = [r for r in uow.residents.in_villages(["350421101001"]) if r.name == "邱瑞鹏"]
        register_sms(uow, r.id, PHONE, consent_version=SMS_CONSENT_VERSION, now=clock(), staff_id=None, role="test")
        uow.commit()
    with app.uow() as uow:
        make_circuit(uow, day=CIRCUIT_DAY, created=CREATED)
        uow.commit()
    assert Announcer(app.uow, Clock(REMINDER_AT + timedelta(minutes=1))).sweep().fanned_out >= 1
    assert sms_rows(app) == []
