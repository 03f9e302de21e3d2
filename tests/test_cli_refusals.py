"""Mistakes an administrator makes on the command line, as a stranger makes them (issue 18): every refusal is one
sentence in Chinese and one in English that says what to do, never a message key with a Python dict, and the
exit status is 2. In this process (``tests.cli_runner``) on one seeded demo database."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.cli_runner import run_bot
from tests.conftest import TEST_KEY

CJK = re.compile(r"[\u4e00-\u9fff]")
WORD = re.compile(r"\b[a-z]{2,}\b")


def _env(var: Path) -> dict[str, str]:
    env = {**os.environ, "XUNZHEN_VAR_DIR": str(var), "XUNZHEN_SECRET_KEY": TEST_KEY, "PYTHONIOENCODING": "utf-8",
           "XUNZHEN_FAKE_NOW": "2026-12-04T09:10"}
    for k in ("DATABASE_URL", "TELEGRAM_TOKEN", "XUNZHEN_TRANSPORT"):
        env.pop(k, None)
    return env


@pytest.fixture(scope="module")
def var(tmp_path_factory) -> Path:
    """A data directory with the demo data loaded (the commands below only read it, or are refused)."""
    var = tmp_path_factory.mktemp("cli")
    out = run_bot(["seed", "--demo"], _env(var))
    assert out.returncode == 0, out.stderr
    return var


def bot(var: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return run_bot(list(args), _env(var), stdin)


def refused(out: subprocess.CompletedProcess, *words: str) -> str:
    """The refusal as a person reads it: exit 2, a Chinese sentence, an English one, each of ``words`` in it."""
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    text = out.stderr.strip()
    assert "Traceback" not in text and "{'" not in text, text
    zh = [line for line in text.splitlines() if line.startswith("错误：")]
    en = [line for line in text.splitlines() if line.startswith("error: ")]
    assert zh and en, text
    assert CJK.search(zh[-1]) and len(WORD.findall(en[-1])) >= 4, text  # names and codes may appear in either
    for w in words:
        assert w in text, (w, text)
    return text


def test_an_unknown_target_name_lists_the_names_that_exist(var):
    text = refused(bot(var, "target", "--place", "350400", "--year", "2026", "--set", "lecture=90"),
                   "lecture", "lectures", "patients", "home_visits")
    assert "学术讲座" in text  # each name with what it counts


def test_a_target_without_a_number_says_how_to_write_it(var):
    refused(bot(var, "target", "--place", "350400", "--year", "2026", "--set", "lectures=many"),
            "lectures=80")
    refused(bot(var, "target", "--place", "350400", "--year", "2026", "--set", "lectures"), "lectures=80")


def test_a_target_for_a_township_is_refused_because_reports_read_cities_and_counties(var):
    refused(bot(var, "target", "--place", "350421101", "--year", "2026", "--set", "lectures=9"), "350421")


def test_an_absence_on_a_circuit_that_does_not_exist_says_so(var):
    text = refused(bot(var, "absence", "--circuit", "9999", "--staff", "S0003"), "9999")
    assert "没有安排" not in text  # not "the expert is not on it": there is no such circuit at all
    assert "没有编号为 9999 的巡诊" in text and "no circuit 9999" in text


def test_an_absence_of_an_unknown_person_names_the_code(var):
    refused(bot(var, "absence", "--circuit", "1", "--staff", "S9999"), "S9999")


def test_an_invite_for_an_unknown_institution_is_refused(var):
    refused(bot(var, "invite", "--role", "township_reviewer", "--institution", "X", "--staff", "S0005"),
            "X", "TC350421101")


def test_an_invite_does_not_ignore_the_institution_given_with_a_person(var):
    """S0005 (曾丽芳) works at 雪峰镇卫生院: an invite naming 明溪县总医院 for her is refused, not silently changed."""
    out = bot(var, "invite", "--role", "township_reviewer", "--institution", "CH350421", "--staff", "S0005")
    refused(out, "曾丽芳", "雪峰镇卫生院", "TC350421101", "CH350421")
    assert "/start" not in out.stdout


def test_an_invite_for_a_role_the_person_does_not_hold_is_refused(var):
    refused(bot(var, "invite", "--role", "expert", "--institution", "TC350421101", "--staff", "S0005"),
            "曾丽芳", "expert")


def test_unknown_staff_in_several_commands_is_the_same_sentence(var):
    for args in (["key-physician", "--year", "2026", "S9999"], ["set-password", "--staff", "S9999"],
                 ["lead", "add", "--summary", "投诉", "--owner", "S9999"]):
        refused(bot(var, *args, stdin="a-long-password\n"), "S9999", "没有人员编码", "no staff with code")


def test_a_lead_that_does_not_exist_and_a_bad_due_date(var):
    refused(bot(var, "lead", "update", "--id", "999", "--status", "resolved", "--resolution", "已处理"), "999")
    refused(bot(var, "lead", "add", "--summary", "投诉", "--due", "next week"), "next week", "2026-12-31")


def test_bad_periods_months_and_counties(var):
    refused(bot(var, "report", "--period", "2026-13"), "2026-13", "2026-Q4")
    refused(bot(var, "report", "--period", "2026", "--county", "999999", "--format", "md"), "999999")
    refused(bot(var, "report", "--period", "2026-11", "--as-of", "yesterday"), "yesterday")
    refused(bot(var, "plan", "--month", "12/2026"), "12/2026", "2026-12")
    refused(bot(var, "plan", "--month", "2026-12", "--hospital", "NOPE"), "NOPE")


def test_import_of_a_missing_file(var, tmp_path):
    refused(bot(var, "import", str(tmp_path / "staff.csv")), "staff.csv")


def test_a_mistyped_option_is_explained_in_both_languages(var):
    out = bot(var, "audit", "--resident")
    refused(out, "--help")


@pytest.fixture(scope="module")
def filed(var):
    """An order for 邱瑞鹏 of 城东村, filed through the local chat."""
    script = "/as 廖德福\n/new\n邱瑞鹏\n1\n1\n腰疼半年了，弯腰疼得厉害\n1\n1\n6\n1\n/quit\n"
    env = {**_env(var), "XUNZHEN_FLOOD_LIMIT": "1000"}
    out = run_bot(["run"], env, script)
    number = re.search(r"订单号 (XZ-\d{8}-\d{4})", out.stdout)
    assert number, out.stdout[-2000:]
    return number.group(1)


def test_the_access_audit_finds_a_resident_by_name_and_village_or_by_order_number(var, filed):
    by_name = bot(var, "audit", "--resident", "邱瑞鹏", "--village", "城东村（示例）")
    assert by_name.returncode == 0, by_name.stderr
    assert "廖德福" in by_name.stdout and filed in by_name.stdout
    by_code = bot(var, "audit", "--resident", "邱瑞鹏", "--village", "350421101001")
    assert by_code.stdout == by_name.stdout
    by_order = bot(var, "audit", "--order", filed)
    assert by_order.returncode == 0 and by_order.stdout == by_name.stdout
    assert bot(var, "audit", "--resident", "邱瑞鹏").stdout == by_name.stdout  # one of that name: no village needed
    # A second 邱瑞鹏 in 宁化县: the name alone no longer says who, and the refusal lists both to choose from.
    other = var / "residents.csv"
    other.write_text("name,sex,birth_year,village_code,phone\n邱瑞鹏,M,1970,350424104001,\n", encoding="utf-8")
    assert bot(var, "import", str(other)).returncode == 0
    refused(bot(var, "audit", "--resident", "邱瑞鹏"), "城东村（示例）", "350424104001", "1970", "--village")
    assert bot(var, "audit", "--resident", "邱瑞鹏", "--village", "350421101001").stdout == by_name.stdout


def test_the_access_audit_says_what_to_type_when_nobody_or_several_match(var, filed):
    refused(bot(var, "audit", "--resident", "张无名"), "张无名", "--village")
    refused(bot(var, "audit", "--order", "XZ-20990101-0001"), "XZ-20990101-0001")
    refused(bot(var, "audit"), "--resident", "--order")


def test_every_refusal_the_command_line_can_raise_has_both_sentences():
    """Each ``DomainError`` key raised where the command line reaches has a Chinese and an English sentence."""
    from handlers.texts_cli import ENGLISH, TEXTS

    root = Path(__file__).resolve().parents[1]
    files = [*sorted((root / "bot" / "cli").glob("*.py")), root / "bot" / "cli" / "app.py",
             root / "storage" / "repositories" / "ledgers.py", root / "domain" / "ledgers.py",
             root / "handlers" / "services" / "residents.py", root / "handlers" / "onboarding.py"]
    raised = re.compile(r"""(?:DomainError|PermissionDenied)\(\s*"([a-z_.]+)\"""")
    keys = {k for f in files for k in raised.findall(f.read_text(encoding="utf-8"))}
    keys -= {"button.expired", "perm.role_missing"}  # onboarding's chat buttons: never from the command line
    keys |= {"plan.month_invalid", "ledger.bad_period", "cli.usage", "cli.file"}
    assert {k for k in keys if k not in ENGLISH or k not in TEXTS} == set()


def test_commands_leave_refusals_and_closing_the_app_to_one_place():
    """No command catches a refusal or opens the app by hand: ``bot.cli.app`` says every refusal the same way and
    closes the app whatever happens (issue 16)."""
    root = Path(__file__).resolve().parents[1] / "bot" / "cli"
    for path in root.glob("*.py"):
        if path.name == "app.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "except DomainError" not in text and "_say_error" not in text, path.name
        assert "open_app()" not in text and ".close()" not in text, path.name


def test_a_refused_command_is_audited_with_what_it_was_given_but_not_the_values(var):
    """As a refused press is in chat: the refusal is in the audit trail (which command, why, the names of what it was
    given), written after the command's own work was rolled back, and none of the values typed (they may name a
    resident) is kept."""
    from bot.bootstrap import build_app
    from bot.config import Settings

    refused(bot(var, "absence", "--circuit", "9999", "--staff", "S0003"), "9999")
    app = build_app(Settings.from_env(_env(var)))
    try:
        with app.uow() as uow:
            [event] = uow.audit.recent(1, action="refused")
    finally:
        app.close()
    assert (event.entity, event.entity_id, event.actor_role) == ("command", "absence", "command_line")
    assert event.reason and "9999" not in str(event.detail) and event.detail["given"]
