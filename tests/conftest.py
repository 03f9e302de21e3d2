"""Shared fixtures: every storage test runs on SQLite and on a throwaway PostgreSQL cluster.

Conversation tests that do not test the database itself (``chat_engine``) run on SQLite in memory: the same
``SqlUnitOfWork`` and repositories, without a file or a server. Those that say so run on PostgreSQL too, or on a
SQLite file instead.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage.crypto import FieldCipher
from storage.db import make_engine, migrate
from storage.uow import SqlUnitOfWork

BACKENDS = ("sqlite", "postgres")  # the storage contract: SQLite files (WAL) and PostgreSQL, the production database
MEMORY = "memory"  # SQLite in memory: the same unit of work, for conversation tests that do not test storage
REPORTED = {"sqlite": "sqlite", "postgres": "postgres", MEMORY: "sqlite in memory"}
TEST_KEY = "dGVzdC1rZXktZm9yLXh1bnpoZW4tdGVzdHMtb25seS0zMmI"  # fixed: conftest may be imported twice
# Tests whose body ran on each backend, counted from the reports (so xdist workers' runs add up on the controller).
BACKENDS_RUN: Counter[str] = Counter()
BACKEND_PROPERTY = "storage_backend"
IN_CI = os.environ.get("CI", "").lower() == "true"
FIXED_NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)  # 10:30 in Sanming


def _pg_bindir() -> Path | None:
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        cand = Path(out.stdout.strip())
        if (cand / "initdb").exists():
            return cand
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1, started as an unprivileged user when we are root."""

    def __init__(self) -> None:
        bindir = _pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="xz-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:  # pg_ctl and initdb refuse to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stdout}\n{res.stderr}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def execute(self, sql: str) -> None:
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.exec_driver_sql(sql)
        engine.dispose()

    def has_database(self, name: str) -> bool:
        engine = sa.create_engine(self.url())
        with engine.connect() as c:
            found = c.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": name}).first()
        engine.dispose()
        return found is not None

    @classmethod
    def attach(cls, state: dict) -> PostgresCluster:
        """The cluster another test process started (its ``state()``)."""
        cluster = cls.__new__(cls)
        bindir = _pg_bindir()
        assert bindir is not None
        cluster.bindir, cluster.root, cluster.port = bindir, Path(state["root"]), state["port"]
        cluster.data, cluster.as_root = cluster.root / "data", os.geteuid() == 0
        return cluster

    def state(self) -> dict:
        return {"root": str(self.root), "port": self.port}


