"""First-diagnosis catalogues (issue 20 part 3): ``catalogue --institution CODE`` lists a health center's catalogue
(``--on DATE``: as it was that day), ``--match TEXT`` asks whether a complaint is in it, ``--adopt-default`` takes the
shared starting list, ``--import FILE.csv`` applies the center's own file, ``--add``/``--remove`` change one disease,
``--tier central|general`` holds it to the 80 or 50 target.

The same use cases as /catalogue in chat (``handlers.services.catalogue``); the operator may change any center's
catalogue. A refusal is said in Chinese and English (exit 2); a rejected file lists every row's problem and writes
nothing (exit 1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.app import opened_app, parse_day


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``catalogue`` sub-command."""
    p = sub.add_parser(
        "catalogue",
        help="基层首诊病种目录：查看、匹配、采用默认清单、导入 / a health center's first-diagnosis catalogue",
        description="乡镇卫生院（社区卫生服务中心）的基层首诊病种目录：列出（--on 某日的目录）、匹配病情（--match）、"
                    "采用默认起始清单（--adopt-default）、导入 CSV（--import，列 disease,icd10,added_on,removed_on）、"
                    "增删（--add/--remove）、目标类别（--tier central=80 种、general=50 种）。"
                    " / A township or community health center's first-diagnosis catalogue: list it (as of --on), "
                    "match a complaint, adopt the starting list, import a CSV, add or remove a disease, set the tier.",
    )
    p.add_argument("--institution", required=True, help="卫生院机构编码，如 TC350421101 / the center's code")
    p.add_argument("--match", help="病情描述，如“血压高，头晕” / a complaint to look up")
    p.add_argument("--on", help="日期 YYYY-MM-DD（默认今天）：当日的目录 / the day (default today)")
    p.add_argument("--import", dest="import_file", type=Path, help="目录 CSV 文件 / a catalogue CSV file")
    p.add_argument("--adopt-default", action="store_true", help="采用默认起始清单 / adopt the shared starting list")
    p.add_argument("--add", help="加入一个病种（病名） / add a disease by name")
    p.add_argument("--icd10", help="与 --add 一起：ICD-10 编码 / with --add: its ICD-10 code")
    p.add_argument("--remove", help="移出一个病种（病名或 ICD-10 编码） / remove a disease")
    p.add_argument("--tier", choices=["central", "general"],
                   help="目标类别：central 中心卫生院/社区医院（80 种），general 其他（50 种） / target tier")
    p.set_defaults(func=cmd_catalogue)


def cmd_catalogue(args: argparse.Namespace) -> int:
    """Do the one change asked for (if any), then print the catalogue or the match."""
    from bot.bootstrap import make_clock
    from domain.reference import ImportRejected
    from handlers import texts_catalogue  # noqa: F401  (its refusals, in Chinese and English)
    from handlers.services import catalogue as svc
    from handlers.services import today_of

    day = parse_day(args.on, "--on")
    code = args.institution.strip()
    with opened_app() as app:
        now = make_clock(app.settings.fake_now)()
        with app.uow() as uow:
            changed = True
            if args.import_file is not None:
                data = args.import_file.read_bytes()
                try:
                    added, removed = svc.import_catalogue(uow, None, code, args.import_file.name, data, now)
                except ImportRejected as e:
                    print(f"导入被拒绝，未写入任何数据 / import rejected, nothing written ({len(e.errors)} errors):",
                          file=sys.stderr)
                    for err in e.errors[:200]:
                        print(f"  {err}", file=sys.stderr)
                    return 1
                print(f"已导入 / imported: 新增 {added} 种 added, 移出 {removed} 种 removed")
            elif args.adopt_default:
                added = svc.adopt_default(uow, None, code, now)
                print(f"已采用默认起始清单 / starting list adopted: 新增 {added} 种 / {added} added")
            elif args.add:
                entry = svc.add_entry(uow, None, code, args.add, args.icd10, now)
                print(f"已加入 / added: {entry.label}")
            elif args.remove:
                entry = svc.remove_entry(uow, None, code, args.remove, now)
                print(f"已移出 / removed: {entry.label}")
            elif args.tier:
                svc.set_tier(uow, None, code, args.tier, now)
                print(f"目标类别 / tier: {args.tier}")
            else:
                changed = False
            if changed:
                uow.commit()
        with app.uow() as uow:
            on = day or today_of(now)
            if args.match is not None:
                view, found = svc.match_text(uow, code, args.match, on)
                _match(view, found, args.match)
            elif changed:  # after a change, the catalogue's size against its target; the list on asking
                print(_head(svc.catalogue_on(uow, code, on)))
            else:
                _list(svc.catalogue_on(uow, code, on))
    return 0


def _head(view) -> str:
    inst = view.institution
    gap = view.target - view.size
    met = "已达标 / target met" if view.meets_target else f"还差 {gap} 种 / {gap} short"
    tier = "中心卫生院/社区医院 central" if view.tier.value == "central" else "一般卫生院 general"
    return (f"{inst.name}（{inst.code}）基层首诊病种目录 / first-diagnosis catalogue {view.day.isoformat()}："
            f"{view.size}/{view.target} 种（{tier}），{met}")


def _list(view) -> None:
    if not view.entries:
        state = "当日" if view.ever_kept else "尚未建立目录"
        print(f"{view.institution.name}（{view.institution.code}）{state}没有首诊病种 / no catalogue on "
              f"{view.day.isoformat()}；--adopt-default 采用默认起始清单 / adopt the starting list")
        return
    print(_head(view))
    for i, e in enumerate(view.entries, start=1):
        print(f"{i:3d}. {e.label}\t自 {e.added_on.isoformat()} 起")


def _match(view, found, query: str) -> None:
    if not found:
        print(f"不在目录内 / not in the catalogue：“{query[:40]}”（{view.institution.name} {view.day.isoformat()}，"
              f"{view.size} 种）")
        return
    print(f"可在本院首诊 / treated here（{view.institution.name} {view.day.isoformat()}）：")
    for m in found:
        print(f"  {m.label}\t匹配 / matched：{'、'.join(m.words)}")
