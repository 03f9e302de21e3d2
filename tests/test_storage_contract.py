"""One storage contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import dataclasses
import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from domain.errors import DomainError, IllegalTransition
from domain.orders import Action, Order, OrderStatus, SpecialPopulation, Urgency
from domain.reference import ImportRejected
from domain.staff import Consent, Resident, Role, Sex
from storage.reference import import_files
from storage.repositories.orders import ConcurrentUpdate
from storage.uow import SqlUnitOfWork
from tests.conftest import FIXED_NOW, put_prompt

DEMO_POST = "VP350421101001"  # 城东村卫生所（示例）, 雪峰镇, 明溪县
DEMO_VILLAGE = "350421101001"


def _new_order(uow: SqlUnitOfWork, text: str = "老人心口疼，晚上喘不上气") -> Order:
    doctor = uow.staff.by_code("S0006")
    resident = Resident(
        "测试居民", Sex.FEMALE, 1950, DEMO_VILLAGE, phone="13900001111", consent=Consent("v1", FIXED_NOW, doctor.id)
    )
    rid = uow.residents.add(resident)
    order = Order.file(
        resident_id=rid,
        post_code=DEMO_POST,
        village_code=DEMO_VILLAGE,
        filed_by_staff_id=doctor.id,
        need_text=text,
        now=FIXED_NOW,
        suggested_specialty="03.04",
        special_populations=frozenset({SpecialPopulation.ELDERLY}),
    )
    return uow.orders.add(order)


def test_schema_migrates_to_an_empty_database(uow_factory):
    with uow_factory() as uow:
        assert uow.reference.counts()["support_relations"] == 0


def test_demo_seed_loads_sanming(seeded_uow):
    with seeded_uow() as uow:
        g = uow.reference.gazetteer()
        sanming_counties = [p for p in uow.reference.children("350400")]
        assert {p.name for p in sanming_counties} >= {
            "三元区",
            "沙县区",
            "永安市",
            "明溪县",
            "清流县",
            "宁化县",
            "大田县",
            "尤溪县",
            "将乐县",
            "泰宁县",
            "建宁县",
        }
        assert g.is_within(DEMO_VILLAGE, "350421")
        experts = uow.staff.count(Role.EXPERT)
        assert experts >= 15
        net = uow.reference.jurisdiction().network
        # 福建省第二人民医院 supports 明溪总医院 and through it the villages of 明溪县.
        assert net.supports("P350100001", "CH350421", date(2026, 11, 23))
        assert net.supports("P350100001", DEMO_POST, date(2026, 11, 23))
        assert not net.supports("P350100002", DEMO_POST, date(2026, 11, 23))


def test_institution_phones_are_stored_as_given_and_kept_by_a_file_without_them(seeded_uow):
    with seeded_uow() as uow:
        assert uow.reference.institution("TC350421101").phone == "0598-6600112"
        assert uow.reference.institution(DEMO_POST).phone is None
        import_files(uow, {"institutions.csv": "code,name,kind,place_code\n"
                                               "TC350421101,雪峰镇卫生院,township_center,350421101\n".encode()},
                     FIXED_NOW.date())
    with seeded_uow() as uow:
        assert uow.reference.institution("TC350421101").phone == "0598-6600112"
        import_files(uow, {"institutions.csv": "code,name,kind,place_code,phone\n"
                                               "TC350421101,雪峰镇卫生院,township_center,350421101,\n".encode()},
                     FIXED_NOW.date())
    with seeded_uow() as uow:
        assert uow.reference.institution("TC350421101").phone is None
        assert uow.reference.jurisdiction().institutions["CH350421"].phone == "0598-6500231"


def test_seeding_twice_changes_nothing(seeded_uow):
    from bot.demo.run import demo_files

    with seeded_uow() as uow:
        report = import_files(uow, demo_files(), FIXED_NOW.date())
    assert report.total_changed == 0
    assert sum(report.unchanged.values()) > 1000


def test_order_gets_a_daily_number_and_audit_trail(seeded_uow):
    with seeded_uow() as uow:
        first = _new_order(uow)
        second = _new_order(uow, "眼睛花，看不清字")
        uow.commit()
    assert first.number == "XZ-20261123-0001"
    assert second.number == "XZ-20261123-0002"
    with seeded_uow() as uow:
        stored = uow.orders.by_number("XZ-20261123-0002")
        assert stored.need_text == "眼睛花，看不清字"
        assert stored.special_populations == frozenset({SpecialPopulation.ELDERLY})
        events = uow.audit.for_entity("order", first.number)
        assert [(e.action, e.to_status) for e in events] == [("file", "submitted")]


def test_transitions_persist_with_their_audit_events(seeded_uow):
    with seeded_uow() as uow:
        order = _new_order(uow)
        reviewer = uow.staff.by_code("S0005")
        order.apply(
            Action.TOWNSHIP_RETURN,
            actor_staff_id=reviewer.id,
            actor_role=Role.TOWNSHIP_REVIEWER,
            now=FIXED_NOW,
            reason="请补充血压数值",
        )
        uow.orders.save(order)
        uow.commit()
    with seeded_uow() as uow:
        stored = uow.orders.get(order.id)
        assert stored.status is OrderStatus.RETURNED
        assert stored.question == "请补充血压数值"
        trail = uow.audit.for_entity("order", order.number)
        assert [e.action for e in trail] == ["file", "township_return"]
        assert trail[1].reason == "请补充血压数值" and trail[1].from_status == "submitted"


def test_a_failed_transaction_leaves_no_half_written_order(seeded_uow):
    with seeded_uow() as uow:
        order = _new_order(uow)
        number = order.number
        # no commit: leaving the block rolls everything back
    with seeded_uow() as uow:
        assert uow.orders.by_number(number) is None
        assert uow.audit.for_entity("order", number) == []
        assert uow.residents.count() == 30


def test_stale_write_is_refused(seeded_uow):
    with seeded_uow() as uow:
        order = _new_order(uow)
        uow.commit()
    reviewer_id = None
    with seeded_uow() as a:
        reviewer_id = a.staff.by_code("S0005").id
        first = a.orders.get(order.id)
    with seeded_uow() as b:
        second = b.orders.get(order.id)
        second.apply(
            Action.TOWNSHIP_APPROVE, actor_staff_id=reviewer_id, actor_role=Role.TOWNSHIP_REVIEWER, now=FIXED_NOW
        )
        b.orders.save(second)
        b.commit()
    with seeded_uow() as a:
        first.apply(
            Action.TOWNSHIP_REJECT,
            actor_staff_id=reviewer_id,
            actor_role=Role.TOWNSHIP_REVIEWER,
            now=FIXED_NOW,
            reason="重复",
        )
        with pytest.raises(ConcurrentUpdate):
            a.orders.save(first)
    with seeded_uow() as uow:
        assert uow.orders.get(order.id).status is OrderStatus.TOWNSHIP_APPROVED


def test_an_order_saved_twice_in_one_transaction_is_stored_as_last_saved(seeded_uow):
    """Orders are written back only where they changed since read (or last saved) here: every change lands, the
    unchanged columns keep their values, and each save still moves the version on."""
    with seeded_uow() as uow:
        order = _new_order(uow)
        uow.commit()
    with seeded_uow() as uow:
        township, hospital = uow.staff.by_code("S0005"), uow.staff.by_code("S0002")
        o = uow.orders.get(order.id)
        o.apply(Action.TOWNSHIP_APPROVE, actor_staff_id=township.id, actor_role=Role.TOWNSHIP_REVIEWER,
                now=FIXED_NOW)
        uow.orders.save(o)
        o.apply(Action.DISPOSE_CIRCUIT, actor_staff_id=hospital.id, actor_role=Role.HOSPITAL_REVIEWER,
                now=FIXED_NOW + timedelta(minutes=5), note="巡诊时看")
        uow.orders.save(o)
        uow.orders.save(o)  # nothing changed: only the version moves
        uow.commit()
    with seeded_uow() as uow:
        stored = uow.orders.get(order.id)
    assert stored.version == 3
    assert (stored.status, stored.disposition_note, stored.updated_at) == (
        OrderStatus.AWAITING_CIRCUIT, "巡诊时看", FIXED_NOW + timedelta(minutes=5))
    assert dataclasses.replace(stored, events=[]) == dataclasses.replace(o, events=[])


def test_audit_log_is_append_only(seeded_uow):
    with seeded_uow() as uow:
        _new_order(uow)
        uow.commit()
    for stmt in ("UPDATE audit_event SET reason = 'x'", "DELETE FROM audit_event"):
        with seeded_uow() as uow, pytest.raises(sa.exc.DBAPIError, match="append-only"):
            uow.session.exec(sa.text(stmt))


def test_an_audit_reason_may_only_be_redacted(seeded_uow):
    """Erasure on /forget may blank a free-text reason; nothing else in the trail can change."""
    with seeded_uow() as uow:
        order = _new_order(uow)
        reviewer = uow.staff.by_code("S0005")
        order.apply(Action.TOWNSHIP_REJECT, actor_staff_id=reviewer.id, actor_role=Role.TOWNSHIP_REVIEWER,
                    now=FIXED_NOW, reason="测试居民已住院")
        uow.orders.save(order)
        uow.commit()
    with seeded_uow() as uow:
        uow.session.exec(sa.text("UPDATE audit_event SET reason = '（已删除）' WHERE reason = '测试居民已住院'"))
        uow.commit()
    tampering = ("UPDATE audit_event SET reason = '（已删除）', action = 'x'", "UPDATE audit_event SET entity_id = 'y'",
                 # the detail may only lose its note (migration 0015), not be rewritten
                 "UPDATE audit_event SET reason = '（已删除）', detail = '{\"note\": \"（已删除）\"}'")
    for stmt in tampering:
        with seeded_uow() as uow, pytest.raises(sa.exc.DBAPIError, match="append-only"):
            uow.session.exec(sa.text(stmt))
    with seeded_uow() as uow:
        assert [e.reason for e in uow.audit.for_entity("order", order.number)] == [None, "（已删除）"]


def test_phone_numbers_are_encrypted_at_rest_and_found_by_hash(seeded_uow):
    with seeded_uow() as uow:
        order = _new_order(uow)
        uow.commit()
    with seeded_uow() as uow:
        raw = uow.session.exec(sa.text("SELECT phone_enc, phone_hash FROM resident WHERE name = '测试居民'")).one()
        assert "13900001111" not in raw[0] and "13900001111" not in raw[1]
        found = uow.residents.find_by_phone("+86 139-0000-1111")
        assert [r.name for r in found] == ["测试居民"]
        assert found[0].phone == "13900001111"
        assert uow.orders.get(order.id).resident_id == found[0].id


def test_experts_are_found_by_specialty_at_supporting_hospitals(seeded_uow):
    with seeded_uow() as uow:
        cardiology = uow.staff.experts_with_specialty(["CH350421"], "03.04")
        assert "S0003" in {s.code for s in cardiology}
        assert all(s.has_role(Role.EXPERT) for s in cardiology)
        eyes = uow.staff.experts_with_specialty(["CH350421"], "10")
        assert {s.code for s in eyes} == {"S0004"} | {s.code for s in eyes if s.code != "S0004"}
        assert "S0003" not in {s.code for s in eyes}


def test_bad_import_writes_nothing(engine, cipher):
    places = "code,name,level,parent_code,market_days\n350400,三明市,city,,\n350421,明溪县,county,350400,\n"
    bad_inst = "code,name,kind,place_code\nX1,某卫生院,township_center,999999\n"
    with SqlUnitOfWork(engine, cipher) as uow, pytest.raises(ImportRejected) as err:
        import_files(uow, {"places.csv": places.encode(), "institutions.csv": bad_inst.encode()}, FIXED_NOW.date())
    assert err.value.errors[0].row == 2
    with SqlUnitOfWork(engine, cipher) as uow:
        assert uow.reference.gazetteer().get("350400") is None


def test_gbk_files_from_excel_are_accepted(engine, cipher):
    places = "code,name,level,parent_code,market_days\r\n350400,三明市,city,,\r\n350421,明溪县,county,350400,\r\n"
    with SqlUnitOfWork(engine, cipher) as uow:
        report = import_files(uow, {"places.csv": places.encode("gbk")}, FIXED_NOW.date())
    assert report.changed == {"places": 2}
    with SqlUnitOfWork(engine, cipher) as uow:
        assert uow.reference.place("350421").name == "明溪县"


def test_concurrent_writers_never_see_database_locked(seeded_engine, cipher):
    """Many threads filing orders at once: every one lands, numbers are unique, none fails."""
    errors: list[Exception] = []
    numbers: list[str] = []
    lock = threading.Lock()

    def worker():
        for _ in range(5):
            try:
                with SqlUnitOfWork(seeded_engine, cipher) as uow:
                    # read-then-write: the counter and the order in one transaction
                    o = _new_order(uow)
                    uow.commit()
                with lock:
                    numbers.append(o.number)
            except Exception as e:
                errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(numbers) == 40 and len(set(numbers)) == 40


def test_illegal_transition_is_not_persisted(seeded_uow):
    with seeded_uow() as uow:
        order = _new_order(uow)
        expert = uow.staff.by_code("S0003")
        with pytest.raises(IllegalTransition):
            order.apply(Action.MARK_SERVED, actor_staff_id=expert.id, actor_role=Role.EXPERT, now=FIXED_NOW)
        uow.commit()
    with seeded_uow() as uow:
        assert uow.orders.get(order.id).status is OrderStatus.SUBMITTED


def test_order_numbers_restart_each_day_in_china_time(seeded_uow):
    with seeded_uow() as uow:
        doctor = uow.staff.by_code("S0006")
        rid = uow.residents.add(Resident("甲", Sex.MALE, 1960, DEMO_VILLAGE, consent=Consent("v1", FIXED_NOW, 1)))
        late = FIXED_NOW.replace(hour=15, minute=59)  # 23:59 in China
        after_midnight = late + timedelta(minutes=2)  # 00:01 next day in China
        numbers = []
        for when in (late, after_midnight):
            o = Order.file(
                resident_id=rid,
                post_code=DEMO_POST,
                village_code=DEMO_VILLAGE,
                filed_by_staff_id=doctor.id,
                need_text="腰杆疼",
                now=when,
                urgency=Urgency.SOON,
            )
            numbers.append(uow.orders.add(o).number)
        uow.commit()
    assert numbers == ["XZ-20261123-0001", "XZ-20261124-0001"]


def test_confirmed_orders_become_training_examples(seeded_uow):
    with seeded_uow() as uow:
        _new_order(uow)
        uow.commit()
    with seeded_uow() as uow:
        rows = list(uow.orders.confirmed_examples())
    assert rows == [("老人心口疼，晚上喘不上气", "03.04", 76)]


def test_empty_need_is_refused_before_anything_is_stored(seeded_uow):
    with seeded_uow() as uow, pytest.raises(DomainError, match=r"order\.need\.empty"):
        _new_order(uow, "   ")


def test_an_account_change_undone_by_a_rollback_is_written_again(seeded_uow):
    """Accounts are written back only where they changed; a rollback must not leave that check believing the
    database still holds the undone change (the next save would be skipped and the step lost)."""
    with seeded_uow() as uow:
        uow.chat.get_or_create("test", "u1", "u1", "居民", FIXED_NOW)
        uow.commit()
    with seeded_uow() as uow:
        acc = uow.chat.account("test", "u1")
        acc.start("new.need", FIXED_NOW, rid=7)
        uow.chat.save(acc)
        uow.rollback()
        uow.chat.save(acc)  # the same object, unchanged since the rolled-back save
        uow.commit()
    with seeded_uow() as uow:
        stored = uow.chat.account("test", "u1")
        assert (stored.step, stored.draft) == ("new.need", {"rid": 7})


def test_audit_events_are_visible_in_their_transaction_and_gone_with_its_rollback(seeded_uow):
    from domain.orders import AuditEvent

    def event(n: int) -> AuditEvent:
        return AuditEvent(None, "system", "read", "resident", "42", None, None, None, FIXED_NOW, {"n": n})

    with seeded_uow() as uow:
        uow.audit.append(event(1))
        assert [e.detail["n"] for e in uow.audit.for_entity("resident", "42")] == [1]
        uow.rollback()
        uow.audit.append(event(2))
        uow.commit()
    with seeded_uow() as uow:
        assert [e.detail["n"] for e in uow.audit.for_entity("resident", "42")] == [2]


def test_a_pressed_button_read_with_the_account_answers_as_its_own_lookup(seeded_uow):
    """The button a user pressed is read with their account; ``button`` answers the same as a lookup of its own:
    the owner, action, payload and time, None for an unknown token, and nothing stale after buttons are written."""
    with seeded_uow() as uow:
        me = uow.chat.get_or_create("test", "u1", "u1", "居民", FIXED_NOW)
        other = uow.chat.get_or_create("test", "u2", "u2", "居民", FIXED_NOW)
        mine = uow.chat.new_button(me.id, "act.mine", {"id": 1}, FIXED_NOW)
        theirs = uow.chat.new_button(other.id, "act.theirs", {"id": 2}, FIXED_NOW)
        uow.commit()
    with seeded_uow() as uow:
        assert uow.chat.get_or_create("test", "u1", "u1", "居民", FIXED_NOW, pressed=mine).id == me.id
        assert uow.chat.button(mine) == (me.id, "act.mine", {"id": 1}, FIXED_NOW)
        assert uow.chat.button(mine) == (me.id, "act.mine", {"id": 1}, FIXED_NOW)  # asked again: looked up
    with seeded_uow() as uow:
        uow.chat.account("test", "u1", pressed=theirs)
        assert uow.chat.button(theirs) == (other.id, "act.theirs", {"id": 2}, FIXED_NOW)
    with seeded_uow() as uow:
        uow.chat.account("test", "u1", pressed="nosuchtoken0")
        assert uow.chat.button("nosuchtoken0") is None
    with seeded_uow() as uow:
        assert uow.chat.account("test", "nobody", pressed=mine) is None  # no account: the button is looked up
        assert uow.chat.button(mine) == (me.id, "act.mine", {"id": 1}, FIXED_NOW)
    with seeded_uow() as uow:
        uow.chat.account("test", "u1", pressed="fresh0token0")  # not there yet when the account is read
        made = uow.chat.new_button(me.id, "act.new", {}, FIXED_NOW)
        assert uow.chat.button(made) == (me.id, "act.new", {}, FIXED_NOW)
        assert uow.chat.button(mine) == (me.id, "act.mine", {"id": 1}, FIXED_NOW)


def test_button_tokens_are_short_unique_and_differ_between_processes(seeded_uow):
    import multiprocessing
    import re

    from storage.repositories.chat import _new_token

    tokens = {_new_token() for _ in range(20_000)}
    assert len(tokens) == 20_000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{12}", t) for t in tokens)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:  # a forked worker inherits this process's unused entropy: it must not reuse it
        theirs = set(pool.starmap(_new_token, [()] * 200))
    mine = {_new_token() for _ in range(200)}
    assert len(theirs) == 200 and not theirs & mine


def test_a_restarted_draft_is_not_left_marked_as_reminded_by_a_concurrent_sweep(seeded_uow, seeded_engine):
    """The draft sweeper marks a reminder while a user's update (read before it) restarts the draft: the fresh draft
    must not keep the mark, or no reminder would ever be sent for it (PostgreSQL runs both side by side)."""
    from datetime import timedelta

    if seeded_engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs write transactions one after another (BEGIN IMMEDIATE)")
    with seeded_uow() as uow:
        acc = uow.chat.get_or_create("t", "r1", "r1", "x", FIXED_NOW)
        acc.start("new.need", FIXED_NOW - timedelta(hours=23, minutes=5), rid=1)
        uow.chat.save(acc)
        uow.commit()
    with seeded_uow() as user:
        mine = user.chat.account("t", "r1")  # the user's update reads the account (not reminded yet)
        with seeded_uow() as sweep:  # the sweeper marks the reminder and commits
            (stale,) = sweep.chat.stale_drafts(FIXED_NOW - timedelta(hours=23))
            stale.reminded_at = FIXED_NOW
            sweep.chat.save(stale)
            sweep.commit()
        mine.advance("new.spec", FIXED_NOW, need="胸口疼")  # a fresh draft: reminded_at back to None
        user.chat.save(mine)
        user.commit()
    with seeded_uow() as uow:
        got = uow.chat.account("t", "r1")
        assert (got.step, got.reminded_at) == ("new.spec", None)


def test_a_reply_prompt_kept_on_the_account_is_read_in_order_with_the_others_and_moves_out_when_replaced_open(
        seeded_uow):
    """The choices put to a person in answer to their own message ride on their account row; read back, they sit
    among the prompts sent without being asked for in the order all were put, on both databases."""
    minute = timedelta(minutes=1)

    with seeded_uow() as uow:
        acc = uow.chat.get_or_create("test", "u-reply", "u-reply", None, FIXED_NOW)
        first = put_prompt(uow, acc.id, FIXED_NOW, "甲")
        alert = put_prompt(uow, acc.id, FIXED_NOW, "乙", proactive=True)  # same moment, put after: newer
        uow.chat.save(acc)
        uow.commit()
    with seeded_uow() as uow:
        assert [p.choices[0].token for p in uow.prompts.recent(acc.id)] == [alert, first]
        acc = uow.chat.account("test", "u-reply")
        second = put_prompt(uow, acc.id, FIXED_NOW + minute, "丙")  # replaces the first, still open: moves to the table
        uow.commit()  # written at the commit even without the account saved
    with seeded_uow() as uow:
        newest, *older = uow.prompts.recent(acc.id)
        assert (newest.choices[0].token, newest.proactive) == (second, False)
        # Both older ones are still read (a reply to either is explained); the first, moved only now, may come
        # before the alert put after it: neither can be answered, they only explain.
        assert sorted((p.choices[0].token, p.proactive) for p in older) == sorted([(alert, True), (first, False)])
        assert uow.prompts.answered(acc.id, first, FIXED_NOW + 2 * minute) == 1  # found by its button where it went
        assert uow.prompts.answered(acc.id, second, FIXED_NOW + 2 * minute) == 1
        assert uow.prompts.answered(acc.id, second, FIXED_NOW + 2 * minute) == 0  # answered once
        uow.commit()
    with seeded_uow() as uow:
        newest, *rest = uow.prompts.recent(acc.id)
        assert (newest.choices[0].token, newest.answered_at) == (second, FIXED_NOW + 2 * minute)
        assert [p.choices[0].token for p in rest] == [alert]  # the answered first is no longer read
        third = put_prompt(uow, acc.id, FIXED_NOW + 3 * minute, "丁")  # replaces an answered one: nothing moves
        uow.commit()
    with seeded_uow() as uow:
        assert [p.choices[0].token for p in uow.prompts.recent(acc.id)] == [third, alert]
        # A button's lifetime after it expired, the reply prompt is forgotten like the rows are.
        assert uow.prompts.purge(FIXED_NOW + timedelta(days=2), 100) == 3
        assert uow.prompts.recent(acc.id) == []
        uow.commit()


def test_prompts_are_read_newest_first_answered_by_the_button_pressed_and_purged_once_long_expired(seeded_uow):
    from domain.prompts import Choice, Prompt

    with seeded_uow() as uow:
        acc = uow.chat.get_or_create("test", "u-prompts", "u-prompts", None, FIXED_NOW)
        other = uow.chat.get_or_create("test", "u-other", "u-other", None, FIXED_NOW)
        key = uow.prompts.key("确认")
        assert key == uow.prompts.key("确认") and key != uow.prompts.key("拒绝") and "确认" not in key
        day = timedelta(days=1)
        tokens = []
        for i, who in enumerate([acc.id, other.id, acc.id]):
            at = FIXED_NOW + i * day
            yes, later = uow.chat.new_button(who, "act.yes", {}, at), uow.chat.new_button(who, "act.later", {}, at)
            if i == 1:
                uow.chat.write_buttons()  # written before the prompt names them: tagged where they are
            pid = uow.prompts.add(Prompt(who, at, FIXED_NOW + (i + 1) * day,
                                         (Choice(yes, frozenset({key})), Choice(later)), topic="rate",
                                         again="/rate", proactive=True))
            uow.chat.offered_by([yes, later], pid)
            tokens.append(yes)
        uow.commit()
    a, b, c = tokens
    with seeded_uow() as uow:
        newest, oldest = uow.prompts.recent(acc.id)
        assert newest.choices[0] == Choice(c, frozenset({key}))
        assert (oldest.topic, oldest.again, oldest.proactive, oldest.answered_at) == ("rate", "/rate", True, None)
        assert oldest.created_at == FIXED_NOW and newest.created_at == FIXED_NOW + 2 * day
        # Only this account's prompt that offered the button is marked: not for a token nobody made, not for a
        # button of someone else's prompt.
        assert uow.prompts.answered(acc.id, "nosuchtoken0", FIXED_NOW) == 0
        assert uow.prompts.answered(acc.id, b, FIXED_NOW) == 0
        assert uow.prompts.answered(acc.id, a, FIXED_NOW + day) == 1
        assert uow.prompts.answered(acc.id, a, FIXED_NOW + day) == 0  # answered once
        uow.commit()
    with seeded_uow() as uow:
        # An older prompt once answered is no longer read; the newest is, answered or not.
        assert [p.choices[0].token for p in uow.prompts.recent(acc.id)] == [c]
        assert uow.prompts.answered(acc.id, c, FIXED_NOW + day) == 1
        assert [p.answered_at for p in uow.prompts.recent(acc.id)] == [FIXED_NOW + day]
        assert uow.prompts.recent(other.id)[0].answered_at is None
        assert uow.prompts.answered(other.id, b, FIXED_NOW + day) == 1  # its buttons were tagged after writing
        assert uow.prompts.purge(FIXED_NOW + 2 * day + timedelta(seconds=1), 100) == 2  # the two expired by then
        assert [p.choices[0].token for p in uow.prompts.recent(acc.id)] == [c]
        uow.commit()
