"""``python -m bot …`` run in this process: the same ``bot.cli.main.main`` a real process runs, without paying
for a new interpreter, its imports and the NLP dictionaries each time.

Use it where the process boundary adds nothing to what a test checks. Each command family keeps at least one test
that starts a real process (the entry point, the exit status, piped Chinese text, a kill -9, another process on
the same database): ``run_bot_process`` runs exactly what a user types.

What a process would give a command for free is given here by hand: its own environment, stdin/stdout/stderr,
working directory and logging set-up; the exit status of ``SystemExit`` (a message: status 1, printed to stderr)
and of an uncaught exception (its traceback on stderr, status 1). Every database engine the command built is
disposed of afterwards, as process exit would.
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bot_process(args: list[str], env: Mapping[str, str], stdin: str | None = None,
                    timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m bot *args`` as a real process, from the repository root."""
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=dict(env), input=stdin,
                          capture_output=True, text=True, encoding="utf-8", timeout=timeout)


def run_bot(args: list[str], env: Mapping[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m bot *args`` in this process, with ``env`` as the whole environment; the result as from
    :func:`subprocess.run` (``returncode``, ``stdout``, ``stderr``)."""
    import bot.bootstrap
    from bot.cli.main import main
    from bot.logging_setup import LIBRARY_LOGGERS

    saved_env = dict(os.environ)
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_cwd = os.getcwd()
    root = logging.getLogger()
    saved_root = root.handlers[:], root.level
    saved_levels = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    make_engine = bot.bootstrap.make_engine
    engines = []

    def tracked_engine(*a, **kw):
        engine = make_engine(*a, **kw)
        engines.append(engine)
        return engine

    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin or ""), out, err
    bot.bootstrap.make_engine = tracked_engine  # type: ignore[assignment]
    os.chdir(ROOT)
    try:
        try:
            code = main(list(args))
        except SystemExit as e:
            if e.code is None or isinstance(e.code, int):
                code = e.code or 0
            else:
                print(e.code, file=err)
                code = 1
        except Exception:
            traceback.print_exc(file=err)
            code = 1
    finally:
        os.chdir(saved_cwd)
        bot.bootstrap.make_engine = make_engine  # type: ignore[assignment]
        for engine in engines:
            engine.dispose()
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["python", "-m", "bot", *args], code, out.getvalue(), err.getvalue())


DATABASE = "xunzhen.db"  # the default database in a data directory, beside the secret key the first command writes
_SEEDED: list[Path] = []  # a data directory ``seed --demo`` filled, made once per test process


def copy_seeded_data_directory(dest: Path) -> None:
    """Make the data directory ``dest`` what ``python -m bot seed --demo`` (and ``run``'s first start, which loads
    the same demo files through the same importer) leaves in an empty one: its secret key and the database with
    the demo data. Seeded once per test process (a second and a half of CPU each time) and copied."""
    if not _SEEDED:
        var = Path(tempfile.mkdtemp(prefix="xz-seeded-var-"))
        atexit.register(shutil.rmtree, var, True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XUNZHEN_", "DATABASE_URL"))}
        out = run_bot(["seed", "--demo"], {**env, "XUNZHEN_VAR_DIR": str(var), "PYTHONIOENCODING": "utf-8"})
        assert out.returncode == 0, out.stderr[-3000:]
        _SEEDED.append(var)
    seeded = _SEEDED[0]
    dest.mkdir(parents=True, exist_ok=True)
    for f in seeded.iterdir():
        if not f.name.startswith(DATABASE):  # the database is copied whole below, its WAL included
            shutil.copy2(f, dest / f.name)
    with closing(sqlite3.connect(seeded / DATABASE)) as src, closing(sqlite3.connect(dest / DATABASE)) as dst:
        src.backup(dst)
