"""An expert records the other work of a visit (issue 18): "请输入健康讲座的人数（或次数）" let 35 listeners become one
lecture, or 35 lectures. Each figure the ledgers keep is asked for on its own, in the words of the report."""

from __future__ import annotations

from datetime import date

from domain.circuits import Circuit, CircuitLevel, HalfDay
from domain.ledgers import parse_period
from storage.repositories.ledgers import area_scope_for, load_ledger

TODAY = date(2026, 11, 23)


def held_circuit(app) -> int:
    """A circuit of the cardiologist (S0003) at 雪峰镇 this morning."""
    with app.uow() as uow:
        expert = uow.staff.by_code("S0003")
        c = Circuit("CH350421", "350421101", TODAY, HalfDay.AM, CircuitLevel.TOWNSHIP, frozenset({expert.id}))
        uow.circuits.add(c)
        uow.commit()
    assert c.id is not None
    return c.id


def work_of(app, circuit_id: int):
    """The circuit's row of the work ledger (工作台账-巡诊) as the report computes it."""
    with app.uow() as uow:
        rows = load_ledger(uow, parse_period("2026-11"), TODAY, area_scope_for(uow, None)).circuit_rows()
    return next(r.work for r in rows if r.circuit.id == circuit_id)


def start(chat, kind: str) -> None:
    chat.say("cardiologist", "/circuits")
    chat.press("cardiologist", "记录其他工作")
    chat.press("cardiologist", kind)


def test_a_lecture_is_asked_how_many_lectures_then_how_many_people_listened(chat, cast, app):
    cid = held_circuit(app)
    start(chat, "健康讲座")
    asked = chat.last("cardiologist")
    assert "场" in asked and "人数（或次数）" not in asked and "听" not in asked
    chat.say("cardiologist", "2")
    assert "听" in chat.last("cardiologist") and "人" in chat.last("cardiologist")
    chat.say("cardiologist", "35")
    assert "健康讲座 2 场" in chat.last("cardiologist") and "35 人" in chat.last("cardiologist")
    work = work_of(app, cid)
    assert (work.lectures, work.lecture_audience) == (2, 35)


def test_thirty_five_lectures_in_one_visit_is_questioned_not_recorded(chat, cast, app):
    cid = held_circuit(app)
    start(chat, "健康讲座")
    chat.say("cardiologist", "35")
    answer = chat.last("cardiologist")
    assert "35" in answer and "听" in answer  # "if 35 is the audience, first say how many lectures"
    assert work_of(app, cid).lectures == 0
    chat.say("cardiologist", "1")
    chat.say("cardiologist", "35")
    work = work_of(app, cid)
    assert (work.lectures, work.lecture_audience) == (1, 35)


def test_training_is_asked_sessions_then_person_times(chat, cast, app):
    cid = held_circuit(app)
    start(chat, "业务培训")
    assert "场" in chat.last("cardiologist")
    chat.say("cardiologist", "1")
    assert "人次" in chat.last("cardiologist")
    chat.say("cardiologist", "18")
    assert "业务培训 1 场" in chat.last("cardiologist") and "18 人次" in chat.last("cardiologist")
    work = work_of(app, cid)
    assert (work.trainings, work.training_heads) == (1, 18)


def test_home_visits_and_special_population_consultations_are_person_times(chat, cast, app):
    cid = held_circuit(app)
    start(chat, "送医上门")
    assert "人次" in chat.last("cardiologist") and "或" not in chat.last("cardiologist")
    chat.say("cardiologist", "3")
    assert "送医上门 3 人次" in chat.last("cardiologist")
    start(chat, "特殊人群诊疗")
    chat.say("cardiologist", "5")
    assert "特殊人群诊疗 5 人次" in chat.last("cardiologist")
    work = work_of(app, cid)
    assert (work.home_visits, work.special_consults) == (3, 5)
