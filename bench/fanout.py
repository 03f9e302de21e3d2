"""Benchmark: fan one announcement out to 10,000 subscribers into the outbox (SQLite file, WAL).

Run from the repository root: ``.venv/bin/python bench/fanout.py [--subscribers 10000] [--database URL]``.
Prints one JSON object on stdout; progress goes to stderr. Target: ≤ 1 s on SQLite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The repository root replaces bench/ on the path: bench/telegram.py would shadow the telegram package.
sys.path.remove(sys.path[0])
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.demo.run import demo_files
from domain.announcements import CHINA
from domain.circuits import Circuit, CircuitLevel, HalfDay
from handlers.services.announcements import Announcer
from storage.crypto import FieldCipher
from storage.db import make_engine, migrate
from storage.reference import import_files
from storage.tables import ChatAccountRow, SubscriptionRow
from storage.uow import SqlUnitOfWork

KEY = FieldCipher.new_key_text()


def main() -> None:
    """Seed, subscribe, time one sweep that fans out the due reminder."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--database", help="default: a fresh SQLite file in a temporary folder")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="xz-bench-")
    url = args.database or f"sqlite:///{folder}/fanout.db"
    engine = make_engine(url)
    migrate(engine)
    cipher = FieldCipher.from_text(KEY)
    now = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    print(f"准备 {args.subscribers} 个订阅者 …", file=sys.stderr)
    with SqlUnitOfWork(engine, cipher) as uow:
        import_files(uow, demo_files(), now.date())
    with SqlUnitOfWork(engine, cipher) as uow:
        expert = uow.staff.by_code("S0003").id
        c = Circuit("CH350421", "350421101", datetime(2026, 12, 4).date(), HalfDay.AM, CircuitLevel.TOWNSHIP,
                    frozenset({expert}))
        uow.circuits.add(c)
        Announcer.record_created(uow, c, None, now)
        rows = [dict(platform="telegram", platform_user_id=str(10**6 + i), chat_id=str(10**6 + i), created_at=now,
                     blocked=False, draft="{}") for i in range(args.subscribers)]
        uow.session.execute(ChatAccountRow.__table__.insert(), rows)
        ids = [r for (r,) in uow.session.execute(ChatAccountRow.__table__.select()
                                                 .with_only_columns(ChatAccountRow.__table__.c.id))]
        uow.session.execute(SubscriptionRow.__table__.insert(),
                            [dict(chat_account_id=i, village_code="350421101001", created_at=now) for i in ids])
        uow.commit()
    due = datetime(2026, 12, 3, 9, 0, tzinfo=CHINA) + timedelta(minutes=1)
    announcer = Announcer(lambda: SqlUnitOfWork(engine, cipher), lambda: due)
    print("扇出 …", file=sys.stderr)
    started = time.perf_counter()
    res = announcer.sweep()
    seconds = time.perf_counter() - started
    again = time.perf_counter()
    rerun = announcer.sweep()
    rerun_seconds = time.perf_counter() - again
    with SqlUnitOfWork(engine, cipher) as uow:
        counts = uow.outbox.counts()
    print(json.dumps({
        "benchmark": "fanout",
        "backend": engine.dialect.name,
        "subscribers": args.subscribers,
        "outbox_rows": counts.get("pending", 0),
        "seconds": round(seconds, 3),
        "rows_per_second": round(res.recipients / seconds) if seconds else None,
        "target_seconds": 1.0,
        "within_target": seconds <= 1.0,
        "rerun_added": rerun.recipients,
        "rerun_seconds": round(rerun_seconds, 3),
    }, ensure_ascii=False))
    engine.dispose()


if __name__ == "__main__":
    main()
