"""The shared access_token and the nonce store, on SQLite and PostgreSQL: one refresher, no replays."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from bot.transports.wechat.bridge import TokenStore
from storage.repositories.wechat import WeChatRepository


class _Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_many_workers_share_one_token_and_only_one_fetches_it(uow_factory):
    fetched: list[str] = []

    def fetch() -> tuple[str, int]:
        time.sleep(0.5)  # slow enough that every worker arrives while the first one fetches, even on a busy machine
        fetched.append("t")
        return f"token-{len(fetched)}", 7200

    stores = [TokenStore(uow_factory, holder=f"worker-{i}") for i in range(6)]
    got: list[str] = []
    start = threading.Barrier(len(stores))  # all ask at once, not as fast as the threads happen to start

    def ask(store: TokenStore) -> None:
        start.wait(10)
        got.append(store.get("wechat:app", fetch))

    threads = [threading.Thread(target=ask, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert fetched == ["t"] and set(got) == {"token-1"}


def test_a_refused_token_is_replaced_once_and_a_stale_invalidation_is_harmless(uow_factory):
    clock = _Clock(time.time())
    n = iter(range(1, 10))
    fetch = lambda: (f"token-{next(n)}", 7200)  # noqa: E731
    a, b = TokenStore(uow_factory, clock=clock, holder="a"), TokenStore(uow_factory, clock=clock, holder="b")
    assert a.get("k", fetch) == "token-1" and b.get("k", fetch) == "token-1"
    a.invalidate("k", "token-1")  # the platform said 40001
    assert a.get("k", fetch) == "token-2"
    b.invalidate("k", "token-1")  # b learns late that its cached token was refused: token-2 stays
    assert b.get("k", fetch) == "token-2"
    clock.t += 7200 - 200  # inside the refresh margin: refreshed before it expires
    assert b.get("k", fetch) == "token-3" and a.get("k", fetch) == "token-3"


def test_nonces_are_accepted_once_and_purged_after_the_window(uow_factory):
    t0 = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    with uow_factory() as uow:
        repo = WeChatRepository(uow)
        assert repo.first_nonce("wecom", "123", t0)
        assert not repo.first_nonce("wecom", "123", t0)
        assert repo.first_nonce("wechat", "123", t0)  # another app's nonce space
        uow.commit()
    with uow_factory() as uow:
        repo = WeChatRepository(uow)
        assert repo.purge_nonces(t0.replace(hour=3)) == 2
        assert repo.first_nonce("wecom", "123", t0)
        repo.touch("wechat", "o1", t0)
        uow.commit()
    with uow_factory() as uow:
        repo = WeChatRepository(uow)
        assert repo.last_inbound("wechat", "o1") == t0


def test_a_permanent_qr_code_is_kept_once_per_account_and_scene(uow_factory):
    t0, village, url = datetime(2026, 11, 23, 2, 30, tzinfo=UTC), "v_350421101001", "http://weixin.qq.com/q/02"
    with uow_factory() as uow:
        repo = WeChatRepository(uow)
        assert repo.permanent_qr("wxapp", village) is None
        assert repo.keep_permanent_qr("wxapp", village, url + "first", t0) == url + "first"
        uow.commit()
    with uow_factory() as uow:  # another worker made one at the same time: the first kept wins
        repo = WeChatRepository(uow)
        assert repo.keep_permanent_qr("wxapp", village, url + "later", t0) == url + "first"
        assert repo.keep_permanent_qr("wxother", village, url + "other", t0) == url + "other"  # another account
        uow.commit()
    with uow_factory() as uow:
        assert WeChatRepository(uow).permanent_qr("wxapp", village) == url + "first"


def test_a_worker_that_read_no_token_does_not_fetch_again_once_another_stored_a_fresh_one(uow_factory):
    """The interleaving a loaded PostgreSQL run once hit: worker b reads no token, worker a stores a fresh one and
    gives the lease back, then b asks for the lease. b must not get it (it would fetch a second token, which also
    invalidates a's on the real platform); it gets the lease only once the token is near its end."""
    t0 = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    lease, margin, ttl = timedelta(seconds=30), timedelta(seconds=300), timedelta(seconds=7200)
    with uow_factory() as uow:
        b_read = WeChatRepository(uow).token("wechat:app")
    assert b_read == (None, None, None, None)
    with uow_factory() as uow:
        a = WeChatRepository(uow)
        assert a.take_lease("wechat:app", "a", t0, t0 + lease, t0 + margin)
        a.store_token("wechat:app", "token-1", t0 + ttl, "a", t0)
        uow.commit()
    with uow_factory() as uow:
        assert not WeChatRepository(uow).take_lease("wechat:app", "b", t0, t0 + lease, t0 + margin)
        uow.commit()
    later = t0 + ttl - margin + timedelta(seconds=1)  # inside the refresh margin: time to fetch the next one
    with uow_factory() as uow:
        assert WeChatRepository(uow).take_lease("wechat:app", "b", later, later + lease, later + margin)
        uow.commit()
