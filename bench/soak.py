"""Soak test: a simulated county on the fake Telegram server for an hour (configurable), figures as JSON.

Run: python bench/soak.py [--seconds 3600] [--backend sqlite|postgres] [--workers 2]
                          [--doctors 300] [--reviewers 30] [--residents 5000] [--rate 10]
(``make soak SOAK_ARGS="--seconds 600"``; ``SOAK_SECONDS`` in the environment sets the default duration.)
Not part of ``make test`` or CI. Traffic goes to 127.0.0.1 only; every loop ends by itself.

Design (the structure of ``bench/telegram.py``):

* The fake Bot API server and the simulated people run in a child process (own interpreter, so the load
  generator does not share a GIL with the bot); the bot under test runs in this process and long-polls the
  fake over real HTTP. The fake accepts sends to any chat (``strict_chats=False``), so the 5,000 residents,
  who never write, can receive announcements.
* The county is 明溪县 (codes 350421*) of the demo data: a fresh database (SQLite file, or with
  ``--backend postgres`` a throwaway PostgreSQL 15 cluster from ``tests.conftest.PostgresCluster``) is
  migrated and seeded through the real importer; six residents named 邱… are added to each of its 27
  villages (so every doctor has someone to file for), and the residents are inserted in bulk as chat accounts
  subscribed round-robin to the county's villages.
* People: ``--doctors`` chats bound to the county's 27 village doctors (several chats per doctor: the demo
  has one doctor per village), ``--reviewers`` chats bound to the 9 township reviewers and (a tenth of them)
  the county hospital's reviewer. Every binding goes through a real invite code (``create_invite``) and
  ``/start <code>`` sent through the fake, as a person would.
* Load: closed loops with think time, at ``--rate`` (default 10) times these "realistic" rates per person
  and working hour: a village doctor files 0.5 orders (/new, search 邱, pick, consent once, need text,
  specialty, urgency, populations done, confirm: one update per step, buttons pressed with their real
  callback_data, 1.2-3 s between steps) and looks something up 0.5 times (/orders or /help); a township
  reviewer opens /pending 3 times and approves up to 5 cards; the hospital reviewer opens /pending 3 times
  and sends up to 5 orders to a circuit with the least-loaded expert. Latency: from injecting an update to
  the bot's first reply (sendMessage or edit) to that chat, measured in the child.
* Announcements: every ``--announce-every`` seconds (default: the run / 12, at least 30 s) a circuit of the
  county hospital is created in the database (``uow.circuits.add`` + ``Announcer.record_created``, as the
  circuit tests do) for a slot whose reminder times have all passed, so its reminder is due at once: two
  township circuits (~1/9 of the subscribers each), then one county-wide circuit (all subscribers), and
  so on. The scheduler's sweep (every 10 s here, ``XUNZHEN_SWEEP_SECONDS``) fans it out into the outbox; the
  sender delivers at the channel limit (``--send-rate``, default 30/s). Outbox lag is the age of the oldest
  pending message, sampled every 5 s.
* Workers: on SQLite the scheduler and sender run in this process (``bot.jobs.worker.serve``), as ``make run``
  does. On PostgreSQL this process only handles updates and ``--workers`` separate ``python -m bot worker``
  processes (``XUNZHEN_WORKER_ROLES=sender,scheduler``, the send rate divided among them) share the outbox
  through ``SKIP LOCKED``.
* After the load the outbox is given up to ``--drain`` seconds to empty, then the fake's records are checked:
  rate-limit violations (all sends, split into resident broadcast and staff chats; and the sender's resident
  broadcast alone replayed against the 30/s rule), early retries, duplicates (a resident chat receiving the
  same announcement text twice).

Report: updates handled and per second, p50/p95/p99 latency, errors (non-2xx answers of the fake, flows that
timed out, exceptions logged by the bot, "系统繁忙" and flood replies), RSS of the bot process (and workers)
after warm-up and at the end with growth %, outbox enqueued/sent/pending, max and final lag. Progress goes to
stderr every ~10 s; the JSON report to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("PTB_TIMEDELTA", "true")

CHINA = ZoneInfo("Asia/Shanghai")
COUNTY = "350421"  # 明溪县
HOSPITAL = "CH350421"
RESIDENT_BASE = 70_000_000  # chat ids of the subscribed residents
DOCTOR_BASE = 10_000_000
REVIEWER_BASE = 20_000_000
NEED = "老人心口疼，胸闷气短，走路就喘"
GIVEN = ("瑞鹏", "建国", "德明", "水生", "金福", "永安")
# "Realistic" per person and working hour; --rate multiplies them.
ORDERS_PER_HOUR = 0.5
LOOKUPS_PER_HOUR = 0.5
PENDING_PER_HOUR = 3.0
MAX_DECISIONS = 5
STEP_THINK = (1.2, 3.0)
FLOW_TIMEOUT = 15.0
BUSY_MARKERS = ("系统繁忙", "您发送得太快")


def log(msg: str) -> None:
    """Progress on stderr."""
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- child: fake + people


def _fake_class() -> Any:
    from bot.testing.fake_telegram import FakeTelegram

    class SoakFake(FakeTelegram):
        """The fake, counting sends per chat, waking that chat's person, remembering resident texts."""

        def __init__(self) -> None:
            super().__init__(strict_chats=False)
            self.count: dict[int, int] = defaultdict(int)
            self.ids: dict[int, list[int]] = defaultdict(list)
            self.events: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
            self.resident_texts: Counter[tuple[int, int]] = Counter()
            self.resident_sends = 0
            self.busy_replies = 0

        def _record_send(self, key: str, chat_id: int) -> None:
            super()._record_send(key, chat_id)
            if chat_id >= RESIDENT_BASE:
                self.resident_sends += 1
                if key == "sendmessage":
                    text = self._messages[(chat_id, self._next_message_id[chat_id])].text
                    self.resident_texts[(chat_id, hash(text))] += 1
                return
            self.count[chat_id] += 1
            if key == "sendmessage":
                mid = self._next_message_id[chat_id]
                self.ids[chat_id].append(mid)
                if any(m in self._messages[(chat_id, mid)].text for m in BUSY_MARKERS):
                    self.busy_replies += 1
            self.events[chat_id].set()

        def message(self, chat_id: int, message_id: int) -> Any:
            """One bot message as it is now (edits applied)."""
            return self._messages[(chat_id, message_id)]

        def since(self, chat_id: int, mark: int) -> list[Any]:
            """Bot messages to a chat from the ``mark``-th on (edits applied)."""
            return [self._messages[(chat_id, i)] for i in self.ids[chat_id][mark:]]

        def recent(self, chat_id: int, n: int = 3) -> list[Any]:
            """The newest ``n`` bot messages of a chat."""
            return [self._messages[(chat_id, i)] for i in self.ids[chat_id][-n:]]

        def buttons(self, msgs: list[Any], label: str) -> list[tuple[int, str, str]]:
            """(message id, callback_data, text) of the buttons whose label contains ``label``, newest first."""
            return [(m.message_id, b["callback_data"], b["text"]) for m in reversed(msgs) for b in m.buttons
                    if label in b["text"] and "callback_data" in b]

    return SoakFake


