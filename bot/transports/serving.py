"""What every network transport shares: updates of one chat in order, chats in parallel; the listen address."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


def listen_address(listen: str) -> tuple[str, int]:
    """``host:port`` → (host, port); a bare port listens on 127.0.0.1."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


class ChatQueues:
    """Run jobs one at a time per chat, chats in parallel; ``submit`` keeps the order of submission."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[tuple[Callable[[], Awaitable[None]], asyncio.Future[None]]]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self.completed = 0  # jobs run so far (tests and benchmarks wait on it)

    def submit(self, chat: str, job: Callable[[], Awaitable[None]]) -> asyncio.Future[None]:
        """Queue ``job`` behind earlier jobs of ``chat``; the future completes (never fails) when it ran."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(chat)
        if queue is not None:
            queue.append((job, future))
            return future
        queue = self._queues[chat] = deque([(job, future)])
        worker = asyncio.create_task(self._drain(chat, queue), name=f"chat-{chat}")
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)
        return future

    async def _drain(self, chat: str, queue: deque[tuple[Callable[[], Awaitable[None]], asyncio.Future[None]]]) -> None:
        try:
            while queue:
                job, future = queue.popleft()
                try:
                    await job()
                except Exception:
                    log.exception("update job for chat %s failed", chat)
                finally:
                    self.completed += 1
                    if not future.done():
                        future.set_result(None)
        finally:
            # No await between the last emptiness check and this: submit() cannot slip a job in between.
            self._queues.pop(chat, None)
            for _job, future in queue:
                if not future.done():
                    future.set_result(None)

    @property
    def busy(self) -> bool:
        """True while any chat has work queued or running."""
        return bool(self._queues)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait (up to ``timeout``) until every queued job ran."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._workers:
                    await asyncio.gather(*list(self._workers), return_exceptions=True)
