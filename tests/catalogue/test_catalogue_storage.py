"""The catalogue's storage contract on SQLite and PostgreSQL alike: dated entries (what the catalogue was on a given
day), the match stored on an order (and erased with the resident), and the ledger's 80/50 figure with the share of
matching orders handled locally."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.errors import DomainError
from domain.ledgers import parse_period
from domain.orders import Action, OrderStatus
from domain.staff import Role
from handlers.services import catalogue as cat
from handlers.services.ledgers import report_figures
from tests.conftest import FIXED_NOW
from tests.test_storage_contract import _new_order

CENTER = "TC350421101"  # 雪峰镇卫生院
OTHER = "TC350421102"  # 盖洋镇卫生院, same county
TODAY = date(2026, 11, 23)


def test_the_catalogue_is_dated_so_a_past_day_reads_as_it_was(seeded_uow):
    with seeded_uow() as uow:
        assert cat.adopt_default(uow, None, CENTER, FIXED_NOW - timedelta(days=30)) == 80
        uow.commit()
    with seeded_uow() as uow:
        cat.remove_entry(uow, None, CENTER, "高血压", FIXED_NOW)
        cat.add_entry(uow, None, CENTER, "带状疱疹", "B02", FIXED_NOW)
        uow.commit()
    with seeded_uow() as uow:
        before = cat.catalogue_on(uow, CENTER, TODAY - timedelta(days=1))
        now = cat.catalogue_on(uow, CENTER, TODAY)
        long_ago = cat.catalogue_on(uow, CENTER, TODAY - timedelta(days=60))
    assert "高血压" in before.diseases and "带状疱疹" not in before.diseases
    assert "高血压" not in now.diseases and "带状疱疹" in now.diseases
    assert before.size == now.size == 80 and long_ago.size == 0
    assert now.target == 50 and now.meets_target


def test_a_disease_listed_twice_or_removed_twice_is_refused_and_nothing_changes(seeded_uow):
    with seeded_uow() as uow:
        cat.add_entry(uow, None, CENTER, "高血压", "I10", FIXED_NOW)
        uow.commit()
    with seeded_uow() as uow:
        with pytest.raises(DomainError):
            cat.add_entry(uow, None, CENTER, "高血压", "I10", FIXED_NOW)
        with pytest.raises(DomainError):
            cat.remove_entry(uow, None, CENTER, "痛风", FIXED_NOW)
        with pytest.raises(DomainError):
            cat.add_entry(uow, None, "CH350421", "高血压", "I10", FIXED_NOW)  # a hospital keeps no such catalogue
    with seeded_uow() as uow:
        assert cat.catalogue_on(uow, CENTER, TODAY).size == 1


def test_a_match_is_stored_on_the_order_and_erased_with_the_resident(seeded_uow):
    with seeded_uow() as uow:
        cat.adopt_default(uow, None, CENTER, FIXED_NOW)
        order = _new_order(uow, "血压高，头晕，想开降压药")
        found = cat.match_order(uow, order, FIXED_NOW)
        uow.commit()
    assert found is not None and found.disease == "高血压" and "血压高" in found.words
    with seeded_uow() as uow:
        stored = cat.order_match(uow, order.id)
        assert stored is not None and stored.icd10 == "I10"
        uow.residents.forget(order.resident_id, FIXED_NOW)
        uow.commit()
    with seeded_uow() as uow:
        assert cat.order_match(uow, order.id) is None


def test_the_ledger_counts_catalogue_size_against_80_and_50_and_the_share_handled_locally(seeded_uow):
    with seeded_uow() as uow:
        cat.adopt_default(uow, None, CENTER, FIXED_NOW - timedelta(days=10))
        cat.set_tier(uow, None, OTHER, "central", FIXED_NOW)
        cat.add_entry(uow, None, OTHER, "高血压", "I10", FIXED_NOW - timedelta(days=10))
        township = uow.staff.by_code("S0005")
        matched = [_new_order(uow, "血压高"), _new_order(uow, "血糖高，口渴")]
        other = _new_order(uow, "眼睛花，看不清")
        for o in [*matched, other]:
            cat.match_order(uow, o, FIXED_NOW)
        o = matched[0]
        o.apply(Action.TOWNSHIP_HANDLE_LOCAL, actor_staff_id=township.id, actor_role=Role.TOWNSHIP_REVIEWER,
                now=FIXED_NOW)
        uow.orders.save(o)
        uow.commit()
    assert o.status is OrderStatus.HANDLED_LOCALLY
    with seeded_uow() as uow:
        data = report_figures(uow, None, parse_period("2026-11"), TODAY, FIXED_NOW, area="350421")
    rows = {r.institution_code: r for r in data.catalogue}
    xuefeng, gaiyang = rows[CENTER], rows[OTHER]
    assert (xuefeng.size, xuefeng.target, xuefeng.meets_target) == (80, 50, True)
    assert (gaiyang.size, gaiyang.target, gaiyang.meets_target) == (1, 80, False)
    assert (xuefeng.matched_orders, xuefeng.handled_locally) == (2, 1)
    assert xuefeng.local_share == pytest.approx(0.5)
    assert all(r.institution_code.startswith("TC350421") for r in data.catalogue)  # the county's centers only
