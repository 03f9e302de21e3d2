"""The sender: drains the outbox through the channels, within the platforms' rate limits, exactly once.

* Claims small batches with a lease (see ``storage.repositories.outbox``); replies (lane 0) always before bulk (lane 1),
  and the reply lane is polled again between bulk sends so a user's answer never waits behind a broadcast.
* One send at a time per process, and the row is marked sent in its own transaction right after the
  channel accepted it: a ``kill -9`` can double at most the one message in flight.
* Limits are sliding windows (overall; per chat; a group has its per-group minute on top of the per-chat
  second) counted from when each earlier send *finished*: the platform stamps a send somewhere between our
  request and its answer, so "start of this send ≥ end of the N-th previous + W" keeps the platform's own
  count within N per W whatever the network latency.
* ``retry_after`` pauses the whole channel (Telegram's 429s signal a bot-wide flood) and the chat; the
  message goes back to the outbox, due after the pause, without counting an attempt. A ``chat_only`` one (an SMS
  provider's limit per number) pauses that chat alone.
* A sender starting up counts what the outbox says was sent in each chat's window (WeCom's minute per member, a
  Telegram group's minute) and waits out only the overall window: the one message in flight at a kill was never
  marked sent.
* Transient errors back off exponentially with jitter up to ``max_attempts``, then the row is ``failed``
  (visible in ``outbox``, never silently dropped). Permanent errors mark the row and block the account.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import random
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.delivery.channels import BaseChannel, SendResult
from storage.repositories.outbox import OutboxMessage
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)
# Permanent failures that mean the person is gone (blocked us, chat deleted, unfollowed). Others, such as a
# resident outside the Official Account's 48-hour window, settle the row but keep the subscriber.
BLOCKING_REASONS = frozenset({"blocked", "forbidden", "chat_not_found", "unfollowed", "user_deactivated"})
RETRY_AFTER_MARGIN = 0.05  # seconds; our clock and the platform's are not the same clock
REPLY_FIRST = 0.005  # seconds the sender stands back while replies wait for a shared budget slot


class SlidingWindow:
    """At most ``count`` events in any ``window`` seconds, events stamped when they finished.

    A send in flight holds its place until it finishes: the platform stamps it somewhere between our request and
    its answer, so counting it from its start would free the place too early whenever the write was delayed.
    """

    def __init__(self, count: int, window: float):
        self.count, self.window = count, window
        self.done: deque[float] = deque()
        self.in_flight = 0  # sends started and not finished yet
        self.replies_waiting = 0  # replies to people waiting for a slot: the outbox sender lets them go first

    def wait(self, now: float) -> float:
        """Seconds until one more event may start (0 if now; a window while the budget is all in flight)."""
        while self.done and self.done[0] <= now - self.window:
            self.done.popleft()
        free = self.count - self.in_flight  # the places finished sends may hold
        if free <= 0:
            return self.window  # woken earlier in practice: a send in flight finishes first
        if len(self.done) < free:
            return 0.0
        return max(0.0, self.done[-free] + self.window - now)

    def record(self, finished: float) -> None:
        """An event finished at ``finished``."""
        self.done.append(finished)


# One overall budget per platform and process: the outbox sender and the chat transport's direct replies use
# the same bot token, so a broadcast and the replies to people must share Telegram's 30 messages a second.
_PROCESS_BUDGETS: dict[str, SlidingWindow] = {}


def process_budget(platform: str, count: int = 30, window: float = 1.0) -> SlidingWindow:
    """The overall send budget of ``platform`` in this process (created on first use)."""
    w = _PROCESS_BUDGETS.get(platform)
    if w is None:
        # One slot fewer than the limit: our clock is not Telegram's.
        w = _PROCESS_BUDGETS[platform] = SlidingWindow(max(1, count - 1), window + RETRY_AFTER_MARGIN)
    return w


# The per-chat windows of one platform in this process, for a platform whose per-chat limit the outbox sender and
# the chat transport's direct replies must share (WeCom's 30 messages a minute per member): both count in them.
_PROCESS_CHATS: dict[str, dict[str, ChatWindows]] = {}


def process_chats(platform: str) -> dict[str, ChatWindows]:
    """The per-chat windows of ``platform`` in this process, shared by the sender and the direct replies."""
    return _PROCESS_CHATS.setdefault(platform, {})


def chat_windows(platform: str, chat_id: str, count: int, window: float) -> ChatWindows:
    """The window of one chat of ``platform`` in this process (created on first use)."""
    chats = process_chats(platform)
    w = chats.get(chat_id)
    if w is None:
        w = chats[chat_id] = ChatWindows(SlidingWindow(count, window))
    return w


class SharedBudget:
    """The slots of one bot token shared by every process sending on it, taken from the database a few at a time.

    The database hands out slots on a grid (``storage.repositories.send_budget``) at a rate a little under the
    limit; a slot is used only within ``tolerance`` after its time and only just before the request goes out, so
    late sends never bunch up: the slots a busy process missed are dropped, not made good. Any second then holds at most
    ``rate × (1 + tolerance + delay) + 1`` sends, where ``delay`` is how long a request takes from the check to
    the platform; at 28 a second that leaves some 50 ms for it.
    """

    def __init__(self, take: Callable[[int], float], rate: float, *, tolerance: float = 0.02,
                 wall: Callable[[], float] = time.time, batch: int = 4):
        self.take, self.spacing = take, 1.0 / rate
        self.tolerance, self.wall, self.batch = tolerance, wall, batch
        self.slots: deque[float] = deque()  # Unix times of the slots this process holds
        self.replies_waiting = 0
        self.round_trips = 0
        self._refill: asyncio.Task[None] | None = None

    def wait(self, now: float | None = None) -> float | None:
        """Seconds until a held slot may be used (0: now), None if none is held; drops the slots missed."""
        now = self.wall() if now is None else now
        while self.slots and self.slots[0] < now - self.tolerance:
            self.slots.popleft()
        return max(0.0, self.slots[0] - now) if self.slots else None

    def take_now(self) -> bool:
        """Use a held slot if one is due now (call this just before the request: nothing may await between)."""
        if self.wait() == 0.0:
            self.slots.popleft()
            return True
        return False

    async def refill(self, count: int) -> None:
        """Take ``count`` more slots from the database (one round trip at a time per process)."""
        if self._refill is None or self._refill.done():
            self._refill = asyncio.create_task(self._take(count))
        await asyncio.shield(self._refill)

    async def _take(self, count: int) -> None:
        self.round_trips += 1
        start = await asyncio.to_thread(self.take, count)
        self.slots.extend(start + i * self.spacing for i in range(count))

    async def acquire(self, *, reply: bool) -> None:
        """Wait for a slot and use it. Bulk sends stand back while this process has replies waiting, and take one
        slot at a time so a reply elsewhere never waits behind a batch held for a broadcast."""
        if reply:
            self.replies_waiting += 1
        try:
            while True:
                if not reply and self.replies_waiting:
                    await asyncio.sleep(REPLY_FIRST)
                    continue
                wait = self.wait()
                if wait is None:
                    await self.refill(min(self.batch, max(1, self.replies_waiting)) if reply else 1)
                elif wait > 0:
                    await asyncio.sleep(wait)
                elif self.take_now():
                    return
        finally:
            if reply:
                self.replies_waiting -= 1


def database_take(uow: Callable[[], SqlUnitOfWork], key: str, spacing: float,
                  wall: Callable[[], float] = time.time) -> Callable[[int], float]:
    """The function a :class:`SharedBudget` takes its slots with: one short transaction on ``key``'s row."""

    def take(count: int) -> float:
        with uow() as u:
            start = u.send_budget.take(key, count, spacing, wall())
            u.commit()
        return start

    return take


