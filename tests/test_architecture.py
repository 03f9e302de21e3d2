"""Architecture rules that a test can hold.

* the domain imports nothing but the standard library, and nothing of ours outside itself;
* lower layers never import higher ones: nlp and storage never import handlers or bot, handlers never import bot;
* no import circles among our modules, not even through an import inside a function;
* inside bot/, only the demo imports the fake platform servers in bot/testing/ (tests and benches may);
* the dashboard (bot/web) and the command line (bot/cli) never import ``storage.repositories``: the use cases in
  handlers/services and the unit of work are their way in, so they read and decide exactly as chat does;
* only bot/config.py reads or writes the environment (``os.environ``, ``getenv``, ``putenv``), and it alone sets
  the libraries' own switches such as ``PTB_TIMEDELTA``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("domain", "nlp", "storage", "handlers", "bot")


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """Top-level package -> files under ``folder`` importing it anywhere (also lazily inside a function)."""
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for n in names:
                found.setdefault(n.split(".")[0], set()).add(path.name)
    return found


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


# Blocks entered only with ``lazy``: function bodies (their imports run when called), class bodies and loops.
_LAZY_BLOCKS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.AsyncFor, ast.AsyncWith)


def module_level_imports(root: Path, packages: Iterable[str], *, lazy: bool = False) -> dict[str, set[str]]:
    """Module -> modules of ours it imports at module level (not under a function, nor ``if TYPE_CHECKING``);
    with ``lazy``, also those imported inside a function or a class.

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module of ours, else ``pkg``.
    """
    modules = {module_name(root, p): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}

    def visit(body: list[ast.stmt], found: set[str]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    found.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    visit(node.body, found)
                visit(node.orelse, found)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody, *[h.body for h in node.handlers]):
                    visit(block, found)
            elif isinstance(node, ast.With) or (lazy and isinstance(node, _LAZY_BLOCKS)):
                visit(node.body, found)

    for name, path in modules.items():
        found: set[str] = set()
        visit(ast.parse(path.read_text(encoding="utf-8")).body, found)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def fake_server_importers(root: Path) -> set[str]:
    """Modules of bot/ outside bot/testing/ and bot/demo/ that import bot.testing (anywhere in the file)."""
    bad = set()
    for path in (root / "bot").rglob("*.py"):
        name = module_name(root, path)
        if name.startswith(("bot.testing", "bot.demo")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if any(n == "bot.testing" or n.startswith("bot.testing.") for n in names):
                bad.add(name)
    return bad


ENTRY_POINTS = ("bot/web", "bot/cli")  # the dashboard and the command line: use cases and the unit of work only
REPOSITORIES = "storage.repositories"


def repository_importers(root: Path, folders: Iterable[str] = ENTRY_POINTS) -> dict[str, set[int]]:
    """File -> lines importing ``storage.repositories`` (or anything in it, also lazily in a function) under
    ``folders``."""
    found: dict[str, set[int]] = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                if any(n == REPOSITORIES or n.startswith(REPOSITORIES + ".") for n in names):
                    found.setdefault(path.relative_to(root).as_posix(), set()).add(node.lineno)
    return found


ENV_NAMES = frozenset({"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"})
CONFIG = "bot/config.py"


def environment_readers(root: Path, packages: Iterable[str]) -> dict[str, set[int]]:
    """File -> lines that touch the process environment (``os.environ``, ``os.getenv``, ``from os import
    environ`` ...) or name ``PTB_TIMEDELTA``, in every file of ``packages`` except bot/config.py."""
    found: dict[str, set[int]] = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel == CONFIG:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                hit = (
                    (isinstance(node, ast.Attribute) and node.attr in ENV_NAMES)
                    or (isinstance(node, ast.Name) and node.id in ENV_NAMES)
                    or (isinstance(node, ast.ImportFrom) and node.module == "os"
                        and any(a.name in ENV_NAMES for a in node.names))
                    or (isinstance(node, ast.Constant) and node.value == "PTB_TIMEDELTA")
                )
                if hit:
                    found.setdefault(rel, set()).add(node.lineno)
    return found


def test_domain_imports_only_the_standard_library():
    allowed = set(sys.stdlib_module_names) | {"domain", "__future__"}
    foreign = {m: files for m, files in imported_modules(ROOT / "domain").items() if m not in allowed}
    assert foreign == {}, f"domain/ must stay plain Python, found: {foreign}"


def test_the_architecture_check_would_catch_a_foreign_import(tmp_path):
    (tmp_path / "bad.py").write_text("import sqlalchemy\nfrom jieba import cut\n")
    assert set(imported_modules(tmp_path)) == {"sqlalchemy", "jieba"}


def test_storage_and_nlp_never_reach_into_handlers_or_bot():
    """Lower layers never import higher ones, not even lazily inside a function."""
    for folder, forbidden in (("storage", {"handlers", "bot", "nlp"}), ("nlp", {"handlers", "bot", "storage"})):
        found = imported_modules(ROOT / folder)
        assert not (forbidden & set(found)), {m: found[m] for m in forbidden & set(found)}


def test_handlers_never_reach_into_bot():
    found = imported_modules(ROOT / "handlers")
    assert "bot" not in found, found.get("bot")


def test_our_modules_import_each_other_in_no_circle():
    found = circles(module_level_imports(ROOT, OURS))
    assert found == []


def test_not_even_an_import_inside_a_function_closes_a_circle():
    """A lazy import keeps a circle from failing at import time, not from tying two modules into one: the
    composition root is imported by the transports and never imports them back, the SMS providers build on
    ``provider`` and not on the channel that picks them."""
    assert circles(module_level_imports(ROOT, OURS, lazy=True)) == []


def test_nothing_in_bot_but_the_demo_imports_the_fake_servers():
    assert fake_server_importers(ROOT) == set()


def test_the_checks_would_catch_a_circle_and_a_fake_server_in_production(tmp_path):
    for pkg in ("bot", "bot/testing", "bot/jobs", "domain"):
        (tmp_path / pkg).mkdir(parents=True, exist_ok=True)
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "bot" / "testing" / "fake.py").write_text("")
    (tmp_path / "bot" / "jobs" / "worker.py").write_text("from bot.jobs import sender\nfrom bot.testing import fake\n")
    (tmp_path / "bot" / "jobs" / "sender.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import domain\nimport bot.jobs.worker\n"
    )
    (tmp_path / "domain" / "rules.py").write_text("def f():\n    from domain import orders\n")
    (tmp_path / "domain" / "orders.py").write_text("from domain.rules import f\n")
    graph = module_level_imports(tmp_path, ("bot", "domain"))
    assert circles(graph) == [["bot.jobs.sender", "bot.jobs.worker"]]  # the lazy import in a function is no circle
    lazy = module_level_imports(tmp_path, ("bot", "domain"), lazy=True)
    assert circles(lazy) == [["bot.jobs.sender", "bot.jobs.worker"], ["domain.orders", "domain.rules"]]
    assert "domain" not in graph["bot.jobs.sender"]  # nor is one only for the type checker
    assert fake_server_importers(tmp_path) == {"bot.jobs.worker"}


def test_the_dashboard_and_the_command_line_never_import_a_repository():
    """Issue 16: they call the use cases in handlers/services (and the unit of work), never a repository module."""
    assert repository_importers(ROOT) == {}


def test_the_repository_check_would_catch_every_way_of_importing_one(tmp_path):
    for folder in ("bot/web", "bot/cli", "bot/jobs", "handlers/services"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "bot" / "web" / "dashboard.py").write_text(
        "from storage.repositories.ledgers import LedgerRepository\nfrom storage.uow import SqlUnitOfWork\n"
    )
    (tmp_path / "bot" / "cli" / "reports.py").write_text(
        "import argparse\n\n\ndef cmd():\n    import storage.repositories.ledgers as repo\n"
        "    from storage import repositories\n    from storage.repositoriesx import y\n"
    )
    (tmp_path / "bot" / "jobs" / "worker.py").write_text("from storage.repositories.outbox import OutboxMessage\n")
    (tmp_path / "handlers" / "services" / "ledgers.py").write_text("from storage.repositories import ledgers\n")
    found = repository_importers(tmp_path)
    # lazily in a function too; the unit of work, a look-alike name, and the layers below may import repositories
    assert found == {"bot/web/dashboard.py": {1}, "bot/cli/reports.py": {5, 6}}


def conversation_importers(root: Path) -> dict[str, set[str]]:
    """Use-case modules (handlers/services) -> the conversation modules of handlers they import, anywhere in them.

    A use case may use other use cases, the text catalogue (``handlers.texts*``) and what records a prompt
    (``handlers.prompts``); the conversations call it, never the other way round."""
    allowed = ("handlers.services", "handlers.texts", "handlers.prompts")
    found: dict[str, set[str]] = {}
    for path in (root / "handlers" / "services").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [f"{node.module}.{a.name}" for a in node.names]
                     if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for n in names:
                if n.startswith("handlers.") and not n.startswith(allowed):
                    found.setdefault(path.relative_to(root).as_posix(), set()).add(n)
    return found


def test_the_use_cases_never_import_a_conversation_module():
    """Issue 16: chat, command line, worker and dashboard call handlers/services; a use case that reached back into
    a conversation module (an emergency alert raised from a survey sheet once did, lazily) would run the chat's
    code from the command line."""
    assert conversation_importers(ROOT) == {}


def test_the_conversation_check_would_catch_a_lazy_import(tmp_path):
    (tmp_path / "handlers" / "services").mkdir(parents=True)
    (tmp_path / "handlers" / "services" / "survey.py").write_text(
        "from handlers.services.orders import file_order\nfrom handlers.texts import t\n\n\n"
        "def alert():\n    from handlers.emergency import raise_alert\n    import handlers.core\n")
    assert conversation_importers(tmp_path) == {
        "handlers/services/survey.py": {"handlers.emergency.raise_alert", "handlers.core"}}


def test_only_the_configuration_module_touches_the_environment():
    """Settings are read once, in bot/config.py, and handed down; nothing else reads (or writes) os.environ."""
    assert environment_readers(ROOT, OURS) == {}


def test_the_environment_check_would_catch_every_way_of_reading_it(tmp_path):
    (tmp_path / "bot" / "jobs").mkdir(parents=True)
    (tmp_path / "storage").mkdir()
    (tmp_path / "bot" / "config.py").write_text("import os\nTOKEN = os.environ.get('TELEGRAM_TOKEN')\n")
    (tmp_path / "storage" / "db.py").write_text("import os\nBUSY = int(os.environ.get('X', '5'))\n")
    (tmp_path / "bot" / "jobs" / "worker.py").write_text(
        "from os import getenv\nimport os as o\n\ndef f():\n    o.environ.setdefault('PTB_TIMEDELTA', 'true')\n"
        "    return getenv('Y')\n"
    )
    found = environment_readers(tmp_path, ("bot", "storage"))
    assert found == {"bot/jobs/worker.py": {1, 5, 6}, "storage/db.py": {2}}  # bot/config.py may
