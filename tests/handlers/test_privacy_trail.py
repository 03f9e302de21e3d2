"""PIPL: nothing sensitive in logs, phone numbers only as ciphertext, an access audit, retention."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.jobs.privacy import access_report, purge_expired_free_text
from bot.logging_setup import MaskingFilter
from domain.orders import OrderStatus
from tests.conftest import ALSO_ON_POSTGRES, ON_SQLITE_FILES
from tests.handlers.test_order_lifecycle import file_order, stored

PHONE = "13900007788"
NEED = "左边乳房有个硬块，按着不疼"


@pytest.fixture
def debug_logs():
    """Capture every log record at DEBUG through the production masking filter."""
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Collect(logging.DEBUG)
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("sqlalchemy.engine", "sqlalchemy.pool"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield records
    root.removeHandler(handler)
    root.setLevel(old)
    for name in ("sqlalchemy.engine", "sqlalchemy.pool"):
        logging.getLogger(name).setLevel(logging.WARNING)


def file_for_new_resident(chat) -> str:
    chat.say("doctor", "/new")
    chat.press("doctor", "新建居民")
    chat.say("doctor", "温秀兰")
    chat.press("doctor", "女")
    chat.say("doctor", "1968")
    chat.say("doctor", PHONE[:7])  # too short: refused politely, asked again
    assert "11位" in chat.last("doctor")
    chat.say("doctor", f"{PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}")
    chat.press("doctor", "居民已同意")
    chat.say("doctor", NEED)
    chat.press("doctor", "普通外科")
    chat.press("doctor", "常规")
    chat.press("doctor", "完成")
    chat.press("doctor", "确认提交")
    return chat.last("doctor")


@ALSO_ON_POSTGRES
def test_debug_logs_hold_no_phone_number_and_no_need_text(chat, cast, app, debug_logs):
    file_for_new_resident(chat)
    chat.say("township", "/pending")
    chat.press("township", "批准")
    logged = "\n".join(debug_logs)
    assert len(debug_logs) > 20  # SQL was logged: the scan is not vacuous
    assert PHONE not in logged and PHONE[3:7] + PHONE[7:] not in logged
    assert NEED not in logged and "温秀兰" not in logged


@ON_SQLITE_FILES
def test_the_database_file_holds_phone_numbers_only_as_ciphertext(chat, cast, app):
    if app.engine.dialect.name != "sqlite":
        pytest.skip("file scan applies to the embedded database")
    file_for_new_resident(chat)
    app.engine.dispose()  # checkpoint the WAL into the main file
    db = Path(app.engine.url.database)
    raw = db.read_bytes() + (db.with_name(db.name + "-wal").read_bytes() if db.with_name(db.name + "-wal").exists()
                             else b"")
    assert PHONE.encode() not in raw
    assert NEED.encode() in raw  # the need itself is stored (it is the order); only numbers are encrypted


def test_access_audit_lists_who_read_the_residents_data(chat, cast, app):
    number = file_order(chat)
    chat.say("township", "/pending")
    chat.say("hospital", "/pending")
    rid = stored(app, number).resident_id
    lines = access_report(app, rid)
    text = "\n".join(lines)
    assert "曾丽芳（S0005）" in text and "read" in text and "用途:review" in text
    assert "廖德福（S0006）" in text and "file" in text


@ALSO_ON_POSTGRES
def test_retention_purges_free_text_of_closed_orders_only(chat, cast, app, clock):
    closed = file_order(chat, "腰杆疼，弯不下腰", None)
    chat.say("township", "/pending")
    chat.press("township", "驳回")
    chat.say("township", "已在县医院治疗")
    still_open = file_order(chat, "眼睛花，看不清字", None)
    later = clock() + timedelta(days=app.settings.retention_days + 1)
    assert purge_expired_free_text(app, later) == 1
    assert stored(app, closed).need_text == "" and stored(app, closed).reason is None
    assert stored(app, closed).status is OrderStatus.REJECTED  # counts stay
    assert stored(app, still_open).need_text == "眼睛花，看不清字"
    assert purge_expired_free_text(app, later) == 0


@ALSO_ON_POSTGRES
def test_the_hourly_sweep_forgets_old_buttons_and_update_ids_but_not_recent_ones(chat, cast, app, clock, monkeypatch):
    from bot.jobs.worker import make_sweep
    from handlers.services.announcements import Announcer

    monkeypatch.setattr("bot.jobs.privacy.PURGE_BATCH", 2)  # several short transactions, as on a large backlog
    chat.say("doctor", "/new", update_id="old-update")
    old_card = chat.screens["doctor"][-1]
    clock.now += timedelta(days=8)
    chat.say("doctor", "/cancel", update_id="recent-update")
    chat.say("doctor", "/new")
    make_sweep(app, Announcer(app.uow, clock), clock)()
    # A redelivery of last week's update would be new again; today's is still recognised and ignored.
    assert chat.say("doctor", "/help", update_id="recent-update") == []
    with app.uow() as uow:
        assert uow.chat.first_time("test", "old-update", clock())
        assert not uow.chat.first_time("test", "recent-update", clock())
    # Buttons go after their 30 days, their payloads with them; the current card's buttons still work.
    clock.now += timedelta(days=23)
    make_sweep(app, Announcer(app.uow, clock), clock)()
    with app.uow() as uow:
        assert uow.chat.button(old_card.buttons[0][0].data) is None
        assert uow.chat.button(chat.screens["doctor"][-1].buttons[0][0].data) is not None


@ON_SQLITE_FILES
def test_forget_leaves_no_trace_but_counts(chat, cast, app, clock):
    """After /forget, the database file holds neither the resident's name, phone, words nor comments."""
    from tests.handlers.test_onboarding import issued_link

    need = "老人心口疼，胸闷气短，走路就喘，想看看心脏"
    number = file_order(chat, need)
    link = issued_link(chat)
    with app.uow() as uow:  # the township reviewer also uses WeCom: notices naming the resident go via the outbox
        acc = uow.chat.get_or_create("wecom", "zlf", "zlf", "曾丽芳", clock())
        acc.staff_id = uow.staff.by_code("S0005").id
        uow.chat.save(acc)
        uow.commit()
    chat.say("township", "/pending")
    chat.press("township", "退回补充")
    chat.say("township", "疼了多久？")
    chat.say("doctor", "/orders")
    chat.press("doctor", number)
    chat.press("doctor", "撤销订单")
    chat.say("doctor", "邱瑞鹏说不用看了")  # a reason that names him: also a trace
    chat.say("grandpa", f"/start r_{link}")
    chat.say("grandpa", "/forget")
    chat.press("grandpa", "确定撤回并删除")
    chat.press("doctor", "确认删除")  # the village doctor confirms the erasure
    with app.uow() as uow:
        assert uow.orders.count_by_status() == {"cancelled": 1}  # counts stay
        assert uow.orders.by_number(number).confirmed_specialty == "03.04"
    app.engine.dispose()  # last connection: the WAL is checkpointed and removed
    db = Path(app.engine.url.database)
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    for trace in ("邱瑞鹏", need, "13900003001", "疼了多久"):
        assert trace.encode() not in raw, trace