class Stats:
    """Figures shared by all simulated people."""

    def __init__(self, measure_from: float) -> None:
        self.measure_from = measure_from
        self.latencies: list[float] = []
        self.updates = 0
        self.measured_updates = 0
        self.orders = self.approvals = self.dispositions = self.conflicts = 0
        self.errors: Counter[str] = Counter()
        self.samples: list[str] = []


class Person:
    """One simulated person: a closed loop with think time."""

    def __init__(self, fake: Any, uid: int, kind: str, rng: random.Random, stats: Stats, rate: float) -> None:
        self.fake, self.uid, self.kind, self.rng, self.stats, self.rate = fake, uid, kind, rng, stats, rate
        self.stop = float("inf")

    def _fail(self, what: str) -> None:
        self.stats.errors[what.split(":")[0]] += 1
        if len(self.stats.samples) < 8:
            texts = [m.text[:50] for m in self.fake.recent(self.uid)]
            self.stats.samples.append(f"{self.kind} {self.uid}: {what}; last: {texts}")

    async def _until(self, predicate: Callable[[], bool], timeout: float = FLOW_TIMEOUT) -> bool:
        event = self.fake.events[self.uid]
        deadline = time.perf_counter() + timeout
        while not predicate():
            event.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), left)
            except TimeoutError:
                return False
        return True

    async def _settle(self, quiet: float = 0.6, timeout: float = FLOW_TIMEOUT) -> None:
        """Wait until no message arrived for ``quiet`` seconds (a /pending answer is several messages)."""
        end = time.perf_counter() + timeout
        last = self.fake.count[self.uid]
        while time.perf_counter() < end:
            await asyncio.sleep(quiet)
            now = self.fake.count[self.uid]
            if now == last:
                return
            last = now

    async def _update(self, inject: Callable[[], object]) -> tuple[bool, int]:
        """Inject one update and wait for the first reply; (replied, message mark before it)."""
        mark = len(self.fake.ids[self.uid])
        before = self.fake.count[self.uid]
        started = time.perf_counter()
        inject()
        self.stats.updates += 1
        ok = await self._until(lambda: self.fake.count[self.uid] > before)
        if not ok:
            self._fail("no reply")
        elif started >= self.stats.measure_from:
            self.stats.latencies.append(time.perf_counter() - started)
            self.stats.measured_updates += 1
        return ok, mark

    def _say(self, text: str) -> Callable[[], object]:
        return lambda: self.fake.user_message(self.uid, text)

    def _press(self, mid: int, data: str) -> Callable[[], object]:
        return lambda: self.fake.press_button(self.uid, mid, data)

    async def _think(self) -> None:
        await asyncio.sleep(self.rng.uniform(*STEP_THINK))

    async def _expect(self, mark: int, what: str, pressed: int | None = None) -> list[tuple[int, str, str]] | bool:
        """Wait until a message from ``mark`` on (or the one before, or the ``pressed`` one, edited) shows ``what``.

        ``button:X`` returns the matching buttons, ``text:X`` True, ``any:X|Y`` True if a button or a text shows
        one of them (``|`` separates alternatives everywhere); on timeout records an error and returns [].
        """
        kind, _, wanted = what.partition(":")
        start = max(0, mark - 1)

        def found() -> list[tuple[int, str, str]] | bool:
            msgs = self.fake.since(self.uid, start)
            if pressed is not None:
                msgs = [self.fake.message(self.uid, pressed), *msgs]
            words = wanted.split("|")
            if kind == "button":
                return [b for w in words for b in self.fake.buttons(msgs, w)]
            in_text = any(any(w in m.text for w in words) for m in msgs)
            return in_text or (kind == "any" and any(self.fake.buttons(msgs, w) for w in words))

        if await self._until(lambda: bool(found())):
            return found()
        self._fail(f"waited for {what}")
        return []

    # ------------------------------------------------------------------ flows

    async def file_order(self) -> None:
        """/new … confirm, one update per step."""
        steps: list[tuple[Callable[[], object] | str, str]] = []
        ok, mark = await self._update(self._say("/new"))
        if not ok or not await self._expect(mark, "text:居民"):
            return await self._abandon()
        await self._think()
        ok, mark = await self._update(self._say("邱"))
        found = await self._expect(mark, "button:邱") if ok else []
        if not isinstance(found, list) or not found:
            return await self._abandon()
        mid, data, _ = self.rng.choice(found)
        await self._think()
        ok, mark = await self._update(self._press(mid, data))
        if not ok or not await self._expect(mark, "any:居民已同意|请描述", mid):
            return await self._abandon()
        consent = self.fake.buttons(self.fake.since(self.uid, max(0, mark - 1)), "居民已同意")
        if consent:
            await self._think()
            ok, mark = await self._update(self._press(consent[0][0], consent[0][1]))
            if not ok or not await self._expect(mark, "text:请描述", consent[0][0]):
                return await self._abandon()
        steps = [(NEED, "button:心血管内科"), ("心血管内科", "button:常规"), ("常规", "button:完成"),
                 # a second open order of the same specialty is offered the first: filed knowingly
                 ("完成", "button:确认提交|仍然提交"), ("确认提交", "text:已提交")]
        last: list[tuple[int, str, str]] | bool = []
        for i, (action, expect) in enumerate(steps):
            await self._think()
            pressed = None
            if i == 0:
                ok, mark = await self._update(self._say(str(action)))
            else:
                assert isinstance(last, list) and last
                pressed = last[0][0]
                ok, mark = await self._update(self._press(last[0][0], last[0][1]))
            last = await self._expect(mark, expect, pressed) if ok else []
            if not last:
                return await self._abandon()
        self.stats.orders += 1

    async def _abandon(self) -> None:
        await self._think()
        await self._update(self._say("/cancel"))

    async def lookup(self) -> None:
        """/orders or /help."""
        await self._update(self._say(self.rng.choice(("/orders", "/help"))))

    async def review(self) -> None:
        """/pending, then decide up to MAX_DECISIONS cards."""
        ok, mark = await self._update(self._say("/pending"))
        if not ok:
            return
        await self._settle()
        msgs = self.fake.since(self.uid, mark)
        label = "批准" if self.kind == "township" else "安排巡诊"
        cards = [(m.message_id, b["callback_data"]) for m in msgs for b in m.buttons
                 if b["text"] == label and "callback_data" in b]
        self.rng.shuffle(cards)
        for mid, data in cards[:MAX_DECISIONS]:
            if time.perf_counter() >= self.stop:
                break
            await self._think()
            ok, mark = await self._update(self._press(mid, data))
            if not ok:
                continue
            if self.kind == "township":
                done = await self._expect(mark, "text:已批准|已经处理过了", mid)
                if done and any("已经处理过了" in m.text for m in self.fake.since(self.uid, max(0, mark - 1))):
                    self.stats.conflicts += 1
                elif done:
                    self.stats.approvals += 1
                continue
            experts = await self._expect(mark, "button:单在手|排班时再定", mid)
            if not isinstance(experts, list) or not experts:
                continue
            pick = next((e for e in reversed(experts) if "单在手" in e[2]), experts[-1])
            await self._think()
            ok, mark = await self._update(self._press(pick[0], pick[1]))
            if ok and await self._expect(mark, "text:巡诊|已经处理过了", pick[0]):
                self.stats.dispositions += 1

    async def run(self, stop: float) -> None:
        """Loop until ``stop``: exponential think time between activities, at ``rate`` × the realistic rates."""
        if self.kind == "doctor":
            per_hour = (ORDERS_PER_HOUR + LOOKUPS_PER_HOUR) * self.rate
        else:
            per_hour = PENDING_PER_HOUR * self.rate
        mean_gap = 3600.0 / per_hour
        self.stop = stop
        # People do not all start at once (and nobody sleeps past the end).
        await asyncio.sleep(max(0.0, min(self.rng.uniform(0, mean_gap), stop - time.perf_counter())))
        while time.perf_counter() < stop:
            try:
                if self.kind != "doctor":
                    await self.review()
                elif self.rng.random() < ORDERS_PER_HOUR / (ORDERS_PER_HOUR + LOOKUPS_PER_HOUR):
                    await self.file_order()
                else:
                    await self.lookup()
            except Exception as e:  # a bug in the simulation must not end the soak silently
                self._fail(f"exception: {type(e).__name__}: {e}")
            gap = self.rng.expovariate(1.0 / mean_gap)
            await asyncio.sleep(max(0.0, min(gap, stop - time.perf_counter())))


