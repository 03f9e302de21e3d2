"""Benchmark: the sender against the local fake Telegram server limited to 30 messages/s.

Run from the repository root: ``.venv/bin/python bench/sender.py [--messages 600]``.
The fake enforces Telegram's limits (a send that would break one gets 429) and counts violations.
Prints one JSON object on stdout. Targets: achieved rate ≥ 95% of the limit, 0 violations, 0 lost, 0 duplicated.
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

from bot.channels import PtbChannel
from bot.fake_telegram import FakeTelegram
from bot.sender import Sender
from storage.crypto import FieldCipher
from storage.db import make_engine, migrate
from storage.uow import SqlUnitOfWork

LIMIT = 30


async def run(n: int, url: str) -> dict:
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
            u.outbox.enqueue("telegram", str(c), f"坐诊预告 {c}", None, priority="bulk", dedupe_key=f"b:{c}",
                             account_id=None, now=start)
        u.commit()
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


def main() -> None:
    """Fill the outbox, drain it through the fake, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--database", help="default: a fresh SQLite file in a temporary folder")
    args = parser.parse_args()
    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='xz-bench-')}/sender.db"
    print(json.dumps(asyncio.run(run(args.messages, url)), ensure_ascii=False))


if __name__ == "__main__":
    main()
