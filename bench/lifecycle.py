"""Handler throughput: complete order lifecycles per second through the real handlers on SQLite.

A lifecycle: the village doctor files an order (/new, search, pick, need, specialty, urgency, flags,
confirm), the township approves it, the hospital disposes it to a circuit with an expert. Prints JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.bootstrap import build_app, build_conversation
from bot.config import Settings
from bot.demo.run import demo_files
from domain.staff import Role
from handlers import FloodGuard
from storage.crypto import FieldCipher
from storage.reference import import_files
from tests.handlers.harness import ChatHarness

N = int(os.environ.get("BENCH_LIFECYCLES", "300"))
COUNTED = 20  # lifecycles run after the timed ones to count their SQL statements
NEEDS = [
    "老人心口疼，胸闷气短，走路就喘",
    "眼睛花，看不清字",
    "腰杆疼得直不起来",
    "娃娃拉肚子三天了",
    "皮肤起疙瘩，很痒",
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"XUNZHEN_VAR_DIR": tmp, "XUNZHEN_SECRET_KEY": FieldCipher.new_key_text()}
        app = build_app(Settings.from_env(env))
        # The reference import the first start runs (``seed --demo``), then a re-run that finds nothing to change.
        imports, files = [], demo_files()
        for _ in range(2):
            t0 = time.perf_counter()
            with app.uow() as uow:
                import_files(uow, files, datetime.now(UTC).date())
            imports.append(round((time.perf_counter() - t0) * 1000, 1))
        conversation = build_conversation(app, flood=FloodGuard(limit=10**9))
        # The matcher builds its homophone tables on first use (a quarter of a second, once per process); built
        # here, before the clock starts, so the figure is the steady rate the benchmark is about.
        conversation.services.matcher.classify(NEEDS[0])
        chat = ChatHarness(conversation)
        now = datetime.now(UTC)
        for user, code, role in (
            ("doctor", "S0006", Role.VILLAGE_DOCTOR),
            ("township", "S0005", Role.TOWNSHIP_REVIEWER),
            ("hospital", "S0002", Role.HOSPITAL_REVIEWER),
        ):
            chat.login(user, code, role, app.uow, now)
        steps: dict[str, list[float]] = defaultdict(list)

        def timed(name, fn, *args):
            t0 = time.perf_counter()
            fn(*args)
            steps[name].append(time.perf_counter() - t0)

        def lifecycle(i: int, timed=timed) -> None:
            timed("new", chat.say, "doctor", "/new")
            timed("search", chat.say, "doctor", "邱瑞鹏")
            timed("pick", chat.press, "doctor", "邱瑞鹏")
            if "居民是否同意" in chat.last("doctor"):  # asked once per resident, then the recorded consent counts
                timed("consent", chat.press, "doctor", "居民已同意")
            timed("need", chat.say, "doctor", NEEDS[i % len(NEEDS)])
            if not chat.screens["doctor"][-1].buttons:
                raise SystemExit(str(chat.texts("doctor")[-4:]))
            first = chat.screens["doctor"][-1].buttons[0][0].label
            timed("specialty", chat.press, "doctor", first)
            timed("urgency", chat.press, "doctor", "常规")
            timed("flags", chat.press, "doctor", "完成")
            # A second open order of the same specialty is offered the first: this bench files it knowingly.
            shown = [b.label for row in chat.screens["doctor"][-1].buttons for b in row]
            timed("confirm", chat.press, "doctor", "仍然提交" if "仍然提交" in shown else "确认提交")
            timed("township_pending", chat.say, "township", "/pending")
            timed("township_approve", chat.press, "township", "批准")
            timed("hospital_pending", chat.say, "hospital", "/pending")
            timed("hospital_circuit", chat.press, "hospital", "安排巡诊")
            timed("hospital_expert", chat.press, "hospital", "排班时再定")

        started, cpu_started = time.perf_counter(), time.process_time()
        for i in range(N):
            lifecycle(i)
            if i % 25 == 0:
                print(f"\r{i}/{N} lifecycles", end="", file=sys.stderr, flush=True)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        print(f"\r{N}/{N} lifecycles", file=sys.stderr)
        # Statements counted on a few more lifecycles after the clock stopped (a listener slows every statement).
        statements = [0]

        def count(*_args) -> None:
            statements[0] += 1

        event.listen(app.engine, "before_cursor_execute", count)
        for i in range(N, N + COUNTED):
            lifecycle(i, lambda _name, fn, *args: fn(*args))
        event.remove(app.engine, "before_cursor_execute", count)
        with app.uow() as uow:
            statuses = uow.orders.count_by_status()
        app.close()
    per_step = {
        k: {
            "p50_ms": round(statistics.median(v) * 1000, 2),
            "p95_ms": round(statistics.quantiles(v, n=20)[18] * 1000, 2) if len(v) >= 20 else None,
        }
        for k, v in steps.items()
    }
    all_steps = [x for v in steps.values() for x in v]
    print(
        json.dumps(
            {
                "benchmark": "handler order lifecycle, SQLite, one process",
                "lifecycles": N,
                "seconds": round(elapsed, 2),
                # One process, one thread: SQLite's checkpoints run inside commits, nothing works in the background.
                "cpu_seconds": round(cpu, 2),
                "threads": threading.active_count(),
                "lifecycles_per_s": round(N / elapsed, 1),
                "updates_per_s": round(len(all_steps) / elapsed, 1),
                "statements_per_lifecycle": round(statements[0] / COUNTED, 1),
                "p95_step_ms": round(statistics.quantiles(all_steps, n=20)[18] * 1000, 2),
                "target_lifecycles_per_s": 150,
                "orders_by_status": statuses,
                "demo_import_ms": imports[0],
                "demo_reimport_unchanged_ms": imports[1],
                "per_step": per_step,
            },
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
