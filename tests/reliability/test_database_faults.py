"""Database faults under load: a polite answer, nothing half-written, recovery without a restart."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.bootstrap import App, build_conversation
from bot.config import Settings
from domain.orders import OrderStatus
from handlers import FloodGuard
from storage.db import SqliteOptions, make_engine
from storage.uow import uow_factory
from tests.conftest import TEST_KEY, PostgresCluster, seed_demo
from tests.handlers.harness import ChatHarness

# Updates typed while PostgreSQL is down: more than the engine's pool holds connections (5 + 10 overflow), so a
# connection leaked by a failed attempt would end in a pool timeout instead of a quick "busy".
PG_DOWN_UPDATES = 20
ROOT = Path(__file__).resolve().parents[2]


def make_chat(engine, tmp_path, clock) -> tuple[App, ChatHarness]:
    settings = Settings(
        var_dir=tmp_path,
        database_url=str(engine.url),
        secret_key=TEST_KEY,
        log_level="INFO",
        transport="console",
        telegram_token=None,
    )
    app = App(settings, engine, uow_factory(engine, settings.cipher()))
    chat = ChatHarness(build_conversation(app, clock=clock, flood=FloodGuard(limit=10**6)))
    from domain.staff import Role

    for user, code, role in (("doctor", "S0006", Role.VILLAGE_DOCTOR), ("township", "S0005", Role.TOWNSHIP_REVIEWER)):
        chat.login(user, code, role, app.uow, clock())
    return app, chat


def walk_to_summary(chat) -> None:
    chat.say("doctor", "/new")
    chat.say("doctor", "邱瑞鹏")
    chat.press("doctor", "邱瑞鹏")
    if "居民是否同意" in chat.last("doctor"):
        chat.press("doctor", "居民已同意")
    chat.say("doctor", "腰杆疼得直不起来")
    first = chat.screens["doctor"][-1].buttons[0][0].label
    chat.press("doctor", first)
    chat.press("doctor", "常规")
    chat.press("doctor", "完成")


def orders(app) -> list:
    with app.uow() as uow:
        return uow.orders.list(limit=1000)


@pytest.mark.parametrize("seeded_engine", ["sqlite"], indirect=True)
def test_sqlite_locked_by_another_process(seeded_engine, tmp_path):
    from tests.conftest import FIXED_NOW
    from tests.handlers.conftest import Clock

    path = seeded_engine.url.database
    seeded_engine.dispose()
    engine = make_engine(f"sqlite:///{path}", sqlite=SqliteOptions(busy_timeout_ms=1500))
    app, chat = make_chat(engine, tmp_path, Clock(FIXED_NOW))
    walk_to_summary(chat)
    locker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sqlite3, sys, time
            c = sqlite3.connect({path!r}, isolation_level=None)
            c.execute("BEGIN EXCLUSIVE")
            print("locked", flush=True)
            sys.stdin.readline()  # held until the test has had its answer
            c.execute("ROLLBACK")
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert locker.stdout.readline().strip() == "locked"
    started = time.monotonic()
    try:
        chat.press("doctor", "确认提交")
        answered = time.monotonic() - started
    finally:
        locker.communicate("release\n", timeout=30)
    assert "系统繁忙" in chat.last("doctor")
    assert answered < 5  # an answer, not a hang
    assert orders(app) == []  # nothing half-written
    chat.press("doctor", "确认提交")  # the same button, once the lock is gone
    assert [o.status for o in orders(app)] == [OrderStatus.SUBMITTED]
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


@pytest.fixture
def own_pg_cluster():
    """A cluster of its own: this test stops and starts it."""
    try:
        cluster = PostgresCluster()
        cluster.start()
    except Exception as e:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL must start in CI: {e}")
        pytest.skip(f"PostgreSQL not available: {e}")
    yield cluster
    cluster.stop()


def test_postgres_stopped_under_load_then_back(own_pg_cluster, tmp_path):
    from storage.db import migrate
    from tests.conftest import FIXED_NOW
    from tests.handlers.conftest import Clock

    own_pg_cluster.execute("CREATE DATABASE xz")
    engine = make_engine(own_pg_cluster.url("xz"))
    migrate(engine)
    seed_demo(engine)
    app, chat = make_chat(engine, tmp_path, Clock(FIXED_NOW))
    walk_to_summary(chat)

    own_pg_cluster._run("pg_ctl", "-D", str(own_pg_cluster.data), "-m", "fast", "-w", "stop")
    answers: list[str] = []
    for _ in range(PG_DOWN_UPDATES):  # users keep typing while the database is down
        started = time.monotonic()
        out = chat.say("township", "/pending")
        assert time.monotonic() - started < 5  # an answer, not a wait for a pooled connection
        answers.append(out[0].text if out else "")
        time.sleep(0.1)
    chat.press("doctor", "确认提交")
    assert "系统繁忙" in chat.last("doctor")
    assert answers and all("系统繁忙" in a for a in answers)

    opts = f"-p {own_pg_cluster.port} -k {own_pg_cluster.root} -c listen_addresses=127.0.0.1 -c fsync=off"
    own_pg_cluster._run(
        "pg_ctl", "-D", str(own_pg_cluster.data), "-o", opts, "-l", str(own_pg_cluster.root / "log"), "-w", "start"
    )
    # Same process, same engine: it recovers by itself.
    chat.press("doctor", "确认提交")
    assert [o.status for o in orders(app)] == [OrderStatus.SUBMITTED]
    chat.say("township", "/pending")
    assert "待初审" in "\n".join(chat.texts("township")[-3:])
    engine.dispose()


DISK_FULL_CHILD = """
import os, resource, signal, sys
sys.path.insert(0, {root!r})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # writes past the limit fail with EFBIG instead of killing us
from bot.bootstrap import build_app, build_conversation
from bot.config import Settings
from handlers import FloodGuard, Inbound
env = {{"XUNZHEN_VAR_DIR": {var!r}, "XUNZHEN_SECRET_KEY": {key!r}}}
app = build_app(Settings.from_env(env), migrate_schema=False)
class MatcherOnFirstUse:  # the real matcher, loaded only if an update asks for it (a /start link never does)
    def __getattr__(self, name):
        from nlp import load_matcher
        return getattr(load_matcher(), name)
