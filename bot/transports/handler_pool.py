"""Conversation handlers in worker processes, beside a transport's event loop.

In one process the adapter's network work (parsing updates, HTTP calls to the platform) and the handlers'
database work share one GIL: every SQLite call releases it and must win it back from the event loop, so a busy
bot spends much of its time waiting for itself. With ``XUNZHEN_HANDLER_PROCESSES=N`` the transport keeps the
network and hands each ``Inbound`` to one of N worker processes, which run the same ``Conversation`` on their
own connection to the same database; replies come back as ``Outbound`` values.

Nothing else changes: per-chat order is kept by the transport (one update per chat in flight), conversation state
is in the database anyway, and the workers ignore SIGINT/SIGTERM: on a stop the transport finishes the updates in
hand and then shuts them down. A worker that dies (killed, out of memory) is replaced; the update it held is
answered with the "busy" text; the replacement is forked from a server that loaded the matcher once, so it answers
within a moment instead of loading for seconds. If it died after committing, the change is stored but its replies
are lost (the user sends again and sees the current state). Python's process pool stops *all* its workers when one
dies, so with several workers the updates on the others are answered "busy" as well. The flood guard counts per
process. One worker is the right choice for SQLite (whose writes take turns anyway); PostgreSQL deployments may use
more.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from handlers import Conversation, Inbound, Outbound
from handlers.texts import t

log = logging.getLogger(__name__)
T = TypeVar("T")

# Set in each worker process by ``_start``.
_CONVERSATION: Conversation | None = None


def run_update(
    conversation: Any, inbound: Inbound, read: Callable[[Any, Any], T] | None = None
) -> tuple[list[Outbound], T | None]:
    """Handle one update; ``read(uow, account)`` (if given) runs on its unit of work once it is committed, and
    its answer is returned (None if the update was not committed or the read failed)."""
    if read is None:
        return conversation.handle(inbound), None
    got: list[T] = []
    outs = conversation.handle(inbound, after=lambda uow, acc: got.append(read(uow, acc)))
    return outs, (got[0] if got else None)


def _start(settings: Any) -> None:
    """Worker process start-up: logging with masking, the database, the matcher, the conversation."""
    global _CONVERSATION
    from bot.bootstrap import build_app, build_conversation
    from bot.logging_setup import configure_logging

    # A stop (Ctrl+C to the terminal's process group, systemd's SIGTERM to the service's cgroup) is for the
    # parent to carry out: it finishes the updates in hand, then shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    configure_logging(settings.log_level, library_debug=settings.library_debug, secrets=settings.secrets())
    from bot.transports.handler_preload import watch_server

    watch_server()  # a worker whose fork server died counts as dead to the pool: it ends too
    _CONVERSATION = build_conversation(build_app(settings))


def _run(inbound: Inbound, read: Callable[[Any, Any], T] | None) -> tuple[list[Outbound], T | None]:
    assert _CONVERSATION is not None, "worker process not started"
    return run_update(_CONVERSATION, inbound, read)


def _ready() -> bool:
    return _CONVERSATION is not None


def _fork_server() -> Any:
    """The ``forkserver`` context, its server told to load ``bot.transports.handler_preload`` before forking."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["bot.transports.handler_preload"])
    return context


class HandlerProcesses:
    """A pool of worker processes running the conversation; ``run`` is awaited from the event loop."""

    def __init__(self, settings: Any, processes: int) -> None:
        self.settings, self.processes = settings, max(1, processes)
        self.restarts = 0
        self._closing = False
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # Not forked from this process: it runs threads (and an event loop) that a forked child would inherit
        # half-way. Forked from the fork server instead, a single-threaded process that has loaded the matcher once.
        return ProcessPoolExecutor(self.processes, mp_context=_fork_server(), initializer=_start,
                                   initargs=(self.settings,))

    async def start(self) -> None:
        """Start the workers now, not on the first user's update (the first start also starts the fork server,
        which loads the matcher: two to three seconds)."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._pool, _ready) for _ in range(self.processes)))

    async def run(
        self, inbound: Inbound, read: Callable[[Any, Any], T] | None = None
    ) -> tuple[list[Outbound], T | None]:
        """Handle ``inbound`` in a worker; never raises (a lost worker means a "busy" answer and a new worker)."""
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, _run, inbound, read)
        except BrokenProcessPool:
            log.error("a handler process died; starting new ones (the update it held is answered as busy)")
            if self._pool is pool and not self._closing:
                self.restarts += 1
                self._pool = self._new_pool()
                pool.shutdown(wait=False, cancel_futures=True)
        except Exception:
            log.exception("handing an update to a handler process failed")
        return [Outbound(inbound.platform, inbound.chat_id, t("busy"))], None

    def close(self) -> None:
        """Let the workers finish what they hold, then stop them."""
        self._closing = True
        self._pool.shutdown(wait=True, cancel_futures=True)
