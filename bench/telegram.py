"""Benchmark the Telegram adapters against the fake Bot API: full stack vs the bare library's echo bot, as JSON.

Run: python bench/telegram.py [--users 40] [--seconds 6] [--warmup 1.5] [--libraries ptb,aiogram]

The fake Bot API server and the simulated users run in a child process (its own interpreter, so the load
generator does not share a GIL with the bot); the bot under test runs in this process and reaches the fake
through real HTTP on localhost, long polling as in production. Users are closed loops: send one update,
wait for the bot's first reply (sendMessage or editMessageText to that chat), record the latency, go on.

For each library, in the same run and against the same fake:
* ``echo``: the library's plain echo bot (PTB with ``concurrent_updates(True)``, aiogram's default
  ``start_polling``, i.e. both processing updates concurrently) answering text messages;
* ``adapter_only``: our adapter (per-chat queues, worker threads, HTML, rendering, sending)
  around a conversation stand-in that echoes, to show what the adapter layer costs by itself;
* ``full_stack``: our adapter + the conversation handlers + SQLite (a fresh seeded database), each user a
  village doctor bound through an invite code, with a mixed workload: 70 % browsing/status (/help,
  /orders, /mydata) and 30 % steps of filing an order (/new, search, pick the resident, consent, need text,
  specialty, urgency, done, confirm — each step one update, buttons pressed with their real callback_data).

``ratio`` is full-stack updates/s over echo updates/s (target: ≥ 0.5); ``adapter_only_ratio`` the same
for the adapter around the echoing stand-in. Latency is measured in the child
from injecting the update to the first reply reaching the fake server. The flood guard is opened wide:
simulated users type far faster than people. So is our overall send budget (``--send-rate``; 30/s in
production, Telegram's limit): the bare echo bots pace nothing, and this compares the work per update.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# This file is named like the ``telegram`` package: keep its own directory off the path so PTB imports.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("PTB_TIMEDELTA", "true")

NEED = "老人心口疼，胸闷气短，走路就喘"
BROWSE = ("/help", "/orders", "/mydata")
ORDER_SHARE = 0.3
ORDER_STEPS_TYPICAL = 8  # updates to file one order once the resident's consent is on record


# ---------------------------------------------------------------------------------------------- child: fake + users


def _fake_class():
    from bot.testing.fake_telegram import FakeTelegram

    class BenchFake(FakeTelegram):
        """The fake, counting sends per chat and waking the simulated user of that chat."""

        def __init__(self) -> None:
            super().__init__(strict_chats=False)
            self.count: dict[int, int] = defaultdict(int)
            self.ids: dict[int, list[int]] = defaultdict(list)
            self.events: dict[int, asyncio.Event] = defaultdict(asyncio.Event)

        def _record_send(self, key: str, chat_id: int) -> None:
            super()._record_send(key, chat_id)
            self.count[chat_id] += 1
            if key == "sendmessage":
                self.ids[chat_id].append(self._next_message_id[chat_id])
            self.events[chat_id].set()

        def recent(self, chat_id: int, n: int = 3) -> list[Any]:
            """The newest ``n`` bot messages of a chat (edits applied)."""
            return [self._messages[(chat_id, i)] for i in self.ids[chat_id][-n:]]

        def button(self, chat_id: int, label: str) -> tuple[int, str] | None:
            """(message id, callback_data) of the newest button whose label contains ``label``."""
            for msg in reversed(self.recent(chat_id)):
                for b in msg.buttons:
                    if label in b["text"]:
                        return msg.message_id, b["callback_data"]
            return None

        def shows(self, chat_id: int, text: str) -> bool:
            """True if one of the newest messages contains ``text``."""
            return any(text in m.text for m in self.recent(chat_id))

    return BenchFake


class Mix:
    """The 70/30 split over all users: an order is begun only while order steps, counting the steps already
    promised by orders under way, stay within their share of all updates."""

    def __init__(self) -> None:
        self.total = self.order_updates = self.promised = 0

    def start_order(self) -> bool:
        """True if a user at rest should begin an order now (then its steps are promised)."""
        steps = ORDER_STEPS_TYPICAL
        if self.order_updates + self.promised + steps > ORDER_SHARE * (self.total + self.promised + steps):
            return False
        self.promised += steps
        return True


class User:
    """One simulated person in a closed loop."""

    def __init__(self, fake: Any, uid: int, workload: str, rng: random.Random, mix: Mix | None = None) -> None:
        self.fake, self.uid, self.workload, self.rng = fake, uid, workload, rng
        self.mix = mix or Mix()
        self.step = 0
        self.total = self.order_updates = self.orders = self.promised = 0
        self.errors = 0
        self.samples: list[str] = []

    def _settle_promise(self) -> None:
        """Give back the steps an ended (or abandoned) order did not use."""
        self.mix.promised -= self.promised
        self.promised = 0

    def _fail(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < 2:
            texts = [m.text[:60] for m in self.fake.recent(self.uid)]
            self.samples.append(f"step {self.step}: {what}; last messages: {texts}")

    async def _until(self, predicate: Any, timeout: float = 10.0) -> bool:
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

    def _press(self, label: str) -> bool:
        """Press the newest button of the first of the ``|``-separated labels that is shown."""
        found = next((b for w in label.split("|") if (b := self.fake.button(self.uid, w)) is not None), None)
        if found is None:
            return False
        self.fake.press_button(self.uid, found[0], found[1])
        return True

    # Each order step: (what to do, what must show before the next step). A label in "press" is a button.
    ORDER_STEPS = (
        ("say", "/new", None),
        ("say", "邱", "button:邱瑞鹏"),
        ("press", "邱瑞鹏", "any:居民已同意|请描述"),
        ("consent", "居民已同意", "text:请描述"),
        ("say", NEED, "button:心血管内科"),
        ("press", "心血管内科", "button:常规"),
        ("press", "常规", "button:完成"),
        # A second open order of the same specialty for the resident is offered the first: filed knowingly.
        ("press", "完成", "any:确认提交|仍然提交"),
        ("press", "确认提交|仍然提交", "text:已提交"),
    )

    def _ready(self, expect: str) -> bool:
        kind, _, what = expect.partition(":")
        if kind == "button":
            return self.fake.button(self.uid, what) is not None
        if kind == "text":
            return self.fake.shows(self.uid, what)
        return any(self.fake.button(self.uid, w) or self.fake.shows(self.uid, w) for w in what.split("|"))

    def _act(self) -> str | None:
        """Inject the next update; returns what must show before the next order step (None: nothing).

        An order is filed without interruption (a command would leave the flow), and a new one is begun
        whenever order steps fall below their 30 % share of all users' updates (see ``Mix``).
        """
        self.total += 1
        if self.workload == "echo":
            self.fake.user_message(self.uid, f"你好 {self.rng.randrange(10**6)}")
            return None
        self.mix.total += 1
        if self.step == 0:
            self._settle_promise()
            if not self.mix.start_order():
                self.fake.user_message(self.uid, self.rng.choice(BROWSE))
                return None
            self.promised = ORDER_STEPS_TYPICAL
        self.order_updates += 1
        self.mix.order_updates += 1
        if self.promised > 0:
            self.promised -= 1
            self.mix.promised -= 1
        action, arg, expect = self.ORDER_STEPS[self.step]
        if action == "consent" and self.fake.button(self.uid, arg) is None:
            self.step += 1  # consent is asked once per resident, then reused: skip to the need text
            action, arg, expect = self.ORDER_STEPS[self.step]
        if action == "say":
            self.fake.user_message(self.uid, arg)
        elif not self._press(arg):
            self._fail(f"no button {arg}")
            self.step = 0
            self.fake.user_message(self.uid, "/cancel")
            return None
        self.step = (self.step + 1) % len(self.ORDER_STEPS)
        if self.step == 0:
            self.orders += 1
        return expect

    async def run(self, start_measuring: float, stop: float, latencies: list[float]) -> None:
        """Loop until ``stop``, recording latencies of updates injected after ``start_measuring``."""
        while time.perf_counter() < stop:
            before = self.fake.count[self.uid]
            started = time.perf_counter()
            expect = self._act()
            if not await self._until(lambda b=before: self.fake.count[self.uid] > b):
                self._fail("no reply")
                continue
            if started >= start_measuring and time.perf_counter() <= stop:
                latencies.append(time.perf_counter() - started)
            if expect is not None and not await self._until(lambda e=expect: self._ready(e)):
                self._fail(f"waited for {expect}")
                self.step = 0


async def child() -> None:
    """The fake server and the simulated users, driven by JSON lines on stdin."""
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
        if cmd["cmd"] == "say":  # each user sends a text and waits for a reply (binding through invites)
            texts = []
            for uid, text in cmd["pairs"]:
                before = fake.count[uid]
                fake.user_message(uid, text)
                user = User(fake, uid, "echo", random.Random(0))
                await user._until(lambda u=uid, b=before: fake.count[u] > b)
                texts.append(fake.recent(uid, 1)[-1].text if fake.ids[uid] else "")
            print(json.dumps({"texts": texts}, ensure_ascii=False), flush=True)
        elif cmd["cmd"] == "run":
            rng = random.Random(cmd.get("seed", 1))
            mix = Mix()
            users = [User(fake, uid, cmd["workload"], random.Random(rng.random()), mix) for uid in cmd["users"]]
            latencies: list[float] = []
            now = time.perf_counter()
            start_measuring, stop = now + cmd["warmup"], now + cmd["warmup"] + cmd["seconds"]
            calls_before = len(fake._calls)
            await asyncio.gather(*(u.run(start_measuring, stop, latencies) for u in users))
            result = summary(latencies, cmd["seconds"], sum(u.errors for u in users))
            # Bot API calls the bot made per update (getUpdates included): an echo bot sends one message; ours
            # also answers button presses, edits the pressed message, notifies others and updates menus.
            injected = max(1, sum(u.total for u in users))
            result["api_calls_per_update"] = round((len(fake._calls) - calls_before) / injected, 2)
            result["error_samples"] = [s for u in users for s in u.samples][:5]
            if cmd["workload"] != "echo":
                total = sum(u.total for u in users)
                result["order_step_share"] = round(sum(u.order_updates for u in users) / max(total, 1), 3)
                result["orders_confirmed"] = sum(u.orders for u in users)
            print(json.dumps(result, ensure_ascii=False), flush=True)
    await fake.stop()


def summary(latencies: list[float], seconds: float, errors: int) -> dict[str, Any]:
    """Updates per second and latency percentiles in ms."""
    if not latencies:
        return {"updates": 0, "updates_per_s": 0.0, "p50_ms": None, "p95_ms": None, "errors": errors}
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "updates": len(latencies),
        "updates_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
        "errors": errors,
    }


# ---------------------------------------------------------------------------------------------- parent: the bots


class Child:
    """The child process, spoken to in JSON lines."""

    async def start(self) -> dict[str, str]:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--child", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            cwd=ROOT)
        return await self._read()

    async def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark child exited")
        return json.loads(line)

    async def ask(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd, ensure_ascii=False) + "\n").encode())
        await self.proc.stdin.drain()
        return await self._read()

    async def quit(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b'{"cmd": "quit"}\n')
        await self.proc.stdin.drain()
        await self.proc.wait()


async def echo_bot(library: str, root: str, token: str) -> Any:
    """Start the bare library's echo bot; returns an async stop function."""
    if library == "ptb":
        from telegram import Update
        from telegram.ext import Application, ContextTypes, MessageHandler, filters

        async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.message is not None and update.message.text is not None
            await update.message.reply_text(update.message.text)

        app = Application.builder().token(token).base_url(f"{root}/bot").concurrent_updates(True).build()
        app.add_handler(MessageHandler(filters.TEXT, echo))
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0)

        async def stop_ptb() -> None:
            assert app.updater is not None
            await app.updater.stop()
            await app.stop()
            await app.shutdown()

        return stop_ptb

    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    dp = Dispatcher()

    @dp.message()
    async def echo_message(message: Message) -> None:
        await message.answer(message.text or "…")

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(root)))
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))

    async def stop_aiogram() -> None:
        await dp.stop_polling()
        await polling

    return stop_aiogram