conv = build_conversation(app, flood=FloodGuard(limit=10**9), matcher=MatcherOnFirstUse())
limit = os.path.getsize({db!r}) + 64 * 1024
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
busy = 0
for i in range(3000):
    out = conv.handle(Inbound("test", "u%d" % (i % 50), "u%d" % (i % 50), text="/start v_350421101001",
                              update_id="d%d" % i))
    text = out[0].text if out else ""
    if "系统繁忙" in text:
        busy += 1
        if busy >= 5:
            break
print("busy", busy, flush=True)
"""


def test_disk_full_gives_a_clear_answer_and_an_intact_database(tmp_path, templates):
    var = tmp_path / "var"
    var.mkdir()
    db = var / "xunzhen.db"  # the default database of the data directory: the seeded demo data (TEST_KEY)
    templates.sqlite_engine(True, db).dispose()
    child = subprocess.run(
        [sys.executable, "-c", DISK_FULL_CHILD.format(root=str(ROOT), var=str(var), key=TEST_KEY, db=str(db))],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "busy 5" in child.stdout, child.stdout + child.stderr[-3000:]
    assert "Traceback" not in child.stdout
    # A full disk is a database fault like any other: one warning per update, not an "unexpected error" trace.
    assert "database unavailable" in child.stderr and "unexpected error" not in child.stderr, child.stderr[-3000:]
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        subscribed = c.exec_driver_sql("SELECT count(*) FROM subscription").scalar()
    engine.dispose()
    assert subscribed >= 1  # what was written before the disk filled is still there
