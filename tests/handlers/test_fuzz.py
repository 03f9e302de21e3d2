"""Property-based tests over the handlers: arbitrary text, random buttons, random command sequences."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.orders import DISPOSITION_OF_ACTION, TRANSITIONS, Action, OrderStatus
from domain.permissions import ACTIONS_BY_ROLE
from domain.staff import Role
from handlers import Inbound

USERS = ["doctor", "township", "hospital", "cardiologist", "admin", "villager"]
COMMANDS = ["/new", "/orders", "/pending", "/circuits", "/help", "/cancel", "/start", "/mydata", "/unsubscribe",
            "/status", "/role", "/forget", "/plan", "/bogus"]
WORDS = ["邱瑞鹏", "邱", "胸口疼，喘不上气", "1950", "13900001234", "男", "女", "娃娃拉肚子", "眼睛花", "没有胸痛"]

text = st.one_of(
    st.sampled_from(COMMANDS + WORDS),
    st.text(min_size=0, max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=5000),
    st.sampled_from(["😷🤒", "'; DROP TABLE care_order;--", "<b>x</b>", "目がかすむ", "胸悶氣短", "\x00\n\t"]),
)
step = st.tuples(
    st.sampled_from(USERS),
    st.one_of(
        st.tuples(st.just("say"), text),
        st.tuples(st.just("press"), st.integers(min_value=0, max_value=30)),  # a button the user was shown
        st.tuples(st.just("forge"), st.text(max_size=70)),  # arbitrary callback data
        st.tuples(st.just("steal"), st.integers(min_value=0, max_value=30)),  # someone else's button
    ),
)


# Update ids must be unique across examples (they share the database, and a repeated id is a replay):
# ``id(steps)`` is not, since CPython reuses the address of a list that was freed.
UPDATE_IDS = itertools.count(1)


def shown_buttons(chat, user):
    return [(s.message_id, b) for s in chat.screens[user] for row in s.buttons for b in row]


def check_invariants(chat, app):
    for user in USERS:
        for t in chat.texts(user):
            assert "Traceback" not in t and "系统繁忙" not in t, t
    with app.uow() as uow:
        orders = uow.orders.list(limit=10_000)
        for o in orders:
            if o.status is OrderStatus.MERGED:
                assert o.merged_into_id is not None
            if o.status is OrderStatus.SCHEDULED:
                assert o.circuit_id is not None
            if o.status in (OrderStatus.AWAITING_CIRCUIT, OrderStatus.REMOTE_CONSULT, OrderStatus.REFERRED_UP,
                            OrderStatus.HANDLED_LOCALLY):
                assert o.disposition is not None
            assert o.need_text.strip()
            resident = uow.residents.get(o.resident_id)
            assert resident is not None and resident.consent is not None  # no health data without consent
            for e in uow.audit.for_entity("order", o.number):
                if e.action in {a.value for a in Action}:
                    action = Action(e.action)
                    assert action in ACTIONS_BY_ROLE[Role(e.actor_role)], e
                    sources, target = TRANSITIONS[action]
                    assert OrderStatus(e.from_status) in sources and OrderStatus(e.to_status) is target
                    if action in DISPOSITION_OF_ACTION:
                        assert e.actor_role == Role.HOSPITAL_REVIEWER.value


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(step, min_size=5, max_size=25))
def test_random_sessions_keep_every_invariant(chat, cast, app, steps):
    for user, (kind, arg) in steps:
        uid = f"fz-{next(UPDATE_IDS)}"
        if kind == "say":
            chat.say(user, arg, update_id=uid)
        elif kind == "press":
            buttons = shown_buttons(chat, user)
            if buttons:
                mid, b = buttons[arg % len(buttons)]
                chat.send(Inbound("test", user, user, button=b.data, update_id=uid, message_id=mid))
        elif kind == "forge":
            chat.send(Inbound("test", user, user, button=arg, update_id=uid))
        else:
            victim = USERS[arg % len(USERS)]
            buttons = shown_buttons(chat, victim)
            if buttons and victim != user:
                _mid, b = buttons[arg % len(buttons)]
                chat.send(Inbound("test", user, user, button=b.data, update_id=uid))
                assert "不属于您" in chat.last(user)
    check_invariants(chat, app)


def test_a_guided_session_with_noise_still_files_a_valid_order(chat, cast, app):
    """The invariants checker is not vacuous: after a real order it inspects a real audit trail."""
    from tests.handlers.test_order_lifecycle import file_order

    file_order(chat)
    chat.say("township", "/pending")
    chat.press("township", "批准")
    chat.say("doctor", "😷" * 3000)
    check_invariants(chat, app)
    with app.uow() as uow:
        assert len(uow.orders.list()) == 1