def full_stack_app(root: str, token: str, tmp: Path) -> Any:
    """A fresh seeded SQLite database and the app wired to the fake."""
    from datetime import date

    from bot.bootstrap import App
    from bot.config import Settings
    from bot.demo.run import demo_files
    from storage.db import make_engine, migrate
    from storage.reference import import_files
    from storage.uow import uow_factory

    # The budget opened as ``--send-rate`` asks: Settings built by hand read no environment (only from_env does).
    settings = Settings(var_dir=tmp, database_url=f"sqlite:///{tmp / 'bench.db'}", secret_key=None,
                        log_level="WARNING", transport="ptb", telegram_token=token, telegram_api_base_url=root,
                        send_rate=int(os.environ["XUNZHEN_SEND_RATE"]))
    engine = make_engine(settings.database_url)
    migrate(engine)
    app = App(settings, engine, uow_factory(engine, settings.cipher()))
    with app.uow() as uow:
        import_files(uow, demo_files(), date.today())
    return app


def invites(app: Any, staff_code: str, n: int) -> list[str]:
    """``n`` invite codes for one member of staff."""
    from datetime import UTC, datetime

    from domain.staff import Role
    from handlers.onboarding import create_invite

    role = Role.VILLAGE_DOCTOR if staff_code == "S0006" else Role.TOWNSHIP_REVIEWER
    with app.uow() as uow:
        inst = uow.staff.by_code(staff_code).institution_code
        codes = [create_invite(uow, role, inst, staff_code, datetime.now(UTC)) for _ in range(n)]
        uow.commit()
    return codes