def shared_tmp(tmp_path_factory) -> Path:
    """A folder every process of this run sees: the run's base temporary folder (its xdist workers' parent)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def run_lock(folder: Path, name: str) -> Iterator[None]:
    """Held by one process of the run at a time (xdist workers take turns)."""
    with open(folder / f"{name}.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory):
    """The run's PostgreSQL cluster, one for all xdist workers: the first to need it starts it, the last to be
    done with it stops it. Under CI=true it must start, elsewhere it may be skipped."""
    shared = shared_tmp(tmp_path_factory)
    state_file = shared / "pg-cluster.json"
    with run_lock(shared, "pg-cluster"):
        state = json.loads(state_file.read_text()) if state_file.exists() else None
        if state is None:
            try:
                cluster = PostgresCluster()
                cluster.start()
                state = {**cluster.state(), "users": 0}
            except Exception as e:
                state = {"error": str(e)}
        if "error" not in state:
            cluster = PostgresCluster.attach(state)
            state["users"] += 1
        state_file.write_text(json.dumps(state))
    if "error" in state:
        if IN_CI:
            pytest.fail(f"PostgreSQL leg must run in CI but the cluster did not start: {state['error']}",
                        pytrace=False)
        pytest.skip(f"PostgreSQL not available here: {state['error']}")
    yield cluster
    with run_lock(shared, "pg-cluster"):
        state = json.loads(state_file.read_text())
        state["users"] -= 1
        if state["users"] == 0:
            state_file.unlink()
            cluster.stop()
        else:
            state_file.write_text(json.dumps(state))


def seed_demo(engine) -> None:
    """Load the Sanming demo data into ``engine`` through the real importer."""
    from bot.demo.run import demo_files
    from storage.reference import import_files

    with SqlUnitOfWork(engine, FieldCipher.from_text(TEST_KEY)) as uow:
        import_files(uow, demo_files(), FIXED_NOW.date())


@cache
def dashboard_password_hash(password: str) -> str:
    """The dashboard's argon2 hash of ``password``, made once per test process: hashing takes a fifth of a second
    of CPU on purpose, and any hash of the same password logs in the same way."""
    from bot.web.dashboard import hash_password

    return hash_password(password)


def put_prompt(uow, who: int, at, label: str, *, proactive: bool = False) -> str:
    """Show account ``who`` one button ``label`` as a prompt (``proactive``: sent without being asked for), the
    way a reply or a notice is recorded; its token."""
    from datetime import timedelta

    from domain.prompts import Choice, Prompt

    token = uow.chat.new_button(who, "act." + label, {}, at)
    pid = uow.prompts.add(Prompt(who, at, at + timedelta(days=1), (Choice(token, uow.prompts.keys([label])),),
                                 proactive=proactive))
    if pid is not None:
        uow.chat.offered_by([token], pid)
    return token


class _Templates:
    """Migrated (and optionally seeded) template databases, built once per backend for the whole run."""

    def __init__(self, tmp_root: Path, shared: Path):
        self.tmp_root = tmp_root
        self.shared = shared
        self.sqlite: dict[bool, Path] = {}
        self.pg: dict[bool, str] = {}
        self.memory: dict[bool, sqlite3.Connection] = {}
        self.memory_engines: dict[bool, tuple[sa.Engine, sqlite3.Connection]] = {}
        self.file_engines: dict[bool, sa.Engine] = {}
        self.pg_engines: dict[bool, sa.Engine] = {}
        self.counter = itertools.count()

    def sqlite_template(self, seeded: bool) -> Path:
        if seeded not in self.sqlite:
            # Built once for the run, by whichever worker needs it first; the others copy it.
            path = self.shared / f"template-{'seeded' if seeded else 'empty'}.db"
            built = path.with_suffix(".built")
            with run_lock(self.shared, "sqlite-templates"):
                if not built.exists():
                    engine = make_engine(f"sqlite:///{path}")
                    migrate(engine)
                    if seeded:
                        seed_demo(engine)
                    engine.dispose()
                    built.touch()
            self.sqlite[seeded] = path
        return self.sqlite[seeded]

    def sqlite_engine(self, seeded: bool, dest: Path):
        self._copy_sqlite_template(seeded, dest)
        return make_engine(f"sqlite:///{dest}")

    def _copy_sqlite_template(self, seeded: bool, dest: Path) -> None:
        # The backup API copies a consistent snapshot, WAL included.
        with sqlite3.connect(self.sqlite_template(seeded)) as src, sqlite3.connect(dest) as dst:
            src.backup(dst)
        dst.close()
        src.close()

    # The database fixtures reuse one engine per process, backend and template, its database put back to the
    # template before each test: the engine's compiled-statement cache then lasts the whole run instead of being
    # rebuilt by every test. (Tests that build their own databases call ``sqlite_engine``/``pg_engine``.)

    def reused_sqlite_engine(self, seeded: bool):
        """The process's engine on a SQLite file, the file a fresh copy of the template."""
        if seeded not in self.file_engines:
            path = self.tmp_root / f"reused-{os.getpid()}-{int(seeded)}" / "xz.db"  # alone in its folder
            path.parent.mkdir()
            self.file_engines[seeded] = make_engine(f"sqlite:///{path}")
        engine = self.file_engines[seeded]
        engine.dispose()
        path = Path(engine.url.database)
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        self._copy_sqlite_template(seeded, path)
        return engine

    def reused_pg_engine(self, cluster: PostgresCluster, seeded: bool):
        """The process's engine on a PostgreSQL database, the database made again from the template."""
        if seeded not in self.pg_engines:
            self.pg_engines[seeded] = make_engine(cluster.url(f"r{os.getpid()}_{int(seeded)}"))
        engine = self.pg_engines[seeded]
        engine.dispose()
        name = engine.url.database
        cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cluster.execute(f"CREATE DATABASE {name} TEMPLATE {self.pg_template(cluster, seeded)} STRATEGY FILE_COPY")
        return engine

    def memory_engine(self, seeded: bool):
        """The process's engine on a database in memory put back to the template, and the connection keeping it.

        SQLite's ``memdb`` VFS shares a database named ``/...`` among all connections of the process that open it,
        with the usual locks and busy timeout, so the engine's pool and ``BEGIN IMMEDIATE`` work as on a file.
        """
        if seeded not in self.memory:
            # memdb cannot open a database whose header says WAL: go through a rollback-journal copy, once.
            plain = self.tmp_root / f"template-{'seeded' if seeded else 'empty'}-plain.db"
            with closing(sqlite3.connect(self.sqlite_template(seeded))) as src, closing(sqlite3.connect(plain)) as dst:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")
            keeper = self._memdb(f"/xz-template-{os.getpid()}-{int(seeded)}")
            with closing(sqlite3.connect(plain)) as src:
                src.backup(keeper)
            self.memory[seeded] = keeper
        if seeded not in self.memory_engines:
            name = f"/xz-{os.getpid()}-{next(self.counter)}"
            self.memory_engines[seeded] = (make_engine(f"sqlite:///file:{name}?vfs=memdb&uri=true"), self._memdb(name))
        engine, keeper = self.memory_engines[seeded]
        engine.dispose()  # no connection of the last test's is left to see the old database
        self.memory[seeded].backup(keeper)
        return engine, keeper

    @staticmethod
    def _memdb(name: str) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{name}?vfs=memdb", uri=True, check_same_thread=False)

    def pg_engine(self, cluster: PostgresCluster, seeded: bool):
        name = f"t{os.getpid()}_{next(self.counter)}"
        cluster.execute(f"CREATE DATABASE {name} TEMPLATE {self.pg_template(cluster, seeded)} STRATEGY FILE_COPY")
        return make_engine(cluster.url(name)), name

    def pg_template(self, cluster: PostgresCluster, seeded: bool) -> str:
        if seeded not in self.pg:
            # Built once for the run's shared cluster, by whichever worker needs it first.
            name = f"tmpl_{'seeded' if seeded else 'empty'}"
            with run_lock(self.shared, "pg-templates"):
                if not cluster.has_database(name):
                    cluster.execute(f"CREATE DATABASE {name}_build")
                    engine = make_engine(cluster.url(f"{name}_build"))
                    migrate(engine)
                    if seeded:
                        seed_demo(engine)
                    engine.dispose()
                    cluster.execute(f"ALTER DATABASE {name}_build RENAME TO {name}")
            self.pg[seeded] = name
        return self.pg[seeded]