@ALSO_ON_POSTGRES
def test_forget_takes_the_hospitals_referral_note_from_the_audit_trail_and_keeps_the_event(chat, cast, app):
    """The note a hospital types when it refers an order up (上转安排) can say what the resident suffers from; the
    audit trail keeps it as the decision's detail. A resident's erasure blanks it there too, the decision stays."""
    import sqlalchemy as sa

    from storage.tables import AuditRow
    from tests.handlers.test_onboarding import issued_link

    number = file_order(chat)
    link = issued_link(chat)
    chat.say("township", "/pending")
    chat.press("township", "批准")
    chat.say("hospital", "/pending")
    chat.press("hospital", "上转")
    chat.say("hospital", "冠脉造影已约周三，带上心电图")
    chat.say("grandpa", f"/start r_{link}")
    chat.say("grandpa", "/forget")
    chat.press("grandpa", "确定撤回并删除")
    chat.press("doctor", "确认删除")
    with app.uow() as uow:
        rows = uow.session.execute(sa.select(AuditRow.action, AuditRow.reason, AuditRow.detail)
                                   .where(AuditRow.entity == "order", AuditRow.entity_id == number)).all()
    assert not [r for r in rows if "冠脉造影" in (r.detail or "") + (r.reason or "")], rows
    [referred] = [r for r in rows if r.action == "dispose_refer_up"]
    assert json.loads(referred.detail)["note"] == "（已删除）"
    assert referred.reason is None  # none was given: the trail does not show one deleted