def budget_key(platform: str, token: str | None) -> str:
    """The shared budget's row: the platform and a hash of the token (a platform's limit is per token)."""
    if not token:
        return platform
    return f"{platform}:{hashlib.sha256(token.encode()).hexdigest()[:32]}"


def shared_rate(limit: int) -> float:
    """The rate slots are handed out at: two under the platform's limit, the margin ``SharedBudget`` needs."""
    return limit - 2.0 if limit > 10 else limit * 0.8


# The shared budgets of this process, by database and key: the sender and the chat transports use the same one.
_SHARED_BUDGETS: dict[tuple[str, str], SharedBudget] = {}


def shared_budget(uow: Callable[[], SqlUnitOfWork], database_url: str, platform: str, token: str | None,
                  limit: int) -> SharedBudget:
    """The budget ``platform``'s token shares with every process on ``database_url`` (one object per process)."""
    key = budget_key(platform, token)
    b = _SHARED_BUDGETS.get((database_url, key))
    if b is None:
        rate = shared_rate(limit)
        b = _SHARED_BUDGETS[(database_url, key)] = SharedBudget(database_take(uow, key, 1.0 / rate), rate)
    return b


async def take_turn(budget: SlidingWindow, shared: SharedBudget | None = None,
                    clock: Callable[[], float] = time.monotonic) -> None:
    """Wait until ``budget`` (and ``shared``, the token's budget across processes) allows one more send, and
    mark it in flight at once; call :func:`end_turn` when the request came back.

    Replies go out concurrently (one chat per task): the send holds its place from here until it finishes,
    so several tasks never see the same free slot, and a write the event loop delays cannot bunch up.
    """
    budget.replies_waiting += 1
    try:
        while True:
            while (wait := budget.wait(clock())) > 0:
                await asyncio.sleep(wait)
            if shared is None:
                break
            await shared.acquire(reply=True)
            if budget.wait(clock()) <= 0:
                break  # otherwise the slot is lost: another task took the last local place meanwhile
    finally:
        budget.replies_waiting -= 1
    budget.in_flight += 1