@pytest.fixture(scope="session")
def templates(tmp_path_factory):
    return _Templates(tmp_path_factory.mktemp("templates"), shared_tmp(tmp_path_factory))


def _engine_for(request, templates, tmp_path, seeded: bool):
    backend = request.param
    if backend == MEMORY:
        engine, _keeper = templates.memory_engine(seeded)
        yield engine
        engine.dispose()
    elif backend == "sqlite":
        engine = templates.reused_sqlite_engine(seeded)
        yield engine
        engine.dispose()
    else:
        engine = templates.reused_pg_engine(request.getfixturevalue("pg_cluster"), seeded)
        yield engine
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request, templates, tmp_path):
    """A freshly migrated, empty database on each backend."""
    yield from _engine_for(request, templates, tmp_path, seeded=False)


@pytest.fixture(params=BACKENDS)
def seeded_engine(request, templates, tmp_path):
    """A migrated database holding the Sanming demo data, on each backend."""
    yield from _engine_for(request, templates, tmp_path, seeded=True)


@pytest.fixture(params=(MEMORY,))
def chat_engine(request, templates, tmp_path):
    """The seeded database of a conversation test: SQLite in memory, unless the test asks for more with
    ``ALSO_ON_POSTGRES`` (an end-to-end path on the production database) or for ``ON_SQLITE_FILES`` (a test of
    what reaches the disk)."""
    yield from _engine_for(request, templates, tmp_path, seeded=True)


ALSO_ON_POSTGRES = pytest.mark.parametrize("chat_engine", (MEMORY, "postgres"), indirect=True)
ON_SQLITE_FILES = pytest.mark.parametrize("chat_engine", ("sqlite",), indirect=True)
# A database another engine opens too (the command line's own app): a SQLite file and PostgreSQL.
ON_SHARED_DATABASES = pytest.mark.parametrize("chat_engine", BACKENDS, indirect=True)


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher.from_text(TEST_KEY)


