"""Printed pages for a notice board (issue 19): ``poster --circuit ID`` and ``poster --township CODE --week``.

The same use cases as the 海报 button in chat (``handlers.services.posters``) and the same renderer
(``bot.delivery.poster``); the operator may print any circuit. A wrong argument is one sentence in Chinese and
English and exit status 2; a page that cannot be made (no Chinese font, no QR code from the Official Account) exit
status 1; nothing is written unless the whole page was made.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bot.cli.app import opened_app

KINDS = {".pdf": "pdf", ".png": "png"}


class Refused(Exception):
    """A bad argument: its message is the sentence to print (exit status 2)."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``poster`` sub-command."""
    p = sub.add_parser(
        "poster",
        help="坐诊预告海报或乡镇一周巡诊表（A4，PDF/PNG） / a notice-board poster or a township's week (A4 PDF/PNG)",
        description="坐诊预告海报：--circuit 巡诊编号；乡镇一周巡诊安排：--township 乡镇编码 [--week 2027-W02]。"
                    " / A circuit's poster (--circuit ID) or a township's circuits of one week (--township CODE "
                    "[--week 2027-W02], default the coming week), as FILE.pdf or FILE.png.",
    )
    p.add_argument("--circuit", help="巡诊编号 / circuit id")
    p.add_argument("--village", help="二维码订阅哪个村（默认：巡诊地点） / whose subscription the QR code is "
                                     "(default: the circuit's place)")
    p.add_argument("--township", help="乡镇编码 / township code")
    p.add_argument("--week", help="ISO 周，如 2027-W02（默认：下周） / ISO week (default: the coming week)")
    p.add_argument("--out", help="输出文件 FILE.pdf 或 FILE.png / output file")
    p.add_argument("--bot-username", help="Telegram 机器人用户名，用于深链接（默认：用 TELEGRAM_TOKEN 查询） / "
                                          "the bot's name for its deep link (default: asked with TELEGRAM_TOKEN)")
    p.set_defaults(func=cmd_poster)


def cmd_poster(args: argparse.Namespace) -> int:
    """Make the page and write it; prints the file and what its QR code holds."""
    try:
        out, kind = _check(args)
    except Refused as e:
        print(e, file=sys.stderr)
        return 2
    from bot.bootstrap import build_posters, make_clock
    from bot.delivery.fonts import FontMissing
    from bot.delivery.poster import PosterFailed
    from domain.places import PlaceLevel
    from domain.posters import Sheet, next_week, parse_week
    from handlers.services import today_of
    from handlers.services.posters import circuit_poster, township_week

    with opened_app() as app:
        now = make_clock(app.settings.fake_now)()
        try:
            bot_username = _bot_username(app, args.bot_username)
        except Refused as e:
            print(e, file=sys.stderr)
            return 2
        with app.uow() as uow:
            sheet: Sheet
            # A refusal (DomainError) is said in Chinese and English by the entry point (bot.cli.app).
            if args.circuit is not None:
                poster = circuit_poster(uow, now, args.circuit, village=args.village, bot_username=bot_username)
                what = f"坐诊预告海报 / poster of circuit {args.circuit}：{poster.when}，{poster.place}"
                sheet = poster
                place = uow.reference.place(poster.code.scene.removeprefix("v_"))
                if place is not None and place.level is not PlaceLevel.VILLAGE:
                    print("巡诊地点不是村：二维码让居民选择自己所在的村；要某个村的二维码，请加 --village 村编码 / "
                          "the circuit is not at a village: its QR code lets residents choose their village; "
                          "--village CODE prints one village's", file=sys.stderr)
            else:
                monday = parse_week(args.week) if args.week else next_week(today_of(now))
                schedule = township_week(uow, now, args.township, monday, bot_username=bot_username)
                year, week, _ = monday.isocalendar()
                what = (f"{schedule.title} / circuits of {year}-W{week:02d}：{schedule.period}，"
                        f"{len(schedule.rows)} 场 / circuits")
                sheet = schedule
        try:
            page = build_posters(app).render(sheet, kind)
        except (FontMissing, PosterFailed) as e:
            print(f"海报没有生成 / no page made: {e}", file=sys.stderr)
            return 1
        _write(out, page.data)
    print(f"已写入 / written: {out}（A4，{len(page.data) // 1024 + 1} KB）")
    print(what)
    print(f"二维码 / QR code: {page.link}")
    return 0


def _check(args: argparse.Namespace) -> tuple[Path, str]:
    """The arguments as the command needs them, or :class:`Refused` with the one sentence that says what is wrong."""
    from domain.posters import parse_week

    if (args.circuit is None) == (args.township is None):
        raise Refused("请给出 --circuit 巡诊编号 或 --township 乡镇编码（二者选一） / "
                      "give either --circuit ID or --township CODE")
    if args.circuit is not None and not args.circuit.strip().isdigit():
        raise Refused(f"巡诊编号应为数字：{args.circuit} / the circuit id must be a number: {args.circuit}")
    if args.circuit is not None and args.week:
        raise Refused("--week 只能与 --township 一起使用 / --week goes with --township, not --circuit")
    if args.township is not None and args.village:
        raise Refused("--village 只能与 --circuit 一起使用 / --village goes with --circuit, not --township")
    if args.week:
        try:
            parse_week(args.week)
        except ValueError:
            raise Refused(f"周的格式应为 2027-W02，而不是 {args.week} / --week must be an ISO week such as 2027-W02, "
                          f"not {args.week}") from None
    if not args.out:
        raise Refused("请用 --out 给出输出文件（FILE.pdf 或 FILE.png） / --out FILE.pdf or FILE.png is required")
    out = Path(args.out)
    kind = KINDS.get(out.suffix.lower())
    if kind is None:
        raise Refused(f"输出文件须以 .pdf 或 .png 结尾：{out} / --out must end in .pdf or .png: {out}")
    if not out.parent.is_dir():
        raise Refused(f"目录不存在：{out.parent} / no such directory: {out.parent}")
    return out, kind


def _bot_username(app, given: str | None) -> str | None:
    """The Telegram bot's name for its deep link: given, else asked from Telegram (``getMe``) when a token is set;
    None when the Official Account makes the code. :class:`Refused` when there is no way to make one."""
    if given:
        return given.lstrip("@")
    settings = app.settings
    if settings.telegram_token:
        import asyncio

        from telegram import Bot

        async def get_me() -> str | None:
            async with Bot(settings.telegram_token, base_url=f"{settings.telegram_api_base_url}/bot") as bot:
                return (await bot.get_me()).username

        try:
            return asyncio.run(get_me())
        except Exception as e:
            if not settings.qr_codes:
                raise Refused(f"无法从 Telegram 查询机器人用户名（{type(e).__name__}），请用 --bot-username 给出 / "
                              f"cannot ask Telegram for the bot's name ({type(e).__name__}): give --bot-username") \
                    from None
            return None
    if settings.qr_codes:
        return None
    raise Refused("没有可用的订阅链接：请配置 TELEGRAM_TOKEN 或公众号（WECHAT_APP_ID、WECHAT_SECRET），"
                  "或用 --bot-username 给出 Telegram 机器人用户名 / no subscription link for the QR code: configure "
                  "TELEGRAM_TOKEN or the Official Account (WECHAT_APP_ID, WECHAT_SECRET), or give --bot-username")


def _write(out: Path, data: bytes) -> None:
    """Write the file whole or not at all (a half-written poster must not reach a printer)."""
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".poster-", suffix=out.suffix)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # an ordinary file, as `> FILE` would make (mkstemp's is private)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