def percentile_ms(values: list[float], q: int) -> float | None:
    """The q-th percentile in ms (None without samples)."""
    if len(values) < 2:
        return round(values[0] * 1000, 1) if values else None
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000, 1)


def fake_checks(fake: Any) -> dict[str, Any]:
    """Violations (split by recipient), early retries, duplicates, non-2xx answers."""
    violations = fake.violations()
    by: Counter[str] = Counter()
    for v in violations:
        who = "global" if v.chat_id is None else ("resident" if v.chat_id >= RESIDENT_BASE else "staff")
        by[f"{v.rule}/{who}"] += 1
    # The sender's broadcast alone, replayed against the overall rule (N sends per W seconds).
    lim = fake.limits
    times = [t for key, chat, t in fake.send_log if chat >= RESIDENT_BASE]
    n = lim.global_count
    span = lim.global_window - lim.tolerance
    broadcast_global = sum(1 for i in range(n, len(times)) if times[i] - times[i - n] < span)
    bad = Counter((c.method.lower(), c.status) for c in fake.all_calls
                  if c.status is not None and c.status >= 300 and c.method.lower() != "getupdates")
    return {
        "violations_total": len(violations),
        "violations_by_rule": dict(by),
        "broadcast_global_violations": broadcast_global,
        "early_retries": len(fake.early_retries()),
        "duplicates": sum(k - 1 for k in fake.resident_texts.values() if k > 1),
        "resident_sends": fake.resident_sends,
        "non_2xx": {f"{m} {s}": k for (m, s), k in bad.items()},
        "busy_or_flood_replies": fake.busy_replies,
        "violation_samples": [str(v) for v in violations[:3]],
    }