@pytest.fixture
def uow_factory(engine, cipher):
    return lambda: SqlUnitOfWork(engine, cipher)


@pytest.fixture
def seeded_uow(seeded_engine, cipher):
    return lambda: SqlUnitOfWork(seeded_engine, cipher)


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: two workers more than there are cores. Much of the suite waits (servers answering, processes
    starting, rate windows): on the 2-core machine four workers finish in 3 min 24 s where three take 3 min 40 s."""
    return (os.cpu_count() or 1) + 2


@pytest.fixture(autouse=True)
def _fresh_process_chat_windows():
    """Each test starts with no per-person minute used up (WeCom's 30 a minute is counted per process)."""
    from bot.delivery.sender import _PROCESS_CHATS

    _PROCESS_CHATS.clear()
    yield
    _PROCESS_CHATS.clear()


@pytest.fixture(autouse=True)
def _note_storage_backends(request):
    """Record on the test's report which storage backends it runs on (its parameters and database fixtures)."""
    callspec = getattr(request.node, "callspec", None)
    params = callspec.params if callspec is not None else {}
    used = {v for v in params.values() if isinstance(v, str) and v in REPORTED}
    names = set(request.fixturenames)
    if names & {"sqlite_world", "sqlite_db"}:
        used.add("sqlite")
    if names & {"pg_cluster", "own_pg_cluster"}:
        used.add("postgres")
    request.node.user_properties.extend((BACKEND_PROPERTY, b) for b in sorted(used))


# Tests of whole processes and of real-time rate windows: seconds each. They run first, so that every one has
# started long before the end and the run ends on short tests that xdist's work stealing can share out, instead of
# one worker finishing a ten-second test while the other has nothing left to do.
SLOW_FIRST = (
    "tests/circuits/test_worker_processes.py",
    "tests/telegram/test_telegram_adapters.py::test_the_real_service",
    "tests/telegram/test_telegram_adapters.py::test_a_killed_handler_process",
    "tests/telegram/test_telegram_adapters.py::test_an_order_is_filed_and_reviewed_through_a_handler_process",
    "tests/test_console.py",
    "tests/reliability/test_database_faults.py",
    "tests/telegram/test_send_budget.py",
    "tests/circuits/test_sender_limits.py",
    "tests/test_cli_core.py",
    "tests/nlp/test_cli.py::test_classify_writes",
    "tests/circuits/test_plan_chat.py::test_cancelling_a_circuit_with_more_than_a_thousand",
    "tests/wechat/test_wechat_work_lifecycle.py::test_a_handler_slowed",
)


def pytest_collection_modifyitems(items):
    """The ``SLOW_FIRST`` tests first, in their order of collection; then the rest, as collected."""
    slow = [item for item in items if item.nodeid.startswith(SLOW_FIRST)]
    if slow:
        chosen = set(map(id, slow))
        items[:] = slow + [item for item in items if id(item) not in chosen]


def pytest_runtest_logreport(report):
    """Count a test for a backend once its body ran (under xdist this runs on the controller, for every worker)."""
    if report.when == "call" and not report.skipped:
        for key, value in report.user_properties:
            if key == BACKEND_PROPERTY:
                BACKENDS_RUN[value] += 1


_SUMMARY_WRITTEN = pytest.StashKey[bool]()


def pytest_terminal_summary(terminalreporter):
    """Say which storage backends the run exercised (once, should this file be loaded under two module names)."""
    if terminalreporter.config.stash.get(_SUMMARY_WRITTEN, False):
        return
    terminalreporter.config.stash[_SUMMARY_WRITTEN] = True
    if BACKENDS_RUN:
        ran = ", ".join(f"{REPORTED[b]}: {n} tests" for b, n in sorted(BACKENDS_RUN.items()))
        terminalreporter.write_line(f"storage backends exercised — {ran}")
    missing = [b for b in BACKENDS if BACKENDS_RUN and b not in BACKENDS_RUN]
    if missing:
        terminalreporter.write_line(f"storage backends NOT exercised: {', '.join(missing)}")


def wait_for(pred, timeout: float = 10.0) -> bool:
    """Poll ``pred`` until true or ``timeout`` (for tests that watch another process)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False
