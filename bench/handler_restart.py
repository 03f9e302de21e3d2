"""Benchmark: how long a handler process takes to come up, at the service's start and after one is killed.

Run from the repository root: ``.venv/bin/python bench/handler_restart.py [--rounds 5]``.
With ``XUNZHEN_HANDLER_PROCESSES`` the conversation runs in worker processes; a worker that dies (killed, out of
memory) is replaced, and until the replacement is up its chats are answered "busy". The workers are forked from a
fork server that loaded the matcher once, so the first start pays for the loading and a replacement should not.
Prints one JSON object on stdout: the first start, and each replacement from the kill to the next handled update.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.bootstrap import build_app
from bot.config import Settings
from bot.transports.handler_pool import HandlerProcesses
from handlers import Inbound
from storage.crypto import FieldCipher


async def measure(rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"XUNZHEN_VAR_DIR": tmp, "XUNZHEN_SECRET_KEY": FieldCipher.new_key_text()})
        build_app(settings).close()  # the schema, as a deployment has it before the service starts
        t0 = time.perf_counter()
        pool = HandlerProcesses(settings, 1)
        await pool.start()
        first = time.perf_counter() - t0
        replaced = []
        try:
            for i in range(rounds):
                for pid in list(pool._pool._processes):
                    os.kill(pid, signal.SIGKILL)
                t0 = time.perf_counter()
                busy, _ = await pool.run(Inbound("telegram", "1", "1", "/help", update_id=str(2 * i + 1)))
                answered, _ = await pool.run(Inbound("telegram", "1", "1", "/help", update_id=str(2 * i + 2)))
                replaced.append(time.perf_counter() - t0)
                print(f"\r{i + 1}/{rounds} replacements", end="", file=sys.stderr, flush=True)
                if "繁忙" not in busy[0].text or "繁忙" in answered[0].text:
                    raise SystemExit(f"unexpected answers: {busy[0].text[:40]!r}, {answered[0].text[:40]!r}")
        finally:
            pool.close()
        print(file=sys.stderr)
    return {
        "benchmark": "handler process start and replacement after kill -9 (SQLite, one worker)",
        "first_start_s": round(first, 2),
        "replacements": rounds,
        "replacement_s_median": round(statistics.median(replaced), 3),
        "replacement_s_max": round(max(replaced), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    print(json.dumps(asyncio.run(measure(parser.parse_args().rounds)), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
