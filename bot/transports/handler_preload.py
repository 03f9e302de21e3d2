"""What every handler process needs, loaded once in the fork server that the handler processes are forked from.

``HandlerProcesses`` names this module to ``multiprocessing``'s fork server: the server imports it before it forks
its first worker, so the modules and the matcher's dictionaries and patterns (two to three seconds of loading) are
loaded once per service, not once per worker, and a worker replaced after a crash answers within a moment. The
fork server runs no threads and no event loop, which is what makes forking from it safe.
"""

from __future__ import annotations

import signal

# A stop is the service's to carry out: it finishes the updates in hand, then stops the workers. systemd's SIGTERM
# to every process of the service (and Ctrl+C to the terminal's process group) must not end the fork server first:
# its workers would then count as dead to the pool, which gives up on them while they run on, orphaned, holding
# the database open. The server ends when the service does (multiprocessing's "alive" pipe closes).
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)

import bot.bootstrap  # noqa: E402,F401  (the modules a worker's conversation is built from; after the signals)
from nlp import load_matcher  # noqa: E402

load_matcher()
