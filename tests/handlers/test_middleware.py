"""Each middleware of the chain, as a stranger sees it through ``Conversation.handle``: a flood, a replayed update,
a database that fails, a group chat, a refusal, and a middleware of one's own added to the chain."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from bot.bootstrap import build_conversation
from domain.orders import AuditEvent, OrderStatus
from domain.staff import Role
from handlers import FloodGuard, Inbound, Update, default_middlewares
from handlers.core import Next
from handlers.middleware import answer_busy_on_errors, one_transaction, private_chat_only, skip_replays
from storage.uow import SqlUnitOfWork
from tests.conftest import ALSO_ON_POSTGRES
from tests.handlers.harness import ChatHarness
from tests.handlers.test_order_lifecycle import file_order, stored

FLOOD = "您发送得太快了，请稍等几秒再发。"
BUSY = "系统繁忙，请稍后再试。您的操作没有保存，可以稍后重新发送。"
PRIVATE_ONLY = "请私聊我（为保护个人信息，群聊中不办理任何业务，也不显示任何居民信息）。"
NO_FLOOD_GUARD = [answer_busy_on_errors, one_transaction, skip_replays, private_chat_only]


def everything(app) -> dict[str, list[str]]:
    """Every row of every table, to show that an update wrote nothing at all."""
    tables = sa.MetaData()
    tables.reflect(app.engine)
    with app.engine.connect() as c:
        return {name: sorted(map(repr, c.execute(sa.select(table)))) for name, table in tables.tables.items()}


def order_count(app) -> int:
    with app.uow() as uow:
        return sum(uow.orders.count_by_status().values())


def audited(app, action: str) -> list[AuditEvent]:
    with app.uow() as uow:
        return uow.audit.recent(100, action=action)


class Afterwards:
    """An ``after`` that records each account it was called with."""

    def __init__(self) -> None:
        self.accounts: list = []

    def __call__(self, uow, acc) -> None:
        self.accounts.append(acc)


class Seen:
    """A middleware of one's own: it notes each update's id (and whether a unit of work is open) and passes it on."""

    def __init__(self) -> None:
        self.update_ids: list[str | None] = []
        self.in_transaction: list[bool] = []

    def __call__(self, update: Update, call_next: Next) -> list:
        self.update_ids.append(update.inbound.update_id)
        try:
            update.uow  # noqa: B018 - only asks whether the chain opened one
            self.in_transaction.append(True)
        except RuntimeError:
            self.in_transaction.append(False)
        return call_next(update)


class DatabaseThatGoesAway:
    """Units of work on the real database whose commit fails while ``down`` (a full disk, a server gone away)."""

    def __init__(self, app) -> None:
        self.engine, self.cipher, self.down = app.engine, app.settings.cipher(), False

    def __call__(self) -> SqlUnitOfWork:
        return _UnitOfWorkThatMayFail(self)


class _UnitOfWorkThatMayFail(SqlUnitOfWork):
    def __init__(self, database: DatabaseThatGoesAway) -> None:
        super().__init__(database.engine, database.cipher)
        self.database = database

    def commit(self) -> None:
        if self.database.down:
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
        super().commit()


def say(conv, user: str, text: str, update_id: str, after=None, **kw) -> list[str]:
    out = conv.handle(Inbound("test", user, kw.pop("chat_id", user), text=text, update_id=update_id, **kw), after)
    return [o.text for o in out]


def test_a_flood_gets_one_warning_then_silence_and_no_database_work(app, clock):
    instant = [0.0]
    conv = build_conversation(app, clock=clock, flood=FloodGuard(limit=3, window=2.0, clock=lambda: instant[0]))
    afterwards = Afterwards()
    answers = [say(conv, "stranger", f"你好{i}", f"f{i}", afterwards) for i in range(3)]
    assert all(len(a) == 1 and a != [FLOOD] for a in answers)
    assert len(afterwards.accounts) == 3
    before = everything(app)

    answers = [say(conv, "stranger", f"你好{i}", f"f{i}", afterwards) for i in range(3, 10)]
    assert answers == [[FLOOD]] + [[]] * 6
    assert everything(app) == before  # not even the update ids: a flood never reaches the database
    assert len(afterwards.accounts) == 3
    assert say(conv, "someone_else", "你好", "s1") != [FLOOD]  # the guard is per user

    instant[0] = 5.0  # the burst is over
    answer = say(conv, "stranger", "你好", "f10")
    assert len(answer) == 1 and answer != [FLOOD]


def test_without_the_flood_guard_in_the_chain_every_message_is_answered(app, clock):
    conv = build_conversation(app, clock=clock, middlewares=NO_FLOOD_GUARD)
    answers = [say(conv, "typist", f"你好{i}", f"t{i}") for i in range(30)]
    assert all(len(a) == 1 and a != [FLOOD] for a in answers)


def test_a_replayed_update_id_gets_nothing_and_writes_nothing(chat, cast, app):
    assert say(chat.conv, "doctor", "/new", "u-42")
    with app.uow() as uow:
        assert uow.chat.account("test", "doctor").step is not None  # /new started a draft
    say(chat.conv, "doctor", "/cancel", "u-43")
    before = everything(app)
    afterwards = Afterwards()

    assert say(chat.conv, "doctor", "/new", "u-42", afterwards) == []  # the platform delivers it again
    assert say(chat.conv, "doctor", "/orders", "u-42", afterwards) == []  # the id decides, not the text
    assert everything(app) == before
    assert afterwards.accounts == []
    with app.uow() as uow:
        assert uow.chat.account("test", "doctor").step is None  # the replayed /new did not start a draft again


@ALSO_ON_POSTGRES
def test_a_database_error_gets_the_busy_text_and_leaves_no_half_written_order(app, clock):
    database = DatabaseThatGoesAway(app)
    conv = build_conversation(dataclasses.replace(app, uow=database), clock=clock, middlewares=NO_FLOOD_GUARD)
    chat = ChatHarness(conv)
    chat.login("doctor", "S0006", Role.VILLAGE_DOCTOR, app.uow, clock())
    chat.say("doctor", "/new")
    chat.say("doctor", "邱")
    chat.press("doctor", "邱瑞鹏")
    if "居民是否同意" in chat.last("doctor"):
        chat.press("doctor", "居民已同意")
    chat.say("doctor", "老人心口疼，胸闷气短，走路就喘")
    chat.press("doctor", "心血管内科")
    chat.press("doctor", "常规")
    chat.press("doctor", "完成")
    shown, submit = chat.find_button("doctor", "确认提交")
    press = Inbound("test", "doctor", "doctor", button=submit.data, update_id="p1", message_id=shown.message_id)
    afterwards = Afterwards()

    database.down = True
    assert [o.text for o in conv.handle(press, afterwards)] == [BUSY]
    assert order_count(app) == 0  # the order's rows were written, then rolled back with the failed commit
    assert afterwards.accounts == []

    database.down = False
    outs = conv.handle(press, afterwards)  # redelivered: the failed update's id was not remembered either
    assert any("已提交" in o.text for o in outs)
    assert order_count(app) == 1 and len(afterwards.accounts) == 1


def test_an_unexpected_error_inside_the_chain_gets_the_busy_text_and_rolls_back(app, clock):
    broken = True

    def fails_while_broken(update: Update, call_next: Next) -> list:
        if broken:
            raise ValueError("a bug")
        return call_next(update)

    conv = build_conversation(app, clock=clock, middlewares=[*NO_FLOOD_GUARD, fails_while_broken])
    assert say(conv, "stranger", "/start", "e1") == [BUSY]
    with app.uow() as uow:
        assert uow.chat.account("test", "stranger") is None
    broken = False
    assert say(conv, "stranger", "/start", "e1") not in ([], [BUSY])  # its id was rolled back with it


def test_a_group_chat_gets_only_private_only_and_no_account_is_created(chat, app):
    afterwards = Afterwards()
    group = {"chat_id": "-100", "chat_type": "group"}
    assert say(chat.conv, "stranger", "/start v_350421101001", "g1", afterwards, **group) == [PRIVATE_ONLY]
    with app.uow() as uow:
        assert uow.chat.account("test", "stranger") is None
    assert afterwards.accounts == []
    refused = [e for e in audited(app, "refused") if e.reason == "not_private_chat"]
    assert [(e.entity_id, e.detail["kind"]) for e in refused] == [("-100", "command")]

    before = everything(app)
    assert say(chat.conv, "stranger", "/start v_350421101001", "g1", afterwards, **group) == []  # redelivered
    assert everything(app) == before  # refused and audited once, not twice


@ALSO_ON_POSTGRES
def test_a_refusal_rolls_back_everything_else_and_its_update_stays_handled(app, clock):
    def notes_each_update(update: Update, call_next: Next) -> list:
        update.uow.audit.append(AuditEvent(
            actor_staff_id=None, actor_role="resident", action="noted", entity="update",
            entity_id=str(update.inbound.update_id), from_status=None, to_status=None, reason=None, at=update.now,
            detail={}))
        return call_next(update)

    chat = ChatHarness(build_conversation(app, clock=clock, middlewares=[*NO_FLOOD_GUARD, notes_each_update]))
    for user, code, role in (("doctor", "S0006", Role.VILLAGE_DOCTOR), ("township", "S0005", Role.TOWNSHIP_REVIEWER)):
        chat.login(user, code, role, app.uow, clock())
    number = file_order(chat)
    noted = len(audited(app, "noted"))
    with app.uow() as uow:
        acc = uow.chat.account("test", "doctor")
        token = uow.chat.new_button(acc.id, "hs.local", {"id": uow.orders.by_number(number).id}, clock())
        uow.commit()
    press = Inbound("test", "doctor", "doctor", button=token, update_id="r1")
    refusals = len(audited(app, "refused"))
    afterwards = Afterwards()

    outs = chat.conv.handle(press, afterwards)
    assert [o.text for o in outs] == ["您当前的身份不能执行这个操作。"]
    assert len(audited(app, "refused")) == refusals + 1  # the refusal is recorded...
    assert len(audited(app, "noted")) == noted  # ...and nothing else this update wrote
    assert stored(app, number).status is OrderStatus.SUBMITTED
    assert len(afterwards.accounts) == 1  # the refusal was committed, so after runs

    before = everything(app)
    assert chat.conv.handle(press, afterwards) == []  # a redelivered refusal is not refused again
    assert everything(app) == before and len(afterwards.accounts) == 1


@pytest.mark.parametrize("where", ["outermost", "innermost"])
def test_a_middleware_added_to_the_chain_sees_every_update_that_reaches_it_in_order(app, clock, where):
    seen = Seen()
    chain = default_middlewares(FloodGuard(limit=10_000))
    chain = [seen, *chain] if where == "outermost" else [*chain, seen]
    conv = build_conversation(app, clock=clock, middlewares=chain)

    say(conv, "resident", "/start", "1")
    say(conv, "resident", "/start", "1")  # a replay
    say(conv, "resident", "/help", "2")
    say(conv, "resident", "/help", "3", chat_id="-100", chat_type="group")
    say(conv, "resident", "你好", "4")

    if where == "outermost":  # before anything else: every update, outside any transaction
        assert seen.update_ids == ["1", "1", "2", "3", "4"]
        assert not any(seen.in_transaction)
    else:  # next to the router: only what the chain let through, inside the update's transaction
        assert seen.update_ids == ["1", "2", "4"]
        assert all(seen.in_transaction)
