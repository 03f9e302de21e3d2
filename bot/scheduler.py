"""The scheduler: APScheduler 3 as a wake-up timer only (ARCHITECTURE rule 5).

Nothing depends on APScheduler remembering anything. Its defaults would lose a job missed during downtime
(``misfire_grace_time``) and drop a one-off job killed half-way; here every job is a *sweep* that re-reads
the database and does whatever is due and not yet done, so a lost or repeated wake-up only delays or
repeats a no-op. Jobs live in an SQLAlchemy job store on the service's database with stable ids
(``replace_existing``), ``coalesce=True`` and ``misfire_grace_time=None`` so a restart runs a missed wake-up
once. The sweep also runs at start-up, which is what catches up after downtime.

On PostgreSQL only one process runs the scheduler: the one holding ``pg_try_advisory_lock(SCHEDULER_LOCK)``
on a connection it keeps open; the others retry every interval and take over when it dies. On SQLite (one
host) every worker may sweep: a sweep is idempotent, the unique keys make a second run harmless.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)
SWEEP_JOB_ID = "xunzhen.sweep"
WAKE_JOB_ID = "xunzhen.wake"
SCHEDULER_LOCK = 0x58_5A_53_43  # "XZSC": the advisory lock key of the scheduler election
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}

# APScheduler stores jobs by textual reference ("module:function"), so the job cannot carry the app; the
# running process registers its sweep here and the job calls it. One entry per process.
_SWEEPS: dict[str, Callable[[], Any]] = {}


def run_sweep(name: str = "default") -> None:
    """The job function APScheduler stores: run this process's registered sweep."""
    fn = _SWEEPS.get(name)
    if fn is not None:
        fn()


class CircuitScheduler:
    """Runs ``sweep`` at start, every ``interval`` seconds, and at the next due time it reports."""

    def __init__(self, engine: Engine, sweep: Callable[[], datetime | None], *, interval: float = 60.0,
                 clock: Callable[[], datetime] | None = None, name: str = "default"):
        self.engine = engine
        self.sweep_fn = sweep
        self.interval = interval
        self.clock = clock or (lambda: datetime.now(UTC))
        self.name = name
        self.scheduler: Any = None
        self._lock_conn: sa.Connection | None = None
        self._stop = threading.Event()
        self._elector: threading.Thread | None = None
        self._sweep_lock = threading.Lock()
        self.sweeps = 0

    @property
    def elected(self) -> bool:
        """True once this process runs the scheduler."""
        return self.scheduler is not None

    def start(self) -> None:
        """Run now if elected, else keep trying in the background."""
        if not self._try_elect():
            self._elector = threading.Thread(target=self._elect_loop, name="scheduler-election", daemon=True)
            self._elector.start()

    def _try_elect(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            try:
                got = bool(conn.execute(sa.select(sa.func.pg_try_advisory_lock(SCHEDULER_LOCK))).scalar())
                conn.commit()
            except Exception:
                conn.close()
                raise
            if not got:
                conn.close()
                return False
            self._lock_conn = conn  # the lock lives as long as this session
        self._start_scheduler()
        return True

    def _elect_loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self._try_elect():
                    log.info("scheduler elected")
                    return
            except Exception:
                log.exception("scheduler election failed; retrying")

    def _start_scheduler(self) -> None:
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        _SWEEPS[self.name] = self.sweep_now
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine, tablename="apscheduler_jobs")},
            job_defaults=JOB_DEFAULTS, timezone=UTC,
        )
        scheduler.start(paused=True)
        scheduler.add_job(run_sweep, "interval", args=[self.name], seconds=self.interval, id=SWEEP_JOB_ID,
                          replace_existing=True, **JOB_DEFAULTS)
        scheduler.resume()
        self.scheduler = scheduler
        # Catch up at once: whatever fell due while no process was running goes out now.
        threading.Thread(target=self.sweep_now, name="sweep-at-start", daemon=True).start()

    def sweep_now(self) -> None:
        """One sweep (never two at once in this process), then set the wake-up for the next due time."""
        with self._sweep_lock:
            try:
                next_due = self.sweep_fn()
            except Exception:
                log.exception("sweep failed; the next one retries")
                return
            finally:
                self.sweeps += 1
            if next_due is not None and self.scheduler is not None:
                # The clock may be a test clock: translate "due in N seconds" to the real time APScheduler runs on.
                delay = max(0.0, (next_due - self.clock()).total_seconds())
                if delay < self.interval:
                    run_at = datetime.now(UTC) + timedelta(seconds=delay + 0.5)
                    self.scheduler.add_job(run_sweep, "date", args=[self.name], run_date=run_at, id=WAKE_JOB_ID,
                                           replace_existing=True, **JOB_DEFAULTS)

    def shutdown(self) -> None:
        """Stop the scheduler (jobs stay stored) and give up the election lock."""
        self._stop.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        _SWEEPS.pop(self.name, None)
        if self._lock_conn is not None:
            self._lock_conn.close()
            self._lock_conn = None
