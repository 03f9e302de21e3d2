"""What every handler process needs, loaded once in the fork server that the handler processes are forked from.

``HandlerProcesses`` names this module to ``multiprocessing``'s fork server: the server imports it before it forks
its first worker, so the modules and the matcher's dictionaries and patterns (two to three seconds of loading) are
loaded once per service, not once per worker, and a worker replaced after a crash answers within a moment. The
fork server runs no threads and no event loop, which is what makes forking from it safe.
"""

from __future__ import annotations

import os
import signal
import threading

# A stop is the service's to carry out: it finishes the updates in hand, then stops the workers. systemd's SIGTERM
# to every process of the service (and Ctrl+C to the terminal's process group) must not end the fork server first:
# its workers would then count as dead to the pool, which gives up on them while they run on, orphaned, holding
# the database open. The server ends when the service does (multiprocessing's "alive" pipe closes).
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)

import bot.bootstrap  # noqa: E402,F401  (the modules a worker's conversation is built from; after the signals)
from nlp import load_matcher  # noqa: E402

load_matcher()

# The server's lifeline to its workers: each worker closes its copy of the write end (``watch_server``), so the read
# end reports end-of-file once the server is gone.
_LIFELINE_R, _LIFELINE_W = os.pipe()
_SERVER = os.getpid()


def watch_server() -> None:
    """In a worker forked from this server: end (as a killed worker would) once the server is gone. The pool takes
    its workers' exit status from the server, so when the server dies (the OOM killer's likeliest pick: it holds a
    whole matcher) it counts them dead and starts new ones; an old one left running would be orphaned, holding the
    database open. Nothing to do in the server itself, nor in a worker that loaded this module on its own."""
    if os.getpid() == _SERVER:
        return
    os.close(_LIFELINE_W)

    def wait() -> None:
        while os.read(_LIFELINE_R, 1):  # nothing is ever written: only the end of the file comes
            pass
        os._exit(1)

    threading.Thread(target=wait, name="fork-server-lifeline", daemon=True).start()
