"""Shared set-up for circuit tests: a circuit in 明溪县雪峰镇 with orders, subscribers and staff accounts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import weakref
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from domain.circuits import Circuit, CircuitLevel, HalfDay
from domain.orders import Action, Order, OrderStatus, Urgency
from domain.staff import Role
from handlers.services.announcements import Announcer
from storage.tables import ChatAccountRow, SubscriptionRow
from tests.conftest import TEST_KEY

CHINA = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
HOSPITAL = "CH350421"  # 明溪县总医院
TOWNSHIP = "350421101"  # 雪峰镇
VILLAGE = "350421101001"  # 城东村
OTHER_VILLAGE = "350421101002"  # 渔塘村, same township
POST = "VP350421101001"
CIRCUIT_DAY = date(2026, 12, 4)  # a Friday
CREATED = datetime(2026, 12, 2, 10, 0, tzinfo=CHINA)  # so only the 1-day reminder (12-03 09:00) applies
REMINDER_AT = datetime(2026, 12, 3, 9, 0, tzinfo=CHINA)


def china(text: str) -> datetime:
    """An aware datetime in Sanming time from ``YYYY-MM-DD HH:MM``."""
    return datetime.fromisoformat(text).replace(tzinfo=CHINA)


# Staff ids found on each unit of work: ``scheduled_order`` asks for four of them per order, and a full staff load
# (roles, specialties, the phone decrypted) flushes a session that holds every order made so far.
_STAFF_IDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def staff_id(uow, code: str) -> int:
    known = _STAFF_IDS.setdefault(uow, {})
    if code not in known:
        st = uow.staff.by_code(code)
        assert st is not None and st.id is not None
        known[code] = st.id
    return known[code]


def make_circuit(uow, *, place: str = TOWNSHIP, day: date = CIRCUIT_DAY, half: HalfDay = HalfDay.AM,
                 experts: tuple[str, ...] = ("S0003",), created: datetime = CREATED) -> Circuit:
    """A planned circuit of 明溪县总医院, logged as created at ``created``."""
    c = Circuit(HOSPITAL, place, day, half, CircuitLevel.TOWNSHIP, frozenset(staff_id(uow, e) for e in experts))
    uow.circuits.add(c)
    Announcer.record_created(uow, c, None, created)
    return c


def add_account(uow, platform: str, chat_id: str, now: datetime, *, staff: str | None = None,
                resident_id: int | None = None, villages: tuple[str, ...] = ()) -> int:
    """A chat account (bound to staff or a resident, subscribed to villages); returns its id."""
    row = ChatAccountRow(platform=platform, platform_user_id=chat_id, chat_id=chat_id, created_at=now,
                         staff_id=staff_id(uow, staff) if staff else None, resident_id=resident_id)
    uow.session.add(row)
    uow.session.flush()
    for v in villages:
        uow.session.add(SubscriptionRow(chat_account_id=row.id, village_code=v, created_at=now))
    uow.session.flush()
    assert row.id is not None
    return row.id


def add_subscribers(uow, n: int, now: datetime, *, platform: str = "telegram", first_chat: int = 100_000,
                    village: str = VILLAGE) -> list[str]:
    """``n`` subscribers of ``village`` with consecutive chat ids; one executemany, fast."""
    rows = [dict(platform=platform, platform_user_id=str(first_chat + i), chat_id=str(first_chat + i),
                 created_at=now, blocked=False, draft="{}") for i in range(n)]
    uow.session.execute(ChatAccountRow.__table__.insert(), rows)
    ids = [r for (r,) in uow.session.execute(
        ChatAccountRow.__table__.select().with_only_columns(ChatAccountRow.__table__.c.id)
        .where(ChatAccountRow.__table__.c.platform_user_id.in_([r["platform_user_id"] for r in rows])))]
    uow.session.execute(SubscriptionRow.__table__.insert(),
                        [dict(chat_account_id=i, village_code=village, created_at=now) for i in ids])
    return [r["chat_id"] for r in rows]


def scheduled_order(uow, c: Circuit | None, now: datetime, resident_name: str = "邱瑞鹏", *,
                    village: str = VILLAGE, specialty: str = "03.04", expert: str = "S0003",
                    urgency: Urgency = Urgency.ROUTINE) -> Order:
    """An order of a demo resident, moved through the reviews and scheduled on ``c`` (None: left awaiting)."""
    resident = next(r for r in uow.residents.in_villages([village]) if r.name == resident_name)
    doctor = staff_id(uow, "S0006")
    o = Order.file(resident_id=resident.id, post_code=POST, village_code=village, filed_by_staff_id=doctor,
                   need_text="胸闷气短，走路就喘", now=now, confirmed_specialty=specialty, urgency=urgency)
    uow.orders.add(o)
    tw, hs = staff_id(uow, "S0005"), staff_id(uow, "S0002")
    o.apply(Action.TOWNSHIP_APPROVE, actor_staff_id=tw, actor_role=Role.TOWNSHIP_REVIEWER, now=now)
    o.apply(Action.DISPOSE_CIRCUIT, actor_staff_id=hs, actor_role=Role.HOSPITAL_REVIEWER, now=now,
            expert_id=staff_id(uow, expert))
    if c is not None:
        o.apply(Action.SCHEDULE, actor_staff_id=hs, actor_role=Role.HOSPITAL_REVIEWER, now=now, circuit_id=c.id)
    uow.orders.save(o)
    assert o.status in (OrderStatus.SCHEDULED, OrderStatus.AWAITING_CIRCUIT)
    return o


class Clock:
    """A clock tests set by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def worker_env(database_url: str, fake_root: str | None, fake_now: datetime, **extra: str) -> dict[str, str]:
    """Environment for a real ``python -m bot worker`` process."""
    from bot.testing.fake_telegram import DEFAULT_TOKEN

    env = {k: v for k, v in os.environ.items() if not k.startswith(("XUNZHEN_", "TELEGRAM_", "DATABASE_URL"))}
    env.update(DATABASE_URL=database_url, XUNZHEN_SECRET_KEY=TEST_KEY, XUNZHEN_FAKE_NOW=fake_now.isoformat(),
               PTB_TIMEDELTA="true", PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING", XUNZHEN_SWEEP_SECONDS="1",
               XUNZHEN_OUTBOX_LEASE_SECONDS="4")
    if fake_root:
        env.update(TELEGRAM_TOKEN=DEFAULT_TOKEN, TELEGRAM_API_BASE_URL=fake_root)
    env.update(extra)
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``python -m bot worker`` and wait until it says it is ready."""
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if b"worker ready" in log.read_bytes():
            return proc
        if proc.poll() is not None:
            raise AssertionError(f"worker exited early:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"worker not ready:\n{log.read_text(errors='replace')[-3000:]}")


def stop_worker(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM and wait (a clean stop)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class RunningClock:
    """A clock that starts at ``start`` and runs at real speed (for retry delays measured in real seconds)."""

    def __init__(self, start: datetime):
        import time as _time

        self.start, self.t0, self._mono = start, _time.monotonic(), _time.monotonic

    def __call__(self) -> datetime:
        from datetime import timedelta

        return self.start + timedelta(seconds=self._mono() - self.t0)
