"""Benchmark: the sender against the local fake Telegram server limited to 30 messages/s.

Run from the repository root: ``.venv/bin/python bench/sender.py [--messages 600]``.
The fake enforces Telegram's limits (a send that would break one gets 429) and counts violations.
Prints one JSON object on stdout. Targets: achieved rate ≥ 95% of the limit, 0 violations, 0 lost, 0 duplicated.

``--shared`` measures the budget shared across processes instead: the most sends in any rolling second (every
window, not whole seconds) of two senders on one token and one database, and of a broadcast with replies (5 a
second) in one process; and the reply latency p50/p95 (from the reply's request for a slot to the fake's stamp)
while the broadcast runs. The burst of replies alone is measured by ``bench/telegram.py`` and
``tests/telegram/test_send_budget.py``. Target: ≤ 30 in every second, 0 lost, 0 duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The repository root replaces bench/ on the path: bench/telegram.py would shadow the telegram package.
sys.path.remove(sys.path[0])
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.delivery.channels import PtbChannel
from bot.delivery.sender import Sender, SharedBudget, SlidingWindow, database_take, end_turn, shared_rate, take_turn
from bot.testing.fake_telegram import FakeTelegram
from storage.crypto import FieldCipher
from storage.db import make_engine, migrate
from storage.uow import SqlUnitOfWork

LIMIT = 30


def broadcast_outbox(n: int, url: str, key: str):
    """A fresh database with ``n`` announcements queued for ``n`` Telegram chats: its engine, unit of work, a clock
    and the chats."""
    engine = make_engine(url)
    migrate(engine)
    cipher = FieldCipher.from_text(FieldCipher.new_key_text())
    uow = lambda: SqlUnitOfWork(engine, cipher)  # noqa: E731
    start = datetime.now(UTC)
    t0 = time.monotonic()

    def clock() -> datetime:
        return start + timedelta(seconds=time.monotonic() - t0)

    chats = list(range(1000, 1000 + n))
    with uow() as u:
        for c in chats:
            u.outbox.enqueue("telegram", str(c), f"坐诊预告 {c}", None, priority="bulk", dedupe_key=f"{key}:{c}",
                             account_id=None, now=start)
        u.commit()
    return engine, uow, clock, chats


async def run(n: int, url: str) -> dict:
    engine, uow, clock, chats = broadcast_outbox(n, url, "b")
    async with FakeTelegram(known_chats=chats, enforce_limits=True) as fake:
        channel = PtbChannel(fake.token, fake.root_url)
        sender = Sender(uow, [channel], clock=clock, cold_start=False)
        print(f"发送 {n} 条 …", file=sys.stderr)
        began = time.perf_counter()
        stats = await sender.drain(timeout=n / LIMIT * 3 + 30)
        seconds = time.perf_counter() - began
        await channel.close()
        log = fake.send_log
        received = Counter(chat for _m, chat, _t in log)
        # Sends per second as the server stamped them, over the whole seconds of the run (the first and the
        # partial last second left out). Fair to a sender that sends in bursts and to one that paces evenly;
        # the former formula (count ÷ (first to last + one window)) assumed bursts and undercounted pacing.
        per_second = Counter(int(t - log[0][2]) for _m, _c, t in log) if log else Counter()
        whole = range(1, max(per_second, default=0))
        rate = sum(per_second[s] for s in whole) / len(whole) if whole else 0.0
        violations = len(fake.violations())
        early = len(fake.early_retries())
    with uow() as u:
        counts = u.outbox.counts()
    engine.dispose()
    return {
        "benchmark": "sender",
        "backend": url.split(":")[0],
        "messages": n,
        "limit_per_second": LIMIT,
        "seconds": round(seconds, 2),
        "achieved_per_second": round(rate, 2),
        "achieved_ratio": round(rate / LIMIT, 4),
        "violations": violations,
        "early_retries": early,
        "rate_limited_429": stats.rate_limited,
        "lost": sum(1 for c in chats if received[c] == 0),
        "duplicated": sum(1 for c in chats if received[c] > 1),
        "outbox": counts,
    }


def busiest_second(stamps: list[float]) -> int:
    """The most sends in any rolling second."""
    stamps, best, j = sorted(stamps), 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


async def run_shared(n: int, replies: int, url: str, reply_rate: float = 5.0) -> dict:
    """Two senders (each its own in-process budget) share one token through the database; then, in one process,
    a broadcast and replies arriving a few a second (each its own task, as the chat transport sends them)."""
    engine, uow, clock, chats = broadcast_outbox(n, url, "s")
    rate = shared_rate(LIMIT)
    reply_chats = list(range(900_000, 900_000 + replies))
    async with FakeTelegram(known_chats=chats + reply_chats) as fake:
        key = f"telegram:{fake.token[:8]}"
        channels = [PtbChannel(fake.token, fake.root_url) for _ in range(2)]
        senders = [Sender(uow, [ch], clock=clock, worker_id=f"w{i}", cold_start=False,
                          shared={"telegram": SharedBudget(database_take(uow, key, 1.0 / rate), rate)})
                   for i, ch in enumerate(channels)]
        print(f"两个发送进程，{n} 条 …", file=sys.stderr)
        stats = await asyncio.gather(*(s.drain(timeout=n / LIMIT * 3 + 30) for s in senders))
        two = fake.send_log
        received = Counter(chat for _m, chat, _t in two)
        # One process: a broadcast through the sender and a burst of replies sharing its budgets.
        with uow() as u:
            for c in chats:
                u.outbox.enqueue("telegram", str(c), f"二次预告 {c}", None, priority="bulk", dedupe_key=f"t:{c}",
                                 account_id=None, now=clock())
            u.commit()
        shared = SharedBudget(database_take(uow, key, 1.0 / rate), rate)
        local = SlidingWindow(LIMIT - 1, 1.0 + 0.05)
        sender = Sender(uow, [channels[0]], clock=clock, cold_start=False, shared={"telegram": shared})
        sender.limiters["telegram"].global_ = local
        asked: dict[int, float] = {}

        async def reply(chat: int) -> None:
            asked[chat] = time.monotonic()
            await take_turn(local, shared)
            try:
                await channels[1].send(str(chat), "已订阅", None)
            finally:
                end_turn(local)

        async def replies_during_broadcast() -> None:
            await asyncio.sleep(1.0)  # the broadcast is at full rate by now
            tasks = []
            for c in reply_chats:  # people pressing and typing, a few a second, while the broadcast runs
                tasks.append(asyncio.create_task(reply(c)))
                await asyncio.sleep(1.0 / reply_rate)
            await asyncio.gather(*tasks)

        before = len(fake.send_log)
        print(f"广播 {n} 条，同时 {replies} 条回复 …", file=sys.stderr)
        await asyncio.gather(sender.drain(timeout=n / LIMIT * 3 + 30), replies_during_broadcast())
        one = fake.send_log[before:]
        for ch in channels:
            await ch.close()
    stamped = {chat: t for _m, chat, t in one if chat in asked}
    with uow() as u:
        counts = u.outbox.counts()
    engine.dispose()
    return {
        "benchmark": "sender_shared",
        "backend": url.split(":")[0],
        "messages": n,
        "limit_per_second": LIMIT,
        "two_senders_busiest_second": busiest_second([t for _m, _c, t in two]),
        "two_senders_sent": [s.sent for s in stats],
        "two_senders_lost": sum(1 for c in chats if received[c] == 0),
        "two_senders_duplicated": sum(1 for c in chats if received[c] > 1),
        "broadcast_with_replies_busiest_second": busiest_second([t for _m, _c, t in one]),
        "replies": replies,
        "replies_answered": len(stamped),
        "reply_latency": _latency(asked, stamped, fake),
        "outbox": counts,
    }


def _latency(asked: dict[int, float], stamped: dict[int, float], fake: FakeTelegram) -> dict:
    """p50/p95 in ms from asking for a slot to the fake's stamp (the fake's clock is time.monotonic)."""
    waits = sorted((stamped[c] - asked[c]) * 1000 for c in stamped)
    if not waits:
        return {}
    return {"p50_ms": round(waits[len(waits) // 2], 1), "p95_ms": round(waits[int(len(waits) * 0.95)], 1),
            "max_ms": round(waits[-1], 1)}


def main() -> None:
    """Fill the outbox, drain it through the fake, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--database", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--shared", action="store_true", help="two senders on one token, and replies in a broadcast")
    parser.add_argument("--replies", type=int, default=40)
    args = parser.parse_args()
    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='xz-bench-')}/sender.db"
    result = run_shared(args.messages, args.replies, url) if args.shared else run(args.messages, url)
    print(json.dumps(asyncio.run(result), ensure_ascii=False))


if __name__ == "__main__":
    main()