async def child() -> None:
    """The fake server and the simulated people, driven by JSON lines on stdin."""
    loop = asyncio.get_running_loop()
    fake = _fake_class()()
    await fake.start()
    print(json.dumps({"root": fake.root_url, "token": fake.token}), flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        if cmd["cmd"] == "say":  # /start <invite> for each chat, 20 at a time
            async def one(uid: int, text: str) -> str:
                before = fake.count[uid]
                fake.user_message(uid, text)
                p = Person(fake, uid, "bind", random.Random(0), Stats(0.0), 1.0)
                await p._until(lambda: fake.count[uid] > before, 30.0)
                return fake.recent(uid, 1)[-1].text if fake.ids[uid] else ""

            pairs, texts = cmd["pairs"], []
            for i in range(0, len(pairs), 20):
                texts += await asyncio.gather(*(one(u, t) for u, t in pairs[i:i + 20]))
            print(json.dumps({"texts": texts}, ensure_ascii=False), flush=True)
        elif cmd["cmd"] == "run":
            rng = random.Random(cmd.get("seed", 1))
            now = time.perf_counter()
            stats = Stats(now + cmd["warmup"])
            stop = now + cmd["seconds"]
            people = [Person(fake, uid, kind, random.Random(rng.random()), stats, cmd["rate"])
                      for kind, uids in cmd["people"].items() for uid in uids]
            tasks = [asyncio.create_task(p.run(stop)) for p in people]
            while not all(t.done() for t in tasks):
                await asyncio.wait(tasks, timeout=10.0)
                print(json.dumps({"progress": {
                    "updates": stats.updates, "orders": stats.orders, "errors": sum(stats.errors.values()),
                    "p95_ms": percentile_ms(stats.latencies[-2000:], 95), "resident_sends": fake.resident_sends,
                }}), flush=True)
            measured = cmd["seconds"] - cmd["warmup"]
            result = {
                "updates": stats.updates, "updates_measured": stats.measured_updates,
                "updates_per_s": round(stats.measured_updates / measured, 2) if measured > 0 else None,
                "p50_ms": percentile_ms(stats.latencies, 50), "p95_ms": percentile_ms(stats.latencies, 95),
                "p99_ms": percentile_ms(stats.latencies, 99),
                "max_ms": round(max(stats.latencies) * 1000, 1) if stats.latencies else None,
                "orders_confirmed": stats.orders, "township_approvals": stats.approvals,
                "hospital_circuit_dispositions": stats.dispositions, "review_conflicts": stats.conflicts,
                "flow_errors": dict(stats.errors), "error_samples": stats.samples,
            }
            print(json.dumps({"result": result}, ensure_ascii=False), flush=True)
        elif cmd["cmd"] == "checks":
            print(json.dumps({"checks": fake_checks(fake)}, ensure_ascii=False), flush=True)
    await fake.stop()


# ---------------------------------------------------------------------------------------------- parent: bot, DB


class Child:
    """The child process, spoken to in JSON lines; progress lines are kept aside."""

    def __init__(self) -> None:
        self.progress: dict[str, Any] = {}

    async def start(self) -> dict[str, Any]:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--child", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            cwd=ROOT, limit=2**24)
        return await self._read()

    async def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the soak child exited")
            msg = json.loads(line)
            if "progress" in msg:
                self.progress = msg["progress"]
                continue
            return msg

    async def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd, ensure_ascii=False) + "\n").encode())
        await self.proc.stdin.drain()

    async def ask(self, **cmd: Any) -> dict[str, Any]:
        await self.send(**cmd)
        return await self._read()

    async def quit(self) -> None:
        if self.proc.returncode is None:
            await self.send(cmd="quit")
            await self.proc.wait()


