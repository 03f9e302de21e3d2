"""A survey sheet never moves a recorded consent backwards: a resident's newer consent is kept over the sheet's
older date (a newer date on the sheet is taken), and a resident who withdrew consent (/forget) is not registered
again from a sheet whose consent date is before the withdrawal: the row is refused with the reason, like any
other wrong row (the doctor deletes it, or writes the date of the resident's new consent)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.handlers.test_onboarding import issued_link
from tests.handlers.test_order_lifecycle import file_order
from tests.survey.survey_helpers import VILLAGE, csv_bytes
from tests.survey.test_survey_chat import send_file


def consent_of(app, name: str = "邱瑞鹏", birth_year: int = 1942):
    with app.uow() as uow:
        r = uow.residents.find(name, VILLAGE, birth_year)
        return r.consent if r else None


def row(consent_date: str, need: str = "眼睛看不清一年了") -> list[str]:
    return ["邱瑞鹏", "男", "1942", "", need, consent_date, ""]


def test_an_older_consent_date_on_the_sheet_leaves_the_newer_recorded_consent(chat, cast, app, clock):
    file_order(chat)  # the village doctor records 邱瑞鹏's consent in chat today, 23 November 10:30
    recorded = consent_of(app)
    assert recorded.recorded_at == clock()
    send_file(chat, "doctor", "摸底.csv", csv_bytes([row("2026-11-02")]))
    chat.press("doctor", "全部提交")
    assert "已提交" in chat.replies(), chat.replies()
    assert consent_of(app).recorded_at == recorded.recorded_at  # not moved back to 2 November


def test_a_newer_consent_date_on_the_sheet_is_taken(chat, cast, app, clock):
    file_order(chat)
    clock.now = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)
    send_file(chat, "doctor", "摸底.csv", csv_bytes([row("2026-11-28")]))
    chat.press("doctor", "全部提交")
    assert "已提交" in chat.replies(), chat.replies()
    assert consent_of(app).recorded_at.astimezone(UTC).date().isoformat() in ("2026-11-27", "2026-11-28")


def erased_grandpa(chat) -> None:
    file_order(chat)
    chat.say("grandpa", f"/start r_{issued_link(chat)}")
    chat.say("grandpa", "/forget")
    chat.press("grandpa", "确定撤回并删除")
    chat.press("doctor", "确认删除")
    assert "已撤回同意" in chat.last("grandpa")


def test_an_old_sheet_does_not_register_again_a_resident_who_withdrew_consent(chat, cast, app, clock):
    erased_grandpa(chat)  # withdrawn on 23 November
    other = ["陈秀英", "女", "1950", "", "眼睛看不清一年了", "2026-11-21", ""]
    send_file(chat, "doctor", "摸底.csv", csv_bytes([other, row("2026-11-20")]))
    text = chat.replies()
    assert "第3行" in text and "撤回" in text and "row 3" in text, text
    assert "Traceback" not in text
    assert not any(b.label.startswith("全部提交") for s in chat.screens["doctor"][-2:] for r in s.buttons for b in r)
    assert consent_of(app) is None  # no resident 邱瑞鹏 again
    with app.uow() as uow:
        refusals = [e.reason for e in uow.audit.recent(20, action="refused") if e.entity == "survey"]
    assert refusals, "the refused sheet left no audit entry"


def test_a_consent_given_again_after_the_withdrawal_registers_the_resident_anew(chat, cast, app, clock):
    erased_grandpa(chat)
    clock.now = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
    send_file(chat, "doctor", "摸底.csv", csv_bytes([row("2026-11-25")]))  # signed again after withdrawing
    chat.press("doctor", "全部提交")
    assert "已提交" in chat.replies(), chat.replies()
    assert consent_of(app) is not None


# --- the SMS consent on the sheet follows the same rule ------------------------------------------------------------
def test_an_old_sheet_does_not_subscribe_again_a_resident_who_replied_td(templates, tmp_path, cipher):
    """A resident registered for SMS who later replied "TD" stays unsubscribed when an older sheet with their SMS
    consent date is imported again; their order is still filed (the health consent is a separate one)."""
    from handlers.services.sms import opt_out_by_reply
    from storage.uow import SqlUnitOfWork
    from tests.conftest import FIXED_NOW
    from tests.survey.survey_helpers import GOOD_ROWS, HEADER, post_orders
    from tests.survey.test_survey_cli import survey

    engine = templates.sqlite_engine(True, tmp_path / "survey.db")
    try:
        header = [*HEADER, "短信同意日期"]
        first = tmp_path / "a.csv"
        first.write_bytes(csv_bytes([GOOD_ROWS[0] + ["2026-11-20"]], header=header))
        assert survey(engine, str(first), "--village", VILLAGE).returncode == 0
        with SqlUnitOfWork(engine, cipher) as uow:
            assert opt_out_by_reply(uow, "13900003001", "TD", now=FIXED_NOW, provider="fake")
            uow.commit()
        again = tmp_path / "b.csv"
        again.write_bytes(csv_bytes([["邱瑞鹏", "男", "1942", "13900003001", "眼睛看不清一年了", "2026-11-20", "",
                                      "2026-11-20"]], header=header))
        done = survey(engine, str(again), "--village", VILLAGE)
        assert done.returncode == 0, done.stderr
        assert len(post_orders(engine, cipher)) == 2
        with SqlUnitOfWork(engine, cipher) as uow:
            [reg] = uow.sms.with_number("13900003001")
            assert not reg.active, "the old sheet subscribed again someone who had replied TD"
    finally:
        engine.dispose()
