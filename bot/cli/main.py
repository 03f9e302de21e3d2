"""The command line: `python -m bot <command>` (alias: `xunzhen`).

Each group of commands lives in its own module exposing ``register(subparsers)``;
a registered command sets ``func(args) -> int`` as its handler. ``bot.cli.app.run_command`` runs it, so every
refusal (a ``DomainError``) is said the same way; a mistyped command line is said in both languages too.
"""

from __future__ import annotations

import argparse
import sys
import typing

from bot.cli import catalogue, circuits, core, nlp, posters, referrals, remote, reports, survey
from bot.cli.app import REFUSED, refusal_text, run_command
from bot.config import opt_in_library_switches
from domain.errors import DomainError

# Modules that contribute sub-commands, in the order they appear in --help.
COMMAND_MODULES = (core, nlp, circuits, reports, posters, catalogue, remote, referrals, survey)


class Parser(argparse.ArgumentParser):
    """argparse, with its complaint about a mistyped command line as a refusal in Chinese and English."""

    def error(self, message: str) -> typing.NoReturn:
        """Print the usage and the refusal, exit 2 (sub-commands use this class too)."""
        self.print_usage(sys.stderr)
        self.exit(REFUSED, refusal_text(DomainError("cli.usage", message=message, help=f"{self.prog} --help")) + "\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every module's sub-commands."""
    parser = Parser(
        prog="python -m bot",
        description="巡诊 Xunzhen — 订单式巡诊服务 (order-based circuit consultations)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the process exit code."""
    # Before any command imports a chat library: the libraries' own switches (bot.config explains why).
    opt_in_library_switches()
    # Chinese output must not crash on a terminal or pipe with a narrow default encoding.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return run_command(args.func, args)
