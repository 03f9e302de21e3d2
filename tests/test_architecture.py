"""Architecture rules that a test can hold: the domain imports nothing but the standard library."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(folder: Path) -> dict[str, set[str]]:
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
