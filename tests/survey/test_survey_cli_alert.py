"""``python -m bot import-survey`` alerts the township health center of a sheet's emergency rows exactly as the
sheet sent in chat does (the same service): the township's reviewers are told through the outbox, the alert is
stored, and the command says who was alerted. A --dry-run changes nothing, so it alerts nobody."""

from __future__ import annotations

from tests.conftest import ON_SQLITE_FILES
from tests.survey.survey_helpers import EMERGENCY_ROW, GOOD_ROWS, VILLAGE, csv_bytes
from tests.survey.test_survey_chat import send_file


def _run(app, tmp_path, *args: str):
    from tests.circuits.circuit_helpers import worker_env
    from tests.cli_runner import run_bot
    from tests.conftest import FIXED_NOW

    env = worker_env(app.engine.url.render_as_string(hide_password=False), None, FIXED_NOW, PYTHONIOENCODING="utf-8")
    return run_bot(["import-survey", *args], env)


def alerts_about(chat, app, clock, name: str) -> list[str]:
    return [x for x in chat.deliver_outbox(app.uow, clock()) if name in x]


@ON_SQLITE_FILES
def test_the_command_line_alerts_the_township_of_an_emergency_row_as_the_chat_does(chat, cast, app, clock, tmp_path):
    path = tmp_path / "摸底.csv"
    path.write_bytes(csv_bytes([*GOOD_ROWS, EMERGENCY_ROW]))

    dry = _run(app, tmp_path, str(path), "--village", VILLAGE, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert alerts_about(chat, app, clock, "黄金花") == []

    done = _run(app, tmp_path, str(path), "--village", VILLAGE)
    assert done.returncode == 0, done.stderr
    assert "黄金花" in done.stdout and "雪峰镇卫生院" in done.stdout, done.stdout
    by_cli = alerts_about(chat, app, clock, "黄金花")
    assert by_cli, "the township was not alerted"

    # The same sheet sent in chat alerts the same way: the township's message reads alike.
    send_file(chat, "doctor", "摸底2.csv", csv_bytes([EMERGENCY_ROW]))
    by_chat = alerts_about(chat, app, clock, "黄金花")
    assert by_chat and by_chat[0].split("\n")[0][:8] == by_cli[0].split("\n")[0][:8], (by_chat, by_cli)
    with app.uow() as uow:
        assert uow.alerts.get(1) is not None and uow.alerts.get(1).resident_name == "黄金花"
