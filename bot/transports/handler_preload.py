"""What every handler process needs, loaded once in the fork server that the handler processes are forked from.

``HandlerProcesses`` names this module to ``multiprocessing``'s fork server: the server imports it before it forks
its first worker, so the modules and the matcher's dictionaries and patterns (two to three seconds of loading) are
loaded once per service, not once per worker, and a worker replaced after a crash answers within a moment. The
fork server runs no threads and no event loop, which is what makes forking from it safe.
"""

from __future__ import annotations

import bot.bootstrap  # noqa: F401  (the modules a worker's conversation is built from)
from nlp import load_matcher

load_matcher()