def end_turn(budget: SlidingWindow, clock: Callable[[], float] = time.monotonic) -> None:
    """The send begun by :func:`take_turn` finished (whatever its outcome: the platform may have counted it)."""
    budget.in_flight -= 1
    budget.record(clock())


class ChatWindows:
    """Every window one chat must respect: the per-chat one, and for a group also the group's."""

    def __init__(self, *windows: SlidingWindow):
        self.windows = windows

    @property
    def done(self) -> deque[float]:
        """Finish times of the recent sends (the longest window keeps the most)."""
        return max(self.windows, key=lambda w: w.window).done

    def wait(self, now: float) -> float:
        """Seconds until one more send to this chat may start."""
        return max(w.wait(now) for w in self.windows)

    def record(self, finished: float) -> None:
        """A send to this chat finished."""
        for w in self.windows:
            w.record(finished)


class ChannelLimiter:
    """Global and per-chat windows of one channel (groups: per chat and per group), plus retry_after pauses."""

    def __init__(self, channel: BaseChannel):
        lim = channel.limits
        self.channel = channel
        self.global_ = SlidingWindow(lim.global_count, lim.global_window)
        self.chats: dict[str, ChatWindows] = {}
        self.paused_until = 0.0
        self.chat_paused: dict[str, float] = {}
        self.next_start = 0.0  # the sender's next send may not start earlier (see ``started``)
        self.shared: SharedBudget | None = None  # the token's budget across processes, when shared

    def _chat(self, chat_id: str) -> ChatWindows:
        w = self.chats.get(chat_id)
        if w is None:
            lim = self.channel.limits
            # One a second in any chat (Telegram's per-chat limit holds in groups too); groups also 20 a minute.
            per_chat = SlidingWindow(lim.private_count, lim.private_window)
            w = (ChatWindows(per_chat, SlidingWindow(lim.group_count, lim.group_window))
                 if self.channel.is_group(chat_id) else ChatWindows(per_chat))
            self.chats[chat_id] = w
        return w

    def wait_global(self, now: float) -> float:
        """Seconds until the channel may send at all (a moment more while replies wait for the same budget: a
        person who just pressed a button goes before the thousandth resident of a broadcast)."""
        wait = max(self.paused_until - now, self.global_.wait(now), self.next_start - now, 0.0)
        if self.shared is not None:
            wait = max(wait, self.shared.wait() or 0.0)
        if wait <= 0 and self.global_.replies_waiting:
            return REPLY_FIRST
        return wait

    def started(self, now: float) -> None:
        """The sender starts a send: its next one waits a window's share (1/30 s on Telegram).

        Sent back to back, a broadcast filled the whole window in a few milliseconds and then waited out the
        rest of the second; a reply to a person, drawing on the same budget, arrived to a full window and
        waited with it (p95 0.5 s at realistic load in bench/soak.py). Spread evenly, a slot frees every
        1/30 s, and a waiting reply takes the next one.
        """
        spacing = self.global_.window / self.global_.count
        # On a grid while the sender keeps up (a late wake-up is made good on the next send), from now after a
        # pause: otherwise every oversleep of the event loop would lower the rate.
        self.next_start = (self.next_start if now - self.next_start < spacing else now) + spacing

    def wait_chat(self, chat_id: str, now: float) -> float:
        """Seconds until this chat may receive."""
        return max(self.chat_paused.get(chat_id, 0.0) - now, self._chat(chat_id).wait(now), 0.0)

    def record(self, chat_id: str, finished: float) -> None:
        """A send to ``chat_id`` finished (whatever its outcome: the platform may have counted it)."""
        self.global_.record(finished)
        self._chat(chat_id).record(finished)
        if len(self.chats) > 50_000:  # forget idle chats so a long broadcast does not grow without bound
            for k in [k for k, w in self.chats.items() if not w.done or w.done[-1] < finished - 120][:25_000]:
                del self.chats[k]

    def pause(self, chat_id: str, seconds: float, finished: float, *, chat_only: bool = False) -> None:
        """Honour retry_after: nothing to this channel (``chat_only``: to this chat alone) before it elapsed."""
        until = finished + seconds + RETRY_AFTER_MARGIN
        if not chat_only:
            self.paused_until = max(self.paused_until, until)
        self.chat_paused[chat_id] = max(self.chat_paused.get(chat_id, 0.0), until)