def rss_mb(pid: int | None = None) -> float | None:
    """Resident set size of a process in MiB (Linux /proc)."""
    try:
        text = Path(f"/proc/{pid or 'self'}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def seed(app: Any, residents: int) -> dict[str, Any]:
    """Demo data, six 邱… per village of the county, ``residents`` subscribed resident chat accounts."""
    from bot.demo.run import demo_files
    from domain.places import PlaceLevel
    from domain.staff import Resident, Sex
    from storage.reference import import_files
    from storage.tables import ChatAccountRow, SubscriptionRow

    now = datetime.now(UTC)
    with app.uow() as uow:
        import_files(uow, demo_files(), date.today())
    with app.uow() as uow:
        townships = [p for p in uow.reference.children(COUNTY) if p.level is PlaceLevel.TOWNSHIP]
        villages = [v.code for t in townships for v in uow.reference.children(t.code) if v.level is PlaceLevel.VILLAGE]
        for v in villages:
            for i, given in enumerate(GIVEN):
                uow.residents.add(Resident(f"邱{given}", Sex.MALE, 1940 + i, v))
        table = ChatAccountRow.__table__
        for start in range(0, residents, 1000):
            chunk = range(start, min(residents, start + 1000))
            uow.session.execute(table.insert(), [
                dict(platform="telegram", platform_user_id=str(RESIDENT_BASE + i), chat_id=str(RESIDENT_BASE + i),
                     created_at=now, blocked=False, draft="{}") for i in chunk])
            ids = dict(uow.session.execute(
                table.select().with_only_columns(table.c.platform_user_id, table.c.id)
                .where(table.c.platform_user_id.in_([str(RESIDENT_BASE + i) for i in chunk]))).all())
            uow.session.execute(SubscriptionRow.__table__.insert(), [
                dict(chat_account_id=ids[str(RESIDENT_BASE + i)], village_code=villages[i % len(villages)],
                     created_at=now) for i in chunk])
        uow.commit()
    return {"townships": [t.code for t in townships], "villages": villages}


def invite_pairs(app: Any, doctors: int, reviewers: int) -> dict[str, list[list[Any]]]:
    """(chat id, "/start <code>") per simulated person, by kind, through real invite codes."""
    from domain.places import PlaceLevel
    from domain.staff import Role
    from handlers.onboarding import create_invite

    now = datetime.now(UTC)
    out: dict[str, list[list[Any]]] = {"doctor": [], "township": [], "hospital": []}
    with app.uow() as uow:
        townships = [p.code for p in uow.reference.children(COUNTY) if p.level is PlaceLevel.TOWNSHIP]
        villages = [v.code for t in townships for v in uow.reference.children(t) if v.level is PlaceLevel.VILLAGE]
        docs = [s for v in villages for s in uow.staff.at_institution(f"VP{v}", Role.VILLAGE_DOCTOR)]
        tws = [s for t in townships for s in uow.staff.at_institution(f"TC{t}", Role.TOWNSHIP_REVIEWER)]
        hss = uow.staff.at_institution(HOSPITAL, Role.HOSPITAL_REVIEWER)
        hospital_n = max(1, reviewers // 10)
        plan = [("doctor", Role.VILLAGE_DOCTOR, docs, doctors, DOCTOR_BASE),
                ("township", Role.TOWNSHIP_REVIEWER, tws, reviewers - hospital_n, REVIEWER_BASE),
                ("hospital", Role.HOSPITAL_REVIEWER, hss, hospital_n, REVIEWER_BASE + 10_000)]
        for kind, role, staff, n, base in plan:
            for i in range(n):
                st = staff[i % len(staff)]
                code = create_invite(uow, role, st.institution_code, st.code, now)
                out[kind].append([base + i, f"/start {code}"])
        uow.commit()
    return out


def circuit_slot(now: datetime) -> tuple[date, str]:
    """A slot whose every default reminder time (3 and 1 days before, 09:00) has passed: due at creation."""
    local = now.astimezone(CHINA)
    if local.hour < 9:
        return local.date(), "pm"
    return local.date() + timedelta(days=1), "am"


def add_circuit(app: Any, index: int, townships: list[str]) -> dict[str, Any]:
    """A circuit of the county hospital, its reminder due now: township, township, county-wide, …"""
    from domain.circuits import Circuit, CircuitLevel, HalfDay
    from domain.staff import Role
    from handlers.services.announcements import Announcer

    now = datetime.now(UTC)
    county_wide = index % 3 == 2
    place = COUNTY if county_wide else townships[index % len(townships)]
    day, half = circuit_slot(now)
    with app.uow() as uow:
        experts = sorted(s.id for s in uow.staff.at_institution(HOSPITAL, Role.EXPERT) if s.id is not None)
        # A different set of experts each time: every announcement's text is its own (the duplicate check).
        k = index % (2 ** len(experts) - 1) + 1
        chosen = frozenset(e for b, e in enumerate(experts) if k >> b & 1)
        c = Circuit(HOSPITAL, place, day, HalfDay(half), CircuitLevel.COUNTY if county_wide else CircuitLevel.TOWNSHIP,
                    chosen)
        uow.circuits.add(c)
        Announcer.record_created(uow, c, None, now)
        uow.commit()
    return {"at": now.isoformat(timespec="seconds"), "place": place, "day": day.isoformat(), "half": half}


def outbox_figures(app: Any) -> dict[str, Any]:
    """Counts by status and the age of the oldest pending message."""
    import sqlalchemy as sa

    from storage.tables import OutboxRow

    t = OutboxRow.__table__
    with app.engine.connect() as conn:
        counts = dict(conn.execute(sa.select(t.c.status, sa.func.count()).group_by(t.c.status)).all())
        oldest = conn.execute(sa.select(sa.func.min(t.c.created_at)).where(t.c.status == "pending")).scalar()
    lag = 0.0
    if oldest is not None:
        if isinstance(oldest, str):
            oldest = datetime.fromisoformat(oldest)
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        lag = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
    return {"counts": {str(k): int(v) for k, v in counts.items()}, "lag_s": round(lag, 1)}


class ErrorCounter(logging.Handler):
    """Counts log records at ERROR and above in the bot process (exceptions in handlers, the adapter …)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.samples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.samples) < 5:
            self.samples.append(f"{record.name}: {record.getMessage()[:200]}")


def start_workers(n: int, url: str, key: str, root: str, token: str, rate: int, tmp: Path) -> list[Any]:
    """``n`` real ``python -m bot worker`` processes (sender and scheduler), ready."""
    procs = []
    for i in range(n):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XUNZHEN_", "TELEGRAM_", "DATABASE_URL"))}
        env.update(DATABASE_URL=url, XUNZHEN_SECRET_KEY=key, TELEGRAM_TOKEN=token, TELEGRAM_API_BASE_URL=root,
                   PTB_TIMEDELTA="true", PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING", XUNZHEN_SWEEP_SECONDS="10",
                   XUNZHEN_WORKER_ROLES="sender,scheduler", XUNZHEN_SEND_RATE=str(rate))
        logfile = tmp / f"worker{i}.log"
        with open(logfile, "ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=env, stdout=out,
                                    stderr=subprocess.STDOUT)
        procs.append((proc, logfile))
    end = time.monotonic() + 60
    for proc, logfile in procs:
        while b"worker ready" not in logfile.read_bytes():
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"worker did not start:\n{logfile.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
    return procs


def stop_workers(procs: list[Any]) -> None:
    """SIGTERM each worker we started, then wait (kill after 20 s)."""
    for proc, _ in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc, _ in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def soak(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Set up, run the county, drain, check; returns the report."""
    from bot.bootstrap import App, build_channels, build_conversation
    from bot.config import Settings, WorkerSettings
    from bot.jobs.worker import serve
    from bot.transports.telegram.ptb import PtbAdapter
    from nlp import load_matcher
    from storage.crypto import FieldCipher
    from storage.db import make_engine, migrate
    from storage.uow import uow_factory

    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    cluster = None
    child = Child()
    procs: list[Any] = []
    report: dict[str, Any] = {
        "benchmark": "soak: a simulated county (明溪县) on the fake Telegram server",
        "backend": args.backend, "workers": args.workers if args.backend == "postgres" else "in-process",
        "seconds": args.seconds, "warmup_s": args.warmup, "rate_multiplier": args.rate,
        "people": {"doctors": args.doctors, "reviewers": args.reviewers, "residents": args.residents},
        "send_rate": args.send_rate, "cpus": os.cpu_count(), "date": datetime.now(CHINA).isoformat(timespec="seconds"),
    }
    try:
        key = FieldCipher.new_key_text()
        if args.backend == "postgres":
            from tests.conftest import PostgresCluster

            cluster = PostgresCluster()
            cluster.start()
            cluster.execute("CREATE DATABASE soak")
            url = cluster.url("soak")
        else:
            url = f"sqlite:///{tmp / 'soak.db'}"
        hello = await child.start()
        settings = Settings(var_dir=tmp, database_url=url, secret_key=key, log_level="WARNING", transport="ptb",
                            telegram_token=hello["token"], telegram_api_base_url=hello["root"],
                            send_rate=args.send_rate, worker=WorkerSettings(sweep_seconds=10))
        engine = make_engine(url)
        migrate(engine)
        app = App(settings, engine, uow_factory(engine, settings.cipher()))
        t0 = time.monotonic()
        places = await asyncio.to_thread(seed, app, args.residents)
        log(f"seeded {args.residents} subscribed residents in {time.monotonic() - t0:.1f}s ({args.backend})")

        conversation = build_conversation(app, matcher=load_matcher())
        adapter = PtbAdapter(app, conversation)
        await adapter.start()
        stop = asyncio.Event()
        serving = None
        if args.backend == "postgres":
            procs = await asyncio.to_thread(start_workers, args.workers, url, key, hello["root"], hello["token"],
                                            args.send_rate, tmp)
        else:
            channels = [c for c in build_channels(app) if c.platform != "console"]
            serving = asyncio.create_task(serve(app, stop, channels, quiet=True))
        try:
            t0 = time.monotonic()
            pairs = await asyncio.to_thread(invite_pairs, app, args.doctors, args.reviewers)
            everyone = [p for v in pairs.values() for p in v]
            bound = await child.ask(cmd="say", pairs=everyone)
            ok = sum("绑定成功" in t for t in bound["texts"])
            report["bound_through_chat"] = ok
            log(f"bound {ok}/{len(everyone)} people through invite codes in {time.monotonic() - t0:.1f}s")
            if ok != len(everyone):
                raise RuntimeError(f"binding failed: {[t for t in bound['texts'] if '绑定成功' not in t][:3]}")

            people = {k: [p[0] for p in v] for k, v in pairs.items()}
            await child.send(cmd="run", people=people, seconds=args.seconds, warmup=args.warmup, rate=args.rate)
            result_task = asyncio.create_task(child._read())
            started = time.monotonic()
            every = args.announce_every or max(30.0, args.seconds / 12)
            next_ann, ann_index, circuits = started + min(every, args.seconds * 0.1), 0, []
            rss_start: dict[str, float | None] = {}
            max_lag = 0.0
            last_progress = 0.0
            while not result_task.done():
                now = time.monotonic()
                if now >= next_ann and now - started < args.seconds - 5:
                    circuits.append(await asyncio.to_thread(add_circuit, app, ann_index, places["townships"]))
                    ann_index += 1
                    next_ann += every
                if not rss_start and now - started >= args.warmup:
                    rss_start = {"bot": rss_mb()} | {f"worker{i}": rss_mb(p.pid) for i, (p, _) in enumerate(procs)}
                ob = await asyncio.to_thread(outbox_figures, app)
                max_lag = max(max_lag, ob["lag_s"])
                if now - last_progress >= 10:
                    last_progress = now
                    log(f"{now - started:5.0f}s updates={child.progress.get('updates', 0)} "
                        f"orders={child.progress.get('orders', 0)} p95={child.progress.get('p95_ms')}ms "
                        f"errors={child.progress.get('errors', 0)} outbox={ob['counts']} lag={ob['lag_s']}s "
                        f"rss={rss_mb()}MiB circuits={len(circuits)}")
                await asyncio.wait([result_task], timeout=5.0)
            load = result_task.result()["result"]
            rss_end = {"bot": rss_mb()} | {f"worker{i}": rss_mb(p.pid) for i, (p, _) in enumerate(procs)}
            at_end = await asyncio.to_thread(outbox_figures, app)
            # Drain: give the outbox time to empty, then check what reached the residents.
            drain_start = time.monotonic()
            ob = at_end
            while ob["counts"].get("pending", 0) and time.monotonic() - drain_start < args.drain:
                await asyncio.sleep(5)
                ob = await asyncio.to_thread(outbox_figures, app)
                max_lag = max(max_lag, ob["lag_s"])
                log(f"draining: outbox={ob['counts']} lag={ob['lag_s']}s")
            await asyncio.sleep(2)
            checks = (await child.ask(cmd="checks"))["checks"]
        finally:
            stop.set()
            if serving is not None:
                await serving
            await asyncio.to_thread(stop_workers, procs)
            await adapter.stop()
        final = await asyncio.to_thread(outbox_figures, app)
        app.close()

        def growth(k: str) -> float | None:
            a, b = rss_start.get(k), rss_end.get(k)
            return round(100.0 * (b - a) / a, 1) if a and b else None

        report.update({
            "load": load,
            "errors": {
                "flow_errors": sum(load["flow_errors"].values()), "non_2xx": checks["non_2xx"],
                "bot_error_logs": errors.count, "bot_error_samples": errors.samples,
                "busy_or_flood_replies": checks["busy_or_flood_replies"],
            },
            "rss_mib": {"after_warmup": rss_start, "end": rss_end,
                        "growth_pct": {k: growth(k) for k in rss_end}},
            "circuits_announced": circuits,
            "outbox": {
                "at_end_of_load": at_end["counts"], "lag_at_end_of_load_s": at_end["lag_s"],
                "enqueued": sum(final["counts"].values()), "after_drain": final["counts"],
                "pending_after_drain": final["counts"].get("pending", 0), "final_lag_s": final["lag_s"],
                "max_lag_s": round(max_lag, 1), "drain_s": round(time.monotonic() - drain_start, 1),
            },
            "telegram_checks": {k: v for k, v in checks.items() if k not in ("non_2xx", "busy_or_flood_replies")},
        })
        return report
    finally:
        await child.quit()
        if cluster is not None:
            cluster.stop()


def main() -> int:
    """Print the soak figures as one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 3600)))
    parser.add_argument("--warmup", type=float, default=None, help="default: a tenth of the run, at most 120 s")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (PostgreSQL)")
    parser.add_argument("--doctors", type=int, default=300)
    parser.add_argument("--reviewers", type=int, default=30)
    parser.add_argument("--residents", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=10.0, help="multiple of the realistic rates")
    parser.add_argument("--send-rate", type=int, default=30, help="outbox sends per second (all workers)")
    parser.add_argument("--announce-every", type=float, default=None, help="default: the run / 12, at least 30 s")
    parser.add_argument("--drain", type=float, default=300.0, help="seconds to let the outbox empty after the load")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child())
        return 0
    if args.warmup is None:
        args.warmup = min(120.0, args.seconds / 10)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for noisy in ("httpx", "telegram", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="xz-soak-") as tmp:
        report = asyncio.run(soak(args, Path(tmp)))
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
