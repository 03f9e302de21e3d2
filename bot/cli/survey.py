"""``import-survey FILE --village CODE [--dry-run]`` and ``import-survey --template [--out FILE]`` (issue 19, 摸底导入).

The same use cases as a survey sheet sent in chat (``handlers.services.survey``): every row checked and classified;
``--dry-run`` prints the summary as JSON and files nothing; without it the ready rows are filed in one transaction
in the name of the village's doctor, emergencies and likely duplicates listed (emergencies first) and left out. A
sheet with any wrong row is refused whole: every problem by row in Chinese and English, exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from bot.cli.app import unit_of_work
from domain.errors import DomainError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``import-survey`` sub-command."""
    p = sub.add_parser(
        "import-survey",
        help="摸底导入：把摸底表（xlsx/CSV）变成订单 / import a survey sheet (xlsx/CSV) as orders",
        description="摸底导入：import-survey 文件 --village 村编码 [--dry-run]；空白模板：import-survey --template "
                    "[--out 文件]。 / Check a survey sheet and file its orders for a village (--dry-run: print the "
                    "summary as JSON, file nothing); --template writes the blank sheet.",
    )
    p.add_argument("file", nargs="?", help="摸底表 xlsx 或 CSV（UTF-8/GBK） / the survey sheet")
    p.add_argument("--village", help="村编码，如 350421101001 / the village's code")
    p.add_argument("--dry-run", action="store_true", help="只检查，打印 JSON 汇总 / check only, print the JSON summary")
    p.add_argument("--doctor", help="以哪位村医名义提交（工号，默认：该村村医） / "
                                    "file as this village doctor (staff code)")
    p.add_argument("--template", action="store_true", help="写出空白模板 / write the blank template")
    p.add_argument("--out", help="模板输出文件（默认 摸底表模板.xlsx） / where to write the template")
    p.set_defaults(func=cmd_import_survey)


def cmd_import_survey(args: argparse.Namespace) -> int:
    """Write the template, or check (and file) a survey sheet."""
    from handlers.services.survey import TEMPLATE_NAME, template_xlsx

    if args.template:
        out = Path(args.out or TEMPLATE_NAME)
        _write_whole(out, template_xlsx())
        print(f"已写入 / written: {out}")
        return 0
    if not args.file or not args.village:
        raise DomainError("cli.usage", message="需要 FILE 和 --village / FILE and --village are needed",
                          help="python -m bot import-survey --help")
    path = Path(args.file)
    if not path.is_file():
        raise DomainError("cli.no_such_file", path=args.file)
    data = path.read_bytes()
    return _import(args, path.name, data)


def _import(args: argparse.Namespace, name: str, data: bytes) -> int:
    from bot.bootstrap import make_clock
    from bot.config import CONSENT_VERSION
    from domain.places import InstitutionKind
    from domain.staff import Role
    from handlers.services import Actor, queue, today_of
    from handlers.services.survey import (
        alert_emergencies,
        check_sheet,
        file_rows,
        ready_rows_of,
        township_notices,
    )
    from nlp import load_matcher

    with unit_of_work() as (app, uow):
        now = make_clock(app.settings.fake_now)()
        jurisdiction = uow.reference.jurisdiction()
        posts = [i for i in jurisdiction.institutions.values()
                 if i.place_code == args.village and i.kind is InstitutionKind.VILLAGE_POST]
        if not posts:
            raise DomainError("survey.unknown_village", code=args.village)
        post = posts[0].code
        checked = check_sheet(uow, load_matcher(), name=name, data=data, post=post, village=args.village,
                              today=today_of(now))
        if args.dry_run:
            print(json.dumps(checked.summary(), ensure_ascii=False))
            if checked.rejected:
                from bot.cli.app import refusal_text

                print(refusal_text(checked.refusal()), file=sys.stderr)
                return 2
            return 0
        if checked.rejected:
            raise checked.refusal()
        doctor = _doctor(uow, args.doctor, post)
        actor = Actor(doctor, Role.VILLAGE_DOCTOR, jurisdiction, {"via": "cli", "file": name[:100]})
        summary = checked.summary()  # as the sheet came: filing gives the new residents their ids
        rows = ready_rows_of(checked.rows)
        numbers = file_rows(uow, actor, now, post, args.village, rows, consent_version=CONSENT_VERSION)
        actor.audit(uow, now, "survey_import", "post", post, detail={"rows": checked.total, "orders": len(numbers)})
        queue(uow, township_notices(uow, actor, post, args.village, numbers, now), now)
        # Its emergency rows alert the township exactly as the sheet sent in chat does (a dry run alerts nobody).
        alerted = alert_emergencies(uow, actor, now, post, args.village, checked)
        uow.commit()
    _print_result(checked, summary, numbers, alerted)
    return 0


def _doctor(uow, code: str | None, post: str):
    from domain.staff import Role

    if code:
        st = uow.staff.by_code(code)
        if st is None or st.institution_code != post or Role.VILLAGE_DOCTOR not in st.roles:
            raise DomainError("staff.unknown", code=code)
        return st
    ids = uow.staff.ids_at([post], Role.VILLAGE_DOCTOR)
    if not ids:
        raise DomainError("survey.no_doctor", post=post)
    return uow.staff.get(min(ids))


def _print_result(checked, summary: dict, numbers: list[str], alerted: str = "") -> None:
    from handlers.common import specialty_name

    lines = []
    emergencies = checked.emergencies
    if emergencies:
        lines.append(f"疑似急症，未提交 / emergencies, not filed: {len(emergencies)}"
                     "（请立即电话联系居民核实，必要时拨打120 / phone the resident now; call 120 if needed）")
        lines += [f"  第{r['row']}行 / row {r['row']} {r['name']}：{r['reasons']}" for r in emergencies]
        if alerted:
            lines.append(f"  {alerted}")
    lines.append(f"已提交 / filed: {len(numbers)} 个订单 / orders" + (f"：{'、'.join(numbers)}" if numbers else ""))
    dupes = [r for r in checked.rows if r.get("duplicate") and not r.get("emergency")]
    if dupes:
        lines.append(f"疑似重复，未提交 / likely duplicates, not filed: {len(dupes)}")
        lines += [f"  第{r['row']}行 / row {r['row']} {r['name']}：{r['duplicate']}" for r in dupes]
    lines.append(f"共 {summary['rows']} 行 / rows；新居民 / new residents: {summary['new_residents']}；"
                 f"已登记 / existing: {summary['existing_residents']}")
    lines.append("按科室 / by specialty: " + "，".join(
        f"{specialty_name(code)} {code}: {n}" for code, n in summary["by_specialty"].items()))
    print("\n".join(lines))


def _write_whole(out: Path, data: bytes) -> None:
    """Write ``data`` to ``out`` whole or not at all."""
    folder = out.parent if str(out.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".survey-", suffix=out.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
