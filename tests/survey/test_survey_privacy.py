"""A pending survey import holds residents' health data: a resident who is erased (/forget) leaves it too, and an
import nobody confirmed is purged with the chat's leftovers (issue 19; PIPL)."""

from __future__ import annotations

from datetime import timedelta

from bot.jobs.privacy import purge_chat_leftovers
from tests.survey.survey_helpers import GOOD_ROWS, csv_bytes
from tests.survey.test_survey_chat import send_file


def test_an_erased_resident_leaves_a_pending_import_and_is_never_filed_from_it(chat, cast, app, clock):
    send_file(chat, "doctor", "摸底.csv", csv_bytes(GOOD_ROWS))  # 邱瑞鹏 is on record: the first row
    with app.uow() as uow:
        [r] = [r for r in uow.residents.in_villages(["350421101001"]) if r.name == "邱瑞鹏"]
        uow.residents.forget(r.id, clock())  # what /forget and the privacy service do
        uow.commit()
    with app.uow() as uow:
        [pending] = uow.surveys.pending_of(uow.staff.by_code("S0006").id)
        assert "邱瑞鹏" not in {row["name"] for row in pending.rows} and len(pending.rows) == 2
    chat.press("doctor", "全部提交")
    with app.uow() as uow:
        filed = uow.orders.list(post_codes=["VP350421101001"])
        assert len(filed) == 2
        assert "邱瑞鹏" not in {uow.residents.get(o.resident_id).name for o in filed}


def test_an_import_left_unconfirmed_is_purged_with_the_chats_leftovers(chat, cast, app, clock):
    send_file(chat, "doctor", "摸底.csv", csv_bytes(GOOD_ROWS))
    purge_chat_leftovers(app, clock() + timedelta(days=29))
    with app.uow() as uow:
        assert len(uow.surveys.pending_of(uow.staff.by_code("S0006").id)) == 1
    purge_chat_leftovers(app, clock() + timedelta(days=31))
    with app.uow() as uow:
        assert uow.surveys.pending_of(uow.staff.by_code("S0006").id) == []


def test_the_access_report_shows_the_doctor_read_a_resident_the_sheet_names(chat, cast, app):
    from bot.jobs.privacy import access_report

    send_file(chat, "doctor", "摸底.csv", csv_bytes(GOOD_ROWS))
    with app.uow() as uow:
        [r] = [r for r in uow.residents.in_villages(["350421101001"]) if r.name == "邱瑞鹏"]
    lines = access_report(app, r.id)
    assert any("廖德福" in line and "survey" in line for line in lines), lines
