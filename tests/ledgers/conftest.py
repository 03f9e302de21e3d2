"""Fixtures for ledger, report and dashboard tests: the seeded year on SQLite, dashboard passwords, a clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from storage.crypto import FieldCipher
from storage.uow import SqlUnitOfWork
from tests.conftest import FIXED_NOW, TEST_KEY, dashboard_password_hash
from tests.ledgers.ledger_world import build_world

PASSWORDS = {"S0001": "city-admin-pass-1", "S0002": "mingxi-review-2", "S0030": "ninghua-review-3"}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = FIXED_NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


@pytest.fixture(scope="module")
def sqlite_world(templates, tmp_path_factory):
    """The seeded year on SQLite with dashboard passwords for a city admin and two county hospital reviewers."""
    from storage.repositories.ledgers import LedgerRepository

    path = tmp_path_factory.mktemp("world") / "xz.db"
    engine = templates.sqlite_engine(True, path)
    factory = lambda: SqlUnitOfWork(engine, FieldCipher.from_text(TEST_KEY))  # noqa: E731
    world = build_world(factory)
    with factory() as uow:
        for code, pw in PASSWORDS.items():
            st = uow.staff.by_code(code)
            assert st is not None and st.id is not None
            LedgerRepository(uow).set_password_hash(st.id, dashboard_password_hash(pw), FIXED_NOW)
        uow.commit()
    yield world, factory, path
    engine.dispose()