@dataclass
class SenderStats:
    """Counts since start."""

    sent: int = 0
    rate_limited: int = 0
    transient: int = 0
    failed: int = 0
    permanent: int = 0
    expired: int = 0
    withdrawn: int = 0  # claimed, then voided / settled / taken over before it went out: dropped unsent
    by_lane: dict[str, int] = field(default_factory=lambda: {"reply": 0, "bulk": 0})


def default_worker_id() -> str:
    """host:pid, unique among live senders."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class Sender:
    """Drains the outbox for the given channels (one per platform)."""

    def __init__(
        self,
        uow: Callable[[], SqlUnitOfWork],
        channels: list[BaseChannel],
        *,
        clock: Callable[[], datetime],
        worker_id: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        batch: int = 30,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 8,
        backoff_base: float = 2.0,
        backoff_max: float = 900.0,
        reply_poll: float = 0.2,
        idle_poll: float = 0.5,
        rng: random.Random | None = None,
        cold_start: bool = True,
        share_budget: bool = False,
        shared: Mapping[str, SharedBudget] | None = None,
    ):
        self.uow = uow
        self.channels = {c.platform: c for c in channels}
        self.limiters = {c.platform: ChannelLimiter(c) for c in channels}
        if share_budget:  # same process as the chat transports (make run): one overall budget per platform
            for c, lim in zip(channels, self.limiters.values(), strict=True):
                lim.global_ = process_budget(c.platform, c.limits.global_count, c.limits.global_window)
                if c.limits.private_window > 1.0:  # a per-chat limit over minutes (WeCom): replies count too
                    lim.chats = process_chats(c.platform)
        for platform, budget in (shared or {}).items():  # every process on the same token: through the database
            if platform in self.limiters:
                self.limiters[platform].shared = budget
        self.clock = clock
        if cold_start:
            self._cold_start(monotonic)
        self.worker_id = worker_id or default_worker_id()
        self.monotonic = monotonic
        self.batch, self.lease = batch, lease
        self.max_attempts, self.backoff_base, self.backoff_max = max_attempts, backoff_base, backoff_max
        self.reply_poll, self.idle_poll = reply_poll, idle_poll
        self.rng = rng or random.Random()
        self.buffer: deque[tuple[OutboxMessage, float]] = deque()  # (message, claimed at monotonic)
        self.stats = SenderStats()
        self.wake = asyncio.Event()
        self._last_reply_poll = -1e9

    # --- claiming ---------------------------------------------------------------------------------------
    def _claim(self, lane: str | None, limit: int) -> list[OutboxMessage]:
        with self.uow() as uow:
            got = uow.outbox.claim(self.worker_id, self.channels, self.clock(), limit=limit, lease=self.lease,
                                   lane=lane)  # type: ignore[arg-type]
            uow.commit()
        return got

    def _refill(self) -> None:
        now = self.monotonic()
        have_reply = any(m.priority == 0 for m, _ in self.buffer)
        if not have_reply and now - self._last_reply_poll >= self.reply_poll:
            self._last_reply_poll = now
            replies = self._claim("reply", self.batch)
            for m in reversed(replies):
                self.buffer.appendleft((m, now))
        if not self.buffer:
            self.buffer.extend((m, now) for m in self._claim(None, self.batch))
        # A claim held too long could lapse and be taken by another sender: give it back instead of sending.
        limit = self.lease.total_seconds() * 0.5
        stale = [m for m, at in self.buffer if now - at > limit]
        if stale:
            self.buffer = deque((m, at) for m, at in self.buffer if now - at <= limit)
            with self.uow() as uow:
                uow.outbox.release([m.id for m in stale], self.worker_id)
                uow.commit()

    def _pick(self) -> tuple[OutboxMessage | None, float]:
        """The first buffered message that may go now (replies are at the front), else the shortest wait."""
        now = self.monotonic()
        best_wait = float("inf")
        fresh = self.lease.total_seconds() * 0.5
        for i, (m, at) in enumerate(self.buffer):
            if now - at > fresh:
                continue  # about to lapse: _refill gives it back, it must not go out under a stale claim
            lim = self.limiters[m.platform]
            w = max(lim.wait_global(now), lim.wait_chat(m.chat_id, now))
            if w <= 0:
                del self.buffer[i]
                return m, 0.0
            best_wait = min(best_wait, w)
        return None, best_wait

    # --- the loop ---------------------------------------------------------------------------------------
    async def step(self) -> int:
        """Send at most one message; returns 1 if one was handled, 0 if nothing is ready (after waiting)."""
        if not self.buffer:
            # Claim only what can go out now: a claim taken while paused would age for nothing.
            pause = min((lim.wait_global(self.monotonic()) for lim in self.limiters.values()), default=0.0)
            if pause > self.lease.total_seconds() * 0.25:
                await asyncio.sleep(min(pause, self.idle_poll))
                return 0
        self._refill()
        if not self.buffer:
            return 0
        msg, wait = self._pick()
        if msg is None:
            await asyncio.sleep(min(wait, self.idle_poll))
            return 0
        await self._send(msg)
        return 1

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set; idle waits end early when ``wake`` is set (something was enqueued)."""
        try:
            while not stop.is_set():
                try:
                    handled = await self.step()
                except Exception:  # a database hiccup must not end the sender; the outbox keeps the work
                    log.exception("sender step failed")
                    handled = 0
                    await asyncio.sleep(self.idle_poll)
                if not handled and not self.buffer:
                    self.wake.clear()
                    waits = [asyncio.create_task(self.wake.wait()), asyncio.create_task(stop.wait())]
                    await asyncio.wait(waits, timeout=self.idle_poll, return_when=asyncio.FIRST_COMPLETED)
                    for w in waits:
                        w.cancel()
        finally:
            self.release_all()

    async def drain(self, timeout: float = 30.0) -> SenderStats:
        """Send until the outbox holds nothing pending for our channels, or ``timeout`` (tests, one-shot runs)."""
        end = self.monotonic() + timeout
        while self.monotonic() < end:
            if await self.step() or self.buffer:
                continue
            with self.uow() as uow:
                if uow.outbox.pending_count(self.channels) == 0:
                    break
            await asyncio.sleep(0.05)
        self.release_all()
        return self.stats

    def release_all(self) -> None:
        """Give back every buffered claim (clean shutdown)."""
        if self.buffer:
            with self.uow() as uow:
                uow.outbox.release([m.id for m, _ in self.buffer], self.worker_id)
                uow.commit()
            self.buffer.clear()

    def _cold_start(self, monotonic: Callable[[], float]) -> None:
        """A previous instance (killed a moment ago) may have sent in the last window. What it sent to each chat is
        in the outbox: those sends count against the chat's windows (WeCom's 30 a minute per member, a Telegram
        group's 20 a minute), so a restart does not hold every chat back for a whole minute. Only the overall
        window is waited out, since the one message in flight at a kill was never marked sent. Without the
        outbox's record, every window is waited out, as before."""
        now, mono = self.clock(), monotonic()
        for platform, lim in self.limiters.items():
            limits = lim.channel.limits
            longest = max(limits.private_window, limits.group_window)
            try:
                with self.uow() as uow:
                    sent = uow.outbox.sent_since(platform, now - timedelta(seconds=longest))
            except Exception:  # no record to go by: wait out the longest window
                log.warning("sender start: no record of recent sends on %s; waiting %.0f s", platform, longest)
                lim.paused_until = mono + max(limits.global_window, longest)
                continue
            lim.paused_until = mono + limits.global_window
            for chat_id, at in sent:
                lim.record(chat_id, mono - max(0.0, (now - at).total_seconds()))

    # --- one message ------------------------------------------------------------------------------------
    async def _send(self, m: OutboxMessage) -> None:
        now = self.clock()
        if m.expires_at is not None and now >= m.expires_at:
            self._settle(m, "expired", "circuit started")
            self.stats.expired += 1
            return
        channel, limiter = self.channels[m.platform], self.limiters[m.platform]
        buttons = json.loads(m.buttons_json) if m.buttons_json else None
        # The copy in memory may be stale: the circuit was cancelled (row voided), the recipient blocked us, or
        # our claim lapsed and another sender took it. Renew the claim on the row itself, or drop the copy (before
        # waiting for a slot, so a cancelled circuit's copies never use up the rate budget).
        if not self._hold(m):
            return
        held_at = self.monotonic()
        await self._take_slot(limiter, reply=m.lane == "reply")
        # A wait for the rate limit longer than part of the lease: renewed again, or another sender could take the
        # row over while this one still means to send it (two copies).
        if self.monotonic() - held_at > self.lease.total_seconds() * 0.25 and not self._hold(m):
            return
        limiter.started(self.monotonic())
        limiter.global_.in_flight += 1  # replies sharing the budget count this send from now until it finished
        try:
            result = await (channel.send(m.chat_id, m.text, buttons) if m.announcement_id is None else
                            channel.send_announcement(m.chat_id, m.text, buttons, m.announcement_id))
        except Exception as e:  # a channel bug is a transient failure of this message, not of the sender
            log.exception("channel %s raised", m.platform)
            result = SendResult.transient(type(e).__name__)
        finally:
            limiter.global_.in_flight -= 1
        finished = self.monotonic()
        limiter.record(m.chat_id, finished)
        if result.outcome == "ok":
            with self.uow() as uow:  # at once: only the message in flight can be doubled by a crash
                marked = uow.outbox.mark_sent(m.id, self.clock(), self.worker_id)
                uow.commit()
            if not marked:
                log.warning("outbox %s was sent but no longer held by %s (settled or taken over meanwhile)",
                            m.id, self.worker_id)
            self.stats.sent += 1
            self.stats.by_lane[m.lane] += 1
        elif result.outcome == "retry_after":
            limiter.pause(m.chat_id, result.retry_after, finished, chat_only=result.chat_only)
            self.stats.rate_limited += 1
            with self.uow() as uow:
                uow.outbox.retry_at(m.id, self.clock() + timedelta(seconds=result.retry_after + RETRY_AFTER_MARGIN),
                                    f"retry_after {result.retry_after}", count_attempt=False,
                                    worker=self.worker_id)
                uow.commit()
            # Everything else buffered waits for the pause anyway; keep it (the limiter holds it back).
        elif result.outcome == "permanent":
            self.stats.permanent += 1
            blocks = result.reason in BLOCKING_REASONS
            with self.uow() as uow:
                uow.outbox.settle(m.id, "permanent", result.reason, self.worker_id)
                if blocks:
                    uow.outbox.block_recipient(m.platform, m.chat_id, m.account_id)
                uow.commit()
            if blocks:
                self.buffer = deque((x, at) for x, at in self.buffer
                                    if not (x.platform == m.platform and x.chat_id == m.chat_id))
        else:
            attempts = m.attempts + 1
            if attempts >= self.max_attempts:
                self.stats.failed += 1
                self._settle(m, "failed", result.reason)
            else:
                self.stats.transient += 1
                delay = min(self.backoff_max, self.backoff_base * 2 ** (attempts - 1)) * (0.5 + self.rng.random() / 2)
                with self.uow() as uow:
                    uow.outbox.retry_at(m.id, self.clock() + timedelta(seconds=delay), result.reason,
                                        worker=self.worker_id)
                    uow.commit()

    def _hold(self, m: OutboxMessage) -> bool:
        """Renew this sender's claim on ``m`` just before sending; False (and counted) if it is no longer ours."""
        with self.uow() as uow:
            held = uow.outbox.hold(m.id, self.worker_id, self.clock(), self.lease)
            uow.commit()
        if not held:
            self.stats.withdrawn += 1
            log.info("outbox %s withdrawn before sending; dropped", m.id)
        return held

    async def _take_slot(self, limiter: ChannelLimiter, *, reply: bool) -> None:
        """With a budget shared across processes: wait for one of its slots, taken just before the request, while
        the process's own window has room too (the request must follow with nothing awaited in between)."""
        if limiter.shared is None:
            return
        while True:
            while (wait := limiter.global_.wait(self.monotonic())) > 0:
                await asyncio.sleep(wait)
            await limiter.shared.acquire(reply=reply)
            if limiter.global_.wait(self.monotonic()) <= 0:
                return

    def _settle(self, m: OutboxMessage, status: str, reason: str) -> None:
        with self.uow() as uow:
            uow.outbox.settle(m.id, status, reason, self.worker_id)
            uow.commit()