class EchoConversation:
    """A stand-in for the conversation core that answers every text with itself (no handlers, no database)."""

    def handle(self, inbound: Any, after: Any = None) -> list[Any]:
        """Echo the text back to the same chat."""
        from handlers import Outbound

        return [Outbound(inbound.platform, inbound.chat_id, inbound.text or "…")]


async def bench_library(library: str, child: Child, hello: dict[str, str], args: argparse.Namespace,
                        base: int, matcher: Any) -> dict[str, Any]:
    """Echo bot, then full stack, for one library."""
    root, token = hello["root"], hello["token"]
    users = list(range(base, base + args.users))
    stop = await echo_bot(library, root, token)
    try:
        echo = await child.ask(cmd="run", workload="echo", users=users, seconds=args.seconds, warmup=args.warmup)
    finally:
        await stop()

    from bot.bootstrap import App, build_conversation
    from bot.transports.telegram.aiogram import AiogramAdapter
    from bot.transports.telegram.ptb import PtbAdapter
    from handlers import FloodGuard

    adapter_class = PtbAdapter if library == "ptb" else AiogramAdapter
    with tempfile.TemporaryDirectory() as tmp:
        app = full_stack_app(root, token, Path(tmp))
        # Our adapter around a conversation that only echoes: what the adapter itself costs.
        adapter = adapter_class(app, EchoConversation())
        await adapter.start()
        try:
            thin = await child.ask(cmd="run", workload="echo", users=[u + 20_000 for u in users],
                                   seconds=args.seconds, warmup=args.warmup)
        finally:
            await adapter.stop()

        conversation = build_conversation(app, matcher=matcher, flood=FloodGuard(limit=10**9))
        # The handlers in a thread of this process (the default), then in one worker process beside it.
        full = await run_full_stack(adapter_class(app, conversation), app, child, args, users, 50_000)
        adapter = adapter_class(App(replace(app.settings, handler_processes=1, flood_limit=10**9), app.engine, app.uow),
                                conversation)
        full_p = await run_full_stack(adapter, app, child, args, users, 70_000)
        app.close()
    ratio = full["updates_per_s"] / echo["updates_per_s"] if echo["updates_per_s"] else 0.0
    ratio_p = full_p["updates_per_s"] / echo["updates_per_s"] if echo["updates_per_s"] else 0.0
    thin_ratio = thin["updates_per_s"] / echo["updates_per_s"] if echo["updates_per_s"] else 0.0
    return {"echo": echo, "adapter_only": thin, "full_stack": full, "full_stack_handler_process": full_p,
            "ratio": round(ratio, 3), "ratio_handler_process": round(ratio_p, 3),
            "adapter_only_ratio": round(thin_ratio, 3),
            "meets_target": ratio >= 0.5, "meets_target_handler_process": ratio_p >= 0.5}


