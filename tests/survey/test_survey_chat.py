"""The survey sheet sent in chat (issue 19, 摸底导入): a village doctor sends the file, gets one summary card, and
confirms all or goes through the rows; nothing is filed before that, the pending import survives a restart, and
nobody else can confirm it."""

from __future__ import annotations

import itertools

from bot.bootstrap import build_conversation
from domain.staff import Role
from handlers import Attachment, FloodGuard, Inbound
from tests.conftest import ALSO_ON_POSTGRES
from tests.handlers.harness import ChatHarness
from tests.survey.survey_helpers import EMERGENCY_ROW, GOOD_ROWS, csv_bytes, xlsx_bytes


def send_file(chat: ChatHarness, user: str, name: str, data: bytes):
    """``user`` sends a file (a Telegram document, a WeCom file) to the bot."""
    return chat.send(Inbound(chat.platform, user, user, update_id=f"file-{name}-{len(chat.texts(user))}",
                             display_name=user, attachment=Attachment(name, data)))


@ALSO_ON_POSTGRES
def test_a_sheet_sent_in_chat_gives_one_summary_card_and_files_only_when_confirmed(chat, cast, app):
    send_file(chat, "doctor", "摸底.xlsx", xlsx_bytes(GOOD_ROWS))
    card = chat.last("doctor")
    assert "3" in card and "新居民" in card and "骨科" in card and "眼科" in card and "心血管内科" in card
    with app.uow() as uow:
        assert uow.orders.list(post_codes=["VP350421101001"]) == []  # nothing filed yet

    shown, button = chat.find_button("doctor", "全部提交")
    chat.press("doctor", "全部提交")
    assert "已提交" in chat.replies() and "XZ-" in chat.replies()
    with app.uow() as uow:
        filed = uow.orders.list(post_codes=["VP350421101001"])
        assert len(filed) == 3
        names = {uow.residents.get(o.resident_id).name for o in filed}
    assert names == {r[0] for r in GOOD_ROWS}
    # the township hears of the orders
    assert any("摸底" in t or "XZ-" in t for t in chat.texts("township"))

    # the same button pressed again (a second tap before the card changed) files nothing twice
    chat.send(Inbound(chat.platform, "doctor", "doctor", button=button.data, update_id="again",
                      message_id=shown.message_id))
    assert "XZ-" not in chat.replies()
    with app.uow() as uow:
        assert len(uow.orders.list(post_codes=["VP350421101001"])) == 3


def test_an_emergency_comes_first_on_the_card_and_confirm_all_leaves_it_out(chat, cast, app, clock):
    send_file(chat, "doctor", "摸底.csv", csv_bytes([*GOOD_ROWS, EMERGENCY_ROW], "gbk"))
    card = chat.last("doctor")
    assert "急症" in card and "黄金花" in card and "120" in card
    assert card.index("黄金花") < card.index("骨科")
    assert "已通知：雪峰镇卫生院 曾丽芳" in card  # the township is alerted, as for a typed emergency
    assert any("黄金花" in text for text in chat.deliver_outbox(app.uow, clock()))
    chat.press("doctor", "全部提交")
    with app.uow() as uow:
        filed = uow.orders.list(post_codes=["VP350421101001"])
        assert len(filed) == 3
        assert "黄金花" not in {uow.residents.get(o.resident_id).name for o in filed}


def test_the_rows_can_be_opened_one_by_one_and_an_emergency_filed_only_when_the_doctor_says_so(chat, cast, app):
    send_file(chat, "doctor", "摸底.csv", csv_bytes([EMERGENCY_ROW, GOOD_ROWS[1]]))
    chat.press("doctor", "逐行查看")
    first = chat.last("doctor")
    assert "黄金花" in first and "急症" in first
    chat.press("doctor", "不是急症")
    with app.uow() as uow:
        [o] = uow.orders.list(post_codes=["VP350421101001"])
        assert uow.residents.get(o.resident_id).name == "黄金花"
        assert o.emergency_override
    assert "林新民" in chat.last("doctor")  # the next row comes
    chat.press("doctor", "跳过")
    with app.uow() as uow:
        assert len(uow.orders.list(post_codes=["VP350421101001"])) == 1


def test_a_sheet_with_errors_is_refused_in_chat_with_every_row_in_both_languages(chat, cast, app):
    rows = [*GOOD_ROWS, ["张三", "男", "1960", "", "腰疼", "", ""],
            ["李四", "未知", "1960", "", "腰疼", "2026-11-20", ""]]
    send_file(chat, "doctor", "摸底.csv", csv_bytes(rows))
    text = chat.replies()
    for row in (5, 6):
        assert f"第{row}行" in text and f"row {row}" in text
    assert "知情同意" in text
    assert not any(b.label.startswith("全部提交") for s in chat.screens["doctor"] for r in s.buttons for b in r)
    with app.uow() as uow:
        assert uow.orders.list(post_codes=["VP350421101001"]) == []


