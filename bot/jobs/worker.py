"""The long-running worker: the scheduler (sweeps: announcements, stale drafts) and the outbox sender.

Its settings (``Settings.worker``: ``XUNZHEN_REMINDERS``, ``XUNZHEN_SWEEP_SECONDS``, ``XUNZHEN_OUTBOX_LEASE_SECONDS``,
``XUNZHEN_WORKER_ROLES``; and ``XUNZHEN_SEND_RATE``, ``XUNZHEN_FAKE_NOW``) are read in ``bot.config``; see
README → Configuration.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.bootstrap import App, build_channels, build_conversation, make_clock
from bot.delivery.channels import BaseChannel
from bot.delivery.sender import Sender, SharedBudget, shared_budget
from bot.jobs.privacy import purge_chat_leftovers, purge_expired_free_text
from bot.jobs.scheduler import CircuitScheduler
from handlers.services.alerts import escalate_due_alerts
from handlers.services.announcements import Announcer
from handlers.services.followups import sweep_followups
from handlers.services.referrals import send_due_reminders as remind_referrals
from handlers.services.remote import Reminded, send_due_reminders

log = logging.getLogger(__name__)
PURGE_EVERY = timedelta(hours=1)


class _NoMatcher:
    """The draft sweep never classifies text; spare the worker loading the NLP model."""

    def classify(self, *args, **kwargs):
        return []


def make_sweep(app: App, announcer: Announcer, clock: Callable[[], datetime],
               on_enqueued: Callable[[], object] = lambda: None) -> Callable[[], datetime | None]:
    """One sweep: announcements and experts' briefings due, remote consultations' reminders, stale drafts,
    unacknowledged emergency alerts, referral reminders and follow-up tasks (all through the outbox)."""
    conversation = build_conversation(app, clock=clock, matcher=_NoMatcher())

    last_purge: list[datetime] = []

    def sweep() -> datetime | None:
        now = clock()
        if not last_purge or now - last_purge[0] >= PURGE_EVERY:
            # Retention: closed orders' free text goes after XUNZHEN_RETENTION_DAYS, old buttons and update ids
            # after their lifetimes (idempotent, so hourly is fine).
            purge_expired_free_text(app, now)
            purge_chat_leftovers(app, now)
            last_purge[:] = [now]
        res = announcer.sweep()
        remote = remind_remote_sessions(app, now)  # the day before and an hour before a remote consultation
        outs = conversation.sweep_drafts()  # queued in the outbox by the sweep itself, with the draft's change
        # Emergency alerts nobody acknowledged within ten minutes go up to the supporting hospitals.
        alerts = escalate_due_alerts(app.uow, clock)
        # Referrals (issue 20): the day-before reminders, the follow-up tasks due today and those now overdue.
        referrals = remind_referrals(app.uow, clock)
        followups = sweep_followups(app.uow, clock)
        if (res.recipients or res.briefing_messages or outs or alerts.queued or remote.queued or referrals.messages
                or followups.reminded):
            on_enqueued()
        if res.fanned_out or res.skipped or res.briefed:
            log.info("sweep: %s", res)
        if alerts.escalated:
            log.warning("sweep: %d emergency alert(s) escalated", alerts.escalated)
        due = [d for d in (res.next_due, alerts.next_due, remote.next_due, referrals.next_due, followups.next_due)
               if d is not None]
        return min(due) if due else None

    return sweep


def remind_remote_sessions(app: App, now: datetime) -> Reminded:
    """Queue the remote consultations' reminders that fell due (a transaction per session; a failure is retried by the
    next sweep)."""
    try:
        res = send_due_reminders(app.uow, now)
    except Exception:
        log.exception("remote consultation reminders failed; the next sweep retries")
        return Reminded()
    if res.sessions:
        log.info("sweep: %d remote consultation reminder(s), %d message(s)", res.sessions, res.queued)
    return res


async def serve(app: App, stop: asyncio.Event, channels: list[BaseChannel] | None = None, *,
                quiet: bool = False) -> None:
    """Run the scheduler and the sender until ``stop`` is set."""
    worker = app.settings.worker
    clock = make_clock(app.settings.fake_now)
    roles = worker.roles
    channels = channels if channels is not None else build_channels(app)
    # share_budget: in `make run` the chat transports reply with the same bot token from this process.
    # shared: every process sending on the same Telegram token takes its slots from one row in the database.
    shared: dict[str, SharedBudget] = {}
    if app.settings.telegram_token:
        shared["telegram"] = shared_budget(app.uow, str(app.settings.database_url), "telegram",
                                         app.settings.telegram_token, app.settings.send_rate)
    sender = Sender(app.uow, channels, clock=clock, share_budget=True, shared=shared,
                    lease=timedelta(seconds=worker.outbox_lease_seconds))
    loop = asyncio.get_running_loop()
    scheduler = None
    if "scheduler" in roles:
        announcer = Announcer(app.uow, clock, worker.reminders, sms=app.settings.sms.provider is not None)
        sweep = make_sweep(app, announcer, clock, lambda: loop.call_soon_threadsafe(sender.wake.set))
        scheduler = CircuitScheduler(app.engine, sweep, interval=worker.sweep_seconds,
                                     clock=clock)
        scheduler.start()
    ready = f"worker ready: roles={','.join(sorted(roles))} channels={','.join(c.platform for c in channels)}"
    if quiet:
        log.info(ready)
    else:
        print(ready, flush=True)
    try:
        if "sender" in roles:
            await sender.run(stop)
        else:
            await stop.wait()
    finally:
        if scheduler is not None:
            await asyncio.to_thread(scheduler.shutdown)
        for c in channels:
            await c.close()


def run_worker(app: App) -> int:
    """Blocking entry point of ``python -m bot worker``: stops cleanly on SIGTERM or Ctrl+C."""
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, stop)

    asyncio.run(main())
    return 0
