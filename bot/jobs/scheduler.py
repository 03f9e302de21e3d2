"""The scheduler: APScheduler 3 as a wake-up timer only (ARCHITECTURE rule 5).

Nothing depends on APScheduler remembering anything. Its defaults would lose a job missed during downtime
(``misfire_grace_time``) and drop a one-off job killed half-way; here every job is a *sweep* that re-reads
the database and does whatever is due and not yet done, so a lost or repeated wake-up only delays or
repeats a no-op. Jobs live in an SQLAlchemy job store on the service's database with stable ids
(``replace_existing``), ``coalesce=True`` and ``misfire_grace_time=None`` so a restart runs a missed wake-up
once. The sweep also runs at start-up, which is what catches up after downtime.

On PostgreSQL only one process runs the scheduler: the one holding ``pg_try_advisory_lock(SCHEDULER_LOCK)``
on a connection it keeps open; the others retry every interval and take over when it dies. The holder checks
its lock connection every interval too (``SELECT 1``): if that session is gone, so is the lock and another
process may have taken over, so it stops its scheduler and stands for election again. A clean shutdown
unlocks before closing (a session-level advisory lock outlives the pooled connection's rollback). On SQLite
(one host) every worker may sweep: a sweep is idempotent, the unique keys make a second run harmless.
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
        self._state = threading.Lock()  # elect / step down / shut down, one at a time
        self._elector: threading.Thread | None = None
        self._sweep_lock = threading.Lock()
        self.sweeps = 0

    @property
    def elected(self) -> bool:
        """True once this process runs the scheduler."""
        return self.scheduler is not None

    def start(self) -> None:
        """Run now if elected, else keep trying in the background (on PostgreSQL, also watch the lock)."""
        with self._state:
            elected = self._try_elect()
        if not elected or self.engine.dialect.name == "postgresql":
            self._elector = threading.Thread(target=self._elect_loop, name="scheduler-election", daemon=True)
            self._elector.start()

    def _try_elect(self) -> bool:
        if self._stop.is_set():
            return False
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
        """Every interval: stand for election, or (while elected on PostgreSQL) check the lock is still held."""
        while not self._stop.wait(self.interval):
            try:
                with self._state:
                    if self._stop.is_set():
                        return
                    if self.scheduler is None:
                        if self._try_elect():
                            log.info("scheduler elected")
                    elif self._lock_conn is not None and not self._lock_alive():
                        log.error("scheduler lock connection lost: stopping the scheduler, standing for election")
                        self._step_down()
                    elif self.engine.dialect.name != "postgresql":
                        return  # SQLite: no lock to watch
            except Exception:
                log.exception("scheduler election failed; retrying")

    def _lock_alive(self) -> bool:
        """The session holding the advisory lock still answers (the lock lives exactly as long)."""
        conn = self._lock_conn
        assert conn is not None
        try:
            conn.execute(sa.text("SELECT 1"))
            conn.commit()
            return True
        except Exception:
            log.warning("scheduler lock connection check failed", exc_info=True)
            return False

    def _step_down(self) -> None:
        """Stop running the scheduler and drop the (dead) lock connection; the caller holds ``_state``."""
        if self.scheduler is not None:
            try:
                self.scheduler.shutdown(wait=False)  # a sweep in progress finishes; sweeps are idempotent
            except Exception:
                log.exception("stopping the scheduler failed")
            self.scheduler = None
        _SWEEPS.pop(self.name, None)
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            try:
                conn.invalidate()  # never back into the pool
                conn.close()
            except Exception:
                log.debug("closing the dead lock connection failed", exc_info=True)

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
        with self._state:
            if self.scheduler is not None:
                self.scheduler.shutdown(wait=True)
                self.scheduler = None
            _SWEEPS.pop(self.name, None)
            conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            # Closing would only return the connection to the pool, and its rollback keeps a session-level
            # advisory lock: unlock explicitly, then end the session too (APScheduler's job store disposed the
            # engine's pool on shutdown, so a checked-in connection would linger there unclosed anyway).
            try:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(SCHEDULER_LOCK)))
                conn.commit()
            except Exception:
                log.warning("releasing the scheduler lock failed; dropping its connection", exc_info=True)
            conn.invalidate()
            conn.close()
        if self._elector is not None and self._elector is not threading.current_thread():
            self._elector.join(timeout=5)