async def run_full_stack(adapter: Any, app: Any, child: Child, args: argparse.Namespace, users: list[int],
                         offset: int) -> dict[str, Any]:
    """Bind fresh doctors (and a township reviewer) through invites, then run the mixed workload."""
    await adapter.start()
    try:
        with app.uow() as uow:
            before = sum(uow.orders.count_by_status().values())
        doctors = [u + offset for u in users]
        township = doctors[0] + 9_999
        pairs = [[u, f"/start {c}"] for u, c in zip(doctors, invites(app, "S0006", len(doctors)), strict=True)]
        pairs.append([township, f"/start {invites(app, 'S0005', 1)[0]}"])
        bound = await child.ask(cmd="say", pairs=pairs)
        assert all("绑定成功" in t for t in bound["texts"]), bound
        full = await child.ask(cmd="run", workload="mixed", users=doctors, seconds=args.seconds, warmup=args.warmup)
        with app.uow() as uow:
            full["orders_in_db"] = sum(uow.orders.count_by_status().values()) - before
        return full
    finally:
        await adapter.stop()


async def parent(args: argparse.Namespace) -> dict[str, Any]:
    """Run every library's pair of measurements against one fake."""
    from nlp import load_matcher

    matcher = load_matcher()
    child = Child()
    hello = await child.start()
    results: dict[str, Any] = {
        "benchmark": "telegram adapters: full stack (adapter + handlers + SQLite) vs bare echo bot, long polling",
        "users": args.users, "seconds": args.seconds, "warmup_s": args.warmup, "cpus": os.cpu_count(),
        "send_rate_budget": args.send_rate,
        "workload": {"browse": 1 - ORDER_SHARE, "order_steps": ORDER_SHARE, "browse_commands": list(BROWSE)},
    }
    try:
        for i, library in enumerate(args.libraries.split(",")):
            results[library] = await bench_library(library, child, hello, args, 1_000_000 * (i + 1), matcher)
            r = results[library]
            print(f"{library}: echo {r['echo']['updates_per_s']}/s; full stack {r['full_stack']['updates_per_s']}/s "
                  f"(ratio {r['ratio']}), with a handler process {r['full_stack_handler_process']['updates_per_s']}"
                  f"/s (ratio {r['ratio_handler_process']})", file=sys.stderr)
    finally:
        await child.quit()
    return results


def main() -> int:
    """Print the benchmark figures as one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--libraries", default="ptb,aiogram")
    parser.add_argument("--send-rate", type=int, default=1_000_000,
                        help="our adapters' overall messages/s budget (production: 30, Telegram's limit); the echo "
                             "bots have none, so the comparison opens ours as wide by default")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child())
        return 0
    os.environ["XUNZHEN_SEND_RATE"] = str(args.send_rate)
    import logging

    logging.basicConfig(level=logging.WARNING)
    for noisy in ("httpx", "aiogram", "telegram", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    print(json.dumps(asyncio.run(parent(args)), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
