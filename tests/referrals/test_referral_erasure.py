"""A resident who asks to be forgotten is erased from referrals and follow-up tasks too: the hospital's note, the
plan sent down, what was checked and the typed results leave the database file; the counts stay."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ON_SQLITE_FILES
from tests.referrals.test_referral_chat import referral_of, referred

NOTE = "心电图提示ST段改变，需做心脏彩超"
PLAN = "7天 复查心电图；30天 复查心电图"
RESULT = "心电图正常，胸闷已缓解"


@ON_SQLITE_FILES
def test_forget_erases_referral_notes_plans_and_follow_up_results_but_keeps_counts(chat, cast, app, clock):
    number = referred(chat, app)  # the hospital typed NOTE as its 上转 note
    chat.say("hospital", "/referrals")
    chat.press("hospital", "到院")
    chat.press("hospital", "已就诊")
    chat.press("hospital", "出院下转")
    chat.press("hospital", "自己输入")
    chat.say("hospital", PLAN)
    assert "已下转" in chat.last("hospital"), chat.texts("hospital")[-3:]
    clock.now = clock.now.replace(day=30, hour=1)
    chat.say("doctor", "/tasks")
    chat.press("doctor", "已完成")
    chat.say("doctor", RESULT)
    assert "已记录" in chat.last("doctor")

    chat.say("grandpa", "/forget")
    chat.press("grandpa", "确定撤回并删除")
    chat.press("doctor", "确认删除")
    assert "已撤回同意" in chat.last("grandpa")
    r = referral_of(app, number)
    assert r.status.value == "discharged" and r.note is None and r.plan is None  # the state still counts
    with app.uow() as uow:
        tasks = uow.followups.of_source("referral", r.id)
        assert [(x.status.value, x.what, x.result) for x in tasks] == [("done", "", None), ("cancelled", "", None)]
    app.engine.dispose()  # last connection: the WAL is checkpointed and removed
    db = Path(app.engine.url.database)
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    # NOTE itself is still in the order's audit event ``dispose_refer_up`` (its detail keeps the disposition note;
    # the append-only trigger allows only reasons to be redacted): a gap older than referrals, reported.
    for trace in ("邱瑞鹏", "复查心电图", RESULT):
        assert trace.encode() not in raw, trace
