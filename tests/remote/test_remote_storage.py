"""The remote session repository, the same contract on a SQLite file and on PostgreSQL: stored and read back as
written, a stale write refused, reminders recorded, the sweep's window, the ledger's counts, the erasure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.remote import RemoteSession, SessionStatus
from storage.repositories.orders import ConcurrentUpdate
from tests.conftest import ON_SHARED_DATABASES
from tests.handlers.test_order_lifecycle import stored
from tests.remote.test_remote_chat import STARTS, approved_order


def new_session(app, order_id: int, resident_id: int, clock, starts=STARTS) -> int:
    with app.uow() as uow:
        expert = uow.staff.by_code("S0003")
        s = RemoteSession.schedule(order_id=order_id, resident_id=resident_id, hospital_code="CH350421",
                                   expert_id=expert.id, site_code="TC350421101", county_code="350421",
                                   starts_at=starts, room="腾讯会议 888 电话13912345678", actor_staff_id=expert.id,
                                   actor_role="hospital_reviewer", now=clock())
        uow.remote.add(s)
        uow.commit()
        return s.id


@ON_SHARED_DATABASES
def test_the_remote_repository_contract(chat, cast, app, clock):
    order = stored(app, approved_order(chat, app))
    sid = new_session(app, order.id, order.resident_id, clock)
    with app.uow() as uow:
        s = uow.remote.get(sid)
        assert (s.status, s.starts_at, s.county_code, s.version) == (SessionStatus.SCHEDULED, STARTS, "350421", 0)
        assert s.starts_at.tzinfo is not None
        assert [e.action for e in uow.audit.for_entity("remote", f"RC{sid}")] == ["schedule"]

    # Two people change it at once: the second write is refused, nothing half-written.
    with app.uow() as uow:
        b = uow.remote.get(sid)  # the reviewer's screen, read before the expert's write
    with app.uow() as first:
        a = first.remote.get(sid)
        a.hold(advice="电话 13912345678 复诊", refer_up=True, followup_plan="复查", actor_staff_id=1,
               actor_role="expert", now=STARTS + timedelta(hours=1))
        first.remote.save(a)
        first.commit()
    with app.uow() as second:
        b.cancel(reason="取消", actor_staff_id=1, actor_role="hospital_reviewer", now=clock())
        with pytest.raises(ConcurrentUpdate):
            second.remote.save(b)
    with app.uow() as uow:
        s = uow.remote.get(sid)
        assert s.status is SessionStatus.HELD and s.refer_up is True and s.version == 1
        assert "13912345678" not in (s.advice or "")  # free text is stored masked, as order texts are

    later = new_session(app, order.id, order.resident_id, clock, starts=STARTS + timedelta(days=3))
    with app.uow() as uow:
        assert [x.id for x in uow.remote.scheduled_before(STARTS + timedelta(days=4))] == [later]
        assert uow.remote.scheduled_before(STARTS + timedelta(days=2)) == []
        uow.remote.mark_reminded(later, "1d")
        uow.commit()
    with app.uow() as uow:
        assert uow.remote.get(later).reminded == "1d" and uow.remote.get(later).version == 0
        counts = sorted(uow.remote.counts(STARTS - timedelta(days=1), STARTS + timedelta(days=5)))
    assert counts == [("350421", "CH350421", "TC350421101", "held", 1),
                      ("350421", "CH350421", "TC350421101", "scheduled", 1)]

    with app.uow() as uow:
        uow.remote.forget_resident(order.resident_id, "（已删除）")
        uow.commit()
    with app.uow() as uow:
        left = [uow.remote.get(sid), uow.remote.get(later)]
    assert [(x.status.value, x.advice, x.followup_plan) for x in left] == [("held", None, None),
                                                                          ("cancelled", None, None)]
