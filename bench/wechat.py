"""WeChat callbacks under load: 50 concurrent encrypted WeCom and OA callbacks against the real transport.

Each callback is built with wechatpy's crypto, posted over HTTP to the transport (SQLite, the demo data, the
real handlers), which answers within its passive window and sends the rest through the fake API. Reports the
callback latency (target p99 ≤ 1 s, never over 4.5 s), the time until every reply was delivered, and the cost
of verifying and decrypting one message. Prints JSON. ``BENCH_WECHAT_CALLBACKS`` sets the concurrency.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.bootstrap import App, build_app, build_conversation
from bot.config import Settings
from bot.demo.run import demo_files
from bot.testing.fake_wechat import FakeWeChat
from bot.transports.wechat.bridge import CallbackEndpoint, ReplayGuard
from handlers import FloodGuard
from storage.crypto import FieldCipher
from storage.reference import import_files
from tests.wechat.wechat_driver import Driver, settings_for

N = int(os.environ.get("BENCH_WECHAT_CALLBACKS", "50"))
VERIFY_ROUNDS = 2000


class _NoMatcher:
    def classify(self, *args, **kwargs):
        return []


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _burst(d: Driver, texts: list[str]) -> dict:
    """N users each send one message at the same moment."""
    calls = [d.builder.text(f"bench-user-{i:03d}", text) for i, text in enumerate(texts)]
    t0 = time.perf_counter()
    responses = await asyncio.gather(*(d.post(q, body) for q, body in calls))
    answered = time.perf_counter() - t0
    await d.bridge.drain(60)
    delivered = time.perf_counter() - t0
    lat = [r.seconds for r in responses]
    return {
        "callbacks": len(calls),
        "ok": sum(r.status == 200 for r in responses),
        "passive_replies": sum(r.body.startswith("<xml>") for r in responses),
        "latency_ms": {"p50": round(_pct(lat, 50) * 1000, 1), "p99": round(_pct(lat, 99) * 1000, 1),
                       "max": round(max(lat) * 1000, 1), "mean": round(statistics.mean(lat) * 1000, 1)},
        "all_answered_s": round(answered, 3),
        "all_delivered_s": round(delivered, 3),
        "within_4_5_s": all(x < 4.5 for x in lat),
        "p99_within_1_s": _pct(lat, 99) <= 1.0,
    }


async def _verify_cost(d: Driver) -> dict:
    """Signature check + AES decryption + XML parsing of one message, without the nonce store."""
    endpoint: CallbackEndpoint = d.bridge.endpoint
    local = CallbackEndpoint(endpoint.platform, endpoint.token, d.app.settings.wecom_aes_key
                             if d.enterprise else d.app.settings.wechat_aes_key, endpoint.receiver_id,
                             ReplayGuard(None), enterprise=d.enterprise)
    calls = [d.builder.text("bench-verify", "老人心口疼，胸闷气短，走路就喘" * 4) for _ in range(VERIFY_ROUNDS)]
    t0 = time.perf_counter()
    for q, body in calls:
        local.open(q, body)
    per = (time.perf_counter() - t0) / VERIFY_ROUNDS
    local.guard.close()
    return {"rounds": VERIFY_ROUNDS, "us_per_message": round(per * 1e6, 1)}


async def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"XUNZHEN_VAR_DIR": tmp, "XUNZHEN_SECRET_KEY": FieldCipher.new_key_text()}
        base = build_app(Settings.from_env(env))
        with base.uow() as uow:
            import_files(uow, demo_files(), datetime.now(UTC).date())
        results: dict = {"concurrency": N, "database": "sqlite"}
        async with FakeWeChat() as fake:
            settings = replace(settings_for(fake, base.engine, Path(tmp)), secret_key=base.settings.secret_key)
            app = App(settings, base.engine, base.uow)
            conv = build_conversation(app, matcher=_NoMatcher(), flood=FloodGuard(limit=10**9))
            for platform in ("wecom", "wechat"):
                async with Driver(platform, app, conv, fake) as d:
                    await _burst(d, ["/help"] * 3)  # warm-up: token fetch, caches
                    results[platform] = {
                        "plain_replies": await _burst(d, ["/help"] * N),
                        "button_replies": await _burst(d, ["/start"] * N),
                        "decrypt_verify": await _verify_cost(d),
                    }
        base.close()
        return results


def main() -> None:
    print(json.dumps(asyncio.run(run()), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