def test_a_file_that_is_no_sheet_gets_a_polite_answer(chat, cast):
    send_file(chat, "doctor", "照片.jpg", b"\xff\xd8\xff\xe0 a photo")
    assert "xlsx" in chat.last("doctor") and "CSV" in chat.last("doctor").upper()
    send_file(chat, "doctor", "s.xlsx", b"PK\x03\x04 broken")
    assert "Traceback" not in chat.last("doctor") and chat.last("doctor")


def test_the_pending_import_survives_a_restart(chat, cast, app, clock):
    send_file(chat, "doctor", "摸底.csv", csv_bytes(GOOD_ROWS))
    _shown, _button = chat.find_button("doctor", "全部提交")
    restarted = ChatHarness(build_conversation(app, clock=clock, flood=FloodGuard(limit=10_000)))
    restarted.screens = chat.screens
    restarted._updates = itertools.count(10_000)  # the platform's update ids go on where they were
    restarted.press("doctor", "全部提交")
    with app.uow() as uow:
        assert len(uow.orders.list(post_codes=["VP350421101001"])) == 3


@ALSO_ON_POSTGRES
def test_another_doctor_cannot_confirm_someone_elses_import(chat, cast, app, clock):
    chat.login("other_doctor", "S0289", Role.VILLAGE_DOCTOR, app.uow, clock())  # 朱涵 of 渔塘村
    send_file(chat, "doctor", "摸底.csv", csv_bytes(GOOD_ROWS))
    _, button = chat.find_button("doctor", "全部提交")
    chat.send(Inbound(chat.platform, "other_doctor", "other_doctor", button=button.data, update_id="forged"))
    assert "全部提交" not in chat.last("other_doctor") and "已提交" not in chat.last("other_doctor")
    with app.uow() as uow:
        assert uow.orders.list(post_codes=["VP350421101001"]) == []
        assert uow.orders.list(post_codes=["VP350421101002"]) == []

    # and the use case itself refuses it, whoever calls it
    import pytest

    from domain.errors import PermissionDenied
    from handlers.services.survey import confirm_all, pending_of
    from tests.survey.service_helpers import actor

    with app.uow() as uow:
        [pending] = pending_of(uow, staff_code="S0006")
        with pytest.raises(PermissionDenied):
            confirm_all(uow, actor(uow, "S0289", Role.VILLAGE_DOCTOR), clock(), pending.id)
    with app.uow() as uow:
        assert uow.orders.list(post_codes=["VP350421101001"]) == []


def test_the_template_button_sends_the_blank_sheet(chat, cast):
    chat.say("doctor", "/survey")
    assert "模板" in chat.last("doctor")
    outs = chat.press("doctor", "下载模板")
    files = [o.attachment for o in outs if o.attachment is not None]
    assert files and files[0].filename.endswith(".xlsx")
    import io

    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(files[0].data)).active
    assert "知情同意日期" in [c.value for c in next(ws.iter_rows(max_row=1))]


def test_a_resident_or_a_reviewer_sending_a_file_is_told_it_is_not_for_them(chat, cast):
    send_file(chat, "township", "摸底.csv", csv_bytes(GOOD_ROWS))
    assert "村医" in chat.last("township")


def test_a_survey_emergency_alert_names_the_rows_resident_not_the_one_in_the_doctors_draft(chat, cast, app):
    chat.say("doctor", "/new")
    chat.say("doctor", "邱瑞鹏")
    chat.press("doctor", "邱瑞鹏")  # a step-by-step order half done: 邱瑞鹏 is in the draft
    send_file(chat, "doctor", "摸底.csv", csv_bytes([EMERGENCY_ROW]))
    with app.uow() as uow:
        alert = uow.alerts.get(1)
    assert alert is not None and alert.resident_name == "黄金花" and alert.resident_id is None


def test_the_same_sheet_sent_twice_and_confirmed_twice_files_each_order_once(chat, cast, app):
    send_file(chat, "doctor", "摸底.csv", csv_bytes(GOOD_ROWS))
    first, yes1 = chat.find_button("doctor", "全部提交")
    send_file(chat, "doctor", "摸底.csv", csv_bytes(GOOD_ROWS))  # "it did not seem to arrive"
    second, yes2 = chat.find_button("doctor", "全部提交")
    for n, (screen, button) in enumerate(((first, yes1), (second, yes2))):
        chat.send(Inbound(chat.platform, "doctor", "doctor", button=button.data, update_id=f"twice-{n}",
                          message_id=screen.message_id))
    with app.uow() as uow:
        filed = uow.orders.list(post_codes=["VP350421101001"])
        people = {o.resident_id for o in filed}
    assert len(filed) == len(people) == 3  # three people, one order each, one record each
