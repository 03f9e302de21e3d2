"""An expert is never given two remote consultations at the same time: scheduling or moving a session that overlaps
another of the same expert (not cancelled) is refused politely, naming that session and its time, in chat and on the
command line. A session is taken to last 30 minutes: one starting 30 minutes after another is fine."""

from __future__ import annotations

import json

from tests.conftest import ON_SHARED_DATABASES
from tests.handlers.test_order_lifecycle import file_order
from tests.remote.test_remote_chat import approved_order, schedule_remote
from tests.remote.test_remote_cli import cli


def second_order(chat) -> str:
    number = file_order(chat, need="腰腿疼，走路没力气")
    chat.say("township", "/pending")
    chat.press("township", "批准")
    return number


def test_chat_refuses_a_second_consultation_of_the_expert_at_the_same_time_and_names_the_first(chat, cast, app):
    approved_order(chat, app)
    schedule_remote(chat)  # 11月25日 15:00 with 罗志明
    assert "已安排远程会诊" in chat.replies()
    second_order(chat)
    chat.say("hospital", "/pending")
    chat.press("hospital", "远程会诊")
    chat.press("hospital", "罗志明")
    chat.press("hospital", "雪峰镇卫生院")
    chat.say("hospital", "11月25日 15:15")
    answer = chat.last("hospital")
    assert "罗志明" in answer and "RC" in answer and "11月25日 15:00" in answer, answer
    assert "Traceback" not in answer and "链接" not in answer
    chat.say("hospital", "11月25日 15:30")  # half an hour later is free: the step goes on
    assert "链接" in chat.last("hospital"), chat.last("hospital")
    chat.say("hospital", "腾讯会议 888-999-000")
    assert "已安排远程会诊" in chat.replies(), chat.replies()
    with app.uow() as uow:
        refusals = [e.reason for e in uow.audit.recent(30, action="refused")]
    assert "remote.expert_busy" in refusals, refusals


def test_chat_refuses_to_move_a_consultation_onto_another_of_the_same_expert(chat, cast, app):
    approved_order(chat, app)
    schedule_remote(chat)  # 15:00
    second_order(chat)
    schedule_remote(chat, when="11月25日 16:00")
    assert "已安排远程会诊" in chat.replies(), chat.replies()
    chat.say("hospital", "/remote")
    chat.press("hospital", "改期")  # the newest card: the 16:00 session
    chat.say("hospital", "11月25日 14:45")
    answer = chat.last("hospital")
    assert "11月25日 15:00" in answer and "RC" in answer and "已改期" not in answer, answer
    chat.say("hospital", "11月25日 17:00")
    chat.say("hospital", "专家上午有手术")
    assert "已改期" in chat.last("hospital"), chat.last("hospital")


@ON_SHARED_DATABASES
def test_the_command_line_refuses_an_overlapping_consultation_in_both_languages(chat, cast, app, clock, tmp_path):
    approved_order(chat, app)
    first = cli(app, tmp_path, "schedule", "--order", _newest(app), "--expert", "S0003", "--site", "TC350421101",
                "--at", "2026-11-25 15:00", "--room", "腾讯会议 1", "--by", "S0002")
    assert first.returncode == 0, first.stderr
    rc = json.loads(first.stdout)["session"]
    second_order(chat)
    clash = cli(app, tmp_path, "schedule", "--order", _newest(app), "--expert", "S0003", "--site", "TC350421101",
                "--at", "2026-11-25 15:20", "--room", "腾讯会议 2", "--by", "S0002")
    assert clash.returncode == 2, clash.stdout
    assert rc in clash.stderr and "11月25日 15:00" in clash.stderr and "already has" in clash.stderr, clash.stderr
    ok = cli(app, tmp_path, "schedule", "--order", _newest(app), "--expert", "S0003", "--site", "TC350421101",
             "--at", "2026-11-25 15:30", "--room", "腾讯会议 2", "--by", "S0002")
    assert ok.returncode == 0, ok.stderr
    moved = cli(app, tmp_path, "move", "--session", json.loads(ok.stdout)["session"], "--at", "11月25日 14:50",
                "--reason", "专家要求", "--by", "S0002")
    assert moved.returncode == 2 and rc in moved.stderr, moved.stderr
    # A cancelled session frees its time.
    gone = cli(app, tmp_path, "cancel", "--session", rc, "--reason", "居民已住院", "--by", "S0002")
    assert gone.returncode == 0, gone.stderr
    again = cli(app, tmp_path, "move", "--session", json.loads(ok.stdout)["session"], "--at", "11月25日 15:00",
                "--reason", "专家要求", "--by", "S0002")
    assert again.returncode == 0, again.stderr


def _newest(app) -> str:
    with app.uow() as uow:
        return max(o.number for o in uow.orders.list(limit=50))


# --- two reviewers at once ----------------------------------------------------------------------------------------
def test_two_reviewers_scheduling_the_same_expert_at_once_never_both_get_the_time(seeded_engine, cipher):
    """On SQLite the second waits for the first's BEGIN IMMEDIATE; on PostgreSQL both would read the expert free, so
    scheduling takes a lock on the expert for the rest of its transaction."""
    import threading
    from datetime import UTC, datetime

    from domain.errors import DomainError
    from handlers.services.remote import schedule
    from storage.uow import uow_factory
    from tests.referrals.helpers import NOW, reviewer

    uows = uow_factory(seeded_engine, cipher)
    with uows() as uow:
        ids = [_approved(uow, name, NOW) for name in ("邱瑞鹏", "王霞月")]
        expert = uow.staff.by_code("S0003").id
        uow.commit()
    barrier = threading.Barrier(2)
    results: dict[int, object] = {}
    starts = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)

    def book(order_id: int) -> None:
        try:
            with uows() as uow:
                actor = reviewer(uow)
            barrier.wait(timeout=10)
            with uows() as uow:
                done = schedule(uow, actor, NOW, order_id, expert, "TC350421101", starts, "腾讯会议 1")
                uow.commit()
                results[order_id] = done.session is not None
        except DomainError as e:
            results[order_id] = e.key
        except Exception as e:  # a deadlock or anything else fails the test with its name
            results[order_id] = repr(e)

    threads = [threading.Thread(target=book, args=(i,)) for i in ids]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert sorted(map(str, results.values())) == ["True", "remote.expert_busy"], results


def _approved(uow, name: str, now) -> int:
    from domain.orders import Action, Order
    from domain.staff import Role

    r = next(x for x in uow.residents.in_villages(["350421101001"], name) if x.name == name)
    o = Order.file(resident_id=r.id, post_code="VP350421101001", village_code="350421101001",
                   filed_by_staff_id=uow.staff.by_code("S0006").id, need_text="胸闷气短，想请专家远程看看", now=now,
                   confirmed_specialty="03.04")
    uow.orders.add(o)
    o.apply(Action.TOWNSHIP_APPROVE, actor_staff_id=uow.staff.by_code("S0005").id, actor_role=Role.TOWNSHIP_REVIEWER,
            now=now)
    uow.orders.save(o)
    return o.id
