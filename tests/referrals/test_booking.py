"""Booking a referral slot on SQLite and PostgreSQL: the earliest free slot within the urgency window, never the
last place twice under two concurrent bookers, and the hospital's slots published by the command line."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from domain.errors import DomainError, PermissionDenied
from domain.orders import Urgency
from domain.referrals import ReferralStatus
from handlers.services.referrals import publish_slots, refer_up
from storage.crypto import FieldCipher
from storage.uow import uow_factory
from tests.conftest import ON_SQLITE_FILES, TEST_KEY
from tests.referrals.helpers import HOSPITAL, NOW, referred_order, reviewer, slot


@pytest.fixture
def uows(seeded_engine, cipher):
    return uow_factory(seeded_engine, cipher)


def test_refer_up_books_the_earliest_free_slot_of_the_specialty_within_the_urgency_window(uows):
    with uows() as uow:
        publish_slots(uow, None, HOSPITAL, [slot(date(2026, 11, 27)), slot(date(2026, 11, 25), capacity=1),
                                            slot(date(2026, 11, 24), specialty="10")], NOW)
        done = refer_up(uow, reviewer(uow), referred_order(uow), NOW, "心脏彩超")
        uow.commit()
    assert done.booked and done.slot.day == date(2026, 11, 25)
    assert done.referral.status is ReferralStatus.BOOKED
    with uows() as uow:
        assert uow.referrals.slot(done.slot.id).free == 0
        r = uow.referrals.of_order(done.referral.order_id)
        assert r.status is ReferralStatus.BOOKED and r.slot_id == done.slot.id and r.note == "心脏彩超"
        trail = [e.action for e in uow.audit.for_entity("referral", str(r.id))]
    assert trail == ["referral_book"]


def test_with_no_free_slot_in_the_window_the_referral_waits(uows):
    with uows() as uow:
        publish_slots(uow, None, HOSPITAL, [slot(date(2026, 11, 30))], NOW)  # after a SOON order's 3 days
        done = refer_up(uow, reviewer(uow), referred_order(uow, urgency=Urgency.SOON), NOW)
        uow.commit()
    assert not done.booked and done.referral.status is ReferralStatus.WAITING


def test_two_concurrent_bookers_never_both_get_the_last_place(uows):
    with uows() as uow:
        publish_slots(uow, None, HOSPITAL, [slot(date(2026, 11, 25), capacity=1)], NOW)
        ids = [referred_order(uow, resident=name).id for name in ("邱瑞鹏", "王霞月")]
        uow.commit()
    barrier = threading.Barrier(2)
    results: dict[int, object] = {}

    def book(order_id: int) -> None:
        try:
            with uows() as uow:
                order = uow.orders.get(order_id)
                actor = reviewer(uow)
            # Both start together; on SQLite the second waits for the first's BEGIN IMMEDIATE, on PostgreSQL both
            # read the slot free and the second's conditional UPDATE waits on the first's row lock.
            barrier.wait(timeout=10)
            with uows() as uow:
                results[order_id] = refer_up(uow, actor, order, NOW).booked
                uow.commit()
        except Exception as e:
            results[order_id] = e

    threads = [threading.Thread(target=book, args=(i,)) for i in ids]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert sorted(results.values(), key=str) == [False, True], results
    with uows() as uow:
        s = uow.referrals.slots(HOSPITAL, date(2026, 11, 25), date(2026, 11, 25))[0]
        statuses = sorted(uow.referrals.of_order(i).status.value for i in ids)
    assert (s.booked, s.capacity) == (1, 1)
    assert statuses == ["booked", "waiting"]


def test_republishing_a_slot_updates_it_and_never_below_what_is_booked(uows):
    with uows() as uow:
        publish_slots(uow, None, HOSPITAL, [slot(date(2026, 11, 25), capacity=2)], NOW)
        refer_up(uow, reviewer(uow), referred_order(uow), NOW)
        again = publish_slots(uow, None, HOSPITAL, [slot(date(2026, 11, 25), capacity=0 + 1, place="门诊2楼")], NOW)
        uow.commit()
    assert (again.new, again.updated) == (0, 1)
    s = again.slots[0]
    assert (s.capacity, s.booked, s.place) == (1, 1, "门诊2楼")


def test_slots_are_refused_for_the_past_for_a_township_and_for_another_hospitals_reviewer(uows):
    with uows() as uow:
        with pytest.raises(DomainError, match="slot_in_past"):
            publish_slots(uow, None, HOSPITAL, [slot(date(2026, 11, 20))], NOW)
        with pytest.raises(DomainError, match="not_hospital"):
            publish_slots(uow, None, "TC350421101", [slot(date(2026, 11, 25))], NOW)
        with pytest.raises(PermissionDenied):
            publish_slots(uow, reviewer(uow), "CH350404", [slot(date(2026, 11, 25))], NOW)


# --- the command line ------------------------------------------------------------------------------------------
def _env(engine) -> dict[str, str]:
    import os

    return {**os.environ, "DATABASE_URL": str(engine.url), "XUNZHEN_SECRET_KEY": TEST_KEY,
            "XUNZHEN_FAKE_NOW": "2026-11-23T10:30:00+08:00", "PYTHONIOENCODING": "utf-8"}


@ON_SQLITE_FILES
def test_the_command_line_imports_a_csv_of_slots_and_lists_them(chat_engine, tmp_path):
    from tests.cli_runner import run_bot

    f = tmp_path / "slots.csv"
    f.write_text("date,half_day,specialty,capacity,time,place,beds\n"
                 "2026-11-25,上午,心血管内科,5,08:30,门诊楼2层,2\n"
                 "2026-11-26,下午,03.04,3,,,\n", encoding="utf-8")
    out = run_bot(["referral-slots", "--hospital", HOSPITAL, "--import", str(f)], _env(chat_engine))
    assert out.returncode == 0, out.stderr
    assert '"new": 2' in out.stderr
    assert "11月25日（周三）上午 08:30｜心血管内科｜已约 0/5｜床位 2｜门诊楼2层" in out.stdout
    assert "11月26日（周四）下午｜心血管内科｜已约 0/3" in out.stdout
    again = run_bot(["referral-slots", "--hospital", HOSPITAL, "--import", str(f)], _env(chat_engine))
    assert '"new": 0, "updated": 2' in again.stderr


@ON_SQLITE_FILES
def test_a_bad_line_refuses_the_whole_file_in_both_languages(chat_engine, tmp_path):
    from tests.cli_runner import run_bot

    f = tmp_path / "slots.csv"
    f.write_text("date,half_day,specialty,capacity\n2026-11-25,上午,03.04,5\n2026-11-26,晚上,03.04,3\n",
                 encoding="utf-8")
    out = run_bot(["referral-slots", "--hospital", HOSPITAL, "--import", str(f)], _env(chat_engine))
    assert out.returncode == 2
    assert "第 3 行看不懂" in out.stderr and "line 3 of the slots file" in out.stderr
    listed = run_bot(["referral-slots", "--hospital", HOSPITAL], _env(chat_engine))
    assert "已约" not in listed.stdout  # nothing of the half-right file was stored


@ON_SQLITE_FILES
def test_the_command_line_marks_a_referral_and_discharges_it_down_with_a_template(chat_engine, tmp_path):
    from tests.cli_runner import run_bot

    factory = uow_factory(chat_engine, FieldCipher.from_text(TEST_KEY))
    with factory() as uow:
        publish_slots(uow, None, HOSPITAL, [slot(date(2026, 11, 25))], NOW)
        rid = refer_up(uow, reviewer(uow), referred_order(uow), NOW).referral.id
        uow.commit()
    env = _env(chat_engine)
    listed = run_bot(["referrals", "--hospital", HOSPITAL], env)
    assert f"{rid}\tXZ-" in listed.stdout and "\tbooked\t2026-11-25 am" in listed.stdout
    refused = run_bot(["referrals", "--hospital", HOSPITAL, "--mark", str(rid), "--as", "see", "--by", "S0002"], env)
    assert refused.returncode == 2 and "不能再“已就诊”" in refused.stderr
    not_reviewer = run_bot(["referrals", "--hospital", HOSPITAL, "--mark", str(rid), "--as", "arrive", "--by",
                            "S0003"], env)
    assert not_reviewer.returncode == 2 and "is not a hospital reviewer" in not_reviewer.stderr
    for state in ("arrive", "see"):
        out = run_bot(["referrals", "--hospital", HOSPITAL, "--mark", str(rid), "--as", state, "--by", "S0002"], env)
        assert out.returncode == 0, out.stderr
    out = run_bot(["referrals", "--hospital", HOSPITAL, "--discharge", str(rid), "--template", "bp", "--by", "S0002"],
                  env)
    assert out.returncode == 0 and "已下转\t7天后测血压；30天后测血压" in out.stdout, out.stderr
    with factory() as uow:
        tasks = uow.followups.of_source("referral", rid)
    assert [(x.what, x.due.isoformat()) for x in tasks] == [("测血压", "2026-11-30"), ("测血压", "2026-12-23")]
